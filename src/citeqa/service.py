"""The ask path, shared by the HTTP API and the CLI: question -> passages -> answer -> facts."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import index as index_store
from .answer import (
    MAX_PASSAGES,
    MIN_ANSWER_COVERAGE,
    MIN_COVERAGE,
    WEIGHTS,
    Answer,
    Outcome,
    extract,
)
from .facts import FactSheet, alias_terms, facts_for, question_entities, resolve_named
from .index import Index
from .question import QuestionAnalysis, analyze
from .retrieval import Hit, Query, make_query, search

if TYPE_CHECKING:
    from spacy.language import Language


@dataclass
class Response:
    question: str
    passages: list[Hit]
    answer: Answer | None = None
    no_answer_reason: str | None = None
    facts: list[FactSheet] = field(default_factory=list)
    explain: dict[str, Any] | None = None
    took_ms: float = 0.0


def ask(index: Index, nlp: Language, question: str, k: int,
        explain: bool = False) -> Response:
    started = time.perf_counter()
    analysis = analyze(nlp, question)
    named = resolve_named(index, question_entities([e.text for e in analysis.entities],
                                                   question))
    query = make_query(index, index.analyzer.terms(question), alias_terms(index, named))
    # The answer may come from any of the top MAX_PASSAGES, and must be among those returned.
    hits = search(index, query, max(k, MAX_PASSAGES))
    outcome = extract(index, analysis, query, hits)
    shown = hits[:k]
    if outcome.answer and all(h.passage.id != outcome.answer.passage_id for h in shown):
        shown = [*hits[:k - 1], next(h for h in hits if h.passage.id == outcome.answer.passage_id)]
    answer = outcome.answer
    span = (index.position[answer.passage_id], answer.start, answer.end) if answer else None
    facts = facts_for(index, [entity for _, entity in named], span,
                      [index.position[h.passage.id] for h in shown])
    response = Response(question=question, passages=shown, answer=answer,
                        no_answer_reason=outcome.reason, facts=facts)
    if explain:
        response.explain = explain_trace(analysis, query, outcome)
    response.took_ms = round((time.perf_counter() - started) * 1000, 2)
    return response


def explain_trace(analysis: QuestionAnalysis, query: Query, outcome: Outcome) -> dict[str, Any]:
    """Why the answer won, or why the service refused; never changes the answer."""
    winner = outcome.candidates[0] if outcome.answer else None
    runner_up = next((c for c in outcome.candidates[1:]
                      if winner and c.text.lower() != winner.text.lower()), None)
    if winner:
        why = (f"'{winner.text}' scored {winner.score:.2f}"
               + (f" against {runner_up.score:.2f} for '{runner_up.text}'" if runner_up else
                  " and had no rival"))
    else:
        why = outcome.reason
    return {
        "question": asdict(analysis),
        "terms": list(query.terms),
        "expansions": {t: [list(x) for x in v] for t, v in query.expansions.items()},
        "weights": WEIGHTS,
        "min_coverage": MIN_COVERAGE,
        "coverage": round(outcome.coverage, 4),
        "min_answer_coverage": MIN_ANSWER_COVERAGE,
        "answer_coverage": round(outcome.answer_coverage, 4),
        "candidates": [c.trace() for c in outcome.candidates[:10]],
        "decision": why,
    }


class IndexHolder:
    """The live index of one process, swapped when ``CURRENT`` names a new version.

    Requests take a reference with ``get()`` and keep using it, so a swap never disturbs a
    request in flight; the old index is freed when its last request ends.
    """

    def __init__(self, root: Path, interval: float = 2.0, index: Index | None = None) -> None:
        self.root = Path(root)
        self.interval = interval
        self._index = index
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def get(self) -> Index:
        if self._index is None or time.monotonic() - self._checked >= self.interval:
            self._refresh()
        if self._index is None:
            raise index_store.IndexUnavailable(f"no index in {self.root}: run 'citeqa index'")
        return self._index

    def _refresh(self) -> None:
        if not self._lock.acquire(blocking=self._index is None):
            return  # another thread is already loading; keep serving the current index
        try:
            self._checked = time.monotonic()
            live = index_store.current_version(self.root)
            if live is not None and (self._index is None or live != self._index.version):
                try:
                    self._index = index_store.load(self.root)
                except index_store.IndexUnavailable:
                    if self._index is None:
                        raise
        finally:
            self._lock.release()
