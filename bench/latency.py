"""/ask latency and throughput of a real `citeqa serve` on the seed corpus, reader on and off.

    .venv/bin/python bench/latency.py [--rounds 5] [--seconds 20] [--connections 16]
                                      [--reader-threads N ...] [--parse-batch N ...]
                                      [--only PATH ...]

For each path (`--reader`, `--no-reader`, the reader with each `CITEQA_READER_THREADS`
of `--reader-threads`, `--no-reader` with each `CITEQA_PARSE_BATCH` of `--parse-batch`;
`--only` keeps the paths named) it starts `citeqa serve` (2 workers, the
corpus and index in ./corpus and ./index), then:
- one client asks the seed dev and tuning questions `--rounds` times in turn: p50/p95/p99;
- the same questions with `explain`, for the time each stage took (parse, retrieval,
  answer and, inside it, the reader) as the server measured it;
- `--connections` clients ask as fast as they can for `--seconds`: requests/s, p50/p99,
  errors, the clients' own CPU per request and the fastest and slowest client's mean
  latency (how evenly the workers share the connections) -- once opening a connection
  per request, once over kept-alive connections.
Only 127.0.0.1 is contacted; every phase is bounded. Output: `--out`, by default
bench/results/latency.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from squad import ROOT, start_server

QUESTION_FILES = (ROOT.parent / "shared" / "eval" / "seed_dev.jsonl",
                  ROOT / "bench" / "probes" / "seed-tuning.jsonl")


def questions() -> list[str]:
    out = []
    for path in QUESTION_FILES:
        with open(path, encoding="utf-8") as fh:
            out += [json.loads(line)["question"] for line in fh if line.strip()]
    return out


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url + "/ask", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def percentiles(ms: list[float]) -> dict:
    ms = sorted(ms)
    n = len(ms)
    return {"n": n, "p50_ms": round(ms[n // 2], 1), "p95_ms": round(ms[int(0.95 * (n - 1))], 1),
            "p99_ms": round(ms[int(0.99 * (n - 1))], 1)}


def one_client(url: str, qs: list[str], rounds: int) -> dict:
    took = []
    for _ in range(rounds):
        for q in qs:
            start = time.perf_counter()
            post(url, {"question": q})
            took.append((time.perf_counter() - start) * 1000)
    return percentiles(took)


def stages(url: str, qs: list[str]) -> dict:
    seen: dict[str, list[float]] = {}
    for q in qs:
        for stage, ms in post(url, {"question": q, "explain": True})["explain"][
                "timings_ms"].items():
            seen.setdefault(stage, []).append(ms)
    return {stage: {"mean_ms": round(statistics.mean(v), 1),
                    "p95_ms": round(sorted(v)[int(0.95 * (len(v) - 1))], 1)}
            for stage, v in seen.items()}


def load(url: str, qs: list[str], connections: int, seconds: float,
         connect: Callable[[str], Callable[[str], object]] | None = None) -> dict:
    """``connections`` closed-loop clients ask as fast as they can for ``seconds``.
    ``connect(url)`` gives each client its way to ask (default: a new request each time);
    after an error the client connects again."""
    connect = connect or (lambda u: lambda q: post(u, {"question": q}))
    took: list[float] = []
    by_client: list[list[float]] = [[] for _ in range(connections)]
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        ask, i = connect(url), n * 7
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                ask(qs[i % len(qs)])
                ms = (time.perf_counter() - start) * 1000
                by_client[n].append(ms)
                with lock:
                    took.append(ms)
            except (OSError, http.client.HTTPException):
                with lock:
                    errors[0] += 1
                ask = connect(url)
            i += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    started, cpu = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    # the clients share the machine's cores with the server: their CPU per request says
    # how much of the measured rate they cost
    return {"connections": connections, "seconds": round(elapsed, 1),
            "requests_per_s": round(len(took) / elapsed, 1), "errors": errors[0],
            "client_cpu_ms_per_request": round(1000 * cpu / max(1, len(took)), 2),
            # the fastest and slowest client's mean: far apart when the workers hold
            # unequal shares of the connections
            "client_mean_ms_range": [round(min(means), 1), round(max(means), 1)]
            if (means := [statistics.mean(c) for c in by_client if c]) else None,
            **percentiles(took)}


def keep_alive(url: str) -> Callable[[str], object]:
    """One kept-alive connection per client, as a developer's HTTP session would hold; the
    body is read, not decoded."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def ask(question: str) -> None:
        conn.request("POST", "/ask", json.dumps({"question": question}),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise http.client.HTTPException(f"HTTP {response.status}: {body[:200]!r}")
    return ask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--reader-threads", type=int, nargs="*", default=[],
                    help="also run the reader path with CITEQA_READER_THREADS set to each")
    ap.add_argument("--parse-batch", type=int, nargs="*", default=[],
                    help="also run the no-reader path with CITEQA_PARSE_BATCH set to each")
    ap.add_argument("--only", nargs="*", default=[],
                    help="run only these paths (reader, no-reader, reader-threads-N, "
                         "no-reader-parse-batch-N)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "latency.json"))
    args = ap.parse_args()
    qs = questions()
    results = {}
    paths = [("reader", "--reader", {}), ("no-reader", "--no-reader", {})] + [
        (f"reader-threads-{n}", "--reader", {"CITEQA_READER_THREADS": str(n)})
        for n in args.reader_threads] + [
        (f"no-reader-parse-batch-{n}", "--no-reader", {"CITEQA_PARSE_BATCH": str(n)})
        for n in args.parse_batch]
    paths = [p for p in paths if not args.only or p[0] in args.only]
    for name, flag, env in paths:
        proc, url = start_server("--workers", "2", flag, cwd=ROOT, seconds=300,
                                 env={**os.environ, **env})
        try:
            for q in qs[:10]:  # warm both workers
                post(url, {"question": q})
            results[name] = {
                "one_client": one_client(url, qs, args.rounds),
                "stages": stages(url, qs),
                "load": load(url, qs, args.connections, args.seconds),
                "load_keep_alive": load(url, qs, args.connections, args.seconds,
                                        keep_alive)}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        print(json.dumps({"path": name, **results[name]}))
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
