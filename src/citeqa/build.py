"""Run stages 1-4 (documents, passages, annotations, BM25) and save the index atomically."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import index as index_store
from .analyzer import Analyzer
from .annotate import annotate, load_model, model_id, sentence_splitter
from .bm25 import BM25Params, Postings
from .config import Config
from .documents import Skipped, corpus_fingerprint, load_corpus
from .entities import resolve
from .passages import segment

DEFAULT_BM25 = BM25Params(variant="plus", k1=1.2, b=0.75, delta=1.0)


class BuildError(RuntimeError):
    """Nothing could be indexed, or the index could not be written."""


@dataclass
class BuildReport:
    version: str
    documents: int
    passages: int
    entities: int
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)


def build(config: Config, params: BM25Params = DEFAULT_BM25,
          analyzer: Analyzer | None = None) -> BuildReport:
    analyzer = analyzer or Analyzer()
    started = time.perf_counter()
    stages: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        stages[name] = round(now - since, 3)
        return now

    fingerprint = corpus_fingerprint(config.corpus)
    try:
        documents, skipped = load_corpus(config.corpus)
    except FileNotFoundError as exc:
        raise BuildError(str(exc)) from None
    if not documents:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in skipped) or "the folder is empty"
        raise BuildError(f"nothing to index in {config.corpus} ({reasons})")
    t = lap("documents", started)
    nlp = load_model(config.model)
    t = lap("model", t)
    split = sentence_splitter(nlp)
    passages = [p for doc in documents for p in segment(doc, split)]
    if not passages:
        raise BuildError(f"no passages could be cut from the documents in {config.corpus}")
    t = lap("passages", t)
    annotations = annotate(nlp, passages)
    t = lap("annotations", t)
    canonical = resolve(passages, annotations, {d.id: d.text for d in documents})
    t = lap("entities", t)
    postings = Postings.compile([analyzer.terms(p.text) for p in passages], params)
    t = lap("bm25", t)
    entities = sum(len(a.entities) for a in annotations)
    manifest = index_store.make_manifest(
        fingerprint=fingerprint, model=model_id(nlp), model_package=config.model,
        analyzer=analyzer, params=params, documents=len(documents), passages=len(passages),
        entities=entities, canonical=len(canonical), skipped=len(skipped))
    built = index_store.Index(manifest=manifest, documents={d.id: d for d in documents},
                              passages=passages, annotations=annotations, postings=postings,
                              analyzer=analyzer, entities=canonical)
    try:
        version = index_store.save(built, Path(config.index))
    except OSError as exc:
        raise BuildError(f"could not write the index to {config.index}: "
                         f"{exc.strerror or exc}") from None
    lap("save", t)
    return BuildReport(version=version, documents=len(documents), passages=len(passages),
                       entities=entities, skipped=skipped,
                       seconds=round(time.perf_counter() - started, 3), stage_seconds=stages)


def needs_build(config: Config) -> str | None:
    """Why ``config.index`` must be (re)built for ``config.corpus``, or ``None``."""
    return index_store.staleness(index_store.read_manifest(Path(config.index)),
                                 fingerprint=corpus_fingerprint(config.corpus),
                                 model_package=config.model)
