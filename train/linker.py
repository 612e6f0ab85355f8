"""Fit the learned value linker (``src/citeqa/kb/linker.py``) on the tuning part only.

    make train-linker     # = .venv/bin/python train/linker.py

1. Index the facts bench corpus (``bench/facts.py``'s; the annotation cache makes re-runs
   quick) and read every judged value of ``bench/facts/judged.jsonl`` whose part is
   ``tuning`` -- yes is a positive, no a negative, unclear is dropped. Rows of the
   held-back parts are never read: they are the honest evaluation.
2. Each row is an (entity, value) item; its pairs are the value with each of the entity's
   mentions in the sentence, with the features the serving code computes. A no row makes
   all its pairs negatives; a yes row makes its nearest pair (shortest path) a positive.
3. Group k-fold by document: out-of-fold scores for every row (the best pair's), for each
   L2 strength. A value is listed when the rules list it or its score reaches the
   threshold; the threshold is the lowest with precision >= ``min_precision`` over the
   pooled out-of-fold rows (recall as high as it then goes), and the strength the one
   with the best recall at it.
4. Fit on all tuning rows and write src/citeqa/kb/models/linker.json.gz (weights rounded,
   keys sorted, gzip without a time stamp: the same data always gives the same bytes),
   with the feature names, hash size, threshold and cross-validation figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from facts import JUDGED, WORK, corpus  # noqa: E402

from citeqa.kb.linker import DENSE_FEATURES, FORMAT, FeatureParams, Pair, pairs  # noqa: E402
from citeqa.kb.links import LinkParams, PassageLinks, read_links  # noqa: E402

OUT = ROOT / "src" / "citeqa" / "kb" / "models" / "linker.json.gz"


@dataclass(frozen=True)
class TrainParams:
    """Everything the fit depends on; ``version`` names the weights it writes."""

    version: str = "linker-2"
    seed: int = 0
    strengths: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0)  # C of the L2 logistic regression
    folds: int = 11  # group k-fold by document: one document per fold (11 in the tuning part)
    min_precision: float = 0.92
    features: FeatureParams = field(default_factory=FeatureParams)


@dataclass
class Row:
    """One judged (entity, value) item of the tuning part."""

    doc: str
    yes: bool
    rule: bool  # the rules list the value on the entity
    pairs: list[Pair]


def passage_rows(read: PassageLinks, features: FeatureParams, items: Iterable[dict],
                 entity_of: Callable[[int], str | None]) -> list[Row]:
    """Rows for the judged ``items`` (yes/no) of one passage; ``entity_of`` maps a
    mention's start to its entity, as the fact sheet groups mentions."""
    by_pair = {(p.mention.start, p.value.start): p for p in pairs(read, features)}
    ruled = {(entity_of(link.mention[0]), link.value.start) for link in read.links}
    rows = []
    for item in items:
        start = item["value"][0]
        entity = entity_of(item["mentions"][0][0])
        found = [by_pair[(m[0], start)] for m in item["mentions"] if (m[0], start) in by_pair]
        rows.append(Row(item["doc"], item["judgement"] == "yes",
                        entity is not None and (entity, start) in ruled, found))
    return rows


