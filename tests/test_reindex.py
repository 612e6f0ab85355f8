"""Incremental re-indexing, deletion, and crash safety of the index build."""

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_corpus

from citeqa.config import Config
from citeqa.ingest import annotate as annotate_module
from citeqa.kb.facts import FactParams
from citeqa.kb.linker import links_key
from citeqa.store import build as builder
from citeqa.store import index as index_store

CITEQA = Path(sys.executable).with_name("citeqa")
A = "Alpha news\nKazakhstan's tenge fell 14% in March, the central bank said on Monday.\n"
B = "Beta news\nUzbek President Mirziyoyev visited Washington in 2018 for talks.\n"


def config_for(tmp_path, files):
    corpus = make_corpus(tmp_path / "corpus", files)
    return Config.load({"corpus": corpus, "index": tmp_path / "index"}, environ={})


def test_a_file_added_later_never_takes_an_indexed_documents_id(tmp_path):
    config = config_for(tmp_path, {"zeta.txt": A})
    builder.build(config)
    (config.corpus / "a.jsonl").write_text('{"id": "zeta", "title": "Note", "text": "x"}\n')
    report = builder.build(config)
    assert report.changed == [] and report.unchanged == 1
    assert [(s.path, s.reason) for s in report.skipped] == [
        ("a.jsonl:1", "duplicate document id 'zeta' (already used by zeta.txt)")]
    assert index_store.load(config.index).store.documents["zeta"].path == "zeta.txt"


def no_spacy(*args, **kwargs):
    raise AssertionError("spaCy must not run for unchanged documents")


def test_unchanged_corpus_does_no_spacy_work(tmp_path, monkeypatch):
    config = config_for(tmp_path, {"a.txt": A, "b.txt": B})
    first = builder.build(config)
    assert first.annotated == 2 and first.added == ["a", "b"]
    before = index_store.load(config.index)

    monkeypatch.setattr(builder, "load_model", no_spacy)
    monkeypatch.setattr(annotate_module, "parse", no_spacy)
    second = builder.build(config)
    assert second.annotated == 0
    assert second.unchanged == 2 and not (second.added or second.changed or second.removed)
    after = index_store.load(config.index)
    assert after.store.passages == before.store.passages
    assert after.store.annotations == before.store.annotations
    assert [e.id for e in after.entities.entities] == [e.id for e in before.entities.entities]


def test_changed_new_and_deleted_documents(tmp_path):
    config = config_for(tmp_path, {"a.txt": A, "b.txt": B})
    builder.build(config)
    (config.corpus / "a.txt").write_text(A + "Analysts expect more volatility.\n")
    (config.corpus / "c.txt").write_text("Gamma news\nTajikistan hosts a Russian base.\n")
    (config.corpus / "b.txt").unlink()
    report = builder.build(config)
    assert report.changed == ["a"] and report.added == ["c"] and report.removed == ["b"]
    assert report.annotated == 2 and report.unchanged == 0
    index = index_store.load(config.index)
    assert sorted(index.store.documents) == ["a", "c"]
    assert all(p.doc_id != "b" for p in index.store.passages)
    assert not any("Mirziyoyev" in e.aliases for e in index.entities.entities)
    cached = list((config.index / builder.CACHE_DIR).glob("*/*/*.json"))
    assert len(cached) == 2  # b's and a's old entries are pruned


def test_full_rebuild_ignores_the_cache(tmp_path):
    config = config_for(tmp_path, {"a.txt": A, "b.txt": B})
    builder.build(config)
    assert builder.build(config, full=True).annotated == 2


def test_progress_bar_counts_documents_only_when_asked(tmp_path, capsys):
    config = config_for(tmp_path, {"a.txt": A, "b.txt": B})
    quiet = builder.build(config, full=True)
    assert capsys.readouterr().err == ""
    builder.build(config, full=True, progress=True)
    err = capsys.readouterr().err
    assert "annotating" in err and f"{quiet.documents}/{quiet.documents}" in err
    assert "document/s" in err  # tqdm's rate
    # then the passages written, each with its value links
    assert "writing and linking" in err and f"{quiet.passages}/{quiet.passages}" in err


