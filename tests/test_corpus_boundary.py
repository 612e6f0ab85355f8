"""The corpus is a boundary: no file outside it is indexed, served or copied in through a
symbolic link, and no document id escapes its URL path."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from conftest import make_corpus

from citeqa.cli import main
from citeqa.config import Config
from citeqa.ingest.documents import add_to_corpus, load_corpus
from citeqa.store import build as builder
from citeqa.store import index as index_store

GOOD = "Tenge news\nKazakhstan's tenge fell 14% in March, the central bank said on Monday.\n"
SECRET = "Secret\nThe root password is hunter2 and nobody may read it.\n"


@pytest.fixture()
def outside(tmp_path):
    folder = make_corpus(tmp_path / "outside", {"secret.txt": SECRET,
                                                "more/other.txt": SECRET})
    return folder


def test_links_out_of_the_corpus_are_skipped_and_never_served(tmp_path, outside):
    corpus = make_corpus(tmp_path / "corpus", {"a.txt": GOOD, "sub/b.txt": GOOD + "More.\n"})
    (corpus / "passwd.txt").symlink_to(outside / "secret.txt")
    (corpus / "linked-dir").symlink_to(outside / "more")
    (corpus / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (corpus / "alias.txt").symlink_to(corpus / "sub" / "b.txt")  # inside: followed
    config = Config.load({"corpus": corpus, "index": tmp_path / "index"}, environ={})
    report = builder.build(config)
    assert {s.path: s.reason for s in report.skipped} == {
        "passwd.txt": "a symbolic link to outside the corpus (not followed)",
        "linked-dir": "a symbolic link to outside the corpus (not followed)",
        "dangling.txt": "a symbolic link to outside the corpus (not followed)",
        "sub/b.txt": "the same title and text as alias.txt",  # one text is indexed once
    }
    index = index_store.load(config.index)
    assert sorted(index.store.documents) == ["a", "alias"]
    assert not any("hunter2" in d.text for d in index.store.documents.values())


def test_unsafe_jsonl_ids_are_rejected_by_line(tmp_path):
    rows = [{"id": i, "text": "Uzbekistan grew 5% in 2021."}
            for i in ("fine/one", "../../etc/passwd", "a//b", ".hidden", "x" * 300, "/abs")]
    corpus = make_corpus(tmp_path, {"feed.jsonl": "\n".join(json.dumps(r) for r in rows)})
    docs, skipped = load_corpus(corpus)
    assert [d.id for d in docs] == ["fine/one"]
    reason = skipped[0].reason
    assert "line 2: unsafe document id '../../etc/passwd': the path segment '..'" in reason
    assert "line 3: unsafe document id 'a//b'" in reason
    assert "line 4: unsafe document id '.hidden'" in reason
    assert "line 5: unsafe document id 'xxx" in reason and "longer than 200" in reason


def test_add_refuses_a_folder_holding_a_link_and_copies_nothing(tmp_path, outside):
    folder = make_corpus(tmp_path / "incoming", {"note.txt": GOOD})
    (folder / "shadow.txt").symlink_to(outside / "secret.txt")
    corpus = tmp_path / "corpus"
    with pytest.raises(OSError, match=r"shadow\.txt is a symbolic link inside .*copies no links"):
        add_to_corpus([folder], corpus)
    assert not (corpus / "incoming").exists()
    link = tmp_path / "link.txt"
    link.symlink_to(outside / "secret.txt")
    with pytest.raises(OSError, match=r"link\.txt is a symbolic link"):
        add_to_corpus([link], corpus)


def test_add_never_writes_through_a_link_in_the_corpus(tmp_path, outside):
    corpus = make_corpus(tmp_path / "corpus", {"a.txt": GOOD})
    (corpus / "note.txt").symlink_to(outside / "secret.txt")
    new = make_corpus(tmp_path / "incoming", {"note.txt": GOOD})
    with pytest.raises(OSError, match=r"note\.txt in the corpus is a symbolic link"):
        add_to_corpus([new / "note.txt"], corpus)
    assert (outside / "secret.txt").read_text() == SECRET


def test_cli_add_with_a_link_is_one_error_line(tmp_path, outside):
    folder = make_corpus(tmp_path / "incoming", {"note.txt": GOOD})
    os.symlink(outside / "secret.txt", folder / "shadow.txt")
    result = CliRunner().invoke(main, ["add", str(folder), "--corpus", str(tmp_path / "c"),
                                       "--index", str(tmp_path / "i")], env={})
    assert result.exit_code == 1
    assert result.stderr.startswith("citeqa: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_add_never_replaces_a_different_corpus_file_unless_asked(tmp_path):
    corpus = make_corpus(tmp_path / "c", {"note.txt": GOOD})
    other = make_corpus(tmp_path / "in", {"note.txt": "Other\nAnother text entirely.\n"})
    with pytest.raises(FileExistsError, match=r"note\.txt is already in the corpus"):
        add_to_corpus([other / "note.txt"], corpus)
    assert (corpus / "note.txt").read_text() == GOOD
    same = make_corpus(tmp_path / "same", {"note.txt": GOOD})
    added = add_to_corpus([same / "note.txt"], corpus)  # the same bytes: nothing to lose
    assert (added.copied, added.same) == ([], [same / "note.txt"])
    add_to_corpus([other / "note.txt"], corpus, replace=True)
    assert (corpus / "note.txt").read_text() == "Other\nAnother text entirely.\n"


def test_cli_add_over_a_different_file_is_one_error_line_and_copies_nothing(tmp_path):
    corpus = make_corpus(tmp_path / "c", {"note.txt": GOOD})
    other = make_corpus(tmp_path / "in", {"note.txt": "Other\nAnother text entirely.\n",
                                          "new.txt": GOOD})
    result = CliRunner().invoke(main, ["add", str(other / "new.txt"), str(other / "note.txt"),
                                       "--corpus", str(corpus), "--index", str(tmp_path / "i")],
                                env={})
    assert result.exit_code == 1
    assert result.stderr.startswith("citeqa: error: note.txt is already in the corpus")
    assert sorted(os.listdir(corpus)) == ["note.txt"]


def test_add_refuses_a_hidden_file_and_leaves_hidden_files_of_a_folder(tmp_path):
    corpus = tmp_path / "c"
    incoming = make_corpus(tmp_path / "in", {".draft.txt": GOOD, "note.txt": GOOD,
                                             ".git/config.txt": SECRET})
    with pytest.raises(OSError, match=r"is hidden: the index reads no hidden files"):
        add_to_corpus([incoming / ".draft.txt"], corpus)
    assert not corpus.exists() or not any(corpus.iterdir())
    added = add_to_corpus([incoming], corpus)
    assert [t.relative_to(corpus).as_posix() for _, t in added.copied] == ["in"]
    assert sorted(p.name for p in added.hidden) == [".draft.txt", ".git"]
    assert sorted(p.relative_to(corpus).as_posix() for p in corpus.rglob("*")) == [
        "in", "in/note.txt"]


def test_add_copies_nothing_when_a_file_cannot_be_indexed(tmp_path):
    corpus = make_corpus(tmp_path / "c", {"note.txt": GOOD})
    incoming = make_corpus(tmp_path / "in", {"ok.txt": GOOD + "More.\n", "empty.txt": "",
                                             "photo.png": b"\x89PNG"})
    result = CliRunner().invoke(main, ["add", str(incoming), "--corpus", str(corpus),
                                       "--index", str(tmp_path / "i")], env={})
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("citeqa: error: 2 file(s) cannot be indexed, so nothing was added")
    assert "empty.txt: empty file" in line and "photo.png: unsupported file type '.png'" in line
    assert sorted(os.listdir(corpus)) == ["note.txt"]


def test_cli_add_exits_1_when_an_added_document_was_not_indexed(tmp_path):
    """A duplicate of an indexed document is copied (the file is fine) but not indexed:
    the maintainer hears it in the exit code, not only in the report."""
    corpus = make_corpus(tmp_path / "c", {"note.txt": GOOD})
    incoming = make_corpus(tmp_path / "in", {"copy.txt": GOOD, "new.txt": GOOD + "More.\n"})
    args = ["--corpus", str(corpus), "--index", str(tmp_path / "i")]
    assert CliRunner().invoke(main, ["index", *args], env={}).exit_code == 0
    result = CliRunner().invoke(main, ["add", str(incoming / "new.txt"), *args], env={})
    assert result.exit_code == 0, result.stderr
    result = CliRunner().invoke(main, ["add", str(incoming / "copy.txt"), *args], env={})
    assert result.exit_code == 1
    assert "skipped copy.txt: the same title and text as note.txt" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "citeqa: error: 1 of the added documents were not indexed (see 'skipped' above): "
        "copy.txt")


def test_index_and_add_with_nothing_new_keep_the_live_version(tmp_path):
    corpus = make_corpus(tmp_path / "c", {"note.txt": GOOD})
    args = ["--corpus", str(corpus), "--index", str(tmp_path / "i")]
    first = json.loads(CliRunner().invoke(main, ["index", "--json", *args], env={}).stdout)
    again = CliRunner().invoke(main, ["index", "--json", *args], env={})
    assert again.exit_code == 0
    assert json.loads(again.stdout) == {"version": first["version"], "up_to_date": True}
    assert "the index is up to date" in again.stderr
    result = CliRunner().invoke(main, ["add", str(corpus / "note.txt"), *args], env={})
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"already in the corpus with the same content: {corpus / 'note.txt'}",
        f"the index is up to date: version {first['version']}"]
    rebuilt = json.loads(CliRunner().invoke(main, ["index", "--full", "--json", *args],
                                            env={}).stdout)
    assert rebuilt["version"] != first["version"] and not rebuilt["up_to_date"]


def test_the_build_report_counts_entities_as_the_manifest_does(tmp_path):
    corpus = make_corpus(tmp_path / "c", {"note.txt": GOOD})
    args = ["--corpus", str(corpus), "--index", str(tmp_path / "i")]
    result = CliRunner().invoke(main, ["index", "--json", *args], env={})
    report = json.loads(result.stdout)
    counts = index_store.load(tmp_path / "i").manifest["counts"]
    assert (report["entities"], report["entity_mentions"]) == (
        counts["entities"], counts["entity_mentions"])
    assert 0 < report["entities"] <= report["entity_mentions"]
    assert (f"{report['entity_mentions']} entity mentions of {report['entities']} entities"
            in result.stderr)


def test_index_rebuilds_a_damaged_live_version_even_when_nothing_changed(tmp_path):
    corpus = make_corpus(tmp_path / "c", {"note.txt": GOOD})
    args = ["--corpus", str(corpus), "--index", str(tmp_path / "i")]
    first = json.loads(CliRunner().invoke(main, ["index", "--json", *args], env={}).stdout)
    store = tmp_path / "i" / first["version"] / "store.sqlite"
    store.write_bytes(store.read_bytes()[:-10] + b"x" * 10)
    again = json.loads(CliRunner().invoke(main, ["index", "--json", *args], env={}).stdout)
    assert again["version"] != first["version"] and not again["up_to_date"]
    assert index_store.load(tmp_path / "i").version == again["version"]
