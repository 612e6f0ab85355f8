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

import hashlib
import io
import json
import os
import re
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

# 4: manifest records each file's size and sha256; CURRENT the manifest's sha256.
FORMAT_VERSION = 4
# Bump when segmentation or annotation change: it keys the annotation cache too.
PIPELINE_VERSION = "2"
# Bump when what is derived from annotations at every build changes (entity resolution,
# analyzer, BM25 compilation): indexes are rebuilt, the annotation cache stays valid.
DERIVED_VERSION = "5"
CURRENT = "CURRENT"
_VERSION_NAME = re.compile(r"v[0-9A-Za-z-]{1,100}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# The files of a version besides its manifest, each checked against the manifest at load.
DATA_FILES = ("documents.jsonl", "passages.jsonl", "entities.jsonl", "vocab.json",
              "postings.npz")
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
    # Set by a serving process when a newer version was refused: {"version", "reason"}.
    refused: dict[str, str] | None = None


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


def save(index: Index, root: Path, on_step: OnStep | None = None,
         before_switch: Callable[[], None] | None = None) -> str:
    """Write ``index`` as a new version under ``root`` and make it current. Returns the
    version. ``on_step`` is called after each of ``SAVE_STEPS``; ``before_switch`` last of
    all before ``CURRENT`` is replaced: if it raises, the new version is removed and the
    live one stays."""
    step = on_step or (lambda _: None)
    root.mkdir(parents=True, exist_ok=True)
    manifest = index.manifest
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")  # sorts by build order
    version = (f"v{stamp}-"
               f"{manifest['corpus']['fingerprint'][:8]}-{secrets.token_hex(2)}")
    previous = _live_or_none(root)
    tmp = root / f".tmp-{version}"
    tmp.mkdir()
    pointer = root / f".{CURRENT}.{secrets.token_hex(4)}"
    switched = False
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
        # The manifest goes last: its presence marks a complete build. It records each
        # file's size and sha256, and CURRENT records the manifest's own sha256.
        manifest = {**manifest, "files": {name: _file_digest(tmp / name)
                                          for name in DATA_FILES}}
        _write_json(tmp / "manifest.json", manifest)
        manifest_sha = _file_digest(tmp / "manifest.json")["sha256"]
        _fsync_dir(tmp)
        step("files-written")
        tmp.rename(root / version)
        step("version-renamed")
        with open(pointer, "w", encoding="utf-8") as fh:
            fh.write(f"{version}\n{manifest_sha}\n")
            fh.flush()
            os.fsync(fh.fileno())
        step("pointer-written")
        if before_switch is not None:
            before_switch()
        os.replace(pointer, root / CURRENT)
        switched = True
        _fsync_dir(root)
        step("switched")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not switched:
            shutil.rmtree(root / version, ignore_errors=True)
            pointer.unlink(missing_ok=True)
        raise
    cleanup(root, keep=previous)
    index.version = version
    index.manifest = manifest
    return version


def _file_digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            size += len(block)
    return {"bytes": size, "sha256": digest.hexdigest()}


def _pointer(root: Path) -> tuple[str, str | None] | None:
    """(version, manifest sha256) from ``CURRENT``, None when there is no index yet. A
    damaged pointer (unreadable, or not naming a version folder) raises."""
    try:
        raw = (root / CURRENT).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise IndexUnavailable(f"{root / CURRENT} is unreadable ({exc.strerror or exc}): "
                               f"rebuild with 'citeqa index'") from None
    lines = raw.decode("utf-8", "replace").split("\n")
    name = lines[0].strip()
    if not _VERSION_NAME.fullmatch(name) or not (root / name).is_dir():
        raise IndexUnavailable(f"{root / CURRENT} is damaged: it names {name[:80]!r}, not a "
                               f"version folder of {root}: rebuild with 'citeqa index'")
    checksum = lines[1].strip() if len(lines) > 1 else ""
    return name, checksum if _SHA256.fullmatch(checksum) else None


def current_version(root: Path) -> str | None:
    """The version ``CURRENT`` names, or None when there is none yet. A damaged pointer
    (unreadable, or not the name of a version folder) raises ``IndexUnavailable``."""
    pointer = _pointer(root)
    return pointer[0] if pointer else None


def _live_or_none(root: Path) -> str | None:
    try:
        return current_version(root)
    except IndexUnavailable:
        return None


def remove_leftovers(root: Path) -> list[str]:
    """Remove what interrupted builds left (``.tmp-*`` folders, unused pointer files).
    Only safe while holding the build lock: another build may be writing them."""
    removed = []
    if not root.is_dir():
        return removed
    for path in root.iterdir():
        if path.name.startswith((".tmp-", f".{CURRENT}.")):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def cleanup(root: Path, keep: str | None = None) -> list[str]:
    """Remove leftovers of interrupted builds and every version but the live one and
    ``keep`` (the one live before it: a server may still be loading it). When no version
    is named live (``CURRENT`` missing or unreadable), no version is removed."""
    removed = remove_leftovers(root)
    live = _live_or_none(root)
    if live is None:
        return removed
    for path in root.iterdir():
        if (path.is_dir() and not path.is_symlink() and path.name.startswith("v")
                and path.name not in (live, keep)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def read_manifest(root: Path) -> dict[str, Any] | None:
    version = _live_or_none(root)
    if version is None:
        return None
    try:
        return json.loads((root / version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _checked(path: Path, name: str, expected: Any) -> bytes:
    """The bytes of ``name``, refused unless size and sha256 are those recorded."""
    if not isinstance(expected, dict):
        raise _Damaged(f"the manifest records no checksum for {name}")
    size = (path / name).stat().st_size
    if size != expected.get("bytes"):
        raise _Damaged(f"{name} has {size} bytes, the manifest says {expected.get('bytes')}")
    data = (path / name).read_bytes()
    if hashlib.sha256(data).hexdigest() != expected.get("sha256"):
        raise _Damaged(f"{name} does not match its sha256 in the manifest")
    return data


class _Damaged(ValueError):
    """A file of a version is not what was written."""


def _lines(data: bytes):
    return (json.loads(line) for line in data.decode("utf-8").splitlines() if line)


def load(root: Path | str) -> Index:
    """The live version, verified: ``CURRENT`` carries the manifest's sha256 and the
    manifest every file's size and sha256, so a damaged, truncated or edited file is
    refused (``IndexUnavailable``, one line naming it) instead of giving wrong answers."""
    root = Path(root)
    pointer = _pointer(root)
    if pointer is None:
        raise IndexUnavailable(f"no index in {root}: run 'citeqa index' to build one")
    version, manifest_sha = pointer
    path = root / version
    try:
        raw_manifest = (path / "manifest.json").read_bytes()
        manifest = json.loads(raw_manifest)
        if not isinstance(manifest, dict):
            raise _Damaged("manifest.json is not a JSON object")
        if manifest.get("format_version") != FORMAT_VERSION:
            found = manifest.get("format_version")
            raise IndexUnavailable(f"index {path} has format {found}, this citeqa reads format "
                                   f"{FORMAT_VERSION}: rebuild with 'citeqa index'")
        if manifest_sha is None:
            raise _Damaged(f"{CURRENT} records no checksum of manifest.json")
        if hashlib.sha256(raw_manifest).hexdigest() != manifest_sha:
            raise _Damaged(f"manifest.json does not match its sha256 in {CURRENT}")
        files = manifest.get("files")
        if not isinstance(files, dict):
            raise _Damaged("the manifest records no file checksums")
        data = {name: _checked(path, name, files.get(name)) for name in DATA_FILES}
        documents = {}
        for row in _lines(data["documents.jsonl"]):
            d = Document(**row)
            documents[d.id] = d
        passages, annotations = [], []
        for row in _lines(data["passages.jsonl"]):
            text = documents[row["doc_id"]].text
            passages.append(Passage(row["id"], row["doc_id"], row["n"], row["start"],
                                    row["end"], text[row["start"]:row["end"]]))
            annotations.append(Annotation(
                passage_id=row["id"],
                entities=[Entity(text[s:e], label, s, e) for s, e, label in row["entities"]],
                sentences=[tuple(x) for x in row["sentences"]],
                noun_chunks=[tuple(x) for x in row["noun_chunks"]],
                tokens=[Token(*t) for t in row["tokens"]]))
        entities = [CanonicalEntity(
            id=row["id"], name=row["entity"], label=row["label"],
            aliases=row["aliases"], roles=[Role(**r) for r in row["roles"]],
            mentions=[Mention(*m) for m in row["mentions"]],
            related=[tuple(r) for r in row["related"]]) for row in _lines(data["entities.jsonl"])]
        vocab_list = json.loads(data["vocab.json"])
        with np.load(io.BytesIO(data["postings.npz"]), allow_pickle=False) as arrays:
            postings = Postings(vocab={t: i for i, t in enumerate(vocab_list)},
                                offsets=arrays["offsets"], doc_ids=arrays["doc_ids"],
                                weights=arrays["weights"], baseline=arrays["baseline"],
                                n_passages=len(passages))
        counts = manifest.get("counts", {})
        if counts.get("passages") != len(passages) or counts.get("documents") != len(documents):
            raise IndexUnavailable(f"index {path} does not match its manifest counts: "
                                   f"rebuild it")
        return Index(manifest=manifest, store=PassageStore(documents, passages, annotations),
                     search=SearchIndex(postings,
                                        Analyzer.from_settings(manifest["analyzer"])),
                     entities=EntityTable(entities), version=version)
    except IndexUnavailable:
        raise
    except _Damaged as exc:
        raise IndexUnavailable(f"index {path} is unreadable: {exc}: "
                               f"rebuild with 'citeqa index'") from None
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        first = (str(exc).splitlines() or [""])[0][:300]
        raise IndexUnavailable(f"index {path} is unreadable ({type(exc).__name__}: {first}): "
                               f"rebuild with 'citeqa index'") from None


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
