"""Run stages 1-4 (documents, passages, annotations, entities, BM25) and save atomically.

Incremental: a document whose content, spaCy model and pipeline version are unchanged takes
its passages and annotations from the cache; only new or changed documents go through
spaCy. BM25 statistics and entity resolution always cover the whole corpus.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import index as index_store
from .analyzer import Analyzer
from .annotate import Annotation, annotate, load_model, model_info, sentence_splitter
from .bm25 import BM25Params, Postings
from .cache import AnnotationCache
from .config import Config
from .documents import Document, Skipped, corpus_fingerprint, load_corpus
from .entities import resolve
from .passages import Passage, segment

DEFAULT_BM25 = BM25Params(variant="plus", k1=1.2, b=0.75, delta=1.0)
CACHE_DIR = "cache"

# progress(documents done, documents to annotate, passages done)
Progress = Callable[[int, int, int], None]


class BuildError(RuntimeError):
    """Nothing could be indexed, or the index could not be written."""


@dataclass
class BuildReport:
    version: str
    documents: int
    passages: int
    entities: int
    skipped: list[Skipped] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    annotated: int = 0  # documents that went through spaCy in this run
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)


def _previous_documents(root: Path) -> dict[str, str]:
    """id -> content hash of the live index's documents (empty when there is none)."""
    version = index_store.current_version(root)
    if version is None:
        return {}
    out = {}
    try:
        with open(root / version / "documents.jsonl", encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                out[row["id"]] = row["sha256"]
    except (OSError, ValueError, KeyError):
        return {}
    return out


def build(config: Config, params: BM25Params = DEFAULT_BM25, analyzer: Analyzer | None = None,
          full: bool = False, progress: Progress | None = None) -> BuildReport:
    analyzer = analyzer or Analyzer()
    started = time.perf_counter()
    stages: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        stages[name] = round(now - since, 3)
        return now

    root = Path(config.index)
    fingerprint = corpus_fingerprint(config.corpus)
    try:
        documents, skipped = load_corpus(config.corpus)
    except FileNotFoundError as exc:
        raise BuildError(str(exc)) from None
    if not documents:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped) or "the folder is empty"
        raise BuildError(f"nothing to index in {config.corpus} ({reasons})")
    t = lap("documents", started)

    model = model_info(config.model)
    cache = AnnotationCache(root / CACHE_DIR, model, index_store.PIPELINE_VERSION)
    cached: dict[str, tuple[list[Passage], list[Annotation]]] = {}
    if not full:
        for doc in documents:
            hit = cache.get(doc)
            if hit is not None:
                cached[doc.id] = hit
    todo = [d for d in documents if d.id not in cached]
    fresh = _annotate(config, todo, cache, progress) if todo else {}
    t = lap("annotations", t)

    passages: list[Passage] = []
    annotations: list[Annotation] = []
    for doc in documents:
        ps, ans = cached.get(doc.id) or fresh[doc.id]
        passages.extend(ps)
        annotations.extend(ans)
    if not passages:
        raise BuildError(f"no passages could be cut from the documents in {config.corpus}")
    canonical = resolve(passages, annotations, {d.id: d.text for d in documents})
    t = lap("entities", t)
    postings = Postings.compile([analyzer.terms(p.text) for p in passages], params)
    t = lap("bm25", t)

    mentions = sum(len(a.entities) for a in annotations)
    manifest = index_store.make_manifest(
        fingerprint=fingerprint, model=model, model_package=config.model, analyzer=analyzer,
        params=params, documents=len(documents), passages=len(passages), entities=mentions,
        canonical=len(canonical), skipped=len(skipped))
    built = index_store.Index(manifest=manifest, documents={d.id: d for d in documents},
                              passages=passages, annotations=annotations, postings=postings,
                              analyzer=analyzer, entities=canonical)
    previous = _previous_documents(root)
    try:
        version = index_store.save(built, root)
        cache.prune()
    except OSError as exc:
        raise BuildError(f"could not write the index to {root}: {exc.strerror or exc}") from None
    lap("save", t)
    current = {d.id: d.sha256 for d in documents}
    return BuildReport(
        version=version, documents=len(documents), passages=len(passages), entities=mentions,
        skipped=skipped,
        added=sorted(i for i in current if i not in previous),
        changed=sorted(i for i in current if i in previous and previous[i] != current[i]),
        removed=sorted(i for i in previous if i not in current),
        unchanged=sum(1 for i in current if previous.get(i) == current[i]),
        annotated=len(todo), seconds=round(time.perf_counter() - started, 3),
        stage_seconds=stages)


def _annotate(config: Config, docs: list[Document], cache: AnnotationCache,
              progress: Progress | None) -> dict[str, tuple[list[Passage], list[Annotation]]]:
    """Segment and annotate ``docs`` with spaCy (one batched stream), caching each one."""
    nlp = load_model(config.model)
    split = sentence_splitter(nlp)
    per_doc = [(doc, segment(doc, split)) for doc in docs]
    stream = annotate(nlp, [p for _, ps in per_doc for p in ps])
    out = {}
    done_passages = 0
    for n, (doc, ps) in enumerate(per_doc, start=1):
        ans = [next(stream) for _ in ps]
        cache.put(doc, ps, ans)
        out[doc.id] = (ps, ans)
        done_passages += len(ps)
        if progress:
            progress(n, len(per_doc), done_passages)
    return out


def needs_build(config: Config) -> str | None:
    """Why ``config.index`` must be (re)built for ``config.corpus``, or ``None``."""
    return index_store.staleness(index_store.read_manifest(Path(config.index)),
                                 fingerprint=corpus_fingerprint(config.corpus),
                                 model_package=config.model)
