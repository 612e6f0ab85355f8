"""Pick a short answer span from the top passages, or refuse.

candidates (``candidates.py``) -> evidence features (``features.py``) -> ranking
(``rank.py``) -> refusal rules (``policy.py``). Each candidate is scored from evidence --
type match, how much of the question its sentence contains, how close it sits to the
question's words, the passage's BM25 score and support from other sentences -- never
from its position in the ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..search.retrieval import Query, SearchIndex
from . import policy
from .candidates import (
    Candidate,
    Hit,
    Proposer,
    candidate_pool,
    drop_contradicted_roles,
    strip,
)
from .features import QuestionScorer, is_list, near_head, type_score
from .params import AnswerParams
from .policy import Refusal
from .question import Question
from .rank import confidence, rank
from .ranker import Featurizer, RankerModel


@dataclass(frozen=True)
class Answer:
    text: str
    label: str
    confidence: float
    passage: int  # position in the passage store
    start: int
    end: int
    sentence: str
    sentence_start: int


@dataclass
class Outcome:
    answer: Answer | None
    refusal: Refusal | None
    candidates: list[Candidate]
    coverage: float
    # Coverage of the winning candidate's sentence window (0 when none was reached).
    answer_coverage: float = 0.0


def extract(search: SearchIndex, question: Question, query: Query, hits: list[Hit],
            params: AnswerParams, ranker: RankerModel | None = None) -> Outcome:
    refusal = policy.absent_names(search, question, query, params)
    if refusal:
        return Outcome(None, refusal, [], 0.0)
    if not hits:
        return Outcome(None, policy.no_match(), [], 0.0)
    scorer = QuestionScorer(search, query)
    if ranker is not None:
        return _extract_ranked(search, question, query, hits, params, ranker, scorer)
    candidates = drop_contradicted_roles(
        question, _propose(question, scorer, hits[:params.max_passages], params))
    candidates = rank(candidates, params)

    covered = {h.pos: scorer.coverage_of(t for _, _, t in h.words)
               for h in hits[:params.max_passages]}
    coverage = max(covered.values())
    refusal = policy.weak_passages(coverage, params)
    if refusal:
        return Outcome(None, refusal, candidates, coverage)
    if not candidates:
        return Outcome(None, policy.no_candidate(question), candidates, coverage)
    best = candidates[0]
    window = _window(best)
    support = scorer.coverage(window)
    refusal = (policy.weak_answer_sentence(best, support, params)
               or policy.attribute_unstated(search, question, query, best, window))
    if refusal:
        return Outcome(None, refusal, candidates, coverage, support)
    s, e = strip(best.hit.text[best.sentence[0]:best.sentence[1]], best.sentence[0])
    return Outcome(Answer(text=best.text, label=best.label,
                          confidence=confidence(best, covered[best.hit.pos], candidates,
                                                params),
                          passage=best.hit.pos, start=best.start, end=best.end,
                          sentence=best.hit.text[s:e], sentence_start=s),
                   None, candidates, coverage, support)


def _propose(question: Question, scorer: QuestionScorer, hits: list[Hit],
             params: AnswerParams) -> list[Candidate]:
    """Every candidate of the sentences that share a word with the question."""
    proposer = Proposer(question, scorer, params.max_quoted_words)
    head = scorer.analyzer.term(question.head) if question.head else None
    top_score = hits[0].score or 1.0
    candidates: list[Candidate] = []
    for hit in hits:
        for sent in hit.annotation.sentences:
            text = hit.text[sent[0]:sent[1]]
            spans, matched, overlap = scorer.sentence(hit, sent)
            if not matched:
                continue
            shared = {"overlap": overlap, "passage": hit.score / top_score}
            if question.answer_kind == "clause":
                s, e = proposer.best_clause(hit.text, sent)
                label = "CLAUSE" if (s, e) != strip(text, sent[0]) else "SENTENCE"
                candidates.append(Candidate(hit.text[s:e], label, s, e, hit, sent, {
                    "type": 1.0, "proximity": 1.0, **shared}))
                continue
            found = (proposer.entities(hit, sent) if question.answer_kind == "entity"
                     else proposer.phrases(hit, sent))
            for ctext, label, s, e in found:
                tscore = type_score(label, question.expected)
                if question.expected and tscore == 0.0:
                    continue
                candidates.append(Candidate(ctext, label, s, e, hit, sent, {
                    "type": tscore,
                    "proximity": scorer.proximity(spans, matched, s, e, text, sent[0],
                                                  params.clause_gap),
                    "head": near_head(spans, head, s, e, label != "NOUN_PHRASE"),
                    "list": float(question.plural and is_list(ctext)), **shared}))
    return candidates


def _window(candidate: Candidate) -> str:
    """The candidate's sentence and the one before it in its passage (for "it", "they")."""
    sentences = candidate.hit.annotation.sentences
    i = sentences.index(candidate.sentence)
    start = sentences[max(i - 1, 0)][0]
    return candidate.hit.text[start:candidate.sentence[1]]


def featurize(question: Question, scorer: QuestionScorer, hits: list[Hit],
              params: AnswerParams) -> tuple[list[Candidate], list[dict[str, float]]]:
    """The ranker's candidates and their features: the one code path that training
    (train/ranker.py) and answering share."""
    pool = candidate_pool(question, scorer, hits[:params.max_passages], params.max_quoted_words,
                          params.max_sentences)
    return pool, Featurizer(question, scorer).features_all(pool, params.clause_gap)


def choose(candidates: list[Candidate], features: list[dict[str, float]],
           ranker: RankerModel) -> tuple[list[Candidate], float]:
    """Candidates best first, and the probability of the best answer: a softmax over the
    candidates, summed over the spans that say the same thing."""
    for c, f in zip(candidates, features, strict=True):
        c.features, c.score = f, ranker.score(f)
    if not candidates:
        return [], 0.0
    top = max(c.score for c in candidates)
    weights = [math.exp(c.score - top) for c in candidates]
    total = sum(weights)
    by_text: dict[str, float] = {}
    for c, w in zip(candidates, weights, strict=True):
        by_text[c.key] = by_text.get(c.key, 0.0) + w / total
    ordered = sorted(candidates, key=lambda c: (-by_text[c.key], -c.score, c.hit.rank,
                                                c.start, -c.end))
    return ordered, by_text[ordered[0].key]


def _extract_ranked(search: SearchIndex, question: Question, query: Query, hits: list[Hit],
                    params: AnswerParams, ranker: RankerModel,
                    scorer: QuestionScorer) -> Outcome:
    pool, features = featurize(question, scorer, hits, params)
    candidates, probability = choose(pool, features, ranker)
    coverage = max(scorer.coverage_of(t for _, _, t in h.words)
                   for h in hits[:params.max_passages])
    if not candidates:
        return Outcome(None, policy.no_candidate(question), [], coverage)
    best = candidates[0]
    window = _window(best)
    support = scorer.coverage(window)
    sure = ranker.confidence(probability, coverage)
    refusal = (policy.unsure(best, sure, params)
               or policy.attribute_unstated(search, question, query, best, window))
    if refusal:
        return Outcome(None, refusal, candidates, coverage, support)
    s, e = strip(best.hit.text[best.sentence[0]:best.sentence[1]], best.sentence[0])
    return Outcome(Answer(text=best.text, label=best.label, confidence=round(sure, 3),
                          passage=best.hit.pos, start=best.start, end=best.end,
                          sentence=best.hit.text[s:e], sentence_start=s),
                   None, candidates, coverage, support)
