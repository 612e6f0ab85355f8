"""Stage 5: rank passages for a question with the index's BM25 postings."""

from __future__ import annotations

from dataclasses import dataclass

from .annotate import Annotation
from .index import Index
from .passages import Passage


@dataclass(frozen=True)
class Hit:
    passage: Passage
    annotation: Annotation
    rank: int
    score: float
    matched_terms: tuple[str, ...]


def search(index: Index, terms: list[str], k: int) -> list[Hit]:
    """Top ``k`` passages for analyzed question ``terms``; a passage needs one term to count."""
    hits = []
    for rank, (i, score) in enumerate(index.postings.top(terms, k), start=1):
        passage = index.passages[i]
        present = set(index.analyzer.terms(passage.text))
        hits.append(Hit(passage=passage, annotation=index.annotations[i], rank=rank,
                        score=round(score, 4),
                        matched_terms=tuple(dict.fromkeys(t for t in terms if t in present))))
    return hits
