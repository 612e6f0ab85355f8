"""Phrases of a parsed sentence that could answer a question, read off the stored parse.

Every nominal head (noun, proper noun, number) proposes its phrase -- the words that
depend on it to its left ("the Kyrgyz som"), with its prepositional modifiers ("principle
of permanent neutrality"), and its whole subtree when that is short -- so that answers
the entity tagger and the noun-chunker miss (numbers with units, appositions, titles) are
still candidates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..ingest.annotate import Token

if TYPE_CHECKING:
    from .candidates import SentenceLayout
    from .ranker import SentenceView, SpanShape

NOMINAL = frozenset({"NOUN", "PROPN", "NUM"})
# Left dependents that belong to a noun's phrase ("the 15% drop", "Kazakhstan's tenge").
_LEFT = frozenset({"det", "amod", "compound", "nummod", "poss", "case", "nmod", "quantmod",
                   "npadvmod", "advmod", "predet", "nn"})
_EDGE_WORDS = frozenset({"the", "a", "an", "its", "their", "his", "her", "this", "that",
                         "these", "those", "our", "so-called"})
MAX_SUBTREE = 10  # tokens; longer subtrees are clauses, not answers


class SentenceParse:
    """The tokens of one sentence with their children, for span look-ups."""

    def __init__(self, tokens: list[Token], first: int, last: int) -> None:
        self.tokens = tokens
        self.first, self.last = first, last  # token indexes, inclusive
        self.children: dict[int, list[int]] = {i: [] for i in range(first, last + 1)}
        for i in range(first, last + 1):
            head = tokens[i].head
            if head != i and first <= head <= last:
                self.children[head].append(i)
        self.starts = [tokens[i].start for i in range(first, last + 1)]
        self._subtrees: dict[int, tuple[int, int]] = {}
        self._proposed: list[tuple[int, int]] | None = None
        # What the ranker reads of each candidate span here that no question changes
        # (``ranker.SpanShape``), kept with the parse so later questions reuse it.
        self.shapes: dict[tuple[int, int], SpanShape] = {}
        # What the candidate generators read of the sentence (``candidates.SentenceLayout``).
        self.layout: SentenceLayout | None = None
        # The ranker's per-sentence reads that no question changes (``ranker.SentenceView``).
        self.view: SentenceView | None = None

    def subtree(self, i: int) -> tuple[int, int]:
        """First and last token index of ``i``'s subtree (projective parses); each is
        walked once, since every phrase of a head asks for its children's subtrees."""
        found = self._subtrees.get(i)
        if found is None:
            lo = hi = i
            stack = [i]
            while stack:
                j = stack.pop()
                lo, hi = min(lo, j), max(hi, j)
                stack.extend(self.children[j])
            found = self._subtrees[i] = (lo, hi)
        return found

    def left_phrase(self, i: int) -> tuple[int, int]:
        """``i`` with its contiguous left modifiers (and their subtrees)."""
        lo = i
        for c in sorted(self.children[i], reverse=True):
            if c < i and self.tokens[c].dep in _LEFT and self.subtree(c)[1] == lo - 1:
                lo = self.subtree(c)[0]
        return lo, i

    def with_prep(self, i: int) -> tuple[int, int] | None:
        """``i``'s left phrase extended by its first prepositional modifier, up to that
        modifier's own noun ("principle of permanent neutrality", without what hangs on
        "neutrality")."""
        preps = [c for c in self.children[i] if c > i and self.tokens[c].dep == "prep"]
        if not preps:
            return None
        objects = [c for c in self.children[preps[0]] if self.tokens[c].dep == "pobj"]
        lo, _ = self.left_phrase(i)
        return lo, objects[0] if objects else self.subtree(preps[0])[1]

    def coordinated(self, i: int) -> tuple[int, int] | None:
        """``i`` with the words coordinated to it ("economic and financial")."""
        conj = [c for c in self.children[i] if c > i and self.tokens[c].dep == "conj"]
        return (i, self.subtree(conj[-1])[1]) if conj else None

    def nominal_spans(self) -> Iterator[tuple[int, int]]:
        """Token ranges (inclusive) proposed by the sentence's nominal heads and
        adjectives: the head alone, with its left modifiers, with its first prepositional
        modifier, its whole subtree, and with the words coordinated to it."""
        seen = set()
        for i in range(self.first, self.last + 1):
            pos = self.tokens[i].pos
            if pos == "ADJ":
                options = [(i, i), self.coordinated(i)]
            elif pos in NOMINAL:
                options = [(i, i), self.left_phrase(i), self.with_prep(i), self.subtree(i),
                           self.coordinated(i)]
            else:
                continue
            for span in options:
                if span is None or span in seen or span[1] - span[0] + 1 > MAX_SUBTREE:
                    continue
                seen.add(span)
                yield span

    def proposed(self, text: str) -> list[tuple[int, int]]:
        """Document offsets of every ``nominal_spans`` phrase (``offsets``), worked out
        once per sentence: they do not depend on the question. ``text`` is the document's
        text, the same for every call on one sentence."""
        if self._proposed is None:
            found = (self.offsets(span, text) for span in self.nominal_spans())
            self._proposed = [o for o in found if o]
        return self._proposed

    def offsets(self, span: tuple[int, int], text: str) -> tuple[int, int] | None:
        """Document offsets of a token range, without edge determiners or punctuation."""
        lo, hi = span
        while lo <= hi and (self.tokens[lo].pos == "PUNCT"
                            or text[self.tokens[lo].start:self.tokens[lo].end].lower()
                            in _EDGE_WORDS):
            lo += 1
        while hi >= lo and self.tokens[hi].pos == "PUNCT":
            hi -= 1
        if lo > hi:
            return None
        return self.tokens[lo].start, self.tokens[hi].end


def sentence_tokens(tokens: list[Token], sentence: tuple[int, int]) -> tuple[int, int] | None:
    """Inclusive token index range of a sentence given by document offsets."""
    inside = [i for i, t in enumerate(tokens) if sentence[0] <= t.start and t.end <= sentence[1]]
    return (inside[0], inside[-1]) if inside else None


class SentenceParses:
    """The parses of retrieved sentences, shared by the requests of one process and one
    index version: a sentence that answers many questions is read once, and what it
    proposes (``SentenceParse.proposed``), what the candidate generators read of it
    (``SentenceParse.layout``) and the ranker's view of its spans (``SentenceParse.shapes``)
    are worked out once. Bounded to ``size`` sentences
    (least recently used go first), so memory does not grow with the corpus."""

    def __init__(self, tokens_of: Callable[[int], list[Token]], size: int) -> None:
        self._tokens_of = tokens_of
        self.get = functools.lru_cache(maxsize=size)(self._parse)

    def _parse(self, pos: int, sentence: tuple[int, int]) -> SentenceParse | None:
        """The parse of the sentence at document offsets ``sentence`` of passage ``pos``
        (None when it has no tokens)."""
        tokens = self._tokens_of(pos)
        found = sentence_tokens(tokens, sentence)
        return SentenceParse(tokens, *found) if found else None
