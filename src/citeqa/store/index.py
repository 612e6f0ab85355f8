"""The built index on disk -- versioned, non-pickle, swapped in atomically.

Layout under the index root (format documented in README "Index format")::

    CURRENT                 name of the live version directory (replaced atomically)
    v<time>-<fp>/           one complete build
        manifest.json       format/pipeline version, model, corpus fingerprint, counts, params
        documents.jsonl     one document per line, with its full text
        passages.jsonl      passage offsets plus their spaCy annotations
        entities.jsonl      canonical entities: aliases, roles, mentions, related entities
        vocab.json          BM25 terms, position = term id
        postings.npz        offsets, doc_ids, weights, baseline (NumPy, allow_pickle=False)

A build is written to a hidden temporary directory, fsynced, renamed into place, and only
then named in CURRENT, so a reader never sees a half-written index.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from ..ingest.annotate import Annotation, Entity, Token
from ..ingest.corpus import PassageStore
from ..ingest.documents import Document
from ..ingest.passages import Passage
from ..kb.entities import CanonicalEntity, Mention, ResolutionParams, Role
from ..kb.table import EntityTable
from ..search.analyzer import Analyzer
from ..search.bm25 import BM25Params, Postings
from ..search.retrieval import SearchIndex

FORMAT_VERSION = 3
# Bump when segmentation or annotation change: it keys the annotation cache too.
PIPELINE_VERSION = "2"
# Bump when what is derived from annotations at every build changes (entity resolution,
# analyzer, BM25 compilation): indexes are rebuilt, the annotation cache stays valid.
DERIVED_VERSION = "5"
CURRENT = "CURRENT"
# The steps of ``save`` in order; a hook sees each one (fault-injection tests stop there).
SAVE_STEPS = ("files-written", "version-renamed", "pointer-written", "switched")
OnStep = Callable[[str], None]


class IndexUnavailable(RuntimeError):
    """The index is missing, unreadable or incompatible; the message says which and what to do."""


@dataclass
class Index:
    """One loaded version: the stages' inputs side by side, and where they came from."""

    manifest: dict[str, Any]
    store: PassageStore
    search: SearchIndex
    entities: EntityTable
    version: str = ""


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(index: Index, root: Path, on_step: OnStep | None = None) -> str:
    """Write ``index`` as a new version under ``root`` and make it current. Returns the
    version. ``on_step`` is called after each of ``SAVE_STEPS``."""
    step = on_step or (lambda _: None)
    root.mkdir(parents=True, exist_ok=True)
    manifest = index.manifest
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")  # sorts by build order
    version = (f"v{stamp}-"
               f"{manifest['corpus']['fingerprint'][:8]}-{secrets.token_hex(2)}")
    previous = current_version(root)
    tmp = root / f".tmp-{version}"
    tmp.mkdir()
    try:
        store = index.store
        _write_jsonl(tmp / "documents.jsonl", (asdict(d) for d in store.documents.values()))
        _write_jsonl(tmp / "passages.jsonl", (
            {"id": p.id, "doc_id": p.doc_id, "n": p.n, "start": p.start, "end": p.end,
             "entities": [[e.start, e.end, e.label] for e in a.entities],
             "sentences": a.sentences, "noun_chunks": a.noun_chunks, "tokens": a.tokens}
            for p, a in zip(store.passages, store.annotations, strict=True)))
        _write_jsonl(tmp / "entities.jsonl", (
            {"id": e.id, "entity": e.name, "label": e.label, "aliases": e.aliases,
             "roles": [asdict(r) for r in e.roles],
             "mentions": [[m.passage, m.start, m.end, m.label] for m in e.mentions],
             "related": e.related}
            for e in index.entities.entities))
        post = index.search.postings
        _write_json(tmp / "vocab.json", sorted(post.vocab, key=post.vocab.__getitem__))
        with open(tmp / "postings.npz", "wb") as fh:
            np.savez(fh, offsets=post.offsets, doc_ids=post.doc_ids, weights=post.weights,
                     baseline=post.baseline)
            fh.flush()
            os.fsync(fh.fileno())
        # The manifest goes last: its presence marks a complete build.
        _write_json(tmp / "manifest.json", manifest)
        _fsync_dir(tmp)
        step("files-written")
        tmp.rename(root / version)
        step("version-renamed")
        pointer = root / f".{CURRENT}.{secrets.token_hex(4)}"
        pointer.write_text(version + "\n", encoding="utf-8")
        step("pointer-written")
        os.replace(pointer, root / CURRENT)
        _fsync_dir(root)
        step("switched")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    cleanup(root, keep=previous)
    index.version = version
    return version


def current_version(root: Path) -> str | None:
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return name or None


