"""Pick a short answer span from the top passages, or refuse.

candidates (``candidates.py``) -> evidence features (``features.py``) -> ranking
(``rank.py``) -> refusal rules (``policy.py``). Each candidate is scored from evidence --
type match, how much of the question its sentence contains, how close it sits to the
question's words, the passage's BM25 score and support from other sentences -- never
from its position in the ranking.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..kb.normalize import amount_end
from ..search.retrieval import Query, SearchIndex
from . import combine, policy
from .candidates import (
    Candidate,
    Hit,
    Proposer,
    candidate_pool,
    drop_contradicted_roles,
    norm,
    strip,
)
from .features import QuestionScorer, clause_marks, inside, is_list, near_head, type_score
from .params import AnswerParams, ReaderParams
from .policy import Refusal
from .question import Question
from .rank import confidence, rank
from .ranker import Featurizer, RankerModel

if TYPE_CHECKING:
    from concurrent.futures import Future

    import numpy as np

    from .encoder import SentenceEncoder
    from .load import AnswerModels


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
    # With the reader: what it read, its best spans and the confidence features.
    reading: dict[str, Any] | None = None


def extract(search: SearchIndex, question: Question, query: Query, hits: list[Hit],
            params: AnswerParams, models: AnswerModels | None = None,
            reading: ReaderParams | None = None) -> Outcome:
    """The answer or a refusal: by the reader (``models.reader``), the ranker alone
    (``models.ranker``) or the hand-set rules (no models), as ``params`` says."""
    refusal = (policy.absent_names(search, question, query, params)
               if "absent_names" in params.rules else None)
    if refusal:
        return Outcome(None, refusal, [], 0.0)
    if not hits:
        return Outcome(None, policy.no_match(), [], 0.0)
    scorer = QuestionScorer(search, query)
    if models is not None and models.reader is not None:
        return _extract_read(search, question, query, hits, params, reading or ReaderParams(),
                             models, scorer)
    if models is not None:
        return _extract_ranked(search, question, query, hits, params, models.ranker, scorer)
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
               or policy.sentence_rules(search, question, query, best, window, params.rules))
    if refusal:
        return Outcome(None, refusal, candidates, coverage, support)
    s, e = strip(best.hit.text[best.sentence[0]:best.sentence[1]], best.sentence[0])
    sure = confidence(best, covered[best.hit.pos], candidates, params)
    return Outcome(_answer(best, sure, best.hit.text[s:e], s), None, candidates, coverage,
                   support)


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
            marks = clause_marks(text)
            found = (proposer.entities(hit, sent) if question.answer_kind == "entity"
                     else proposer.phrases(hit, sent))
            for ctext, label, s, e in found:
                tscore = type_score(label, question.expected)
                if question.expected and tscore == 0.0:
                    continue
                words = inside(spans, s, e)
                candidates.append(Candidate(ctext, label, s, e, hit, sent, {
                    "type": tscore,
                    "proximity": scorer.proximity(spans, matched, words, s, e, marks, sent[0],
                                                  params.clause_gap),
                    "head": near_head(spans, head, words, s, e, label != "NOUN_PHRASE"),
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
           ranker: RankerModel) -> tuple[list[Candidate], dict[str, float]]:
    """Candidates best first, and the probability of each answer: a softmax over the
    candidates, summed over the spans that say the same thing."""
    for c, f in zip(candidates, features, strict=True):
        c.features, c.score = f, ranker.score(f)
    if not candidates:
        return [], {}
    top = max(c.score for c in candidates)
    weights = [math.exp(c.score - top) for c in candidates]
    total = sum(weights)
    by_text: dict[str, float] = {}
    for c, w in zip(candidates, weights, strict=True):
        by_text[c.key] = by_text.get(c.key, 0.0) + w / total
    ordered = sorted(candidates, key=lambda c: (-by_text[c.key], -c.score, c.hit.rank,
                                                c.start, -c.end))
    return ordered, by_text


def _extract_ranked(search: SearchIndex, question: Question, query: Query, hits: list[Hit],
                    params: AnswerParams, ranker: RankerModel,
                    scorer: QuestionScorer) -> Outcome:
    pool, features = featurize(question, scorer, hits, params)
    candidates, probabilities = choose(pool, features, ranker)
    coverage = max(scorer.coverage_of(t for _, _, t in h.words)
                   for h in hits[:params.max_passages])
    if not candidates:
        return Outcome(None, policy.no_candidate(question), [], coverage)
    best = candidates[0]
    window = _window(best)
    support = scorer.coverage(window)
    sure = ranker.confidence(probabilities[best.key], coverage)
    refusal = (policy.unsure(best, sure, params.min_confidence)
               or policy.sentence_rules(search, question, query, best, window, params.rules))
    if refusal:
        return Outcome(None, refusal, candidates, coverage, support)
    s, e = strip(best.hit.text[best.sentence[0]:best.sentence[1]], best.sentence[0])
    return Outcome(_answer(best, sure, best.hit.text[s:e], s), None, candidates, coverage,
                   support)


def _answer(best: Candidate, confidence: float, sentence: str, sentence_start: int
            ) -> Answer:
    """The answer of ``best``, with the currency written after an amount ("83 million|
    euros"), which the reader's span and spaCy's MONEY entities often stop short of."""
    end = amount_end(best.hit.text, best.start, best.end)
    return Answer(text=best.hit.text[best.start:end],
                  label="MONEY" if end > best.end else best.label,
                  confidence=round(confidence, 3), passage=best.hit.pos, start=best.start,
                  end=end, sentence=sentence, sentence_start=sentence_start)


@dataclass(frozen=True)
class Context:
    """A stretch of a passage the reader reads: document offsets in ``hit.text``."""

    hit: Hit
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.hit.text[self.start:self.end]


def reading_windows(candidates: list[Candidate], params: ReaderParams) -> list[Context]:
    """The sentences holding the ranker's best candidates, each with ``params.context``
    sentences either side; windows of one passage that overlap are merged."""
    windows: list[Context] = []
    seen: set[tuple[int, tuple[int, int]]] = set()
    for c in candidates:
        if len(seen) == params.sentences:
            break
        if (c.hit.pos, c.sentence) in seen:
            continue
        seen.add((c.hit.pos, c.sentence))
        sentences = c.hit.annotation.sentences
        i = sentences.index(c.sentence)
        lo = sentences[max(0, i - params.context)][0]
        hi = sentences[min(len(sentences) - 1, i + params.context)][1]
        for j, w in enumerate(windows):
            if w.hit.pos == c.hit.pos and lo <= w.end and hi >= w.start:
                windows[j] = Context(c.hit, min(lo, w.start), max(hi, w.end))
                break
        else:
            windows.append(Context(c.hit, lo, hi))
    return windows


_PAIRS = {'"': '"', "\u201c": "\u201d", "\u2018": "\u2019", "(": ")", "[": "]"}
_OPENERS = {closer: opener for opener, closer in _PAIRS.items()}


def unpaired_marks(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without a quotation mark or bracket whose partner is outside it: the
    reader's '"permanent neutrality' is 'permanent neutrality', and its '4 billion tenge
    (about 58.41 million yuan' is '4 billion tenge' (no answer of the SQuAD train slice
    holds an unclosed bracket). The cut span's words then pool with the same words read
    elsewhere."""
    while end > start:
        span = text[start:end]
        first, last = span[0], span[-1]
        opened, closed = _inner_unpaired(span)
        if first in _PAIRS and (span.count(first) % 2 if _PAIRS[first] == first
                                else _PAIRS[first] not in span):
            start, end = strip(text[start + 1:end], start + 1)
        elif last in _OPENERS and (span.count(last) % 2 if _OPENERS[last] == last
                                   else _OPENERS[last] not in span):
            start, end = strip(text[start:end - 1], start)
        elif opened > 0:
            start, end = strip(text[start:start + opened], start)
        elif closed >= 0:
            start, end = strip(text[start + closed + 1:end], start + closed + 1)
        else:
            break
    return start, end


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to whole words: the reader's word pieces can stop inside one
    ("77" of "77th"). A hyphen ends a word here: widening "three" to "three-year" lost
    exact matches on the SQuAD train slice's validation articles."""
    if end <= start:
        return start, end
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


def _inner_unpaired(span: str) -> tuple[int, int]:
    """Offsets in ``span`` of the last bracket it opens and never closes, and of the first
    it closes and never opened (-1: none)."""
    opened = closed = -1
    for opener, closer in (("(", ")"), ("[", "]")):
        i = span.rfind(opener)
        if i >= 0 and closer not in span[i:]:
            opened = max(opened, i)
        j = span.find(closer)
        if j >= 0 and opener not in span[:j] and (closed < 0 or j < closed):
            closed = j
    return opened, closed


def _as_candidate(hit: Hit, start: int, end: int, candidates: list[Candidate]) -> Candidate:
    """The reader's span as a candidate: the ranker's label for the same span or an entity
    mention at the same offsets, else a plain span."""
    label = next((c.label for c in candidates
                  if c.hit.pos == hit.pos and (c.start, c.end) == (start, end)), None)
    if label is None:
        label = next((e.label for e in hit.annotation.entities
                      if (e.start, e.end) == (start, end)), "SPAN")
    sentence = next((s for s in hit.annotation.sentences if s[0] <= start < s[1]),
                    (start, end))
    return Candidate(hit.text[start:end], label, start, end, hit, sentence,
                     sources={"reader"})


@dataclass(frozen=True)
class ReadSpan:
    """A span the reader proposed, in document offsets, with both models' opinions."""

    hit: Hit
    start: int
    end: int
    key: str
    logit: float  # the reader's start + end logits
    window_null: float  # the reader's "no answer" score in the window it read these words
    reader_p: float  # the reader's probability for these words, over all spans read
    ranker_p: float  # the ranker's probability for these words (0: never proposed)

    def score(self, reading: ReaderParams) -> float:
        return self.logit + reading.ranker_weight * math.log(max(self.ranker_p,
                                                                 reading.ranker_floor))


@dataclass
class Read:
    """What the reader made of a question's best sentences."""

    candidates: list[Candidate]  # the ranker's, best first
    contexts: list[Context]
    spans: list[ReadSpan]
    null_logit: float
    coverage: float
    reader_ms: float  # the reader's share of the answer time
    # the cosine between the question and the sentence holding a span (qa/encoder.py)
    similarity: Callable[[ReadSpan], float]


def read_best_sentences(question: Question, hits: list[Hit], params: AnswerParams,
                        reading: ReaderParams, models: AnswerModels,
                        scorer: QuestionScorer) -> Read:
    """Rank candidates, read the sentences holding the best ones, and give every span the
    reader proposes its probability under both models (train/calibrate.py shares this).
    The question is embedded on the reader's threads while the candidates are ranked."""
    embedded = models.reader.submit(models.encoder.embed, question.text)
    pool, features = featurize(question, scorer, hits, params)
    candidates, by_key = choose(pool, features, models.ranker)
    coverage = max(scorer.coverage_of(t for _, _, t in h.words)
                   for h in hits[:params.max_passages])
    contexts = reading_windows(candidates, reading)
    ahead: dict[tuple[int, int], Future[np.ndarray]] = {}

    def embed_ahead() -> None:
        """The sentences the windows were chosen for, where the answer most often is,
        embedded by reader threads the windows leave idle (queued after them)."""
        for c in candidates:
            key = (c.hit.pos, c.sentence[0])
            if len(ahead) == reading.sentences:
                break
            if key not in ahead:
                text = c.hit.text[c.sentence[0]:c.sentence[1]]
                ahead[key] = models.reader.submit(models.encoder.embed, text)

    started = time.perf_counter()
    result = models.reader.read(question.text, [c.text for c in contexts], reading.n_best,
                                reading.max_answer_tokens, embed_ahead)
    reader_ms = (time.perf_counter() - started) * 1000
    found = []
    for sp in result.spans:
        ctx = contexts[sp.context]
        s, e = strip(ctx.hit.text[ctx.start + sp.start:ctx.start + sp.end],
                     ctx.start + sp.start)
        s, e = whole_words(ctx.hit.text, *unpaired_marks(ctx.hit.text, s, e))
        if e > s:
            found.append((ctx.hit, s, e, norm(ctx.hit.text[s:e]), sp.logit, sp.window_null))
    top = max((f[4] for f in found), default=0.0)
    mass: dict[str, float] = {}
    for *_, key, logit, _null in found:
        mass[key] = mass.get(key, 0.0) + math.exp(logit - top)
    total = sum(mass.values()) or 1.0
    spans = [ReadSpan(h, s, e, key, logit, null, mass[key] / total, by_key.get(key, 0.0))
             for h, s, e, key, logit, null in found]
    return Read(candidates, contexts, spans, result.null_logit, coverage, reader_ms,
                _similarity(models.encoder, embedded, ahead))


def _similarity(encoder: SentenceEncoder, question: Future[np.ndarray],
                ahead: dict[tuple[int, int], Future[np.ndarray]]
                ) -> Callable[[ReadSpan], float]:
    """The cosine between the ``question``'s embedding and the sentence a span is in, each
    sentence embedded once: taken from ``ahead`` when embedded there (what is still queued
    there is dropped at the first call: one span is judged), else embedded now."""
    seen: dict[tuple[int, int], float] = {}

    def similarity(span: ReadSpan) -> float:
        sentences = span.hit.annotation.sentences
        s, e = next(((s, e) for s, e in sentences if s <= span.start < e),
                    (span.start, span.end))
        key = (span.hit.pos, s)
        if key not in seen:
            found = ahead.pop(key, None)
            for waiting in ahead.values():
                waiting.cancel()
            ahead.clear()
            vector = found.result() if found else encoder.embed(span.hit.text[s:e])
            seen[key] = float(question.result() @ vector)
        return seen[key]
    return similarity


def judge(read: Read, span: ReadSpan, scorer: QuestionScorer
          ) -> tuple[Candidate, dict[str, float]]:
    """The span as an answer candidate, and the features of its confidence."""
    best = _as_candidate(span.hit, span.start, span.end, read.candidates)
    values = combine.features(span.reader_p, span.logit - read.null_logit,
                              span.logit - span.window_null, span.ranker_p, read.coverage,
                              scorer.coverage(_window(best)), read.similarity(span))
    return best, values


def _extract_read(search: SearchIndex, question: Question, query: Query, hits: list[Hit],
                  params: AnswerParams, reading: ReaderParams, models: AnswerModels,
                  scorer: QuestionScorer) -> Outcome:
    """The reader reads the sentences the ranker likes best; a span's score adds the
    ranker's opinion of the same words; one calibrated confidence decides."""
    read = read_best_sentences(question, hits, params, reading, models, scorer)
    if not read.candidates or not read.spans:
        return Outcome(None, policy.no_candidate(question), read.candidates, read.coverage)
    span = max(read.spans, key=lambda sp: sp.score(reading))
    best, values = judge(read, span, scorer)
    sure = models.calibration.confidence(values)
    best.features, best.score = values, span.score(reading)
    support = values["support"]
    trace = {"contexts": [{"passage_id": c.hit.passage.id, "start": c.start, "end": c.end}
                          for c in read.contexts],
             "null_logit": round(read.null_logit, 4),
             "spans": [{"text": sp.hit.text[sp.start:sp.end], "passage_id": sp.hit.passage.id,
                        "start": sp.start, "end": sp.end, "logit": round(sp.logit, 4),
                        "window_null": round(sp.window_null, 4),
                        "score": round(sp.score(reading), 4),
                        "reader_p": round(sp.reader_p, 4), "ranker_p": round(sp.ranker_p, 4)}
                       for sp in sorted(read.spans, key=lambda x: -x.score(reading))[:5]],
             "features": {k: round(v, 4) for k, v in values.items()},
             "confidence": round(sure, 4), "reader_ms": round(read.reader_ms, 3)}
    refusal = (policy.unsure(best, sure, reading.min_confidence)
               or policy.sentence_rules(search, question, query, best, _window(best),
                                        params.rules))
    if refusal:
        return Outcome(None, refusal, read.candidates, read.coverage, support, trace)
    hit = span.hit
    a, b = strip(hit.text[best.sentence[0]:best.sentence[1]], best.sentence[0])
    return Outcome(_answer(best, sure, hit.text[a:b], a), None, read.candidates,
                   read.coverage, support, trace)
