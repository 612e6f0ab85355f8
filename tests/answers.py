"""The /ask responses the equivalence test compares: record them once, assert them after.

    .venv/bin/python tests/answers.py    # re-record tests/artifacts/answers/expected.json.gz

Two small corpora: the seed article with the seed dev questions, and a SQuAD v1.1 dev
sample (a few paragraphs of three articles, two questions each), asked with the reader on
and off. Only ``took_ms`` and the explain trace are left out: they are not the answer.
Re-record only when an answer is meant to change (a new model or rule), never to make the
storage's test pass.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts" / "answers"
SEED = ROOT / "corpus" / "central-asia-russia-ukraine.txt"


def expected() -> dict[str, dict[str, Any]]:
    with gzip.open(ARTIFACTS / "expected.json.gz", "rt", encoding="utf-8") as fh:
        return json.load(fh)


def questions() -> dict[str, list[str]]:
    return json.loads((ARTIFACTS / "questions.json").read_text(encoding="utf-8"))


def build(base: Path) -> dict[str, Any]:
    """Config of each corpus (seed, squad), built under ``base``."""
    from citeqa.config import Config
    from citeqa.store import build as builder

    configs = {}
    for name in ("seed", "squad"):
        corpus = base / name / "corpus"
        corpus.mkdir(parents=True)
        if name == "seed":
            shutil.copy(SEED, corpus)
        else:
            for path in (ARTIFACTS / "squad-corpus").glob("*.txt"):
                shutil.copy(path, corpus)
        config = Config.load({"corpus": corpus, "index": base / name / "index"}, environ={})
        builder.build(config)
        configs[name] = config
    return configs


def responses(configs: dict[str, Any], nlp) -> dict[str, dict[str, Any]]:
    """corpus/reader -> question -> the /ask JSON body without its timing."""
    import dataclasses

    from citeqa.serve.app import create_app

    out: dict[str, dict[str, Any]] = {}
    asked = questions()
    for name, config in configs.items():
        for reader in (True, False):
            app = create_app(dataclasses.replace(config, reader=reader), nlp=nlp)
            client = app.test_client()
            got = {}
            for q in asked[name]:
                body = client.post("/ask", json={"question": q, "k": 5}).get_json()
                body.pop("took_ms", None)
                got[q] = body
            out[f"{name}/{'reader' if reader else 'no-reader'}"] = got
    return out


def main() -> None:
    import tempfile

    from citeqa.config import Config
    from citeqa.ingest.annotate import load_model

    with tempfile.TemporaryDirectory() as tmp:
        got = responses(build(Path(tmp)), load_model(Config().model))
    with gzip.open(ARTIFACTS / "expected.json.gz", "wt", encoding="utf-8") as fh:
        json.dump(got, fh, indent=1, ensure_ascii=False, sort_keys=True)
    print(f"recorded {sum(map(len, got.values()))} responses", file=sys.stderr)


if __name__ == "__main__":
    main()
