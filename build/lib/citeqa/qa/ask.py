"""The ask path, shared by the HTTP API and the CLI:
question -> linked entities -> passages -> answer or refusal -> facts.

Each stage gets the part of the index it needs: the search index for retrieval, the
passage store for evidence, the entity table for linking and facts.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..kb.facts import FactBook, FactSheet
from ..store.index import Index
from .candidates import Hit
from .extract import Answer, Outcome, extract
from .link import link
from .params import QAParams
from .policy import Refusal
from .question import Question, analyze

if TYPE_CHECKING:
    from spacy.language import Language


@dataclass(frozen=True)
class Shown:
    """A passage returned to the asker, with the offsets of the words that matched."""

    hit: Hit
    matches: list[tuple[int, int]]


@dataclass
class Response:
    question: str
    passages: list[Shown]
    answer: Answer | None = None
    refusal: Refusal | None = None
    facts: list[FactSheet] = field(default_factory=list)
    explain: dict[str, Any] | None = None
    took_ms: float = 0.0


def ask(index: Index, nlp: Language, question: str, k: int, explain: bool = False,
        params: QAParams | None = None) -> Response:
    params = params or QAParams()
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        timings[stage] = round((now - clock[0]) * 1000, 3)
        clock[0] = now

    started = clock[0]
    store, search = index.store, index.search
    analysis = analyze(nlp, search.analyzer, question)
    lap("parse")
    linked = link(analysis, index.entities, params.link_similarity)
    query = search.query(list(analysis.terms), linked.alias_terms(search.analyzer),
                         params.retrieval)
    # The answer may come from any of the top passages it reads, and must be among those
    # returned.
    hits = [Hit(r.pos, r.rank, r.score, store.passage(r.pos), store.annotation(r.pos),
                store.text_of(r.pos), index.entities.at(r.pos))
            for r in search.search(query, max(k, params.answer.max_passages))]
    lap("retrieval")
    outcome = extract(search, analysis, query, hits, params.answer)
    answer = outcome.answer
    shown = hits[:k]
    if answer and all(h.pos != answer.passage for h in shown):
        shown = [*hits[:k - 1], next(h for h in hits if h.pos == answer.passage)]
    lap("answer")
    span = (answer.passage, answer.start, answer.end) if answer else None
    facts = FactBook(store, index.entities).facts_for(linked.entities, span,
                                                      [h.pos for h in shown], params.facts)
    passages = [Shown(h, search.highlight(query, h.passage.text, h.passage.start))
                for h in shown]
    lap("facts")
    response = Response(question=question, passages=passages, answer=answer,
                        refusal=outcome.refusal, facts=facts)
    if explain:
        response.explain = explain_trace(analysis, query, outcome, params, timings)
    response.took_ms = round((time.perf_counter() - started) * 1000, 2)
    return response


def explain_trace(analysis: Question, query, outcome: Outcome, params: QAParams,
                  timings: dict[str, float]) -> dict[str, Any]:
    """Why the answer won, or why the service refused; never changes the answer."""
    winner = outcome.candidates[0] if outcome.answer else None
    runner_up = next((c for c in outcome.candidates[1:]
                      if winner and c.text.lower() != winner.text.lower()), None)
    if winner:
        why = (f"'{winner.text}' scored {winner.score:.2f}"
               + (f" against {runner_up.score:.2f} for '{runner_up.text}'" if runner_up else
                  " and had no rival"))
    else:
        why = outcome.refusal.message if outcome.refusal else None
    question = asdict(analysis)
    for derived in ("names", "terms"):
        question.pop(derived)
    answer = params.answer
    return {
        "question": question,
        "terms": list(query.terms),
        "expansions": {t: [list(x) for x in v] for t, v in query.expansions.items()},
        "weights": asdict(answer.weights),
        "min_coverage": answer.min_coverage,
        "coverage": round(outcome.coverage, 4),
        "min_answer_coverage": answer.min_answer_coverage,
        "answer_coverage": round(outcome.answer_coverage, 4),
        "candidates": [c.trace() for c in outcome.candidates[:10]],
        "decision": why,
        "params_version": params.version,
        "timings_ms": timings,
    }
