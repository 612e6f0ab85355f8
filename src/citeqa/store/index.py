"""The built index on disk -- versioned, non-pickle, swapped in atomically.

Layout under the index root (format documented in README "Index format")::

    CURRENT                 name of the live version directory (replaced atomically)
    v<time>-<fp>/           one complete build
        manifest.json       format/pipeline version, model, corpus fingerprint, counts,
                            params, each file's size and sha256
        store.sqlite        documents, passages (annotation, analysed words, mentions),
                            entities, mentions and alias keys (``disk.py``), read on demand
        vocab.json          BM25 terms, position = term id
        offsets.npy, doc_ids.npy, weights.npy, baseline.npy
                            BM25 postings (NumPy, memory-mapped, allow_pickle=False)

A build is written to a hidden temporary directory, fsynced, renamed into place, and only
then named in CURRENT, so a reader never sees a half-written index. Opening a version
reads no passage: it checks the manifest against CURRENT, every file's size, and the
sha256 of the files that grow with the vocabulary, not the corpus; the large files'
sha256 (``DEFERRED_FILES``) is checked by ``verify``, which a server runs in the
background before it serves a version (``live.py``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..ingest.corpus import PassageStore
from ..kb.entities import ResolutionParams
from ..kb.facts import FactParams, passage_links
from ..kb.linker import links_key
from ..kb.links import LinkParams, ValueLink
from ..kb.table import EntityTable
from ..search.analyzer import Analyzer
from ..search.bm25 import BM25Params, Postings
from ..search.retrieval import SearchIndex
from . import disk

# 4: manifest records each file's size and sha256; CURRENT the manifest's sha256.
# 5: passages, documents and entities in SQLite, postings as memory-mapped .npy arrays.
# 6: each passage's value links stored with it (made once, at build time).
FORMAT_VERSION = 6
# Bump when segmentation or annotation change: it keys the annotation cache too.
PIPELINE_VERSION = "3"
# Bump when what is derived from annotations at every build changes (entity resolution,
# analyzer, BM25 compilation): indexes are rebuilt, the annotation cache stays valid.
DERIVED_VERSION = "7"
CURRENT = "CURRENT"
_VERSION_NAME = re.compile(r"v[0-9A-Za-z-]{1,100}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
ARRAYS = ("offsets", "doc_ids", "weights", "baseline")
# The files of a version besides its manifest, each recorded in the manifest.
DATA_FILES = (disk.STORE_FILE, "vocab.json", *(f"{a}.npy" for a in ARRAYS))
# Those whose sha256 ``verify`` checks after opening (they grow with the corpus); the
# others' sha256 is checked at open.
DEFERRED_FILES = (disk.STORE_FILE, "doc_ids.npy", "weights.npy")
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
    # The version's folder, and the files whose sha256 ``verify`` has yet to check.
    path: Path | None = None
    unverified: tuple[str, ...] = ()
    # What later stages derive from this version and keep between requests (the answer
    # stage's sentence parses), each bounded by its stage; it goes with the version.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


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
         before_switch: Callable[[], None] | None = None, full: bool = False,
         progress: bool = False) -> str:
    """Write ``index`` as a new version under ``root`` and make it current. Returns the
    version. Value links of unchanged documents are taken from the live version unless
    ``full``; ``progress`` shows a bar of the passages written on stderr. ``on_step`` is
    called after each of ``SAVE_STEPS``; ``before_switch`` last of all before ``CURRENT``
    is replaced: if it raises, the new version is removed and the live one stays."""
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
        links, key = _served_links()
        earlier = (lambda _: None) if full else _earlier_links(root, index, key)

        with tqdm(total=len(index.store), unit="passage", desc="writing and linking",
                  file=sys.stderr, disable=not progress, dynamic_ncols=True) as bar:

            def linked(pos: int) -> list[ValueLink]:
                found = earlier(pos)
                bar.update(1)
                return passage_links(index.store, pos, links) if found is None else found

            disk.write(tmp / disk.STORE_FILE, index.store, index.entities,
                       index.search.analyzer, linked, key)
        post = index.search.postings
        _write_json(tmp / "vocab.json", sorted(post.vocab, key=post.vocab.__getitem__))
        for name in ARRAYS:
            with open(tmp / f"{name}.npy", "wb") as fh:
                np.save(fh, np.ascontiguousarray(getattr(post, name)), allow_pickle=False)
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


def _served_links() -> tuple[LinkParams, str]:
    """The link parameters a server's fact sheets use, and their key: what an index
    stores and what makes it stale."""
    links = FactParams().links
    return links, links_key(links)


def _earlier_links(root: Path, index: Index, key: str
                   ) -> Callable[[int], list[ValueLink] | None]:
    """For a passage of ``index``, the value links the live version under ``root`` stored
    for the same passage of a document with the same content, annotated by the same model
    and pipeline and linked under ``key``; None when there is none. An incremental build
    thus links only what changed. The live version is checked (sha256) first: a damaged
    one lends nothing."""
    try:
        live = load(root)
    except IndexUnavailable:
        return lambda _: None
    if (live.manifest.get("pipeline_version") != index.manifest["pipeline_version"]
            or live.manifest.get("model") != index.manifest["model"]
            or live.manifest.get("links") != key):
        return lambda _: None
    by_content = {sha: doc_id for doc_id, sha in
                  disk.documents_column(live.path / disk.STORE_FILE, "sha256").items()}
    store = index.store
    places_of = functools.lru_cache(maxsize=64)(live.store.passages_of)

    def earlier(pos: int) -> list[ValueLink] | None:
        passage = store.passage(pos)
        doc_id = by_content.get(store.documents[passage.doc_id].sha256)
        if doc_id is None:
            return None
        places = places_of(doc_id)
        if passage.n >= len(places):
            return None
        before = live.store.passage(places[passage.n])
        if (before.start, before.end) != (passage.start, passage.end):
            return None
        return live.entities.stored_links(places[passage.n], key)

    return earlier


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


@dataclass(frozen=True)
class Retention:
    """How long a version outlives its successor. A serving worker switches within
    seconds (``LiveIndex`` checks ``CURRENT`` every ``reload_interval``, idle or not, then
    checks the new version's sha256: ~7 s at 1M passages); until it has, it still reads
    the old version's files, and removing them fails its requests."""

    superseded_seconds: float = 300.0


def cleanup(root: Path, keep: str | None = None, retention: Retention = Retention(),
            now: float | None = None) -> list[str]:
    """Remove leftovers of interrupted builds and every version but the live one, ``keep``
    (the one live before it: a server may still be loading it) and those superseded less
    than ``retention.superseded_seconds`` ago (when the next version's files were
    written). Versions built after ``keep`` (or after the live one) other than the live
    one were never served (their build died before switching) and go at once. When no
    version is named live (``CURRENT`` missing or unreadable), no version is removed."""
    removed = remove_leftovers(root)
    live = _live_or_none(root)
    if live is None:
        return removed
    now = time.time() if now is None else now
    versions = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
                      and p.name.startswith("v"))  # names sort by build time
    for i, path in enumerate(versions):
        if path.name in (live, keep):
            continue
        if path.name < min(live, keep or live) and now - versions[i + 1].stat().st_mtime \
                < retention.superseded_seconds:
            continue  # it was served lately: a worker may not have switched from it yet
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


