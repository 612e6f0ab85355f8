"""Evidence features of a candidate answer, each 0-1: how well its label fits the question,
how much of the question its sentence states, how close it sits to the question's words,
whether it names the question's head noun."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from itertools import accumulate
from operator import itemgetter
from typing import TYPE_CHECKING

from ..lexicon import LABEL_CONFUSIONS, NAME_LABELS, NAME_TYPES
from ..search.analyzer import Analyzer
from ..search.retrieval import Query, SearchIndex

if TYPE_CHECKING:
    from .candidates import Hit

# A capitalised noun chunk the model left untagged: a possible answer for name questions.
NAME = "NAME"
# Brackets are left out: "Majilis (the lower house of parliament)" defines, not separates.
_CLAUSE_MARKS = frozenset(",;:\u2014")

# (start, end, term) of each word of a sentence; stop words have term None.
Spans = list[tuple[int, int, str | None]]


def inside(spans: Spans, start: int, end: int) -> range:
    """The indexes of the words wholly within ``start``..``end``: words are sorted and
    disjoint, so two binary searches find them (features run on every candidate)."""
    return range(bisect.bisect_left(spans, start, key=_START),
                 bisect.bisect_right(spans, end, key=_END))


_START, _END = itemgetter(0), itemgetter(1)


def clause_marks(text: str) -> list[int]:
    """How many clause marks (comma, semicolon, colon, dash) precede each offset of a
    sentence: the marks between two words are then a difference, not a scan per word."""
    return list(accumulate(map(_CLAUSE_MARKS.__contains__, text), initial=0))


def type_score(label: str, expected: tuple[str, ...]) -> float:
    if not expected:
        return 0.5
    if label == NAME:  # an untagged proper name: a weak match, unless any name will do
        if expected == NAME_TYPES:
            return 0.8
        return 0.4 if expected[0] in NAME_LABELS else 0.0
    if label == expected[0]:
        return 1.0
    if label in expected:
        return 0.8
    if any(label in LABEL_CONFUSIONS.get(e, ()) for e in expected[:1]):
        return 0.4
    return 0.0


class QuestionScorer:
    """Per-question state: IDF of its terms and what each vocabulary term stands for."""

    def __init__(self, search: SearchIndex, query: Query) -> None:
        self.analyzer: Analyzer = search.analyzer
        self.stands_for = query.matches()
        self.idf = {t: search.idf(t) for t in query.terms}  # unseen terms weigh most
        for term, targets in query.expansions.items():  # credit close spellings
            self.idf[term] = max(search.idf(v) for v, _ in targets)
        self.total = sum(self.idf.values()) or 1.0
        # A candidate made only of these is named by the question, so it is no answer.
        self.excluded = set(self.stands_for)
        self._sentences: dict[tuple[int, tuple[int, int]], tuple[Spans, list[int], float]] = {}

    def coverage(self, text: str) -> float:
        """Share of the question's IDF mass that ``text`` contains."""
        return self.coverage_of(self.analyzer.terms(text))

    def coverage_of(self, terms: Iterable[str | None]) -> float:
        present = {self.stands_for[t] for t in terms if t in self.stands_for}
        return sum(self.idf[t] for t in present) / self.total

    def sentence(self, hit: Hit, sentence: tuple[int, int]) -> tuple[Spans, list[int], float]:
        """(word spans, indexes of the words matching the question, coverage) of one
        sentence of a retrieved passage, from the passage's analysed words."""
        key = (hit.pos, sentence)
        found = self._sentences.get(key)
        if found is None:
            words = hit.words
            spans = words[bisect.bisect_left(words, sentence[0], key=_START):
                          bisect.bisect_left(words, sentence[1], key=_START)]
            matched = [i for i, (_, _, term) in enumerate(spans) if term in self.stands_for]
            found = self._sentences[key] = (spans, matched,
                                            self.coverage_of(t for _, _, t in spans))
        return found

    def proximity(self, spans: Spans, matched: list[int], words: range, start: int,
                  end: int, marks: list[int], base: int, clause_gap: int) -> float:
        """IDF-weighted closeness of each question term's nearest occurrence to the
        candidate (``start``..``end``, the ``words`` of ``spans`` wholly inside it).
        Crossing a clause boundary counts as ``clause_gap`` extra words; ``marks`` are the
        sentence's ``clause_marks``, ``base`` its offset. (Runs on every candidate: the
        matched words before and after it are split off by bisection, not tested one by
        one.)"""
        if not words:
            return 0.0
        first, last, n = words[0], words[-1], len(marks) - 1
        stands_for = self.stands_for
        nearest: dict[str, int] = {}
        split = bisect.bisect_left(matched, first)
        at = marks[min(start - base, n)]
        for m in matched[:split]:
            _, lo, term = spans[m]
            gap = first - m
            if lo < start:  # the clause marks a scan of text[lo:start] finds
                gap += clause_gap * (at - marks[min(lo - base, n)])
            term = stands_for[term]
            if gap < nearest.get(term, gap + 1):
                nearest[term] = gap
        at = marks[min(end - base, n)]
        for m in matched[bisect.bisect_right(matched, last, split):]:
            hi, _, term = spans[m]
            gap = m - last
            if end < hi:
                gap += clause_gap * (marks[min(hi - base, n)] - at)
            term = stands_for[term]
            if gap < nearest.get(term, gap + 1):
                nearest[term] = gap
        idf, closeness = self.idf, 0.0
        for term, gap in nearest.items():
            closeness += idf[term] / (_CLOSENESS[gap] if gap < len(_CLOSENESS)
                                      else 1.0 + (gap - 1) / 3.0)
        return closeness / self.total


# 1 + (gap - 1) / 3 for the word gaps ``proximity`` meets most, computed as it computes them
_CLOSENESS = [1.0 + (gap - 1) / 3.0 for gap in range(64)]


def near_head(spans: Spans, head: str | None, words: range, start: int, end: int,
              is_value: bool) -> float:
    """How directly the candidate (``start``..``end``, the ``words`` of ``spans`` wholly
    inside it) names the question's head noun (``head_nearness``)."""
    if head is None:
        return 0.0
    return head_nearness(head_context(spans, words, start, end), head, is_value)


HeadContext = tuple[str | None, tuple[str | None, ...], tuple[str | None, ...]]


def head_context(spans: Spans, words: range, start: int, end: int) -> HeadContext:
    """What ``head_nearness`` compares with the head noun, none of it depending on the
    question (so the ranker keeps it per span across questions): the last term inside
    the candidate, and the terms of the three words before it and of the two after."""
    named = [spans[i][2] for i in words if spans[i][2]]
    before = bisect.bisect_right(spans, start, key=_END)
    after = bisect.bisect_left(spans, end, key=_START)
    return (named[-1] if named else None,
            tuple(t for _, _, t in spans[max(before - 3, 0):before]),
            tuple(t for _, _, t in spans[after:after + 2]))


def head_nearness(context: HeadContext, head: str | None, is_value: bool) -> float:
    """"Carnegie Center", "principle of X" and "Foreign Minister X" name the head noun
    fully, "3% growth" fully for values, but a phrase before the head only half ("fast
    food industries" answers, "long-term principle" only describes)."""
    if head is None:
        return 0.0
    last, before, after = context
    if last == head or head in before:  # "which center" -> "Carnegie Center"
        return 1.0
    if head in after:
        return 1.0 if is_value else 0.5
    return 0.0


def is_list(text: str) -> bool:
    return bool(re.search(r",\s|\sand\s", text))