def cleanup(root: Path, keep: str | None = None) -> list[str]:
    """Remove leftovers of interrupted builds and every version but the live one and
    ``keep`` (the one live before it: requests in flight may still read it)."""
    live = current_version(root)
    removed = []
    old = [p for p in root.iterdir()
           if p.is_dir() and p.name.startswith("v") and p.name not in (live, keep)]
    for path in [*old, *(p for p in root.iterdir() if p.name.startswith(".tmp-")
                         or p.name.startswith(f".{CURRENT}."))]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed


def read_manifest(root: Path) -> dict[str, Any] | None:
    version = current_version(root)
    if version is None:
        return None
    try:
        return json.loads((root / version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load(root: Path | str) -> Index:
    root = Path(root)
    version = current_version(root)
    if version is None:
        raise IndexUnavailable(f"no index in {root}: run 'citeqa index' to build one")
    path = root / version
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            found = manifest.get("format_version")
            raise IndexUnavailable(f"index {path} has format {found}, this citeqa reads format "
                                   f"{FORMAT_VERSION}: rebuild with 'citeqa index'")
        documents = {}
        with open(path / "documents.jsonl", encoding="utf-8") as fh:
            for line in fh:
                d = Document(**json.loads(line))
                documents[d.id] = d
        passages, annotations = [], []
        with open(path / "passages.jsonl", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                text = documents[row["doc_id"]].text
                passages.append(Passage(row["id"], row["doc_id"], row["n"], row["start"],
                                        row["end"], text[row["start"]:row["end"]]))
                annotations.append(Annotation(
                    passage_id=row["id"],
                    entities=[Entity(text[s:e], label, s, e) for s, e, label in row["entities"]],
                    sentences=[tuple(x) for x in row["sentences"]],
                    noun_chunks=[tuple(x) for x in row["noun_chunks"]],
                    tokens=[Token(*t) for t in row["tokens"]]))
        entities = []
        with open(path / "entities.jsonl", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                entities.append(CanonicalEntity(
                    id=row["id"], name=row["entity"], label=row["label"],
                    aliases=row["aliases"], roles=[Role(**r) for r in row["roles"]],
                    mentions=[Mention(*m) for m in row["mentions"]],
                    related=[tuple(r) for r in row["related"]]))
        vocab_list = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        with np.load(path / "postings.npz", allow_pickle=False) as arrays:
            postings = Postings(vocab={t: i for i, t in enumerate(vocab_list)},
                                offsets=arrays["offsets"], doc_ids=arrays["doc_ids"],
                                weights=arrays["weights"], baseline=arrays["baseline"],
                                n_passages=len(passages))
    except IndexUnavailable:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexUnavailable(f"index {path} is unreadable ({type(exc).__name__}: {exc}): "
                          f"rebuild with 'citeqa index'") from None
    counts = manifest.get("counts", {})
    if counts.get("passages") != len(passages) or counts.get("documents") != len(documents):
        raise IndexUnavailable(f"index {path} does not match its manifest counts: rebuild it")
    return Index(manifest=manifest, store=PassageStore(documents, passages, annotations),
                 search=SearchIndex(postings, Analyzer.from_settings(manifest["analyzer"])),
                 entities=EntityTable(entities), version=version)


def make_manifest(*, fingerprint: str, model: dict[str, str], model_package: str,
                  analyzer: Analyzer, params: BM25Params, resolution: ResolutionParams,
                  documents: int, passages: int, entities: int, canonical: int,
                  skipped: int) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "pipeline_version": PIPELINE_VERSION,
        "derived_version": DERIVED_VERSION,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "corpus": {"fingerprint": fingerprint},
        "model": {**model, "package": model_package},
        "analyzer": analyzer.settings(),
        "bm25": asdict(params),
        "resolution": asdict(resolution),
        "counts": {"documents": documents, "passages": passages, "entity_mentions": entities,
                   "entities": canonical, "skipped_files": skipped},
    }


def staleness(manifest: dict[str, Any] | None, *, fingerprint: str,
              model_package: str) -> str | None:
    """Why an index must be rebuilt before serving, or ``None`` when it is fresh."""
    if manifest is None:
        return "no index has been built"
    if manifest.get("format_version") != FORMAT_VERSION:
        return f"index format {manifest.get('format_version')} != {FORMAT_VERSION}"
    if manifest.get("pipeline_version") != PIPELINE_VERSION:
        return f"pipeline version {manifest.get('pipeline_version')} != {PIPELINE_VERSION}"
    if manifest.get("derived_version") != DERIVED_VERSION:
        return (f"entity/BM25 build version {manifest.get('derived_version')} != "
                f"{DERIVED_VERSION}")
    if manifest.get("model", {}).get("package") != model_package:
        built = manifest.get("model", {}).get("package")
        return f"built with model {built!r}, configured {model_package!r}"
    if manifest.get("corpus", {}).get("fingerprint") != fingerprint:
        return "the corpus changed since the index was built"
    return None
