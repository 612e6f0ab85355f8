"""Retrieval's per-process cache of analysed passage words stays bounded."""

from citeqa.search import retrieval


def test_the_words_cache_is_bounded_and_answers_the_same(seed_index, monkeypatch):
    search, store = seed_index.search, seed_index.store
    monkeypatch.setattr(retrieval, "WORDS_CACHED", 5)
    monkeypatch.setattr(search, "_words", {})
    first = [search.words(pos, store.passage(pos).text, store.passage(pos).start)
             for pos in range(len(store))]
    assert len(search._words) <= 5
    again = [search.words(pos, store.passage(pos).text, store.passage(pos).start)
             for pos in range(len(store))]
    assert again == first
    assert first[0] == search.analyzer.spans(store.passage(0).text, store.passage(0).start)
