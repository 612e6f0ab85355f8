"""Full vs incremental index time: the seed article plus N external documents.

    .venv/bin/python bench/reindex.py [--documents 300]

The external documents are SQuAD train-slice paragraphs (the tuning set), grouped five to a
document and written as one .jsonl file plus .txt files, so two formats are exercised.
Runs: a full build, a re-index with no change, one after changing one document, one after
adding ten, and `--full`. Prints one JSON line, also saved to bench/results/reindex.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from citeqa.store import index as index_store
from citeqa.store.disk import STORE_FILE

ROOT = Path(__file__).resolve().parent.parent
PASSAGES = (ROOT.parent / "shared" / "data" / "external" / "squad-v1.1-train-heldout-du2017"
            / "passages.jsonl.gz")
WORK = ROOT / "bench" / "out" / "reindex"


STAGES: dict[str, dict] = {}


def run(*args: str) -> float:
    """Wall time of one `citeqa index` (process start included); stage times are kept."""
    started = time.perf_counter()
    out = subprocess.run([str(Path(sys.executable).with_name("citeqa")), *args, "--json",
                          "--corpus", str(WORK / "corpus"), "--index", str(WORK / "index")],
                         check=True, capture_output=True, text=True)
    # an index with nothing new to build reports no stages
    STAGES[" ".join(args)] = json.loads(out.stdout).get("stage_seconds", {})
    return round(time.perf_counter() - started, 2)


def size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_corpus(corpus: Path, documents: int, extra: int = 0) -> list[list[dict]]:
    """The seed article plus ``documents`` of five train-slice paragraphs each (half in
    one .jsonl, half as .txt); returns the groups, ``extra`` more for later additions."""
    with gzip.open(PASSAGES, "rt", encoding="utf-8") as fh:
        paragraphs = [json.loads(line) for line in fh]
    docs = [paragraphs[i:i + 5] for i in range(0, 5 * (documents + extra), 5)]
    corpus.mkdir(parents=True)
    shutil.copy(ROOT / "corpus" / "central-asia-russia-ukraine.txt", corpus)
    half = documents // 2
    with open(corpus / "squad.jsonl", "w", encoding="utf-8") as fh:
        for n, group in enumerate(docs[:half]):
            fh.write(json.dumps({"id": f"squad-{n}", "title": group[0]["title"],
                                 "text": body(group)}) + "\n")
    for n, group in enumerate(docs[half:documents], start=half):
        (corpus / f"squad-{n}.txt").write_text(group[0]["title"] + "\n" + body(group) + "\n")
    return docs


def body(group: list[dict]) -> str:
    return "\n".join(p["context"] for p in group)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, default=300)
    args = ap.parse_args()
    shutil.rmtree(WORK, ignore_errors=True)
    corpus = WORK / "corpus"
    docs = write_corpus(corpus, args.documents, extra=10)
    half = args.documents // 2

    result = {"documents": args.documents + 1, "full": run("index")}
    result["unchanged"] = run("index")
    changed = corpus / f"squad-{half}.txt"
    changed.write_text(changed.read_text() + "An added closing sentence.\n")
    result["one_changed"] = run("index")
    for n, group in enumerate(docs[args.documents:args.documents + 10]):
        (corpus / f"new-{n}.txt").write_text(group[0]["title"] + "\n" + body(group) + "\n")
    result["ten_added"] = run("index")
    result["forced_full"] = run("index", "--full")
    version = WORK / "index" / index_store.current_version(WORK / "index")
    manifest = json.loads((version / "manifest.json").read_text())
    result["passages"] = manifest["counts"]["passages"]
    result["entities"] = manifest["counts"]["entities"]
    result["index_bytes"] = size(version)
    result["store_bytes"] = (version / STORE_FILE).stat().st_size
    result["cache_bytes"] = size(WORK / "index" / "cache")
    result["stage_seconds_full"] = STAGES["index --full"]
    line = json.dumps(result)
    print(line)
    (ROOT / "bench" / "results" / "reindex.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