def tuning_rows(features: FeatureParams) -> list[Row]:
    """The tuning part's yes/no rows, read off the bench corpus's index."""
    from citeqa.config import Config
    from citeqa.kb.entities import resolve
    from citeqa.kb.normalize import resolvable
    from citeqa.kb.table import EntityTable
    from citeqa.store import build as builder
    from citeqa.store import index as index_store

    config = Config.load({"corpus": corpus(), "index": WORK / "index"}, environ={})
    builder.build(config)
    store = index_store.load(config.index).store
    table = EntityTable(resolve(store))
    by_passage: dict[int, list[dict]] = {}
    with open(JUDGED / "judged.jsonl", encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            if item["part"] != "tuning" or item["judgement"] not in ("yes", "no"):
                continue
            p = next(p for p in store.passages_of(item["doc"])
                     if store.passage(p).start <= item["value"][0] < store.passage(p).end)
            by_passage.setdefault(p, []).append(item)
    rules = LinkParams(learned=None)
    rows = []
    for p, items in sorted(by_passage.items()):
        date = store.document_of(p).metadata.get("date")
        read = read_links(store.annotation(p), store.text_of(p), rules,
                          lambda t, date=date: resolvable(t, date))
        ids = {s: eid for s, _, eid in table.mentions_in(p)}
        if read is not None:
            rows += passage_rows(read, features, items, ids.get)
    return rows


def design(batch: list[Pair], features: FeatureParams) -> sparse.csr_matrix:
    """[named features | hashed features]; a hashed index met twice counts twice."""
    width = len(DENSE_FEATURES)
    data, cols, ptr = [], [], [0]
    for pair in batch:
        data += list(pair.dense) + [1.0] * len(pair.hashed)
        cols += list(range(width)) + [width + i for i in pair.hashed]
        ptr.append(len(data))
    shape = (len(batch), width + (1 << features.hash_bits))
    matrix = sparse.csr_matrix((data, cols, ptr), shape=shape)
    matrix.sum_duplicates()
    return matrix


def instances(rows: list[Row]) -> tuple[list[Pair], list[int]]:
    """Pairs and labels: every pair of a no row, the nearest pair of a yes row."""
    batch, labels = [], []
    for row in rows:
        if row.yes and row.pairs:
            batch.append(min(row.pairs, key=lambda p: (p.dense[2], p.mention.start)))
            labels.append(1)
        elif not row.yes:
            batch += row.pairs
            labels += [0] * len(row.pairs)
    return batch, labels


def fit(rows: list[Row], strength: float, params: TrainParams) -> LogisticRegression:
    batch, labels = instances(rows)
    model = LogisticRegression(C=strength, solver="liblinear", random_state=params.seed)
    return model.fit(design(batch, params.features), labels)


def row_scores(model: LogisticRegression, rows: list[Row], params: TrainParams) -> np.ndarray:
    """Each row's best pair's probability (-1 for a row without pairs)."""
    flat = [p for row in rows for p in row.pairs]
    probs = model.predict_proba(design(flat, params.features))[:, 1] if flat else []
    out, k = np.full(len(rows), -1.0), 0
    for i, row in enumerate(rows):
        if row.pairs:
            out[i] = max(probs[k:k + len(row.pairs)])
            k += len(row.pairs)
    return out


def out_of_fold(rows: list[Row], strength: float, params: TrainParams) -> np.ndarray:
    docs = sorted({r.doc for r in rows})
    groups = [docs.index(r.doc) for r in rows]
    scores = np.full(len(rows), -1.0)
    folds = GroupKFold(n_splits=min(params.folds, len(docs)))
    for train, test in folds.split(np.zeros(len(rows)), groups=groups):
        model = fit([rows[i] for i in train], strength, params)
        scores[test] = row_scores(model, [rows[i] for i in test], params)
    return scores


def figures(rows: list[Row], listed: list[bool]) -> dict:
    """Value precision and recall of the yes rows, as bench/facts.py counts them."""
    yes = sum(bool(r.yes and x) for r, x in zip(rows, listed, strict=True))
    no = sum(bool(not r.yes and x) for r, x in zip(rows, listed, strict=True))
    return {"precision": round(yes / max(1, yes + no), 4),
            "recall": round(yes / max(1, sum(r.yes for r in rows)), 4), "yes": yes, "no": no}


def choose(rows: list[Row], scores: np.ndarray, min_precision: float,
           with_rules: bool = True) -> tuple[float, dict]:
    """The lowest threshold whose listing keeps ``min_precision`` (recall is highest
    there); 1.0 (the rules alone) when none does."""
    best = (1.0, figures(rows, [r.rule and with_rules for r in rows]))
    for threshold in sorted({round(float(s), 6) for s in scores if s >= 0}, reverse=True):
        listed = [(r.rule and with_rules) or bool(s >= threshold)
                  for r, s in zip(rows, scores, strict=True)]
        result = figures(rows, listed)
        if result["precision"] >= min_precision and result["recall"] > best[1]["recall"]:
            best = (threshold, result)
    return best


def train(rows: list[Row], params: TrainParams) -> dict:
    """Cross-validate, choose the strength and threshold, fit on all rows: the model file."""
    rules = figures(rows, [r.rule for r in rows])
    trials = {}
    for strength in params.strengths:
        scores = out_of_fold(rows, strength, params)
        threshold, result = choose(rows, scores, params.min_precision)
        alone = choose(rows, scores, params.min_precision, with_rules=False)
        trials[strength] = {"threshold": threshold, "rules_or_model": result,
                            "model_alone": {"threshold": alone[0], **alone[1]}}
    strength = max(params.strengths, key=lambda c: (trials[c]["rules_or_model"]["recall"],
                                                    trials[c]["rules_or_model"]["precision"]))
    model = fit(rows, strength, params)
    width = len(DENSE_FEATURES)
    weights = model.coef_[0]
    return {
        "format": FORMAT, "version": params.version,
        "trained_on": "bench/facts/judged.jsonl, part 'tuning' only (yes/no rows)",
        "dense_features": list(DENSE_FEATURES),
        "feature_params": asdict(params.features),
        "bias": round(float(model.intercept_[0]), 6),
        "dense": [round(float(w), 6) for w in weights[:width]],
        "hashed": {str(i): round(float(w), 6) for i, w in enumerate(weights[width:])
                   if abs(w) >= 1e-6},
        "threshold": trials[strength]["threshold"],
        "cv": {"folds": "group k-fold by document", "documents": len({r.doc for r in rows}),
               "rows": len(rows), "yes": sum(r.yes for r in rows),
               "min_precision": params.min_precision, "strength": strength,
               "rules_alone": rules,
               "trials": {str(c): t for c, t in trials.items()}},
    }


def write_model(model: dict, path: Path) -> None:
    raw = json.dumps(model, sort_keys=True, separators=(",", ":")).encode("utf-8")
    path.write_bytes(gzip.compress(raw, mtime=0))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    params = TrainParams()
    rows = tuning_rows(params.features)
    model = train(rows, params)
    write_model(model, args.out)
    cv = model["cv"]
    print(f"{cv['rows']} rows ({cv['yes']} yes) in {cv['documents']} documents; "
          f"rules alone: {cv['rules_alone']}")
    for c, t in cv["trials"].items():
        print(f"C={c}: {t}")
    print(f"chose C={cv['strength']}, threshold {model['threshold']}; wrote {args.out}")


if __name__ == "__main__":
    main()
