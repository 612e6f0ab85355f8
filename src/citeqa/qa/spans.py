"""Phrases of a parsed sentence that could answer a question, read off the stored parse.

Every nominal head (noun, proper noun, number) proposes its phrase -- the words that
depend on it to its left ("the Kyrgyz som"), with its prepositional modifiers ("principle
of permanent neutrality"), and its whole subtree when that is short -- so that answers
the entity tagger and the noun-chunker miss (numbers with units, appositions, titles) are
still candidates.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..ingest.annotate import Token

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
        self._subtrees: dict[int, tuple[int, int]] = {}

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
