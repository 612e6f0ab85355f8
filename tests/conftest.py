"""Shared fixtures: the spaCy model and the seed index are built once per test session."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from citeqa.config import Config
from citeqa.ingest.annotate import Annotation, annotate_documents, from_record, load_model
from citeqa.ingest.documents import Document
from citeqa.ingest.passages import Passage
from citeqa.serve.app import create_app
from citeqa.store import build as builder
from citeqa.store import index as index_store

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "central-asia-russia-ukraine.txt"
SEED_ID = "central-asia-russia-ukraine"
CITEQA = Path(sys.executable).with_name("citeqa")


@pytest.fixture(scope="session")
def nlp():
    return load_model(Config().model)


@pytest.fixture(scope="session")
def seed_config(tmp_path_factory, nlp) -> Config:
    """A private copy of the seed corpus and its built index."""
    base = tmp_path_factory.mktemp("seed")
    (base / "corpus").mkdir()
    shutil.copy(SEED, base / "corpus" / SEED.name)
    config = Config.load({"corpus": base / "corpus", "index": base / "index"}, environ={})
    builder.build(config)
    return config


@pytest.fixture(scope="session")
def seed_index(seed_config) -> index_store.Index:
    return index_store.load(seed_config.index)


@pytest.fixture()
def app(seed_config, seed_index):
    app = create_app(seed_config, seed_index)
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


def annotation_of(nlp, passage: Passage) -> Annotation:
    """The annotation an index build stores for ``passage`` (one short paragraph)."""
    doc = Document(passage.doc_id, "", " " * passage.start + passage.text, "d.txt", "x",
                   passage.start)
    [(_, record)] = annotate_documents(nlp, [doc])
    [cut], [annotation] = from_record(doc, record)
    assert (cut.start, cut.end) == (passage.start, passage.end)
    return Annotation(passage.id, annotation.entities, annotation.sentences,
                      annotation.noun_chunks, annotation.tokens)


def fail_parsing(monkeypatch, marker: str, message: str) -> None:
    """spaCy raises ``RuntimeError(message)`` on the text holding ``marker`` and parses
    the rest as usual: one document at fault in a batched stream."""
    from citeqa.ingest import annotate as annotate_module

    real = annotate_module.parse

    def parse(nlp, texts, *args, **kwargs):
        for parsed, text in zip(real(nlp, texts, *args, **kwargs), texts, strict=True):
            if marker in text:
                raise RuntimeError(message)
            yield parsed

    monkeypatch.setattr(annotate_module, "parse", parse)


def make_corpus(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def indexed(folder: Path, files: dict[str, str | bytes]) -> index_store.Index:
    """Build and load the index of a small corpus written into ``folder``."""
    corpus = make_corpus(folder / "corpus", files)
    config = Config.load({"corpus": corpus, "index": folder / "index"}, environ={})
    builder.build(config)
    return index_store.load(config.index)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def citeqa_server(base: Path, workers: int = 2, env: dict[str, str] | None = None,
                  stdout: Any = subprocess.DEVNULL) -> Iterator[tuple[str, subprocess.Popen]]:
    """A real ``citeqa serve`` on 127.0.0.1 over a copy of the seed article in
    ``base/corpus``, with only the ``CITEQA_*`` settings in ``env``; stopped on exit."""
    corpus = base / "corpus"
    corpus.mkdir(exist_ok=True)
    shutil.copy(SEED, corpus)
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    proc = subprocess.Popen(
        [str(CITEQA), "serve", "--corpus", str(corpus), "--index", str(base / "index"),
         "--port", str(port), "--workers", str(workers)],
        stdout=stdout, stderr=subprocess.STDOUT, text=True, env={**clean, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/health", proc)
        yield url, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            raise AssertionError(f"server exited early: {output}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return json.loads(resp.read())
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"server did not answer {url} within {seconds}s")


ACME = """Acme history
John Smith founded Acme in 1990 in Boston, after leaving the navy. The company makes \
rockets and employs 300 engineers at its plant near the harbour.
Acme follows the principle of permanent neutrality in its contracts. Its reforms were \
economic and financial, the chairman said in a speech to the shareholders.
"""


@pytest.fixture(scope="session")
def acme(tmp_path_factory, nlp):
    """A one-article index with a founder, a year, a place, a count and a principle."""
    return indexed(tmp_path_factory.mktemp("acme"), {"acme.txt": ACME})


def in_threads(target: Callable[[Any], None], items: list, timeout: float = 60) -> None:
    """``target(item)`` for every item, each in its own thread, all joined (bounded)."""
    threads = [threading.Thread(target=target, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
