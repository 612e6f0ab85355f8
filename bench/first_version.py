"""/ask latency of today's citeqa beside the first version's, on this machine, now.

    .venv/bin/python bench/first_version.py [--commit 9c097f0] [--rounds 5]

The answers issue asks that `/ask` p95 on the seed corpus stay within 1.5x of the first
version's (the hand-set rules, before the trained ranker and the reader). A p95 measured on
another day is a poor yardstick on a shared 2-core machine, so this runs both side by side:
it extracts the first version's source (``git archive COMMIT``) into a temporary folder,
serves it with this checkout's virtual environment (its dependencies are a subset) on its
own index of ./corpus, serves today's code with the reader off and on, and asks the seed
dev and tuning questions ``--rounds`` times, one client, interleaved (each question goes to
every server in turn, the order rotating), so that both see the same machine. Only
127.0.0.1 is contacted. Output: bench/results/first-version.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from latency import percentiles, post, questions
from squad import ROOT, start_server

FIRST_VERSION = "9c097f0"  # the last commit before the answers issue's work


def serve_first(source: Path, workdir: Path) -> tuple[subprocess.Popen, str]:
    """The first version's `citeqa serve` (its own index of ./corpus, built on start)."""
    return start_server("--corpus", str(ROOT / "corpus"), "--index", str(workdir / "index"),
                        "--workers", "2", cwd=workdir,
                        env={**os.environ, "PYTHONPATH": str(source / "src")},
                        program=[sys.executable, "-m", "citeqa.cli"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commit", default=FIRST_VERSION)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    qs = questions()
    with tempfile.TemporaryDirectory(prefix="citeqa-first-") as tmp:
        source, workdir = Path(tmp) / "src-tree", Path(tmp) / "work"
        source.mkdir()
        workdir.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.commit],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
        servers = {"first": serve_first(source, workdir),
                   "no-reader": start_server("--workers", "2", "--no-reader", cwd=ROOT),
                   "reader": start_server("--workers", "2", "--reader", cwd=ROOT)}
        took: dict[str, list[float]] = {name: [] for name in servers}
        try:
            for _, url in servers.values():
                for q in qs[:10]:  # warm both workers
                    post(url, {"question": q})
            names = list(servers)
            for r in range(args.rounds):
                for i, q in enumerate(qs):
                    shift = (r + i) % len(names)
                    for name in names[shift:] + names[:shift]:
                        start = time.perf_counter()
                        post(servers[name][1], {"question": q})
                        took[name].append((time.perf_counter() - start) * 1000)
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=30)
    first = percentiles(took["first"])
    result = {"commit": args.commit, "questions": len(qs), "rounds": args.rounds,
              **{name: percentiles(v) for name, v in took.items()},
              "p95_vs_first": {name: round(percentiles(v)["p95_ms"] / first["p95_ms"], 2)
                               for name, v in took.items() if name != "first"}}
    line = json.dumps(result)
    print(line)
    (ROOT / "bench" / "results" / "first-version.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
