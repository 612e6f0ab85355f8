"""A fingerprint of the answer ranker's candidates and features, to prove that a speed-up
of the featurizer or the candidate pool changes no output.

    .venv/bin/python tests/fingerprint.py               # re-record the artifact
    .venv/bin/python tests/fingerprint.py --index DIR   # print those of a built index

Builds the seed corpus index in a temporary folder, runs the seed dev questions
(``../shared/eval/seed_dev.jsonl``) and the seed tuning probes
(``bench/probes/seed-tuning.jsonl``) through retrieval, the candidate pool and the
featurizer with the default parameters, and stores each question's sha256 of its
candidates (passage, offsets, text, label, generators, sentence rank) with their sorted
features. Candidates are hashed in pool order: ties in the ranking keep that order.
Feature values are hashed exactly, so the script runs itself under PYTHONHASHSEED=0: some
features sum over sets of strings, whose order (and so the last bit of the sum) follows
the hash seed. The questions are stored too, so ``test_ranker_fingerprint.py`` needs
nothing outside the repository. Re-record only when features are meant to change (a new
FEATURE_SET).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTIFACT = Path(__file__).parent / "artifacts" / "ranker-features.json"
SEED = ROOT / "corpus" / "central-asia-russia-ukraine.txt"
QUESTION_FILES = (ROOT.parent / "shared" / "eval" / "seed_dev.jsonl",
                  ROOT / "bench" / "probes" / "seed-tuning.jsonl")


def fingerprint(index: Any, nlp: Any, question: str) -> str:
    """sha256 of the candidates and features the ranker sees for ``question``."""
    from citeqa.qa.ask import retrieve
    from citeqa.qa.extract import featurize
    from citeqa.qa.features import QuestionScorer
    from citeqa.qa.params import QAParams

    params = QAParams()
    analysis, query, hits, _ = retrieve(index, nlp, question, params)
    pool, features = featurize(analysis, QuestionScorer(index.search, query), hits,
                               params.answer)
    rows = [[c.hit.pos, c.start, c.end, c.text, c.label, sorted(c.sources), c.sentence_rank,
             c.key, sorted(f.items())] for c, f in zip(pool, features, strict=True)]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def fingerprints(index_dir: Path, questions: dict[str, str]) -> dict[str, str]:
    from citeqa.config import Config
    from citeqa.ingest.annotate import load_model
    from citeqa.store import index as index_store

    index, nlp = index_store.load(index_dir), load_model(Config().model)
    return {qid: fingerprint(index, nlp, q) for qid, q in questions.items()}


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]],
                  {**os.environ, "PYTHONHASHSEED": "0"})
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, help="print the fingerprints of this index "
                    "for the recorded questions (JSON) instead of re-recording")
    args = ap.parse_args()
    if args.index:
        recorded = json.loads(ARTIFACT.read_text(encoding="utf-8"))
        print(json.dumps(fingerprints(args.index, {qid: row["question"]
                                                   for qid, row in recorded.items()})))
        return
    from citeqa.config import Config
    from citeqa.store import build as builder

    questions = {}
    for path in QUESTION_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                questions[row["id"]] = row["question"]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "corpus").mkdir()
        shutil.copy(SEED, Path(tmp) / "corpus")
        config = Config.load({"corpus": Path(tmp) / "corpus", "index": Path(tmp) / "index"},
                             environ={})
        builder.build(config)
        found = fingerprints(config.index, questions)
    recorded = {qid: {"question": q, "sha256": found[qid]} for qid, q in questions.items()}
    ARTIFACT.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    print(f"recorded {len(recorded)} fingerprints in {ARTIFACT}", file=sys.stderr)


if __name__ == "__main__":
    main()
