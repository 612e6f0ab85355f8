"""Every file of a version corrupted in turn: a clear refusal, never a wrong answer; and a
running server keeps its last good version when a newer one is damaged."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_corpus

from citeqa.cli import main
from citeqa.config import Config
from citeqa.serve.app import create_app
from citeqa.store import build as builder
from citeqa.store import index as index_store
from citeqa.store.live import LiveIndex

A = "Alpha news\nKazakhstan's tenge fell 15% in March, the central bank said on Monday.\n"
B = "Beta news\nUzbek President Mirziyoyev visited Washington in 2018 for talks.\n"
FILES = ("manifest.json", *index_store.DATA_FILES, index_store.CURRENT)


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


def _digit(data: bytes) -> bytes:
    """The same size, one digit changed: what a size check alone would miss."""
    for at in range(len(data) // 2, len(data)):
        if 0x30 <= data[at] <= 0x38:
            return data[:at] + bytes([data[at] + 1]) + data[at + 1:]
    return _flip(data)


def _shift(path: Path) -> None:
    """Every document's text moved by 20 characters in place: a valid database of the
    same size still (in JSON it made the red team's index answer 'zst' instead of '15%')."""
    size = path.stat().st_size
    with sqlite3.connect(path) as db:
        db.execute("UPDATE documents SET text = substr('xxxxxxxxxxxxxxxxxxxx' || text, 1, "
                   "length(text))")
    assert path.stat().st_size == size


CORRUPTIONS = {
    "flip": _flip, "digit": _digit, "truncate": lambda d: d[:len(d) // 2],
    "empty": lambda d: b"", "append": lambda d: d + b"\n{}\n", "delete": None,
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    base = tmp_path_factory.mktemp("pristine")
    corpus = make_corpus(base / "corpus", {"a.txt": A, "b.txt": B})
    config = Config.load({"corpus": corpus, "index": base / "index"}, environ={})
    builder.build(config)
    return config


def corrupted_copy(pristine: Config, tmp_path, name: str, corrupt) -> Config:
    shutil.copytree(pristine.corpus, tmp_path / "corpus")
    shutil.copytree(pristine.index, tmp_path / "index")
    version = index_store.current_version(tmp_path / "index")
    path = tmp_path / "index" / (name if name == index_store.CURRENT else f"{version}/{name}")
    if corrupt is None:
        path.unlink()
    elif corrupt is _shift:
        _shift(path)
    else:
        path.write_bytes(corrupt(path.read_bytes()))
    return Config.load({"corpus": tmp_path / "corpus", "index": tmp_path / "index"},
                       environ={})


CASES = [(name, kind) for name in FILES for kind in CORRUPTIONS] + [("store.sqlite", "shift")]


@pytest.mark.parametrize(("name", "kind"), CASES)
def test_each_corruption_is_refused_never_served(pristine, tmp_path, name, kind):
    corrupt = _shift if kind == "shift" else CORRUPTIONS[kind]
    config = corrupted_copy(pristine, tmp_path, name, corrupt)
    original = index_store.load(pristine.index)
    try:
        loaded = index_store.load(config.index)
    except index_store.IndexUnavailable as exc:
        message = str(exc)
        assert "\n" not in message and ("rebuild" in message or "citeqa index" in message)
        return
    # Only a harmless change may load (e.g. a trailing line after CURRENT's checksum):
    # then it must be the very same index.
    assert (name, kind) == (index_store.CURRENT, "append")
    assert loaded.store.documents == original.store.documents
    assert loaded.store.passages == original.store.passages


def test_the_cli_prints_one_error_line_for_a_damaged_index(pristine, tmp_path):
    config = corrupted_copy(pristine, tmp_path, "store.sqlite", _shift)
    result = CliRunner().invoke(main, ["ask", "By how much did the tenge fall?",
                                       "--corpus", str(config.corpus),
                                       "--index", str(config.index)], env={})
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("citeqa: error: index ")
    assert "store.sqlite does not match its sha256" in lines[0]
    assert "Traceback" not in result.output


def _damaged_newer_version(pristine: Config, tmp_path) -> tuple[Config, str, str]:
    """A copy of the pristine index (its version live in a server), then a newer build
    whose store.sqlite is damaged (same size) after the switch."""
    shutil.copytree(pristine.corpus, tmp_path / "corpus")
    shutil.copytree(pristine.index, tmp_path / "index")
    config = Config.load({"corpus": tmp_path / "corpus", "index": tmp_path / "index",
                          "reload_interval": 0.001}, environ={})
    good = index_store.current_version(config.index)
    (config.corpus / "c.txt").write_text("Gamma news\nTajikistan hosts a Russian base.\n")
    newer = builder.build(config).version
    path = config.index / newer / "store.sqlite"
    path.write_bytes(_flip(path.read_bytes()))
    return config, good, newer


def test_hot_reload_refuses_a_damaged_version_and_logs_it_once(pristine, tmp_path, caplog):
    config, good, newer = _damaged_newer_version(pristine, tmp_path)
    live = LiveIndex(config.index, 0.001, index_store.load(pristine.index))
    with caplog.at_level(logging.ERROR, logger="citeqa.store.live"):
        for _ in range(5):
            time.sleep(0.01)  # past the reload interval: each get() checks CURRENT
            served = live.get()  # the old version, while the new one is checked
            assert served.version == good
            live.join(30)
    assert served.refused == {"version": newer, "reason": served.refused["reason"]}
    assert "store.sqlite does not match its sha256" in served.refused["reason"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and f"refused index {newer}, still serving {good}" in lines[0]
    (config.corpus / "d.txt").write_text("Delta news\nTurkmenistan exports natural gas.\n")
    fixed = builder.build(config).version
    time.sleep(0.01)
    live.get()
    live.join(30)
    assert live.get().version == fixed and live.get().refused is None


def test_health_names_the_refused_version_and_answers_keep_coming(pristine, tmp_path):
    config, good, newer = _damaged_newer_version(pristine, tmp_path)
    app = create_app(config, index_store.load(pristine.index))
    client = app.test_client()
    assert client.get("/health").get_json()["index"]["version"] == good
    app.extensions["citeqa"].live.join(30)  # the newer version's check
    for _ in range(3):
        health = client.get("/health").get_json()
        assert health["index"]["version"] == good
        assert health["index"]["refused"]["version"] == newer
        answer = client.post("/ask", json={"question": "By how much did the tenge fall?"})
        assert answer.status_code == 200
        assert answer.get_json()["answer"]["text"] == "15%"



def test_a_server_never_serves_a_version_before_its_large_files_were_checked(pristine):
    with pytest.raises(ValueError, match="checked"):
        create_app(pristine, index_store.load(pristine.index, verify=False))


@pytest.mark.parametrize("kind", ["flip", "shift"])
def test_a_version_opened_unchecked_is_refused_by_verify(pristine, tmp_path, kind):
    """Opened in constant time, a damaged store.sqlite of the right size is caught by the
    check a server runs before it serves the version."""
    config = corrupted_copy(pristine, tmp_path, "store.sqlite", CORRUPTIONS.get(kind, _shift))
    opened = index_store.load(config.index, verify=False)
    assert opened.unverified
    with pytest.raises(index_store.IndexUnavailable,
                       match=r"store\.sqlite does not match its sha256.*citeqa index"):
        index_store.verify(opened)


def test_an_idle_process_switches_versions_and_a_forked_one_watches_too(pristine, tmp_path):
    """Builds remove versions superseded a while ago, so a worker that gets no request
    must not stay on one: each process checks CURRENT from a thread of its own."""
    shutil.copytree(pristine.corpus, tmp_path / "corpus")
    shutil.copytree(pristine.index, tmp_path / "index")
    config = Config.load({"corpus": tmp_path / "corpus", "index": tmp_path / "index"},
                         environ={})
    live = LiveIndex(config.index, 0.05, index_store.load(config.index))
    first = live.get().version
    (config.corpus / "c.txt").write_text("Gamma news\nTajikistan hosts a Russian base.\n")
    newer = builder.build(config).version
    deadline = time.monotonic() + 30
    while live._index.version != newer and time.monotonic() < deadline:
        time.sleep(0.05)  # no get(): nobody asks
    assert first != newer and live._index.version == newer

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # a gunicorn worker forked from the master
        names = {t.name for t in threading.enumerate()}
        os.write(writer, b"1" if "index-watch" in names else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(reader, 1) == b"1"
