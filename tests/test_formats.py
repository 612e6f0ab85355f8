"""Every supported format, and every kind of bad file, through load_corpus."""

import json

import pytest
from conftest import make_corpus
from pdfs import make_pdf

from citeqa.ingest import documents
from citeqa.ingest.documents import load_corpus

BODY = "Kazakhstan's defense minister said the parade would cost about 4 billion tenge."


def only(root):
    docs, skipped = load_corpus(root)
    assert skipped == [], skipped
    return docs


def check_offsets(doc):
    assert doc.text.startswith(doc.title + "\n")
    assert doc.text[doc.body_start:].strip()


def test_markdown_with_front_matter(tmp_path):
    md = ("---\ntitle: Parade cancelled\ndate: 2022-04-20\nurl: https://example.org/a\n"
          "language: en\nauthor: ignored\n---\n# Heading\n\n" + BODY +
          " See [the report](https://x.org) and **this**.\n")
    [doc] = only(make_corpus(tmp_path, {"news/a.md": md}))
    assert doc.id == "news/a" and doc.title == "Parade cancelled"
    assert doc.metadata == {"date": "2022-04-20", "source": "https://example.org/a",
                            "language": "en"}
    assert "Heading" in doc.text and "#" not in doc.text
    assert "See the report and this." in doc.text
    check_offsets(doc)


def test_markdown_without_front_matter_takes_the_first_line(tmp_path):
    [doc] = only(make_corpus(tmp_path, {"b.md": "# First line title\n\n" + BODY}))
    assert doc.title == "First line title" and doc.metadata == {}


def test_html_main_text_without_boilerplate(tmp_path):
    html = ("<html><head><title>Site | Parade</title><meta name='date' content='2022-04-21'>"
            "</head><body><nav><a href='/'>Home</a> <a href='/w'>World news</a></nav>"
            "<article><h1>Kazakhstan cancels the parade</h1><p>" + BODY + "</p><p>Officials "
            "stressed that the Defender's Day on May 7 differs from Victory Day.</p>"
            "</article><footer>Copyright 2022. Subscribe to our newsletter.</footer>"
            "</body></html>")
    [doc] = only(make_corpus(tmp_path, {"c.html": html}))
    assert "4 billion tenge" in doc.text and "Defender" in doc.text
    assert "Subscribe" not in doc.text and "Home" not in doc.text
    assert doc.metadata.get("date") == "2022-04-21"
    check_offsets(doc)


def test_jsonl_one_document_per_line_and_bad_lines_named(tmp_path):
    rows = [{"id": "x1", "title": "One", "text": BODY, "date": "2022-05-01",
             "source": "wire"},
            {"id": "x2", "title": "Two", "text": "Uzbekistan applied to the WTO in 2019."}]
    lines = [json.dumps(r) for r in rows] + ["{not json", json.dumps({"id": "x3"}),
                                             json.dumps(["list"])]
    docs, skipped = load_corpus(make_corpus(tmp_path, {"feed.jsonl": "\n".join(lines)}))
    assert [d.id for d in docs] == ["x1", "x2"]
    assert docs[0].metadata == {"date": "2022-05-01", "source": "wire"}
    [bad] = skipped
    assert bad.path == "feed.jsonl"
    assert bad.reason == ("line 3: invalid JSON; line 4: no 'text'; "
                          "line 5: not a JSON object")


def test_pdf_text_layer(tmp_path):
    pdf = make_pdf([BODY, "Second page about Uzbekistan."], title="Defense report")
    [doc] = only(make_corpus(tmp_path, {"r.pdf": pdf}))
    assert doc.title == "Defense report"
    assert "4 billion tenge" in doc.text and "Second page about Uzbekistan." in doc.text


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("junk.txt", bytes(range(256)) * 4, "binary file (contains NUL bytes)"),
    ("latin.md", "T\ncaf\xe9".encode("latin-1"), "not UTF-8 text"),
    ("empty.html", b"  \n", "empty file"),
    ("blank.jsonl", b"\n{}\n", "line 2: no 'text'"),
    ("nav.html", b"<html><body><nav>Home</nav></body></html>", "no article text"),
    ("scan.pdf", make_pdf([""]), "PDF has no text layer"),
    ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
    ("bad.md", b"---\ntitle: [unclosed\n---\nbody", "invalid YAML front matter"),
])
def test_bad_files_are_skipped_with_reasons(tmp_path, name, content, reason):
    root = make_corpus(tmp_path, {name: content, "ok.txt": "Title\n" + BODY})
    docs, skipped = load_corpus(root)
    assert [d.id for d in docs] == ["ok"]
    [skip] = skipped
    assert skip.path == name and reason in skip.reason


def test_oversized_and_unreadable_files(tmp_path, monkeypatch):
    root = make_corpus(tmp_path, {"big.txt": "T\n" + "word " * 100, "locked.txt": "T\nbody",
                                  "ok.txt": "T\nfine body"})
    monkeypatch.setattr(documents, "MAX_FILE_BYTES", 200)
    real = documents.Path.read_bytes

    def read_bytes(path):
        if path.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(documents.Path, "read_bytes", read_bytes)
    docs, skipped = load_corpus(root)
    assert [d.id for d in docs] == ["ok"]
    assert {s.path: s.reason for s in skipped} == {
        "big.txt": "larger than 0 MiB", "locked.txt": "unreadable: Permission denied"}


def test_duplicate_ids_across_formats_are_reported(tmp_path):
    docs, skipped = load_corpus(make_corpus(tmp_path, {"a.txt": "T\nbody", "a.md": "T\nbody"}))
    assert len(docs) == 1
    assert "duplicate document id 'a'" in skipped[0].reason


