"""One spaCy pass per paragraph block: the passages a build cuts from that parse, and the
annotation sliced out of it for each passage."""

import re

import pytest
from conftest import fail_parsing
from test_passages import check_invariants

from citeqa.ingest import annotate as annotate_module
from citeqa.ingest.annotate import annotate_documents, from_record, pieces
from citeqa.ingest.documents import Document, Skipped
from citeqa.ingest.passages import MAX_WORDS, segment

SENTENCES = [
    "The National Bank of the Kyrgyz Republic said on Tuesday that the som fell by 15% "
    "in March.",
    "Kazakhstan's central bank kept its base rate at 14% and said inflation would slow "
    "by the end of the year.",
    "Uzbek President Shavkat Mirziyoyev met Kazakh President Kassym-Jomart Tokayev in "
    "Tashkent on Wednesday to discuss trade, water and energy.",
    "Migrants from Tajikistan sent less money home from Russia after the rouble fell, "
    "the World Bank said in a report published in Washington.",
    "Turkmenistan agreed to sell more gas to China through the Central Asia pipeline, "
    "officials in Ashgabat said.",
]
LONG = " ".join(SENTENCES * 3)  # one paragraph of about 300 words
# One sentence of 150 words: cut mid-sentence, so some heads fall in the other passage.
RUN_ON = ("Exports of cotton, wheat, copper, gold and uranium from Kazakhstan, Uzbekistan "
          "and Kyrgyzstan to China and Russia " + "and to Turkey and Iran " * 30
          + "rose in 2021.")
SHORT = "Tenge steadies\nKazakhstan's tenge fell 14% in March, the central bank said.\n"


def document(doc_id: str, title: str, body: str) -> Document:
    text = f"{title}\n{body}"
    return Document(doc_id, title, text, f"{doc_id}.txt", doc_id, len(title) + 1)


DOCS = [document("long", "Central Asia", f"{LONG}\n\n{SENTENCES[0]}\n{RUN_ON}\n"),
        document("short", "Tenge", SHORT)]


@pytest.fixture(scope="module")
def built(nlp):
    """Each document of DOCS, its passages and annotations through the one-pass path."""
    out = {}
    for result in annotate_documents(nlp, DOCS):
        assert not isinstance(result, Skipped), result
        doc, record = result
        out[doc.id] = (doc, *from_record(doc, record))
    return out


def reference(nlp, text: str, base: int) -> tuple:
    """What parsing ``text`` alone gives, converted as an index stores it."""
    parsed = nlp(text)
    words = [t for t in parsed if not t.is_space]
    position = {t.i: n for n, t in enumerate(words)}
    return ([(e.text, e.label_, base + e.start_char, base + e.end_char) for e in parsed.ents],
            [(base + s.start_char, base + s.end_char) for s in parsed.sents],
            [(base + c.start_char, base + c.end_char) for c in parsed.noun_chunks],
            [(base + t.idx, base + t.idx + len(t.text), t.lemma_, t.pos_, t.tag_, t.dep_,
              position.get(t.head.i, n)) for n, t in enumerate(words)])


def as_tuple(annotation) -> tuple:
    return ([(e.text, e.label, e.start, e.end) for e in annotation.entities],
            list(annotation.sentences), list(annotation.noun_chunks),
            [tuple(t) for t in annotation.tokens])


def test_passages_are_those_cut_at_the_whole_pipelines_sentences(built, nlp):
    def split(text):
        return [(s.start_char, s.end_char) for s in nlp(text).sents]

    for doc, passages, _ in built.values():
        assert passages == segment(doc, split)
        renamed = Document("d", doc.title, doc.text, "d.txt", "x", doc.body_start)
        check_invariants(renamed, segment(renamed, split))
    doc, passages, _ = built["long"]
    assert len(passages) >= 4 and max(len(p.text.split()) for p in passages) <= MAX_WORDS


