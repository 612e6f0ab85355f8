import re

from hypothesis import given, settings
from hypothesis import strategies as st

from citeqa.ingest.annotate import sentence_splitter
from citeqa.ingest.documents import Document
from citeqa.ingest.passages import MAX_WORDS, regex_sentences, segment


def doc_of(text: str, body_start: int = 0) -> Document:
    return Document(id="d", title="t", text=text, path="d.txt", sha256="x",
                    body_start=body_start)


def words(text: str) -> int:
    return len(text.split())


def check_invariants(doc, passages):
    previous_end = doc.body_start
    for i, p in enumerate(passages):
        assert doc.text[p.start:p.end] == p.text
        assert p.text == p.text.strip() and p.text
        assert p.start >= previous_end
        assert p.id == f"d#{i}" and p.n == i
        previous_end = p.end
    covered = "".join(doc.text[p.start:p.end] for p in passages)
    # Every non-space character of the body lands in exactly one passage, in order.
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", doc.text[doc.body_start:])


pieces = st.sampled_from([*"ab cd.!?\n\t\u00e9\u2019\u6f8e", "word ", ". ", "\n\n"])
prose = st.lists(pieces, max_size=1500).map("".join)


@settings(max_examples=300, deadline=None)
@given(prose, st.integers(0, 50))
def test_offsets_hold_for_arbitrary_text(text, cut):
    doc = doc_of(text, min(cut, len(text)))
    check_invariants(doc, segment(doc))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=3000))
def test_offsets_hold_for_arbitrary_unicode(text):
    doc = doc_of(text)
    check_invariants(doc, segment(doc))


def test_long_paragraph_is_split_on_sentences_into_bounded_windows():
    sentence = "The council met again today to discuss the budget for next year. "
    paragraph = sentence * 40  # 480 words, one paragraph
    doc = doc_of(paragraph)
    passages = segment(doc, regex_sentences)
    assert len(passages) > 3
    for p in passages:
        assert 40 <= words(p.text) <= MAX_WORDS
        assert p.text.endswith("year.")


def test_run_on_text_without_sentence_ends_is_still_bounded():
    doc = doc_of("word " * 1000)
    passages = segment(doc)
    assert max(words(p.text) for p in passages) <= MAX_WORDS
    check_invariants(doc, passages)


def test_short_heading_joins_the_paragraph_it_introduces():
    body = "A Heading\n" + "This paragraph has plenty of words in it. " * 6
    doc = doc_of(body)
    [passage] = segment(doc)
    assert passage.text.startswith("A Heading\nThis paragraph")


def test_seed_document_with_spacy_sentences(seed_index, nlp):
    doc = next(iter(seed_index.store.documents.values()))
    passages = segment(doc, sentence_splitter(nlp))
    check_invariants(doc_of(doc.text, doc.body_start),
                     [p.__class__(p.id.replace(doc.id, "d"), "d", p.n, p.start, p.end, p.text)
                      for p in passages])
    assert all(words(p.text) <= 2 * MAX_WORDS for p in passages)
    assert sum(40 <= words(p.text) <= MAX_WORDS for p in passages) >= 0.8 * len(passages)
