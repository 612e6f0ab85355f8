"""The annotated corpus as later stages see it: documents, passages and their annotations.

Inside citeqa a passage is named by its position (an ``int``: postings, entity mentions,
hits and answers all use it); its string id (``"<doc id>#<n>"``) appears only at the JSON
boundary. This class is the one place that maps between the two.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from .annotate import Annotation
from .documents import Document
from .passages import Passage


@dataclass
class PassageStore:
    documents: dict[str, Document]
    passages: list[Passage]
    annotations: list[Annotation]
    _by_doc: dict[str, list[int]] = field(init=False, repr=False)
    _position: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.passages) != len(self.annotations):
            raise ValueError("every passage needs exactly one annotation")
        self._by_doc = {}
        self._position = {}
        for pos, passage in enumerate(self.passages):
            self._by_doc.setdefault(passage.doc_id, []).append(pos)
            self._position[passage.id] = pos

    def __len__(self) -> int:
        return len(self.passages)

    def passage(self, pos: int) -> Passage:
        return self.passages[pos]

    def annotation(self, pos: int) -> Annotation:
        return self.annotations[pos]

    def document_of(self, pos: int) -> Document:
        return self.documents[self.passages[pos].doc_id]

    def text_of(self, pos: int) -> str:
        """The full text of the passage's document: every offset indexes it."""
        return self.documents[self.passages[pos].doc_id].text

    def position(self, passage_id: str) -> int | None:
        return self._position.get(passage_id)

    def passages_of(self, doc_id: str) -> list[int]:
        return self._by_doc.get(doc_id, [])

    def document_page(self, offset: int, limit: int) -> list[Document]:
        """Documents ``offset`` to ``offset + limit`` in corpus order."""
        return list(itertools.islice(self.documents.values(), offset, offset + limit))

    def texts(self) -> Iterator[str]:
        return (p.text for p in self.passages)
