"""Retrieval's per-process cache of analysed passage words stays bounded (an index in
memory; a saved one stores each passage's words)."""

from citeqa.search import retrieval


def test_the_words_cache_is_bounded_and_answers_the_same(seed_index, monkeypatch):
    store = seed_index.store
    search = retrieval.SearchIndex(seed_index.search.postings, seed_index.search.analyzer)
    monkeypatch.setattr(retrieval, "WORDS_CACHED", 5)
    monkeypatch.setattr(search, "_words", {})
    first = [search.words(pos, store.passage(pos).text, store.passage(pos).start)
             for pos in range(len(store))]
    assert len(search._words) <= 5
    again = [search.words(pos, store.passage(pos).text, store.passage(pos).start)
             for pos in range(len(store))]
    assert again == first
    assert first[0] == search.analyzer.spans(store.passage(0).text, store.passage(0).start)


def test_a_saved_index_gives_the_words_analysed_at_build_time(seed_index):
    search, store = seed_index.search, seed_index.store
    for pos in range(len(store)):
        passage = store.passage(pos)
        assert search.words(pos, passage.text, passage.start) == \
            search.analyzer.spans(passage.text, passage.start)
    assert search._words == {}
