from pathlib import Path

from conftest import make_corpus

from citeqa.ingest.documents import corpus_fingerprint, doc_id_for, load_corpus


def test_txt_first_line_is_title_and_id_comes_from_file_name(tmp_path):
    root = make_corpus(tmp_path, {"news/Big Story.txt": "The Title\nBody one.\n\nBody two.\n"})
    docs, skipped = load_corpus(root)
    assert skipped == []
    [doc] = docs
    assert doc.id == "news/Big-Story"
    assert doc.title == "The Title"
    assert doc.text.startswith("The Title\n")
    assert doc.text[doc.body_start:].strip() == "Body one.\n\nBody two."


def test_crlf_is_normalised_so_offsets_do_not_depend_on_platform(tmp_path):
    root = make_corpus(tmp_path, {"a.txt": b"Title\r\nLine one.\r\nLine two.\r\n"})
    [doc], _ = load_corpus(root)
    assert "\r" not in doc.text


def test_bad_files_are_skipped_with_name_and_reason(tmp_path):
    root = make_corpus(tmp_path, {
        "good.txt": "Title\nSome body text.",
        "empty.txt": "",
        "binary.txt": b"\x00\x01\x02junk",
        "latin1.txt": "Title\nCaf\xe9".encode("latin-1"),
        "title-only.txt": "Just a title\n",
        "image.png": b"\x89PNG",
        ".hidden.txt": "ignored\nentirely",
    })
    docs, skipped = load_corpus(root)
    assert [d.id for d in docs] == ["good"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons == {
        "binary.txt": "binary file (contains NUL bytes)",
        "empty.txt": "empty file",
        "image.png": "unsupported file type '.png'",
        "latin1.txt": "not UTF-8 text (bad byte at offset 9)",
        "title-only.txt": "no body text after the title line",
    }


def test_doc_ids_are_url_safe():
    assert doc_id_for(Path("a b/c?d.txt")) == "a-b/c-d"


def test_fingerprint_changes_with_content_and_names(tmp_path):
    root = make_corpus(tmp_path, {"a.txt": "T\nbody"})
    first = corpus_fingerprint(root)
    assert corpus_fingerprint(root) == first
    (root / "a.txt").write_text("T\nbody changed")
    second = corpus_fingerprint(root)
    assert second != first
    (root / "a.txt").rename(root / "b.txt")
    assert corpus_fingerprint(root) not in (first, second)
