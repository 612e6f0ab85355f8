"""Retrieval speed and memory as the corpus grows, and a served index's footprint.

    .venv/bin/python bench/scale.py [--sizes 10000,100000] [--questions 200]

Passages are real text: SQuAD paragraphs (train slice + dev + SQuADShifts) cut into
~100-word windows and sampled with replacement up to each size, so the vocabulary and
term statistics look like real prose. Questions are SQuAD train-slice questions. For
each size it reports the postings build time and bytes, per-question retrieval time
(p50/p95) for citeqa's compiled postings and for rank_bm25's own ``get_scores`` (the
latter only up to 100k passages), and the cost of fuzzy expansion of an unknown term
over that vocabulary. Then it serves the SQuAD dev index (built by bench/squad.py) with
`citeqa serve` and reads the workers' resident memory.
Output: bench/results/scale.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
from squad import start_server

from citeqa.search.analyzer import Analyzer
from citeqa.search.bm25 import BM25Params, Postings

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = ROOT.parent / "shared" / "data" / "external"


def windows() -> list[str]:
    out = []
    for folder in ("squad-v1.1-train-heldout-du2017", "squad-v1.1-dev", "squadshifts-new-wiki"):
        path = next((EXTERNAL / folder).glob("passages.jsonl*"))
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                words = json.loads(line)["context"].split()
                out.extend(" ".join(words[i:i + 100]) for i in range(0, len(words), 100))
    return out


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return (round(statistics.median(samples), 3),
            round(samples[int(0.95 * (len(samples) - 1))], 3))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def served_footprint(index: Path, questions: list[str]) -> dict:
    """RSS of a real `citeqa serve` (2 workers) on the SQuAD dev index, and /ask latency."""
    proc, url = start_server("--corpus", str(index.parent / "corpus"), "--index", str(index),
                             "--workers", "2")
    try:
        latencies = []
        for q in questions:
            body = json.dumps({"question": q}).encode()
            req = urllib.request.Request(url + "/ask", data=body,
                                         headers={"Content-Type": "application/json"})
            start = time.perf_counter()
            urllib.request.urlopen(req, timeout=30).read()
            latencies.append((time.perf_counter() - start) * 1000)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        health = json.loads(urllib.request.urlopen(url + "/health").read())
        p50, p95 = percentiles(latencies)
        return {"passages": health["passages"], "ask_p50_ms": round(p50, 1),
                "ask_p95_ms": round(p95, 1), "master_rss_mb": round(rss_kb(proc.pid) / 1024),
                "worker_rss_mb": [round(rss_kb(int(c)) / 1024) for c in children]}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--rank-bm25-max", type=int, default=100_000)
    args = ap.parse_args()
    analyzer = Analyzer()
    pool = [analyzer.terms(w) for w in windows()]
    with gzip.open(EXTERNAL / "squad-v1.1-train-heldout-du2017" / "questions.jsonl.gz",
                   "rt") as fh:
        rows = [json.loads(line) for line in fh]
    random.Random(3).shuffle(rows)
    questions = [r["question"] for r in rows[:args.questions]]
    queries = [analyzer.terms(q) for q in questions]
    results = {"pool_windows": len(pool), "sizes": []}
    for size in map(int, args.sizes.split(",")):
        rng = random.Random(size)
        corpus = [pool[rng.randrange(len(pool))] for _ in range(size)]
        started = time.perf_counter()
        postings = Postings.compile(corpus, BM25Params())
        build_s = time.perf_counter() - started
        ours = []
        for q in queries:
            t = time.perf_counter()
            postings.top(q, 10)
            ours.append((time.perf_counter() - t) * 1000)
        row = {"passages": size, "vocabulary": len(postings.vocab),
               "postings_build_s": round(build_s, 1),
               "postings_mb": round((postings.offsets.nbytes + postings.doc_ids.nbytes
                                     + postings.weights.nbytes + postings.baseline.nbytes)
                                    / 2**20, 1),
               "citeqa_top10_ms_p50_p95": percentiles(ours)}
        if size <= args.rank_bm25_max:
            model = BM25Params().make(corpus)
            theirs = []
            for q in queries[:50]:
                t = time.perf_counter()
                scores = model.get_scores(q)
                np.argsort(scores)[::-1][:10]
                theirs.append((time.perf_counter() - t) * 1000)
            row["rank_bm25_get_scores_ms_p50_p95"] = percentiles(theirs)
        from rapidfuzz import fuzz, process

        vocab = list(postings.vocab)
        fuzzy = []
        for word in ("milziyoev", "somme", "kazakstan", "populaton", "presidnt"):
            t = time.perf_counter()
            process.extract(word, vocab, scorer=fuzz.ratio, score_cutoff=80, limit=2)
            fuzzy.append((time.perf_counter() - t) * 1000)
        row["fuzzy_expansion_ms_per_unknown_term"] = round(statistics.median(fuzzy), 2)
        results["sizes"].append(row)
        print(json.dumps(row), flush=True)
    dev_index = ROOT / "bench" / "out" / "dev" / "index"
    if (dev_index / "CURRENT").exists():
        results["served_squad_dev"] = served_footprint(dev_index, questions[:100])
        print(json.dumps(results["served_squad_dev"]))
    (ROOT / "bench" / "results" / "scale.json").write_text(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