def test_sliced_annotations_stay_inside_their_passage_and_are_whole(built):
    for doc, passages, annotations in built.values():
        for p, a in zip(passages, annotations, strict=True):
            assert a.passage_id == p.id and doc.text[p.start:p.end] == p.text
            for e in a.entities:
                assert p.start <= e.start < e.end <= p.end and doc.text[e.start:e.end] == e.text
            for s, e in [*a.sentences, *a.noun_chunks]:
                assert p.start <= s < e <= p.end
            assert a.sentences == sorted(a.sentences)
            covered = "".join(doc.text[s:e] for s, e in a.sentences)
            assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", p.text)
            starts = [t.start for t in a.tokens]
            assert starts == sorted(starts)
            assert "".join(doc.text[t.start:t.end] for t in a.tokens) == re.sub(r"\s", "", p.text)
            assert all(0 <= t.head < len(a.tokens) for t in a.tokens)
            assert any(t.head == n for n, t in enumerate(a.tokens))  # a root


def test_a_short_paragraph_gets_what_spacy_gives_it_alone(built, nlp):
    _, [passage], [annotation] = built["short"]
    assert as_tuple(annotation) == reference(nlp, passage.text, passage.start)
    _, passages, annotations = built["long"]
    alone = [(p, a) for p, a in zip(passages, annotations, strict=True)
             if p.text == SENTENCES[0]]  # the one-sentence paragraph between the long ones
    assert [as_tuple(a) for _, a in alone] == [reference(nlp, p.text, p.start) for p, _ in alone]


def test_a_long_paragraphs_passages_are_slices_of_its_parse(built, nlp):
    """Each passage's tokens are the paragraph parse's own, with heads inside the passage
    re-based to it and heads outside it (only in the run-on sentence) made roots."""
    doc, passages, annotations = built["long"]
    crossing = 0
    for block in [p for p in pieces(doc) if p.cut]:
        parsed = nlp(doc.text[block.start:block.end])
        tokens = {block.start + t.idx: t for t in parsed if not t.is_space}
        for p, a in zip(passages, annotations, strict=True):
            if not block.start <= p.start < block.end:
                continue
            index = {t.start: n for n, t in enumerate(a.tokens)}
            for n, t in enumerate(a.tokens):
                spacy = tokens[t.start]
                assert (t.end, t.lemma, t.pos, t.tag, t.dep) == (
                    block.start + spacy.idx + len(spacy), spacy.lemma_, spacy.pos_, spacy.tag_,
                    spacy.dep_)
                head = index.get(block.start + spacy.head.idx)
                assert t.head == (n if head is None else head)
                crossing += head is None and spacy.head.i != spacy.i
            assert sum(1 for t in tokens if p.start <= t < p.end) == len(a.tokens)
    assert crossing > 0  # the run-on sentence was cut across its parse


def test_a_block_too_long_to_parse_is_cut_at_regex_sentences_first(nlp, monkeypatch):
    monkeypatch.setattr(annotate_module, "MAX_PARSE_CHARS", 1000)
    doc = document("big", "Big", LONG + "\n")
    plan = pieces(doc, 1000)
    assert len(plan) > 1 and not any(p.cut for p in plan)
    [(_, record)] = annotate_documents(nlp, [doc])
    passages, annotations = from_record(doc, record)
    assert [(p.start, p.end) for p in passages] == [(p.start, p.end) for p in plan]
    for p, a in zip(passages, annotations, strict=True):
        assert as_tuple(a) == reference(nlp, p.text, p.start)


def test_a_document_that_cannot_be_cut_is_skipped_and_the_others_are_not(nlp, monkeypatch):
    real = annotate_module.windows

    def windows(text, *args, **kwargs):
        if "Turkey and Iran" in text:
            raise IndexError("no such sentence")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(annotate_module, "windows", windows)
    results = list(annotate_documents(nlp, DOCS))
    assert results[0] == Skipped("long.txt", "could not be segmented (IndexError: no such "
                                             "sentence)")
    assert results[1][0].id == "short"


def test_spacy_failing_mid_stream_skips_only_that_document(nlp, monkeypatch):
    fail_parsing(monkeypatch, "Turkey and Iran", "the parser fell over")
    docs = [DOCS[1], DOCS[0], document("after", "After", SENTENCES[2])]
    results = list(annotate_documents(nlp, docs))
    assert results[1] == Skipped("long.txt", "spaCy failed on it (RuntimeError: the parser "
                                             "fell over)")
    assert [r[0].id for r in (results[0], results[2])] == ["short", "after"]