def test_cli_index_prints_the_summary(tmp_path):
    config = config_for(tmp_path, {"a.txt": A, "bad.txt": b"\x00"})
    args = [str(CITEQA), "index", "--corpus", str(config.corpus), "--index", str(config.index)]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    assert "added 1, changed 0, removed 0, unchanged 0, skipped 1" in out.stderr
    assert "skipped bad.txt: binary file" in out.stderr
    assert "\r" not in out.stderr  # no progress meter when piped
    again = subprocess.run(args, capture_output=True, text=True, check=True)
    assert again.stderr.startswith("the index is up to date: version v")
    (config.corpus / "b.txt").write_text("B news\nTajikistan's somoni held steady in May.\n")
    more = subprocess.run(args, capture_output=True, text=True, check=True)
    assert "added 1, changed 0, removed 0, unchanged 1, skipped 1" in more.stderr
    assert "spaCy ran on 1 documents" in more.stderr  # the unchanged one from the cache


def _build_killed_at(config: Config, step: str) -> int:
    """Run a build in a forked child that dies (no cleanup, like kill -9) right after
    ``step`` of the atomic save; return its exit code."""

    def die_at(reached: str) -> None:
        if reached == step:
            os._exit(9)

    child = multiprocessing.get_context("fork").Process(
        target=builder.build, args=(config,), kwargs={"on_step": die_at})
    child.start()
    child.join(timeout=120)
    return child.exitcode


@pytest.mark.parametrize("step", index_store.SAVE_STEPS)
def test_a_build_killed_at_each_save_step_never_loses_the_live_index(tmp_path, step):
    config = config_for(tmp_path, {"a.txt": A})
    old = builder.build(config).version
    (config.corpus / "b.txt").write_text(B)
    assert _build_killed_at(config, step) == 9
    live = index_store.current_version(config.index)
    switched = step == "switched"
    assert (live != old) if switched else (live == old)
    survivor = index_store.load(config.index)  # whatever is live is complete
    assert sorted(survivor.store.documents) == (["a", "b"] if switched else ["a"])
    report = builder.build(config)  # the next run completes and cleans up
    assert report.documents == 2
    assert not [p for p in os.listdir(config.index) if p.startswith(".")]
    assert not list((config.index / builder.CACHE_DIR).rglob(".tmp-*"))
    versions = sorted(p.name for p in config.index.iterdir() if p.name.startswith("v"))
    # The new version and the one live before it (requests may still read it); a version
    # the killed build wrote but never switched to is gone, and the one it replaced when
    # it did switch stays a while (a worker may not have switched from it yet).
    assert versions == sorted({report.version, live} | ({old} if switched else set()))


def test_large_batches_use_every_core(monkeypatch):
    class RecordingPipeline:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def pipe(self, texts, batch_size, n_process):
            self.calls.append(n_process)
            return iter(())

    monkeypatch.setattr(annotate_module.os, "cpu_count", lambda: 2)
    nlp = RecordingPipeline()
    annotate_module.parse(nlp, ["x"] * 10)
    annotate_module.parse(nlp, ["x"] * annotate_module.PARALLEL_FROM)
    assert nlp.calls == [1, 2]


def test_an_incremental_build_links_only_the_documents_that_changed(tmp_path, monkeypatch):
    """Value links are made at build time; those of a document whose content, model and
    pipeline are unchanged are taken from the live version, not linked again, and equal
    what linking them again would give."""
    config = config_for(tmp_path, {"a.txt": A, "b.txt": B})
    builder.build(config)
    linked: list[str] = []
    real = index_store.passage_links

    def counting(store, pos, params):
        linked.append(store.passage(pos).doc_id)
        return real(store, pos, params)

    monkeypatch.setattr(index_store, "passage_links", counting)
    (config.corpus / "b.txt").write_text(B + "Tashkent said on Tuesday that 40% of exports "
                                         "went to Russia.\n")
    builder.build(config)
    assert set(linked) == {"b"}  # "a" was read from the live version
    index = index_store.load(config.index)
    key = links_key(FactParams().links)
    stated = [index.entities.stored_links(p, key) for p in range(len(index.store))]
    assert stated == [real(index.store, p, FactParams().links)
                      for p in range(len(index.store))]
    assert any(stated)  # "14%", "in 2018", "40%": the corpus does state values

    linked.clear()  # --full takes nothing from the live version
    builder.build(config, full=True)
    assert set(linked) == {"a", "b"}

    # A live version whose links were made by other rules lends nothing.
    linked.clear()
    monkeypatch.setattr(index_store, "links_key", lambda params: "links-other")
    (config.corpus / "b.txt").write_text(B)
    builder.build(config)
    assert set(linked) == {"a", "b"}
