"""Odd documents never stop a build: each becomes a named skip and the rest is indexed."""

from __future__ import annotations

import json

from click.testing import CliRunner
from conftest import SEED, fail_parsing, make_corpus

from citeqa.cli import main
from citeqa.config import Config
from citeqa.ingest import documents
from citeqa.store import build as builder
from citeqa.store import index as index_store

GOOD = "Tenge news\nKazakhstan's tenge fell 14% in March, the central bank said on Monday.\n"
# About 400 bytes of YAML that a full alias expansion turns into a title of megabytes.
ALIAS_BOMB = "---\n" + "\n".join(
    [f'a0: &a0 ["{"lol" * 3}"]'] +
    [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 8)] +
    ["title: *a7"]) + "\n---\nBody text of the bomb.\n"


def config_for(tmp_path, files, **settings) -> Config:
    corpus = make_corpus(tmp_path / "corpus", files)
    return Config.load({"corpus": corpus, "index": tmp_path / "index", **settings}, environ={})


def test_poisoned_files_are_named_skips_and_the_rest_is_indexed(tmp_path):
    feed = "\n".join([
        json.dumps({"id": "ok-line", "title": "Fine", "text": "Uzbekistan grew 5% in 2021."}),
        '{"id": "bad-line", "title": "Bad", "text": "lone \\ud800 surrogate"}',
    ])
    config = config_for(tmp_path, {
        "good.txt": GOOD,
        "feed.jsonl": feed,
        "front.md": '---\ntitle: "broken \\udc00 title"\n---\nSome body text here.\n',
        "bomb.md": ALIAS_BOMB,
        "huge.txt": "Huge\n" + "x" * 1_200_000,
    })
    report = builder.build(config)
    reasons = {s.path: s.reason for s in report.skipped}
    assert "line 2: invalid Unicode in 'text': a lone surrogate U+D800" in reasons["feed.jsonl"]
    assert reasons["front.md"].startswith("invalid Unicode in 'title': a lone surrogate U+DC00")
    assert reasons["bomb.md"] == ("invalid YAML front matter: aliases (*name) are not allowed "
                                  "in front matter")
    assert "exceeds spaCy's limit of 1,000,000" in reasons["huge.txt"]
    index = index_store.load(config.index)
    assert sorted(index.store.documents) == ["good", "ok-line"]


def test_an_annotation_error_skips_that_document_only(tmp_path, monkeypatch):
    config = config_for(tmp_path, {"a.txt": GOOD, "boom.txt": "Boom\nThe EXPLODE word.\n",
                                   "c.txt": "Other\nUzbek President Mirziyoyev spoke.\n"})
    fail_parsing(monkeypatch, "EXPLODE", "the tagger fell over\nsecond line")
    report = builder.build(config)
    assert [(s.path, s.reason) for s in report.skipped] == [
        ("boom.txt", "spaCy failed on it (RuntimeError: the tagger fell over)")]
    assert sorted(index_store.load(config.index).store.documents) == ["a", "c"]
    assert report.annotated == 2


def test_files_over_the_cap_are_skipped_unread(tmp_path, monkeypatch):
    config = config_for(tmp_path, {"a.txt": GOOD, "big.txt": "Big\n" + "word " * 400,
                                   "movie.mkv": b"\x00" * 5000},
                        max_document_bytes=1000)
    opened = []
    real_open, real_read = open, documents.Path.read_bytes
    monkeypatch.setattr(documents, "open", lambda path, *a, **k: (
        opened.append(str(path)), real_open(path, *a, **k))[1], raising=False)
    monkeypatch.setattr(documents.Path, "read_bytes",
                        lambda path: (opened.append(str(path)), real_read(path))[1])
    report = builder.build(config)
    assert {s.path: s.reason for s in report.skipped} == {
        "big.txt": "larger than 0 MiB", "movie.mkv": "unsupported file type '.mkv'"}
    assert not [p for p in opened if p.endswith(("big.txt", "movie.mkv"))]
    assert builder.needs_build(config) is None
    (config.corpus / "movie.mkv").write_bytes(b"\x01" * 6000)
    assert builder.needs_build(config) == "the corpus changed since the index was built"


def test_cli_refuses_a_question_that_is_not_text(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", {SEED.name: SEED.read_text()})
    result = CliRunner().invoke(main, ["ask", "tenge \udce9 fall", "--corpus", str(corpus),
                                       "--index", str(tmp_path / "index")], env={})
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [  # refused before any index is built
        "citeqa: error: 'question' is not valid Unicode text: "
        "a lone surrogate U+DCE9 at character 6"]
    assert "Traceback" not in result.output
