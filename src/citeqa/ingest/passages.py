"""Cut documents into passages of roughly 40-120 words, the unit of citation.

Paragraphs are the natural unit; a long paragraph is split on sentence boundaries, a short
one (a heading, a caption) joins the next paragraph so that it is never cited alone.
Offsets are into the document, and ``document.text[start:end] == passage.text`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .documents import Document

MIN_WORDS = 40
MAX_WORDS = 120

# Returns (start, end) character spans of the sentences of a text, in order.
SentenceSplitter = Callable[[str], list[tuple[int, int]]]

_PARAGRAPH = re.compile(r"[^\n]*\S[^\n]*")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Passage:
    id: str
    doc_id: str
    n: int
    start: int
    end: int
    text: str


def regex_sentences(text: str) -> list[tuple[int, int]]:
    """A dependency-free splitter for tests and as a fallback: ends at . ! ? followed by space."""
    spans, start = [], 0
    for match in re.finditer(r"[.!?][\"')\]]*\s+", text):
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def _words(text: str) -> int:
    return sum(1 for _ in _WORD.finditer(text))


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _hard_split(text: str, start: int, end: int, max_words: int) -> Iterable[tuple[int, int]]:
    """Bound a run-on 'sentence' (tables, lists without punctuation) at word boundaries."""
    words = list(_WORD.finditer(text, start, end))
    for i in range(0, len(words), max_words):
        chunk = words[i:i + max_words]
        yield chunk[0].start(), chunk[-1].end()


def windows(text: str, start: int, end: int, sentences: list[tuple[int, int]],
            min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[tuple[int, int]]:
    """Greedy packing of whole sentences (``sentences``: spans relative to ``start``) of
    ``text[start:end]`` into windows of min..max words."""
    units: list[tuple[int, int, int]] = []
    for s, e in sentences:
        s, e = _trim(text, start + s, start + e)
        if s >= e:
            continue
        n = _words(text[s:e])
        if n > max_words:
            units.extend((a, b, _words(text[a:b])) for a, b in _hard_split(text, s, e, max_words))
        else:
            units.append((s, e, n))
    windows: list[list[int]] = []
    for s, e, n in units:
        if windows and (windows[-1][2] < min_words or windows[-1][2] + n <= max_words):
            windows[-1][1], windows[-1][2] = e, windows[-1][2] + n
        else:
            windows.append([s, e, n])
    # A short tail reads better attached to what precedes it.
    if len(windows) > 1 and windows[-1][2] < min_words:
        tail = windows.pop()
        windows[-1][1] = tail[1]
    return [(s, e) for s, e, _ in windows]


def blocks(doc: Document, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
           ) -> list[tuple[int, int, int]]:
    """The body's paragraphs as ``(start, end, words)``, a short one joined to a neighbour
    within ``max_words``; a block over ``max_words`` is one paragraph, to be cut."""
    text = doc.text
    blocks: list[list[int]] = []  # [start, end, words]
    for match in _PARAGRAPH.finditer(text, doc.body_start):
        s, e = _trim(text, match.start(), match.end())
        n = _words(text[s:e])
        if blocks and blocks[-1][2] < min_words and blocks[-1][2] + n <= max_words:
            blocks[-1][1], blocks[-1][2] = e, blocks[-1][2] + n
        else:
            blocks.append([s, e, n])
    if len(blocks) > 1 and blocks[-1][2] < min_words and blocks[-2][2] + blocks[-1][2] <= max_words:
        tail = blocks.pop()
        blocks[-1][1], blocks[-1][2] = tail[1], blocks[-1][2] + tail[2]
    return [(s, e, n) for s, e, n in blocks]


def segment(doc: Document, split: SentenceSplitter = regex_sentences,
            min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[Passage]:
    """Passages of ``doc``: its blocks, those over ``max_words`` cut at the sentences
    ``split`` finds. (An index build cuts with the sentences of its one spaCy pass:
    ``annotate.annotate_documents``.)"""
    text = doc.text
    spans: list[tuple[int, int]] = []
    for s, e, n in blocks(doc, min_words, max_words):
        if n > max_words:
            spans.extend(windows(text, s, e, split(text[s:e]), min_words, max_words))
        else:
            spans.append((s, e))
    return passages_of(doc, spans)


def passages_of(doc: Document, spans: list[tuple[int, int]]) -> list[Passage]:
    """The passages of ``doc`` at ``spans`` (document offsets), numbered in order."""
    return [Passage(id=f"{doc.id}#{i}", doc_id=doc.id, n=i, start=s, end=e, text=doc.text[s:e])
            for i, (s, e) in enumerate(spans)]
