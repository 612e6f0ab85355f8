"""Turn a question's terms into weighted BM25 terms and rank passages with them.

Question terms the corpus never uses are expanded to close spellings it does use
("som" -> "somm", "Milziyoev" -> "mirziyoev"), weighted by their similarity: the corpus is
noisy, machine-translated text and names are spelled several ways. Demonyms also search
their place ("Kyrgyz" -> "kyrgyzstan"), and a named entity its other names.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from ..lexicon import DEMONYMS
from .analyzer import Analyzer
from .bm25 import Postings

# Passages whose analysed words a process keeps (a few hundred bytes each).
WORDS_CACHED = 50_000


@dataclass(frozen=True)
class RetrievalParams:
    """Query expansion settings; ``version`` changes whenever a number does."""

    version: str = "retrieval-1"
    fuzzy_cutoff: float = 80.0  # rapidfuzz ratio; 'som'~'somm' 86, 'milziyoev'~'mirziyoev' 89
    fuzzy_limit: int = 2
    min_fuzzy_length: int = 3
    # Below this length only inflection-like matches (one a prefix of the other) count:
    # 'fall'~'fallen' yes, 'host'~'hot' and 'prime'~'price' no.
    min_free_fuzzy_length: int = 6
    demonym_weight: float = 0.8
    alias_weight: float = 0.8


@dataclass(frozen=True)
class Query:
    terms: tuple[str, ...]
    # A question term -> the vocabulary terms searched for it, with weights 0-1: close
    # spellings of an unknown term, and a demonym's place beside the demonym itself.
    expansions: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)

    def weighted(self) -> tuple[list[str], list[float]]:
        terms, boosts = [], []
        for term in self.terms:
            for target, weight in self.expansions.get(term, ((term, 1.0),)):
                terms.append(target)
                boosts.append(weight)
        return terms, boosts

    def matches(self) -> dict[str, str]:
        """Vocabulary term -> the question term it stands for."""
        out = {t: t for t in self.terms}
        for term, targets in self.expansions.items():
            for target, _ in targets:
                out.setdefault(target, term)
        return out


@dataclass(frozen=True)
class Ranked:
    """One retrieved passage: its position in the passage store, rank (1-based), score."""

    pos: int
    rank: int
    score: float


@functools.lru_cache(maxsize=4)
def demonym_terms(analyzer: Analyzer) -> dict[str, str]:
    """Analyzed demonym -> analyzed one-word place ('kyrgyz' -> 'kyrgyzstan')."""
    out = {}
    for demonym, place in DEMONYMS.items():
        d, p = analyzer.terms(demonym), analyzer.terms(place)
        if len(d) == 1 and len(p) == 1 and d != p:
            out[d[0]] = p[0]
    return out


Words = list[tuple[int, int, str | None]]


class SearchIndex:
    """BM25 postings and the analyzer that made them: everything retrieval needs.
    ``stored_words`` gives a passage's words as analysed when the index was built (a
    saved index has them); without it they are analysed here, once per process."""

    def __init__(self, postings: Postings, analyzer: Analyzer,
                 stored_words: Callable[[int], Words] | None = None) -> None:
        self.postings = postings
        self.analyzer = analyzer
        self.vocabulary = list(postings.vocab)  # for fuzzy look-ups of unknown terms
        self._stored_words = stored_words
        self._words: dict[int, Words] = {}

    def words(self, pos: int, text: str, offset: int) -> Words:
        """(start, end, term) of every word of passage ``pos`` (``text`` at document
        ``offset``), stop words with term ``None``."""
        if self._stored_words is not None:
            return self._stored_words(pos)
        found = self._words.get(pos)
        if found is None:
            if len(self._words) >= WORDS_CACHED:  # bounded: a large corpus must not grow it
                self._words.clear()
            found = self._words[pos] = self.analyzer.spans(text, offset)
        return found

    def knows(self, term: str) -> bool:
        return term in self.postings.vocab

    def idf(self, term: str) -> float:
        """Lucene-style IDF, always positive; an unseen term gets the highest value."""
        n = self.postings.n_passages
        df = self.postings.document_frequency(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _close_spellings(self, term: str, p: RetrievalParams) -> tuple[tuple[str, float], ...]:
        if len(term) < p.min_fuzzy_length or term.isdigit():
            return ()
        close = process.extract(term, self.vocabulary, scorer=fuzz.ratio,
                                score_cutoff=p.fuzzy_cutoff, limit=p.fuzzy_limit)
        return tuple((choice, round(score / 100, 3)) for choice, score, _ in close
                     if not choice.isdigit() and (len(term) >= p.min_free_fuzzy_length
                                                  or choice.startswith(term)
                                                  or term.startswith(choice)))

    def query(self, terms: list[str], aliases: dict[str, set[str]] | None = None,
              params: RetrievalParams | None = None) -> Query:
        """Expand unknown terms to close spellings, demonyms to their places, and the names
        of the question's entities to their other names ("Milziyoev" -> "mirziyoyev")."""
        params = params or RetrievalParams()
        vocab = self.postings.vocab
        places = demonym_terms(self.analyzer)
        expansions = {}
        for term in dict.fromkeys(terms):
            targets = ((term, 1.0),) if term in vocab else self._close_spellings(term, params)
            place = places.get(term)
            if place in vocab:
                targets = (*targets, (place, params.demonym_weight))
            known = {t for t, _ in targets}
            targets = (*targets, *((a, params.alias_weight)
                                   for a in sorted((aliases or {}).get(term, ()))
                                   if a in vocab and a not in known))
            if targets and targets != ((term, 1.0),):
                expansions[term] = targets
        return Query(terms=tuple(terms), expansions=expansions)

    def search(self, query: Query, k: int) -> list[Ranked]:
        """Top ``k`` passages; a passage needs one (possibly expanded) term to count."""
        terms, boosts = query.weighted()
        return [Ranked(pos, rank, round(score, 4)) for rank, (pos, score)
                in enumerate(self.postings.top(terms, k, boosts), start=1)]

    @staticmethod
    def highlight(query: Query, words: Words) -> list[tuple[int, int]]:
        """Offsets of the passage ``words`` (see ``words``) that match the query: a look-up,
        the passage is not analysed again."""
        stands_for = query.matches()
        return [(s, e) for s, e, t in words if t in stands_for]
