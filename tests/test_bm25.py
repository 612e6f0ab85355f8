"""Our compiled postings must score exactly like rank_bm25 and like textbook BM25."""

import math
from collections import Counter

import numpy as np
import pytest
import rank_bm25
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from citeqa.search import bm25
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


# rank_bm25 itself, called directly: the reference must not go through BM25Params.make.
DIRECT = [
    (BM25Params("okapi", 1.5, 0.3, epsilon=0.5),
     lambda c: rank_bm25.BM25Okapi(c, k1=1.5, b=0.3, epsilon=0.5)),
    (BM25Params("plus", 0.9, 0.4, delta=0.7),
     lambda c: rank_bm25.BM25Plus(c, k1=0.9, b=0.4, delta=0.7)),
    (BM25Params("l", 1.5, 0.6, delta=0.5),
     lambda c: rank_bm25.BM25L(c, k1=1.5, b=0.6, delta=0.5)),
]


@pytest.mark.parametrize(("params", "reference"), DIRECT, ids=lambda x: getattr(x, "variant", ""))
def test_every_parameter_reaches_rank_bm25(params, reference):
    # 'kazakh' is in 3 of 4 passages: Okapi's IDF is negative and epsilon decides its floor;
    # lengths differ a lot so b matters.
    corpus = [["kazakh", "tenge", "fell", "tenge", "bank", "bank", "som"], ["kazakh", "bank"],
              ["kazakh", "uzbek", "visa"], ["russia"]]
    query = ["kazakh", "tenge", "bank", "russia"]
    expected = reference(corpus).get_scores(query)
    np.testing.assert_allclose(params.make(corpus).get_scores(query), expected, rtol=1e-6)
    got, _ = Postings.compile(corpus, params).scores(query)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_unknown_variant_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match=r"unknown BM25 variant 'bm42'.*'l', 'okapi', 'plus'"):
        BM25Params("bm42").make([["a"]])


def test_postings_arrays_have_the_documented_dtypes():
    # README "Index format": offsets int64, doc_ids int32, weights and baseline float32.
    corpus = [["kazakh", "tenge", "tenge"], ["russia", "kazakh"], ["som"]]
    for params in PARAMS:
        postings = Postings.compile(corpus, params)
        assert postings.offsets.dtype == np.int64
        assert postings.doc_ids.dtype == np.int32
        assert postings.weights.dtype == np.float32
        assert postings.baseline.dtype == np.float32
        _, matched = postings.scores(["kazakh", "som"])
        assert matched.dtype.kind == "i"  # a count of question terms


def test_boosts_scale_each_terms_contribution():
    corpus = [["kazakh", "tenge"], ["russia", "bank"], ["kazakh", "russia", "som"]]
    postings = Postings.compile(corpus, BM25Params())
    boosted, matched = postings.scores(["kazakh", "russia"], [2.0, 0.5])
    kazakh, _ = postings.scores(["kazakh"])
    russia, _ = postings.scores(["russia"])
    np.testing.assert_allclose(boosted, 2.0 * kazakh + 0.5 * russia, rtol=1e-6)
    assert matched.tolist() == [1, 1, 2]
    # top() ranks by the boosted scores too: unboosted, passages 0 and 1 tie.
    assert [i for i, _ in postings.top(["tenge", "bank"], 1)] == [0]
    assert [i for i, _ in postings.top(["tenge", "bank"], 1, [1.0, 3.0])] == [1]


def brute_force_top(postings, terms, k, boosts=None):
    total, matched = postings.scores(terms, boosts)
    ranked = sorted((i for i in range(len(total)) if matched[i]), key=lambda i: (-total[i], i))
    return [(i, float(total[i])) for i in ranked[:max(k, 0)]]


@settings(max_examples=150, deadline=None)
@given(corpus=corpora, query=queries, k=st.integers(-1, 8))
def test_top_is_the_best_k_matching_passages_in_score_order(corpus, query, k):
    assume(any(corpus))
    postings = Postings.compile(corpus, BM25Params())
    assert postings.top(query, k) == brute_force_top(postings, query, k)


def test_top_edge_cases():
    corpus = [["a", "x"], ["b", "y", "y"], ["a", "b", "z"], ["c"]]
    postings = Postings.compile(corpus, BM25Params())
    assert postings.top(["a"], 0) == []
    assert [i for i, _ in postings.top(["c"], 5)] == [3]  # a single matching passage
    for k in range(1, 5):  # every k up to and past the number of matches, incl. k = matches-1
        assert postings.top(["a", "b", "c"], k) == brute_force_top(postings, ["a", "b", "c"], k)
    scores = [s for _, s in postings.top(["a", "b", "y"], 4)]
    assert scores == sorted(scores, reverse=True)


