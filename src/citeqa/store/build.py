"""The indexing run: ingest (documents, passages, spaCy) -> entities -> BM25 -> save.

Incremental: a document whose content, spaCy model and pipeline version are unchanged takes
its passages and annotations from the cache; only new or changed documents go through
spaCy. BM25 statistics and entity resolution always cover the whole corpus.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tqdm import tqdm

from ..config import Config
from ..ingest.annotate import Annotation, annotate_documents, from_record, load_model, model_info
from ..ingest.corpus import PassageStore
from ..ingest.documents import Document, Skipped, corpus_fingerprint, load_corpus
from ..ingest.passages import Passage
from ..kb.entities import ResolutionParams, resolve
from ..kb.table import EntityTable
from ..search.analyzer import Analyzer
from ..search.bm25 import BM25Params, Postings
from ..search.retrieval import SearchIndex
from . import disk
from . import index as index_store
from .cache import AnnotationCache

if TYPE_CHECKING:
    from ..ingest.cluster import ClusterParams

DEFAULT_BM25 = BM25Params(variant="plus", k1=1.2, b=0.75, delta=1.0)
CACHE_DIR = "cache"
LOCK_FILE = "LOCK"


class BuildError(RuntimeError):
    """Nothing could be indexed, or the index could not be written."""


@dataclass
class BuildReport:
    version: str
    documents: int
    passages: int
    entities: int  # canonical entities, as the manifest's counts name them
    entity_mentions: int
    skipped: list[Skipped] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    annotated: int = 0  # documents that went through spaCy in this run
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _previous_documents(root: Path, column: Literal["sha256", "path"] = "sha256"
                        ) -> dict[str, str]:
    """id -> content hash (or corpus path) of the live index's documents (empty when
    there is none)."""
    try:
        version = index_store.current_version(root)
        if version is None:
            return {}
        return disk.documents_column(root / version / disk.STORE_FILE, column)
    except (OSError, sqlite3.Error, index_store.IndexUnavailable):
        return {}


@dataclass
class Assembled:
    """A complete index in memory, not yet saved, and how it was made."""

    index: index_store.Index
    skipped: list[Skipped]
    hashes: dict[str, str]  # document id -> content hash
    annotated: int
    cache: AnnotationCache
    stage_seconds: dict[str, float]


def assemble(config: Config, params: BM25Params = DEFAULT_BM25,
             analyzer: Analyzer | None = None, resolution: ResolutionParams | None = None,
             full: bool = False, progress: bool = False,
             cluster: ClusterParams | None = None) -> Assembled:
    """Read, annotate (or take from the cache), resolve entities and compile BM25;
    ``cluster`` tunes the annotation on Dask when ``config.dask`` names a cluster."""
    analyzer = analyzer or Analyzer()
    resolution = resolution or ResolutionParams()
    stages: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        stages[name] = round(now - clock[0], 3)
        clock[0] = now

    fingerprint = corpus_fingerprint(config.corpus, config.max_document_bytes)
    try:
        documents, skipped = load_corpus(config.corpus, config.max_document_bytes,
                                         _previous_documents(Path(config.index), "path"))
    except FileNotFoundError as exc:
        raise BuildError(str(exc)) from None
    if not documents:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped) or "the folder is empty"
        raise BuildError(f"nothing to index in {config.corpus} ({reasons})")
    lap("documents")

    model = model_info(config.model)
    cache = AnnotationCache(Path(config.index) / CACHE_DIR, model,
                            index_store.PIPELINE_VERSION)
    cached: dict[str, tuple[list[Passage], list[Annotation]]] = {}
    if not full:
        for doc in documents:
            hit = cache.get(doc)
            if hit is not None:
                cached[doc.id] = hit
    todo = [d for d in documents if d.id not in cached]
    fresh, failed = (_annotate(config, todo, cache, progress, cluster, lap) if todo
                     else ({}, []))
    skipped = [*skipped, *failed]
    documents = [d for d in documents if d.id in cached or d.id in fresh]
    if not documents:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped)
        raise BuildError(f"nothing to index in {config.corpus} ({reasons})")
    lap("annotations")

    passages: list[Passage] = []
    annotations: list[Annotation] = []
    for doc in documents:
        ps, ans = cached.get(doc.id) or fresh[doc.id]
        passages.extend(ps)
        annotations.extend(ans)
    if not passages:
        raise BuildError(f"no passages could be cut from the documents in {config.corpus}")
    store = PassageStore({d.id: d for d in documents}, passages, annotations)
    canonical = resolve(store, resolution)
    lap("entities")
    postings = Postings.compile([analyzer.terms(p.text) for p in passages], params)
    lap("bm25")

    manifest = index_store.make_manifest(
        fingerprint=fingerprint, model=model, model_package=config.model, analyzer=analyzer,
        params=params, resolution=resolution, documents=len(documents),
        passages=len(passages), entities=sum(len(a.entities) for a in annotations),
        canonical=len(canonical), skipped=len(skipped))
    index = index_store.Index(manifest=manifest, store=store,
                              search=SearchIndex(postings, analyzer),
                              entities=EntityTable(canonical))
    return Assembled(index, skipped, {d.id: d.sha256 for d in documents}, len(fresh), cache,
                     stages)


class CorpusChanged(RuntimeError):
    """The corpus changed while a build read it: that build must not go live."""


@contextmanager
def exclusive(root: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index folder's build lock (``LOCK``, an advisory ``flock``) for the block.

    Two builds at once would each switch ``CURRENT`` to what they read and prune the
    other's cached annotations; with the lock the second waits (``on_wait`` hears who it
    waits for) and then reads the corpus as the first left it. The kernel drops the lock
    when its holder dies, so a killed build never blocks the next one."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            if on_wait:
                on_wait(f"another build of {root} is running ({holder}); waiting for it")
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(f"citeqa pid {os.getpid()}\n")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(config: Config, params: BM25Params = DEFAULT_BM25, analyzer: Analyzer | None = None,
          resolution: ResolutionParams | None = None, full: bool = False,
          progress: bool = False, on_step: index_store.OnStep | None = None,
          on_wait: Callable[[str], None] | None = None, attempts: int = 3,
          cluster: ClusterParams | None = None) -> BuildReport:
    """Assemble, save and switch to a new version, holding the build lock. ``progress``
    shows a progress bar on stderr; ``on_step`` sees each step of the atomic save;
    ``cluster`` tunes the annotation on Dask (``config.dask``).

    Just before the switch the corpus is fingerprinted again; if it changed since it was
    read (a file added or edited during the build), the build is done again, from the
    cache, up to ``attempts`` times, so the live index never goes back to an older corpus.
    """
    started = time.perf_counter()
    root = Path(config.index)
    with exclusive(root, on_wait):
        index_store.remove_leftovers(root)
        for attempt in range(attempts):
            built = assemble(config, params, analyzer, resolution, full and attempt == 0,
                             progress, cluster)
            previous = _previous_documents(root)
            saving = time.perf_counter()
            read = built.index.manifest["corpus"]["fingerprint"]

            def unchanged(read: str = read) -> None:
                if corpus_fingerprint(config.corpus, config.max_document_bytes) != read:
                    raise CorpusChanged

            try:
                version = index_store.save(built.index, root, on_step, before_switch=unchanged,
                                           full=full, progress=progress)
                built.cache.prune()
                break
            except CorpusChanged:
                continue
            except OSError as exc:
                raise BuildError(f"could not write the index to {root}: "
                                 f"{exc.strerror or exc}") from None
        else:
            raise BuildError(f"the corpus {config.corpus} changed during each of {attempts} "
                             f"builds; the live index was kept. Run 'citeqa index' again "
                             f"when it is quiet")
    stages = {**built.stage_seconds, "save": round(time.perf_counter() - saving, 3)}
    current = built.hashes
    counts = built.index.manifest["counts"]
    return BuildReport(
        version=version, documents=counts["documents"], passages=counts["passages"],
        entities=counts["entities"], entity_mentions=counts["entity_mentions"],
        skipped=built.skipped,
        added=sorted(i for i in current if i not in previous),
        changed=sorted(i for i in current if i in previous and previous[i] != current[i]),
        removed=sorted(i for i in previous if i not in current),
        unchanged=sum(1 for i in current if previous.get(i) == current[i]),
        annotated=built.annotated, seconds=round(time.perf_counter() - started, 3),
        stage_seconds=stages)


Annotated = dict[str, tuple[list[Passage], list[Annotation]]]


def _annotate(config: Config, docs: list[Document], cache: AnnotationCache, progress: bool,
              cluster: ClusterParams | None, lap: Callable[[str], None]
              ) -> tuple[Annotated, list[Skipped]]:
    """Cut and annotate ``docs`` with spaCy, here or on the Dask cluster of
    ``config.dask``, caching each document as soon as it is done (so a stopped build
    resumes). A document spaCy cannot take is skipped with the reason; it never fails
    the build. ``lap("model")`` marks when spaCy (or the cluster) is ready."""
    out: Annotated = {}
    failed: list[Skipped] = []
    desc = "annotating on Dask" if config.dask else "annotating"
    with (closing(_outcomes(config, docs, cluster, lap)) as results,
          tqdm(total=len(docs), unit="document", desc=desc, file=sys.stderr,
               disable=not progress, dynamic_ncols=True) as bar):
        for result in results:
            if isinstance(result, Skipped):
                failed.append(result)
            else:
                doc, record = result
                cache.put(doc, record)
                out[doc.id] = from_record(doc, record)
            bar.update(1)
    order = {doc.path: n for n, doc in enumerate(docs)}  # as the corpus lists them
    return out, sorted(failed, key=lambda s: (order.get(s.path, len(order)), s.reason))


def _outcomes(config: Config, docs: list[Document], cluster: ClusterParams | None,
              lap: Callable[[str], None]) -> Iterator[tuple[Document, bytes] | Skipped]:
    """Each document's record or skip, from the same code here or on the cluster."""
    if not config.dask:
        nlp = load_model(config.model)
        lap("model")
        yield from annotate_documents(nlp, docs)
        return
    from ..ingest.cluster import ClusterError, ClusterParams, annotate_on_cluster, connect

    cluster = cluster or ClusterParams()
    try:
        with (connect(config.dask, config.model, cluster) as client,
              closing(annotate_on_cluster(client, config.model, docs, cluster)) as results):
            lap("model")
            yield from results
    except ClusterError as exc:
        raise BuildError(str(exc)) from None


def ensure(config: Config, progress: bool = False,
           on_build: Callable[[str], None] | None = None,
           on_wait: Callable[[str], None] | None = None
           ) -> tuple[index_store.Index, BuildReport | None]:
    """The live index, built first when it is missing or stale (``on_build`` hears why)."""
    reason = needs_build(config)
    report = None
    if reason:
        if on_build:
            on_build(reason)
        report = build(config, progress=progress, on_wait=on_wait)
    return index_store.load(Path(config.index)), report


def needs_build(config: Config) -> str | None:
    """Why ``config.index`` must be (re)built for ``config.corpus``, or ``None``."""
    return index_store.staleness(index_store.read_manifest(Path(config.index)),
                                 fingerprint=corpus_fingerprint(config.corpus,
                                                                config.max_document_bytes),
                                 model_package=config.model)