def test_an_indexed_document_keeps_its_id_whatever_sorts_first(tmp_path):
    """A file added later with an indexed document's id is the one skipped."""
    root = make_corpus(tmp_path, {"zeta.txt": "Zeta report\nThe dam was built in 2021.\n",
                                  "a.jsonl": '{"id": "zeta", "title": "Note", "text": "x"}\n'})
    docs, skipped = load_corpus(root)  # nothing indexed yet: path order decides
    assert [d.path for d in docs] == ["a.jsonl:1"]
    docs, skipped = load_corpus(root, incumbents={"zeta": "zeta.txt"})
    assert [(d.id, d.path) for d in docs] == [("zeta", "zeta.txt")]
    assert [(s.path, s.reason) for s in skipped] == [
        ("a.jsonl:1", "duplicate document id 'zeta' (already used by zeta.txt)")]


@pytest.mark.parametrize(("written", "iso"), [
    ("2022-04-20", "2022-04-20"), ("'20 April 2022'", "2022-04-20"),
    ("April 2022", "2022-04"), ("'2022'", "2022"),
    ("2022-04-20T09:30:00+06:00", "2022-04-20T09:30:00+06:00")])
def test_a_front_matter_date_is_served_as_iso_8601(tmp_path, written, iso):
    md = f"---\ntitle: T\ndate: {written}\n---\n{BODY}\n"
    [doc] = only(make_corpus(tmp_path, {"a.md": md}))
    assert doc.metadata["date"] == iso


@pytest.mark.parametrize(("written", "why"), [
    ("2099-13-45", "is not a real date (month must be in 1..12)"),
    ("2022-02-30", "is not a real date (day is out of range for month)"),
    ("not-a-date", "cannot be read as a date (write it as YYYY-MM-DD)"),
    ("yesterday", "cannot be read as a date (write it as YYYY-MM-DD)"),
    ("20 April", "has no four-digit year (write it as YYYY-MM-DD)")])
def test_a_date_that_is_not_one_skips_the_file_whatever_its_shape(tmp_path, written, why):
    """YAML reads 2099-13-45 as a timestamp and "not-a-date" as text: both are bad dates,
    said the same way in front matter and JSON Lines, and so are a relative date and one
    without a year."""
    root = make_corpus(tmp_path, {"a.md": f"---\ntitle: T\ndate: {written}\n---\n{BODY}\n",
                                  "b.jsonl": json.dumps({"id": "b", "text": BODY,
                                                         "date": written}) + "\n"})
    docs, skipped = load_corpus(root)
    assert docs == []
    assert {s.path: s.reason for s in skipped} == {
        "a.md": f"the date {written!r} {why}", "b.jsonl": f"line 1: the date {written!r} {why}"}


def test_a_compact_or_numeric_date_is_a_date_not_a_time(tmp_path):
    root = make_corpus(tmp_path, {"b.jsonl": json.dumps({"id": "b", "text": BODY,
                                                         "date": 20220101}) + "\n"})
    [doc] = only(root)
    assert doc.metadata["date"] == "2022-01-01"


def test_a_title_or_field_that_is_not_text_is_named(tmp_path):
    root = make_corpus(tmp_path, {
        "a.md": f"---\ntitle: [a, b]\n---\n{BODY}\n",
        "b.jsonl": json.dumps({"id": "b", "title": ["x"], "text": BODY}) + "\n"
        + json.dumps({"id": "c", "source": {"u": 1}, "text": BODY + " More."}) + "\n"})
    docs, skipped = load_corpus(root)
    assert docs == []
    assert {s.path: s.reason for s in skipped} == {
        "a.md": "'title' must be text, not a list",
        "b.jsonl": "line 1: 'title' must be text, not a list; "
                   "line 2: 'source' must be text, not a mapping"}


def test_front_matter_left_open_is_a_bad_file_but_a_leading_rule_is_text(tmp_path):
    root = make_corpus(tmp_path, {"open.md": f"---\ntitle: T\ndate: 2022-04-20\n{BODY}\n",
                                  "rule.md": f"---\n# Parade\n\n{BODY}\n"})
    docs, skipped = load_corpus(root)
    assert [(s.path, s.reason) for s in skipped] == [
        ("open.md", "the YAML front matter opened by '---' is never closed (end it with a "
                    "line '---')")]
    assert [(d.id, d.title) for d in docs] == [("rule", "Parade")]


def test_the_same_text_under_two_names_is_indexed_once(tmp_path):
    text = "Tenge report\n" + BODY + "\n"
    root = make_corpus(tmp_path, {"b.txt": text, "a.txt": text, "c.txt": "Other\n" + BODY})
    docs, skipped = load_corpus(root)
    assert [d.id for d in docs] == ["a", "c"]
    assert [(s.path, s.reason) for s in skipped] == [
        ("b.txt", "the same title and text as a.txt")]
    docs, skipped = load_corpus(root, incumbents={"b": "b.txt"})  # b.txt was indexed first
    assert [d.id for d in docs] == ["b", "c"]
    assert [(s.path, s.reason) for s in skipped] == [
        ("a.txt", "the same title and text as b.txt")]


def test_names_in_any_script_keep_their_letters_in_the_id(tmp_path):
    root = make_corpus(tmp_path, {"новости/путь.txt": "Путь\n" + BODY,
                                  "odd/u\u0308ber.txt": "Uber\n" + BODY + " Two.",
                                  "odd/a b#1.txt": "A\n" + BODY + " Three.",
                                  "wire.jsonl": json.dumps({"id": "wire/юникод",
                                                            "text": BODY + " Four."}) + "\n"})
    assert sorted(d.id for d in only(root)) == [
        "odd/a-b-1", "odd/\u00fcber", "wire/юникод", "новости/путь"]