def test_document_frequency_is_the_number_of_passages_with_the_term():
    corpus = [["kazakh", "tenge", "tenge"], ["russia", "kazakh"], ["som"], ["kazakh"]]
    postings = Postings.compile(corpus, BM25Params())
    for term in postings.vocab:
        assert postings.document_frequency(term) == sum(term in doc for doc in corpus), term
    assert postings.document_frequency("absent") == 0


@pytest.mark.parametrize("floor_postings,union_by_sort", [(200, 100), (2_000, 50_000)])
@pytest.mark.parametrize("params", PARAMS, ids=lambda p: f"{p.variant}-{p.k1}-{p.b}")
def test_top_skips_no_passage_on_a_large_skewed_corpus(params, floor_postings, union_by_sort,
                                                        monkeypatch):
    """top() reads a frequent term's postings only for the passages its rarer terms found
    (MaxScore); on Zipf-like text with repeated, boosted and unboosted terms it must still
    return exactly the brute-force ranking, scores equal to the last bit. Small budgets
    make the floor weak, and run the dense and look-up sums and both ways of merging
    postings."""
    monkeypatch.setattr(bm25, "FLOOR_POSTINGS", floor_postings)
    monkeypatch.setattr(bm25, "LOOKUP_BELOW", floor_postings)
    monkeypatch.setattr(bm25, "UNION_BY_SORT", union_by_sort)
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(400)]
    ranks = np.arange(1, len(vocab) + 1)
    p = (1 / ranks) / (1 / ranks).sum()
    corpus = [list(rng.choice(vocab, size=rng.integers(1, 40), p=p)) for _ in range(3000)]
    postings = Postings.compile(corpus, params)
    for trial in range(60):
        n = int(rng.integers(1, 6))
        query = list(rng.choice(vocab[:5], size=1)) + list(rng.choice(vocab, size=n))
        if trial % 3 == 0:
            query.append(query[0])  # a repeated term counts again
        boosts = ([float(b) for b in rng.choice([1.0, 0.8, 0.35], size=len(query))]
                  if trial % 2 else None)
        for k in (1, 3, 10, 50):
            assert postings.top(query, k, boosts) == brute_force_top(postings, query, k,
                                                                     boosts)


def test_top_lists_a_passage_once_when_it_holds_several_rare_terms(monkeypatch):
    """The first passage holds both rare terms: merging their postings must not count it
    twice (in the floor, or among the passages returned)."""
    monkeypatch.setattr(bm25, "FLOOR_POSTINGS", 50)
    corpus = [["rare", "scarce", "common"]] + [["common", f"w{i % 7}"] for i in range(300)]
    corpus[150] = ["rare", "scarce"]
    postings = Postings.compile(corpus, BM25Params())
    for k in (1, 2, 3, 5):
        got = postings.top(["rare", "scarce", "common"], k)
        assert got == brute_force_top(postings, ["rare", "scarce", "common"], k)
        assert len({i for i, _ in got}) == len(got)


def test_top_is_exact_when_the_constant_dwarfs_the_scores(monkeypatch):
    """BM25Plus adds a constant (delta x IDF of each question term) to every passage; when
    it dwarfs the sums, sums that differ round to one total, and the tie goes to the
    earlier passage, which the pruning must not have skipped. Passage 5 alone holds the
    rare term (sum 11), passage 0 only the common one (sum 1): with a constant of 1e18
    both totals are 1e18, and passage 0 wins."""
    monkeypatch.setattr(bm25, "FLOOR_POSTINGS", 50)
    postings = Postings(vocab={"common": 0, "rare": 1},
                        offsets=np.array([0, 100, 101], dtype=np.int64),
                        doc_ids=np.array([*range(100), 5], dtype=np.int32),
                        weights=np.array([1.0] * 100 + [10.0], dtype=np.float32),
                        baseline=np.array([0.0, 1e18], dtype=np.float32), n_passages=100)
    assert postings.top(["common", "rare"], 1) == \
        brute_force_top(postings, ["common", "rare"], 1) == [(0, float(np.float32(1e18)))]


def test_top_with_an_infinite_boost_ranks_as_the_scores_do(monkeypatch):
    monkeypatch.setattr(bm25, "FLOOR_POSTINGS", 20)
    corpus = [["common", "x"] for _ in range(200)] + [["rare", "common"]] * 5
    postings = Postings.compile(corpus, BM25Params())
    boosts = [float("inf"), 1.0]
    assert postings.top(["rare", "common"], 3, boosts) == \
        brute_force_top(postings, ["rare", "common"], 3, boosts)
