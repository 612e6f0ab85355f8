"""BM25 scoring: rank-bm25 fits the model, NumPy postings make it fast.

``rank_bm25`` scores a question with Python dict look-ups over every passage
(O(terms x passages), ~3 s at 1M passages). We let it compute what it is good at -- IDF,
average length, document lengths -- and compile its own scoring formula into one array of
per-passage contributions per term. A question then sums a few arrays. Scores equal
``rank_bm25``'s ``get_scores`` (tests assert it).

For BM25Plus a term adds a constant to *every* passage even when absent; that constant is
kept apart (``baseline``) so postings stay sparse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import rank_bm25

# At most this many postings of a question's rarest terms are scored to find ``top``'s floor.
FLOOR_POSTINGS = 20_000
UNION_BY_SORT = 50_000  # fewer postings than this are merged by sorting, more by marking
LOOKUP_BELOW = 2_000  # fewer passages than this are scored by look-ups alone

VARIANTS = {"okapi": rank_bm25.BM25Okapi, "plus": rank_bm25.BM25Plus, "l": rank_bm25.BM25L}


@dataclass(frozen=True)
class BM25Params:
    variant: str = "plus"
    k1: float = 1.2
    b: float = 0.75
    delta: float = 1.0  # BM25Plus / BM25L lower bound for a present term
    epsilon: float = 0.25  # BM25Okapi floor for negative IDF

    def make(self, corpus: list[list[str]]) -> rank_bm25.BM25:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown BM25 variant {self.variant!r}; one of {sorted(VARIANTS)}")
        if not corpus:
            raise ValueError("BM25 needs at least one passage")
        if self.variant == "okapi":
            return rank_bm25.BM25Okapi(corpus, k1=self.k1, b=self.b, epsilon=self.epsilon)
        return VARIANTS[self.variant](corpus, k1=self.k1, b=self.b, delta=self.delta)


@dataclass(frozen=True)
class Postings:
    """Term ``t``'s passages are ``doc_ids[offsets[t]:offsets[t+1]]`` with ``weights`` alike."""

    vocab: dict[str, int]
    offsets: np.ndarray  # int64, len(vocab) + 1
    doc_ids: np.ndarray  # int32
    weights: np.ndarray  # float32
    baseline: np.ndarray  # float32, len(vocab): added to every passage
    n_passages: int
    # each term's (smallest, largest) weight, found the first time a question uses it
    # (NaN until then): eight bytes per term, whatever the questions
    _extremes: np.ndarray = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_extremes",
                           np.full((len(self.offsets) - 1, 2), np.nan, dtype=np.float32))

    @classmethod
    def compile(cls, corpus: list[list[str]], params: BM25Params) -> Postings:
        model = params.make(corpus)
        vocab = {t: i for i, t in enumerate(sorted(model.idf))}
        idf = np.zeros(len(vocab), dtype=np.float64)
        for term, value in model.idf.items():
            idf[vocab[term]] = value
        term_ids, docs, tfs = [], [], []
        for doc, freqs in enumerate(model.doc_freqs):
            for term, tf in freqs.items():
                term_ids.append(vocab[term])
                docs.append(doc)
                tfs.append(tf)
        return cls.from_counts(vocab, idf, np.asarray(term_ids, dtype=np.int64),
                               np.asarray(docs, dtype=np.int32),
                               np.asarray(tfs, dtype=np.float64),
                               np.asarray(model.doc_len, dtype=np.float64), model.avgdl,
                               params)

    @classmethod
    def from_counts(cls, vocab: dict[str, int], idf: np.ndarray, term_arr: np.ndarray,
                    doc_arr: np.ndarray, tf: np.ndarray, doc_len: np.ndarray, avgdl: float,
                    params: BM25Params) -> Postings:
        """Postings from (term id, passage, term frequency) triples and rank_bm25's IDF,
        passage lengths and average length: its scoring formula, vectorised."""
        norm = 1 - params.b + params.b * doc_len[doc_arr] / (avgdl or 1.0)
        k1, delta, w = params.k1, params.delta, idf[term_arr]
        if params.variant == "okapi":
            weights, baseline = w * tf * (k1 + 1) / (tf + k1 * norm), np.zeros_like(idf)
        elif params.variant == "plus":
            weights = w * tf * (k1 + 1) / (k1 * norm + tf)
            baseline = idf * delta
        else:  # rank_bm25's BM25L also multiplies by tf, so an absent term adds nothing
            ctd = tf / norm
            weights = w * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)
            baseline = np.zeros_like(idf)
        order = np.lexsort((doc_arr, term_arr))
        counts = np.bincount(term_arr, minlength=len(vocab))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(vocab=vocab, offsets=offsets, doc_ids=doc_arr[order],
                   weights=weights[order].astype(np.float32),
                   baseline=baseline.astype(np.float32), n_passages=len(doc_len))

    def scores(self, terms: list[str],
               boosts: list[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(score of every passage, number of question terms each passage contains).

        ``boosts`` scale each term's contribution (1.0 when omitted, as in rank_bm25).
        """
        ids, weights, constant = [], [], 0.0
        for i, term in enumerate(terms):  # repeated terms count again, as in rank_bm25
            t = self.vocab.get(term)
            if t is None:
                continue
            boost = 1.0 if boosts is None else boosts[i]
            lo, hi = self.offsets[t], self.offsets[t + 1]
            ids.append(self.doc_ids[lo:hi])
            weights.append(boost * self.weights[lo:hi])
            constant += boost * float(self.baseline[t])
        if not ids:
            return (np.full(self.n_passages, constant),
                    np.zeros(self.n_passages, dtype=np.int64))
        # One pass over all the terms' postings, summed in float64 in term order (the
        # order a loop of ``total[ids] += w`` adds them): about twice as fast at 1M.
        every = np.concatenate(ids)
        total = np.bincount(every, weights=np.concatenate(weights), minlength=self.n_passages)
        return total + constant, np.bincount(every, minlength=self.n_passages)

    def document_frequency(self, term: str) -> int:
        t = self.vocab.get(term)
        return 0 if t is None else int(self.offsets[t + 1] - self.offsets[t])

    def top(self, terms: list[str], k: int,
            boosts: list[float] | None = None) -> list[tuple[int, float]]:
        """Best ``k`` passages that contain at least one term; ties go to the earlier passage.

        Exact and equal to ranking ``scores`` (same sums, same order) without reading every
        posting of a frequent term (MaxScore): the k-th best score among the passages of
        the rarest terms is a floor, and the terms whose largest contributions together
        stay below it cannot lift a passage that has none of the other terms into the top
        ``k``. Only the other terms' postings are read whole; the rest are looked up for
        the passages found.
        """
        items = [(t, 1.0 if boosts is None else boosts[i]) for i, term in enumerate(terms)
                 if (t := self.vocab.get(term)) is not None]
        if not items or k <= 0:
            return []
        if self.n_passages <= FLOOR_POSTINGS:  # small enough to score every passage
            total, matched = self.scores(terms, boosts)
            passages = np.flatnonzero(matched)
            return self._best(passages, total[passages], k)
        constant = 0.0
        for t, boost in items:
            constant += boost * float(self.baseline[t])
        whole = self._essential(items, k, constant)
        passages = self._union(whole)
        return self._best(passages, self._sums(items, passages, whole) + constant, k)

    def _essential(self, items: list[tuple[int, float]], k: int, constant: float
                   ) -> list[int]:
        """The terms whose postings must be read whole (sorted): all of them when they
        are few, else those that could lift a passage past the floor."""
        every = sorted({t for t, _ in items})
        if sum(self._df(t) for t, _ in items) <= FLOOR_POSTINGS:  # too few to prune
            return every
        floor = self._floor(items, k)
        bounds = [self._bound(t, boost) for t, boost in items]
        # a margin far wider than the rounding of sums taken in another order, or of a
        # sum once the constant is added
        floor -= 1e-9 * (abs(floor) + abs(constant)) + 1e-12
        essential, below = set(), 0.0
        for j in sorted(range(len(items)), key=bounds.__getitem__):
            below += bounds[j]
            if below >= floor:
                essential.add(items[j][0])
        # none: a floor that is not a number (an infinite boost), so no pruning
        return sorted(essential) or every

    @staticmethod
    def _best(passages: np.ndarray, total: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` best of ``passages`` by ``total``, ties to the earlier passage."""
        if passages.size > k:
            part = np.argpartition(-total, k - 1)[:k]
            keep = total >= total[part].min()
            passages, total = passages[keep], total[keep]
        order = np.lexsort((passages, -total))[:k]
        return [(int(passages[i]), float(total[i])) for i in order]

    def _df(self, t: int) -> int:
        return int(self.offsets[t + 1] - self.offsets[t])

    def _docs(self, t: int) -> np.ndarray:
        return self.doc_ids[self.offsets[t]:self.offsets[t + 1]]

    def _union(self, terms: list[int]) -> np.ndarray:
        """The passages holding any of ``terms``, sorted."""
        if len(terms) == 1 or sum(map(self._df, terms)) < UNION_BY_SORT:
            return _merged([self._docs(t) for t in terms])
        seen = np.zeros(self.n_passages, dtype=bool)
        for t in terms:
            seen[self._docs(t)] = True
        return np.flatnonzero(seen)

    def _sums(self, items: list[tuple[int, float]], passages: np.ndarray,
              whole: list[int] = ()) -> np.ndarray:
        """``passages``' (sorted) summed contributions, added in question order from 0.0 as
        ``scores`` adds them, so the floats are the same. Few passages are scored by
        look-ups alone; else the postings of ``whole`` terms, and of terms with few more
        postings than there are passages, are added whole to a dense array and the others
        looked up for ``passages``."""
        if passages.size < LOOKUP_BELOW:
            total = np.zeros(passages.size)
            for t, boost in items:
                present, at = self._lookup(t, passages)
                found = np.zeros(passages.size)  # float64, as np.bincount sums
                found[present] = boost * self.weights[self.offsets[t] + at[present]]
                total += found
            return total
        dense = np.zeros(self.n_passages)
        for t, boost in items:
            lo = self.offsets[t]
            if t in whole or self._df(t) < 4 * passages.size:
                dense[self._docs(t)] += boost * self.weights[lo:self.offsets[t + 1]]
            else:
                present, at = self._lookup(t, passages)
                dense[passages[present]] += boost * self.weights[lo + at[present]]
        return dense[passages]

    def _lookup(self, t: int, passages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of ``passages`` hold term ``t``, and where in its postings."""
        docs = self._docs(t)
        at = np.searchsorted(docs, passages)
        present = at < docs.size
        present[present] = docs[at[present]] == passages[present]
        return present, at

    def _floor(self, items: list[tuple[int, float]], k: int) -> float:
        """A score at most the k-th best: the k-th best among the passages of the rarest
        terms (up to ``FLOOR_POSTINGS`` postings read); minus infinity if fewer than k."""
        read, rare = 0, []
        for t in sorted({t for t, _ in items}, key=self._df):
            read += self._df(t)
            if read > FLOOR_POSTINGS and rare:
                break
            rare.append(self._docs(t))
        passages = _merged(rare)
        if passages.size < k:
            return -np.inf
        sums = self._sums(items, passages)
        return float(np.partition(sums, passages.size - k)[passages.size - k])

    def _bound(self, t: int, boost: float) -> float:
        """The largest contribution term ``t`` scaled by ``boost`` makes to a passage (0 for
        one without it), as ``scores`` computes contributions."""
        extremes = self._extremes[t]
        if np.isnan(extremes[0]):
            docs_weights = self.weights[self.offsets[t]:self.offsets[t + 1]]
            extremes = np.array([docs_weights.min(), docs_weights.max()])
            self._extremes[t] = extremes
        return max(0.0, float((boost * extremes).max()))


def _merged(arrays: list[np.ndarray]) -> np.ndarray:
    """The distinct values of sorted arrays, sorted (a sort and a mask: several times
    faster here than ``np.unique``'s hashing on a few thousand postings)."""
    if len(arrays) == 1:
        return arrays[0]
    every = np.sort(np.concatenate(arrays))
    keep = np.empty(every.size, dtype=bool)
    keep[:1] = True
    np.not_equal(every[1:], every[:-1], out=keep[1:])
    return every[keep]