def _sized(path: Path, name: str, expected: Any) -> None:
    """Refuse ``name`` unless its size is the one recorded."""
    if not isinstance(expected, dict):
        raise _Damaged(f"the manifest records no checksum for {name}")
    size = (path / name).stat().st_size
    if size != expected.get("bytes"):
        raise _Damaged(f"{name} has {size} bytes, the manifest says {expected.get('bytes')}")


def _hashed(path: Path, name: str, expected: dict[str, Any]) -> None:
    """Refuse ``name`` unless its sha256 is the one recorded."""
    if _file_digest(path / name)["sha256"] != expected.get("sha256"):
        raise _Damaged(f"{name} does not match its sha256 in the manifest")


class _Damaged(ValueError):
    """A file of a version is not what was written."""


def load(root: Path | str, verify: bool = True) -> Index:
    """The live version, opened without reading its passages. ``CURRENT`` carries the
    manifest's sha256 and the manifest every file's size and sha256; sizes and the small
    files' sha256 are checked here, the large files' too unless ``verify`` is False (then
    ``Index.unverified`` names them for ``verify``). A damaged, truncated or edited file
    is refused (``IndexUnavailable``, one line naming it) instead of giving wrong answers."""
    root = Path(root)
    pointer = _pointer(root)
    if pointer is None:
        raise IndexUnavailable(f"no index in {root}: run 'citeqa index' to build one")
    version, manifest_sha = pointer
    path = root / version
    with _refusing(path):
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
        for name in DATA_FILES:
            _sized(path, name, files.get(name))
        for name in DATA_FILES:
            if verify or name not in DEFERRED_FILES:
                _hashed(path, name, files[name])
        vocab_list = json.loads((path / "vocab.json").read_bytes())
        arrays = {name: np.asarray(np.load(path / f"{name}.npy", mmap_mode="r",
                                           allow_pickle=False)) for name in ARRAYS}
        store, entities = disk.open_store(path / disk.STORE_FILE)
        postings = Postings(vocab={t: i for i, t in enumerate(vocab_list)},
                            n_passages=len(store), **arrays)
        counts = manifest.get("counts", {})
        if (counts.get("passages") != len(store)
                or counts.get("documents") != len(store.documents)
                or len(postings.offsets) != len(vocab_list) + 1
                or len(postings.baseline) != len(vocab_list)
                or len(postings.doc_ids) != len(postings.weights)
                or int(postings.offsets[-1]) != len(postings.doc_ids)):
            raise IndexUnavailable(f"index {path} does not match its manifest counts: "
                                   f"rebuild it")
        return Index(manifest=manifest, store=store,
                     search=SearchIndex(postings, Analyzer.from_settings(manifest["analyzer"]),
                                        store.words),
                     entities=entities, version=version, path=path,
                     unverified=() if verify else DEFERRED_FILES)


def verify(index: Index) -> None:
    """Check the sha256 of the files ``load(verify=False)`` left unchecked; raise
    ``IndexUnavailable`` naming the first that differs. Hashes ~1 GB/s, GIL released."""
    with _refusing(index.path):
        files = index.manifest["files"]
        for name in index.unverified:
            _hashed(index.path, name, files[name])
    index.unverified = ()


@contextlib.contextmanager
def _refusing(path: Path) -> Iterator[None]:
    """Any failure to read a version becomes one ``IndexUnavailable`` line naming it."""
    try:
        yield
    except IndexUnavailable:
        raise
    except _Damaged as exc:
        raise IndexUnavailable(f"index {path} is unreadable: {exc}: "
                               f"rebuild with 'citeqa index'") from None
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError,
            sqlite3.Error) as exc:
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
        "links": _served_links()[1],
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
    if manifest.get("links") != (links := _served_links()[1]):
        return f"value links made by {manifest.get('links')} != {links}"
    if manifest.get("model", {}).get("package") != model_package:
        built = manifest.get("model", {}).get("package")
        return f"built with model {built!r}, configured {model_package!r}"
    if manifest.get("corpus", {}).get("fingerprint") != fingerprint:
        return "the corpus changed since the index was built"
    return None
