"""Two maintainers at once: one build at a time, never an older corpus going live, and
nothing a killed build left behind ever costs the live version."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import make_corpus

from citeqa.config import Config
from citeqa.store import build as builder
from citeqa.store import index as index_store

CITEQA = Path(sys.executable).with_name("citeqa")
A = "Alpha news\nKazakhstan's tenge fell 14% in March, the central bank said on Monday.\n"
B = "Beta news\nUzbek President Mirziyoyev visited Washington in 2018 for talks.\n"
C = "Gamma news\nTajikistan hosts a Russian military base near Dushanbe.\n"


def config_for(tmp_path, files) -> Config:
    corpus = make_corpus(tmp_path / "corpus", files)
    return Config.load({"corpus": corpus, "index": tmp_path / "index"}, environ={})


def versions(config: Config) -> list[str]:
    return sorted(p.name for p in config.index.iterdir() if p.name.startswith("v"))


def wait_for_file(path: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {seconds}s")
        time.sleep(0.05)


def test_a_file_added_during_a_build_is_in_the_index_that_goes_live(tmp_path):
    config = config_for(tmp_path, {"a.txt": A})
    builder.build(config)

    def add_during_save(step: str) -> None:
        if step == "files-written" and not (config.corpus / "c.txt").exists():
            (config.corpus / "c.txt").write_text(C)

    report = builder.build(config, on_step=add_during_save)
    assert sorted(index_store.load(config.index).store.documents) == ["a", "c"]
    assert report.documents == 2
    assert builder.needs_build(config) is None


def test_a_corpus_that_never_settles_keeps_the_live_index(tmp_path):
    config = config_for(tmp_path, {"a.txt": A})
    live = builder.build(config).version
    edits = iter(range(100))

    def keep_editing(step: str) -> None:
        if step == "files-written":
            (config.corpus / "b.txt").write_text(B + f"Edit {next(edits)}.\n")

    with pytest.raises(builder.BuildError, match="changed during each of 3 builds"):
        builder.build(config, on_step=keep_editing)
    assert index_store.current_version(config.index) == live
    assert versions(config) == [live]
    assert not [p for p in os.listdir(config.index) if p.startswith(".")]


def _held_build(config: Config, holding: Path, release: Path) -> None:
    """A build that stops inside its save, holding the lock, until ``release`` exists."""

    def hold(step: str) -> None:
        if step == "files-written" and not holding.exists():
            holding.touch()
            wait_for_file(release)

    builder.build(config, on_step=hold)


def _waiting_build(config: Config, waiting: Path) -> None:
    builder.build(config, on_wait=lambda message: waiting.write_text(message))


def test_a_second_build_waits_for_the_first_and_no_document_is_lost(tmp_path):
    config = config_for(tmp_path, {"a.txt": A})
    builder.build(config)
    (config.corpus / "b.txt").write_text(B)
    holding, release, waiting = tmp_path / "holding", tmp_path / "release", tmp_path / "waiting"
    fork = multiprocessing.get_context("fork")
    first = fork.Process(target=_held_build, args=(config, holding, release))
    first.start()
    try:
        wait_for_file(holding)
        (config.corpus / "c.txt").write_text(C)  # what `citeqa add` does, then it indexes
        second = fork.Process(target=_waiting_build, args=(config, waiting))
        second.start()
        wait_for_file(waiting)
        assert "another build of" in waiting.read_text() and second.is_alive()
    finally:
        release.touch()
        first.join(timeout=120)
    second.join(timeout=120)
    assert (first.exitcode, second.exitcode) == (0, 0)
    assert sorted(index_store.load(config.index).store.documents) == ["a", "b", "c"]
    assert builder.needs_build(config) is None


def test_two_index_runs_and_an_add_at_once_lose_nothing(tmp_path):
    config = config_for(tmp_path, {"a.txt": A})
    (tmp_path / "new.txt").write_text(C)
    common = ["--corpus", str(config.corpus), "--index", str(config.index)]
    runs = [subprocess.Popen([str(CITEQA), *args, *common], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
            for args in (["index"], ["index"], ["add", str(tmp_path / "new.txt")])]
    outputs = [run.communicate(timeout=180)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert sorted(index_store.load(config.index).store.documents) == ["a", "new"]
    assert builder.needs_build(config) is None


def test_leftovers_of_killed_builds_are_removed_at_the_start(tmp_path, monkeypatch):
    config = config_for(tmp_path, {"a.txt": A})
    builder.build(config)
    (config.index / ".tmp-v1-dead").mkdir()
    (config.index / ".tmp-v1-dead" / "documents.jsonl").write_text("{}")
    (config.index / ".CURRENT.dead").write_text("v1-dead\n")
    seen = []
    monkeypatch.setattr(builder, "assemble", lambda *a, **k: (
        seen.append(sorted(os.listdir(config.index))),
        (_ for _ in ()).throw(builder.BuildError("stop here")))[1])
    with pytest.raises(builder.BuildError):
        builder.build(config)
    assert not [name for name in seen[0] if name.startswith(".")]


@pytest.mark.parametrize("pointer", ["", "\n", "garbage-not-a-version\n"])
def test_cleanup_never_deletes_a_version_when_the_live_one_is_unknown(tmp_path, pointer):
    config = config_for(tmp_path, {"a.txt": A})
    first = builder.build(config).version
    (config.corpus / "b.txt").write_text(B)
    second = builder.build(config).version
    (config.index / "CURRENT").write_text(pointer)
    index_store.cleanup(config.index)
    assert {first, second} <= set(versions(config))
