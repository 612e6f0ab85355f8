"""The saved index answers every look-up as the index the build assembled in memory does:
names exactly and misspelt, prefix searches, pages of documents; its caches stay bounded."""

from __future__ import annotations

import random

import pytest

from citeqa.store import build as builder
from citeqa.store.disk import StoreParams, open_store


@pytest.fixture(scope="module")
def both(seed_config, seed_index):
    return builder.assemble(seed_config).index, seed_index


def _misspell(name: str, rng: random.Random) -> str:
    chars = list(name)
    for _ in range(rng.choice((1, 1, 2))):
        i = rng.randrange(len(chars))
        edit = rng.choice(("drop", "swap", "double"))
        if edit == "drop" and len(chars) > 1:
            del chars[i]
        elif edit == "swap":
            chars[i] = rng.choice("aeiourstn")
        else:
            chars.insert(i, chars[i])
    return "".join(chars)


def test_names_and_misspelt_names_find_the_same_entity(both):
    memory, disk = both
    rng = random.Random(13)
    names = [a for e in memory.entities.entities for a in e.aliases]
    tried = names + [_misspell(n, rng) for n in names for _ in range(3)]
    found = 0
    for name in tried:
        for similarity in (70.0, 85.0, 95.0):
            want = memory.entities.lookup(name, similarity)
            got = disk.entities.lookup(name, similarity)
            assert (got and got.id) == (want and want.id), (name, similarity)
            found += want is not None
    assert found > len(tried)  # the comparison is not between two Nones


def test_prefix_searches_and_labels_match(both):
    memory, disk = both
    assert disk.entities.labels == memory.entities.labels
    for prefix in ("", "k", "ka", "Rus", "uzbek", "president", "zzz", "s"):
        for label in (None, "GPE", "PERSON", "ORG"):
            for limit in (1, 5, 50):
                want = [e.id for e in memory.entities.search(prefix, label, limit)]
                assert [e.id for e in disk.entities.search(prefix, label, limit)] == want


def test_passages_documents_and_mentions_match(both):
    memory, disk = both
    for pos in range(len(memory.store)):
        assert disk.store.passage(pos) == memory.store.passage(pos)
        assert disk.store.annotation(pos) == memory.store.annotation(pos)
        assert disk.entities.mentions_in(pos) == memory.entities.mentions_in(pos)
        assert disk.entities.at(pos) == memory.entities.at(pos)
        passage = memory.store.passage(pos)
        assert disk.search.words(pos, passage.text, passage.start) == \
            memory.search.analyzer.spans(passage.text, passage.start)
        assert disk.store.position(passage.id) == pos
    for doc_id in memory.store.documents:
        assert disk.store.passages_of(doc_id) == memory.store.passages_of(doc_id)
    assert disk.store.document_page(0, 10) == memory.store.document_page(0, 10)
    assert disk.store.document_page(1, 10) == []


def test_mention_starts_read_from_the_store_match_the_mentions(both):
    """The fact sheets walk an entity's mentions through ``mention_starts``: the saved
    index's cursor gives the places, in the order, that the built entities hold, and a
    caller that stops early leaves nothing that breaks the next read."""
    memory, disk = both
    assert memory.entities.entities
    for entity in memory.entities.entities:
        want = [(m.passage, m.start) for m in entity.mentions]
        assert list(memory.entities.mention_starts(entity)) == want
        saved = disk.entities.get(entity.id)
        first = disk.entities.mention_starts(saved)
        assert next(first) == want[0]
        assert list(disk.entities.mention_starts(saved)) == want
        first.close()


def test_caches_are_bounded(seed_config, seed_index):
    store, table = open_store(seed_index.path / "store.sqlite",
                              StoreParams(passages_cached=3, annotations_cached=3,
                                          entities_cached=2, value_links_cached=4))
    for pos in range(len(store)):
        table.at(pos)
    memo = table.value_links.setdefault("params", {})
    for pos in range(len(store)):
        memo[pos] = {}
    assert len(memo) == 4 and list(memo) == list(range(len(store) - 4, len(store)))
    assert store._place.cache_info().currsize <= 3
    assert store._data.cache_info().currsize <= 3
    assert table._at_pos.cache_info().currsize <= 2
