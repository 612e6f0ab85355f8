import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citeqa.ingest.documents import Document
from citeqa.ingest.passages import MAX_WORDS, MIN_WORDS, regex_sentences, segment


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


def test_seed_document_cut_by_the_index_build(seed_index):
    """The build cuts at the sentences of its one spaCy pass (tests/test_onepass.py)."""
    [doc] = seed_index.store.documents.values()
    passages = [seed_index.store.passage(pos) for pos in seed_index.store.passages_of(doc.id)]
    check_invariants(doc_of(doc.text, doc.body_start),
                     [p.__class__(p.id.replace(doc.id, "d"), "d", p.n, p.start, p.end, p.text)
                      for p in passages])
    assert all(words(p.text) <= 2 * MAX_WORDS for p in passages)
    assert sum(40 <= words(p.text) <= MAX_WORDS for p in passages) >= 0.8 * len(passages)


def sentence(n: int) -> str:
    """One sentence of exactly ``n`` words."""
    return "word " * (n - 1) + "end."


TWELVE = "The council met again today to discuss the budget for next year. "  # 12 words


def test_regex_sentences_spans():
    text = 'He said "Stop!" Then (he left.) Done'
    assert regex_sentences(text) == [(0, 16), (16, 32), (32, 36)]
    # Trailing space belongs to the last sentence; no empty sentence after it.
    assert regex_sentences("One. Two. ") == [(0, 5), (5, 10)]
    assert regex_sentences("") == []


def test_windows_are_packed_greedily_up_to_max_words():
    doc = doc_of(TWELVE * 40)  # 480 words: ten 12-word sentences fill a window exactly
    assert [words(p.text) for p in segment(doc)] == [MAX_WORDS] * 4


def test_a_window_at_min_words_takes_no_sentence_that_would_overflow_it():
    doc = doc_of(sentence(MIN_WORDS) + " " + sentence(100))
    passages = segment(doc)
    assert [words(p.text) for p in passages] == [MIN_WORDS, 100]
    check_invariants(doc, passages)


@pytest.mark.parametrize(("sentences", "expected"), [(11, [132]), (21, [120, 132])])
def test_short_tail_of_a_long_paragraph_joins_the_window_before_it(sentences, expected):
    doc = doc_of((TWELVE * sentences).strip())
    passages = segment(doc)
    assert [words(p.text) for p in passages] == expected
    assert passages[-1].end == len(doc.text)
    check_invariants(doc, passages)


def test_overlong_sentence_is_cut_without_spilling_into_the_next_one():
    doc = doc_of(sentence(300) + " Then a proper sentence follows here." * 3)
    passages = segment(doc)
    check_invariants(doc, passages)
    assert [words(p.text) for p in passages] == [120, 120, 78]


def test_whitespace_spans_from_the_splitter_are_skipped():
    """A splitter may report the space between sentences as a sentence of its own."""

    def split_with_gaps(text):
        spans = []
        for s, e in regex_sentences(text):
            stripped = len(text[s:e].rstrip())
            spans.append((s, s + stripped))
            spans.append((s + stripped, e))  # whitespace only, or empty at the end
        return spans

    doc = doc_of(TWELVE * 25)
    passages = segment(doc, split_with_gaps)
    check_invariants(doc, passages)
    assert [words(p.text) for p in passages] == [120, 120, 60]


@pytest.mark.parametrize(("paragraphs", "expected"), [
    ([40, 50], [40, 50]),  # a paragraph of MIN_WORDS stands alone
    ([30, 100], [30, 100]),  # a short one joins the next only within MAX_WORDS
    ([20, 100], [120]),  # ... up to exactly MAX_WORDS
    ([50, 10], [60]),  # a short last paragraph joins the one before it
    ([50, 40], [50, 40]),  # ... but one of MIN_WORDS stands alone
    ([110, 20], [110, 20]),  # ... and never past MAX_WORDS
    ([90, 30], [120]),  # ... up to exactly MAX_WORDS
    ([70, 30], [100]),
    ([50, 100, 10], [50, 110]),
    ([50, 200, 60, 10], [50, 120, 80, 70]),  # the long one is still cut
])
def test_short_paragraphs_join_a_neighbour_only_within_bounds(paragraphs, expected):
    doc = doc_of("\n".join(sentence(n) for n in paragraphs))
    passages = segment(doc)
    assert [words(p.text) for p in passages] == expected
    check_invariants(doc, passages)
