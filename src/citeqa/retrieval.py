"""Stage 5: turn a question into weighted BM25 terms and rank passages with them.

Question terms the corpus never uses are expanded to close spellings it does use
("som" -> "somm", "Milziyoev" -> "mirziyoev"), weighted by their similarity: the corpus is
noisy, machine-translated text and names are spelled several ways. Demonyms also search
their place ("Kyrgyz" -> "kyrgyzstan").
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from .analyzer import Analyzer
from .annotate import Annotation
from .demonyms import DEMONYMS
from .index import Index
from .passages import Passage

FUZZY_CUTOFF = 80.0  # rapidfuzz ratio; 'som'~'somm' 86, 'milziyoev'~'mirziyoev' 89
FUZZY_LIMIT = 2
MIN_FUZZY_LENGTH = 3
# Below this length only inflection-like matches (one a prefix of the other) count:
# 'fall'~'fallen' yes, 'host'~'hot' and 'prime'~'price' no.
MIN_FREE_FUZZY_LENGTH = 6
DEMONYM_WEIGHT = 0.8
ALIAS_WEIGHT = 0.8


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
class Hit:
    passage: Passage
    annotation: Annotation
    rank: int
    score: float
    matched_terms: tuple[str, ...]
    # Document offsets of the words that matched the question (for highlighting).
    matches: tuple[tuple[int, int], ...] = ()


@functools.lru_cache(maxsize=4)
def demonym_terms(analyzer: Analyzer) -> dict[str, str]:
    """Analyzed demonym -> analyzed one-word place ('kyrgyz' -> 'kyrgyzstan')."""
    out = {}
    for demonym, place in DEMONYMS.items():
        d, p = analyzer.terms(demonym), analyzer.terms(place)
        if len(d) == 1 and len(p) == 1 and d != p:
            out[d[0]] = p[0]
    return out


def _close_spellings(index: Index, term: str) -> tuple[tuple[str, float], ...]:
    if len(term) < MIN_FUZZY_LENGTH or term.isdigit():
        return ()
    close = process.extract(term, index.vocabulary, scorer=fuzz.ratio,
                            score_cutoff=FUZZY_CUTOFF, limit=FUZZY_LIMIT)
    return tuple((choice, round(score / 100, 3)) for choice, score, _ in close
                 if not choice.isdigit() and (len(term) >= MIN_FREE_FUZZY_LENGTH
                                              or choice.startswith(term)
                                              or term.startswith(choice)))


def make_query(index: Index, terms: list[str],
               aliases: dict[str, set[str]] | None = None) -> Query:
    """Expand unknown terms to close spellings, demonyms to their places, and the names of
    the question's entities to their other names ("Milziyoev" -> "mirziyoyev")."""
    vocab = index.postings.vocab
    places = demonym_terms(index.analyzer)
    expansions = {}
    for term in dict.fromkeys(terms):
        targets = ((term, 1.0),) if term in vocab else _close_spellings(index, term)
        place = places.get(term)
        if place in vocab:
            targets = (*targets, (place, DEMONYM_WEIGHT))
        known = {t for t, _ in targets}
        targets = (*targets, *((a, ALIAS_WEIGHT) for a in sorted((aliases or {}).get(term, ()))
                               if a in vocab and a not in known))
        if targets and targets != ((term, 1.0),):
            expansions[term] = targets
    return Query(terms=tuple(terms), expansions=expansions)


def idf(index: Index, term: str) -> float:
    """Lucene-style IDF, always positive; an unseen term gets the highest value."""
    n = index.postings.n_passages
    df = index.postings.document_frequency(term)
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def search(index: Index, query: Query, k: int) -> list[Hit]:
    """Top ``k`` passages; a passage needs one (possibly expanded) term to count."""
    terms, boosts = query.weighted()
    stands_for = query.matches()
    hits = []
    for rank, (i, score) in enumerate(index.postings.top(terms, k, boosts), start=1):
        passage = index.passages[i]
        spans = [(s, e, t) for s, e, t in index.analyzer.spans(passage.text, passage.start)
                 if t in stands_for]
        present = {stands_for[t] for _, _, t in spans}
        hits.append(Hit(passage=passage, annotation=index.annotations[i], rank=rank,
                        score=round(score, 4),
                        matched_terms=tuple(t for t in dict.fromkeys(query.terms)
                                            if t in present),
                        matches=tuple((s, e) for s, e, _ in spans)))
    return hits
