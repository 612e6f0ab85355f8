"""Our compiled postings must score exactly like rank_bm25 and like textbook BM25."""

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from citeqa.search.bm25 import BM25Params, Postings

words = st.sampled_from(["kazakh", "tenge", "fell", "russia", "bank", "som", "uzbek", "visa"])
corpora = st.lists(st.lists(words, min_size=0, max_size=12), min_size=1, max_size=25)
queries = st.lists(st.sampled_from(["kazakh", "tenge", "russia", "absent", "som"]),
                   min_size=1, max_size=4)
PARAMS = [BM25Params("okapi", 1.2, 0.75), BM25Params("plus", 1.2, 0.75, delta=1.0),
          BM25Params("l", 1.5, 0.6, delta=0.5), BM25Params("plus", 0.9, 0.4, delta=0.7)]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p.variant}-{p.k1}-{p.b}")
@settings(max_examples=60, deadline=None)
@given(corpus=corpora, query=queries)
def test_postings_equal_rank_bm25_get_scores(params, corpus, query):
    assume(any(corpus))  # rank_bm25 divides by average length 0
    expected = params.make(corpus).get_scores(query)
    got, _ = Postings.compile(corpus, params).scores(query)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def textbook_bm25plus(corpus, query, k1=1.2, b=0.75, delta=1.0):
    """Lv & Zhai (2011) BM25+, written independently of rank_bm25 and of citeqa."""
    n = len(corpus)
    avgdl = sum(map(len, corpus)) / n
    df = Counter(t for doc in corpus for t in set(doc))
    out = []
    for doc in corpus:
        tf = Counter(doc)
        score = 0.0
        for term in query:
            if term not in df:
                continue
            idf = math.log((n + 1) / df[term])
            f = tf[term]
            score += idf * (delta + f * (k1 + 1) / (k1 * (1 - b + b * len(doc) / avgdl) + f))
        out.append(score)
    return out


def test_default_variant_matches_an_independent_bm25plus():
    corpus = [["kazakh", "tenge", "fell", "tenge"], ["russia", "sanction"], ["kazakh", "bank"],
              ["som", "fell", "fell", "kyrgyz", "russia"], ["uzbek", "visa"]]
    query = ["tenge", "fell", "kazakh", "unknown"]
    got, matched = Postings.compile(corpus, BM25Params()).scores(query)
    np.testing.assert_allclose(got, textbook_bm25plus(corpus, query), rtol=1e-6)
    assert matched.tolist() == [3, 0, 1, 1, 0]


def test_small_corpus_common_term_still_counts_with_bm25plus():
    # 'kazakh' is in 2 of 3 passages: BM25Okapi's IDF would be negative here.
    corpus = [["kazakh", "tenge"], ["kazakh", "bank"], ["uzbek", "som"]]
    got, _ = Postings.compile(corpus, BM25Params()).scores(["kazakh"])
    assert got[0] > got[2] and got[1] > got[2]


def test_top_breaks_ties_by_passage_order_and_skips_non_matching():
    corpus = [["a", "x"], ["b", "y"], ["a", "x"], ["c"]]
    postings = Postings.compile(corpus, BM25Params())
    assert [i for i, _ in postings.top(["a"], 10)] == [0, 2]
    assert postings.top(["zzz"], 10) == []
    assert len(postings.top(["a", "b", "c"], 2)) == 2


def test_empty_corpus_is_refused():
    with pytest.raises(ValueError, match="at least one passage"):
        Postings.compile([], BM25Params())
