"""The ask path, shared by the HTTP API and the CLI:
question -> linked entities -> passages -> answer or refusal -> facts.

Each stage gets the part of the index it needs: the search index for retrieval, the
passage store for evidence, the entity table for linking and facts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..kb.facts import FactBook, FactSheet
from ..search.retrieval import Query
from ..store.index import Index
from .candidates import Hit
from .extract import Answer, Outcome, extract
from .link import Linked, link
from .load import AnswerModels, load_models
from .params import QAParams
from .policy import Refusal, number_unstated, value_of_other
from .question import Question, analyze
from .spans import SentenceParses

if TYPE_CHECKING:
    from .question import Parser


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


SENTENCE_PARSES = "qa.sentence_parses"  # its key in ``Index.derived``


def sentence_parses(index: Index, params: QAParams) -> SentenceParses:
    """The parses of ``index``'s sentences that this process keeps between questions."""
    found = index.derived.get(SENTENCE_PARSES)
    if found is None:
        store = index.store
        found = index.derived.setdefault(SENTENCE_PARSES, SentenceParses(
            lambda pos: store.annotation(pos).tokens, params.answer.sentences_cached))
    return found


def _hits(index: Index, query: Query, k: int, params: QAParams) -> list[Hit]:
    store, search = index.store, index.search
    parses = sentence_parses(index, params)
    hits = []
    for r in search.search(query, k):
        passage = store.passage(r.pos)
        hits.append(Hit(r.pos, r.rank, r.score, passage, store.annotation(r.pos),
                        store.text_of(r.pos), index.entities.at(r.pos),
                        search.words(r.pos, passage.text, passage.start), parses))
    return hits


def retrieve(index: Index, nlp: Parser, question: str, params: QAParams, k: int = 0,
             lap: Callable[[str], None] = lambda _: None
             ) -> tuple[Question, Query, list[Hit], Linked]:
    """Read the question, link its names, and fetch the top passages: at least as many as
    answer extraction reads, since the answer's passage must be among those returned.
    ``lap`` hears when the parse and the retrieval end."""
    search = index.search
    analysis = analyze(nlp, search.analyzer, question)
    lap("parse")
    linked = link(analysis, index.entities, params.link_similarity)
    query = search.query(list(analysis.terms), linked.alias_terms(search.analyzer),
                         params.retrieval)
    hits = _hits(index, query, max(k, params.answer.max_passages), params)
    lap("retrieval")
    return analysis, query, hits, linked


def ask(index: Index, nlp: Parser, question: str, k: int, explain: bool = False,
        params: QAParams | None = None, models: AnswerModels | None = None) -> Response:
    """Answer ``question`` from ``index``. With ``params.answer.ranker`` on, the trained
    models pick the answer (``models``, or the ones shipped in the package)."""
    params = params or QAParams()
    if params.answer.ranker and models is None:
        models = load_models(params)
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(stage: str) -> None:
        now = time.perf_counter()
        timings[stage] = round((now - clock[0]) * 1000, 3)
        clock[0] = now

    started = clock[0]
    store, search = index.store, index.search
    analysis, query, hits, linked = retrieve(index, nlp, question, params, k, lap)
    outcome = extract(search, analysis, query, hits, params.answer,
                      models if params.answer.ranker else None, params.reader)
    book = FactBook(store, index.entities)
    if (given := outcome.answer) and "value_of_other" in params.answer.rules:
        # whose value the answer is needs the facts stage's parse links
        refusal = value_of_other(given.text,
                                 book.owners(given.passage, given.start, given.end),
                                 linked.entities, given.label)
        if refusal:
            outcome = replace(outcome, answer=None, refusal=refusal)
    if (given := outcome.answer) and "number_unstated" in params.answer.rules:
        hit = next(h for h in hits if h.pos == given.passage)
        refusal = number_unstated(question, given.text, hit.passage.text)
        if refusal:
            outcome = replace(outcome, answer=None, refusal=refusal)
    answer = outcome.answer
    shown = hits[:k]
    if answer and all(h.pos != answer.passage for h in shown):
        shown = [*hits[:k - 1], next(h for h in hits if h.pos == answer.passage)]
    lap("answer")
    if outcome.reading is not None:
        timings["reader"] = outcome.reading["reader_ms"]  # part of "answer"
    span = (answer.passage, answer.start, answer.end) if answer else None
    facts = book.facts_for(linked.entities, span, [h.pos for h in shown], params.facts)
    passages = [Shown(h, search.highlight(query, h.words)) for h in shown]
    lap("facts")
    response = Response(question=question, passages=passages, answer=answer,
                        refusal=outcome.refusal, facts=facts)
    if explain:
        response.explain = explain_trace(analysis, query, outcome, params, timings,
                                         models if params.answer.ranker else None)
    response.took_ms = round((time.perf_counter() - started) * 1000, 2)
    return response


def explain_trace(analysis: Question, query: Query, outcome: Outcome, params: QAParams,
                  timings: dict[str, float],
                  models: AnswerModels | None = None) -> dict[str, Any]:
    """Why the answer won, or why the service refused; never changes the answer. With the
    ranker, the features that weighed most for its winner and runner-up; with the reader,
    what it read, its best spans and the features of the confidence."""
    # (text, score) of the winner and its runner-up, from the reader or the ranker
    if outcome.reading is not None:
        ranked = [(s["text"], s["score"]) for s in outcome.reading["spans"]]
    else:
        ranked = [(c.text, c.score) for c in outcome.candidates]
    if outcome.answer and ranked:
        (text, score), rival = ranked[0], next(
            (r for r in ranked[1:] if r[0].lower() != ranked[0][0].lower()), None)
        why = (f"'{text}' scored {score:.2f}"
               + (f" against {rival[1]:.2f} for '{rival[0]}'" if rival else
                  " and had no rival"))
    else:
        why = outcome.refusal.message if outcome.refusal else None
    question = asdict(analysis)
    for derived in ("names", "terms"):
        question.pop(derived)
    answer = params.answer
    ranking = {}
    if models is not None:
        ranker = models.ranker
        best = outcome.candidates[0] if outcome.candidates else None
        second = next((c for c in outcome.candidates[1:]
                       if best and c.text.lower() != best.text.lower()), None)
        ranking = {**models.describe(),
                   "min_confidence": (params.reader.min_confidence if models.reader
                                      else answer.min_confidence),
                   "contributions": {c.text: ranker.contributions(c.features)
                                     for c in (best, second) if c is not None}}
        if outcome.reading is not None:
            ranking["reading"] = outcome.reading
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
        **ranking,
    }
