"""Cited fact sheets for the entities a question, its answer and its passages involve.

Every fact points into the corpus: roles carry the passage they were read from, and each
value (a date, amount, percentage or count) is a span stated in the same sentence as a
mention of the entity, with its passage and document offsets.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..ingest.corpus import PassageStore
from ..lexicon import VALUE_LABELS
from .entities import CanonicalEntity, Role
from .table import EntityTable


@dataclass(frozen=True)
class FactParams:
    """How much a fact list in ``/ask`` shows; ``/entities/<id>`` shows everything."""

    version: str = "facts-1"
    max_facts: int = 5
    max_values: int = 8
    max_passages: int = 20


@dataclass(frozen=True)
class FactValue:
    text: str
    label: str
    sentence: str
    passage: int
    start: int
    end: int


@dataclass(frozen=True)
class RelatedEntity:
    id: str
    entity: str
    label: str
    count: int


@dataclass
class FactSheet:
    id: str
    entity: str
    label: str
    aliases: list[str]
    mentions: int
    documents: list[str]
    passages: list[int]
    roles: list[Role]
    related: list[RelatedEntity]
    values: list[FactValue] = field(default_factory=list)
    # Why this entity is in the answer's fact list: "question", "answer" or "passages".
    reason: str | None = None


class FactBook:
    """Fact sheets read from the passage store and the entity table."""

    def __init__(self, store: PassageStore, table: EntityTable) -> None:
        self.store = store
        self.table = table

    def sheet(self, entity: CanonicalEntity, prefer: Iterable[int] = (),
              max_values: int | None = None, max_passages: int | None = None) -> FactSheet:
        """The entity's facts; values from passages in ``prefer`` (best first) lead.

        ``max_passages`` caps the passages and documents listed (``None``: all of them), so
        a sheet for an entity with 100k mentions costs no more on /ask than one with ten.
        """
        related = [RelatedEntity(i, other.name, other.label, n) for i, n in entity.related
                   if (other := self.table.get(i)) is not None]
        return FactSheet(
            id=entity.id, entity=entity.name, label=entity.label, aliases=entity.aliases,
            mentions=len(entity.mentions),
            documents=_first_unique((self.store.passage(m.passage).doc_id
                                     for m in entity.mentions), max_passages),
            passages=_first_unique((m.passage for m in entity.mentions), max_passages),
            roles=list(entity.roles), related=related,
            values=self.values(entity, list(prefer), max_values))

    def values(self, entity: CanonicalEntity, prefer: list[int],
               limit: int | None) -> list[FactValue]:
        """Dates, amounts, percentages and counts stated in a sentence that mentions the
        entity, those of the ``prefer`` passages first, in their order."""
        out: list[FactValue] = []
        seen = set()
        for p, start in self._mentions_preferring(entity, prefer):
            annotation = self.store.annotation(p)
            starts = [s for s, _ in annotation.sentences]
            k = bisect.bisect_right(starts, start) - 1
            if k < 0:
                continue
            s, e = annotation.sentences[k]
            text = self.store.text_of(p)
            for ent in annotation.entities:
                if ent.label in VALUE_LABELS and s <= ent.start and ent.end <= e \
                        and (p, ent.start) not in seen:
                    seen.add((p, ent.start))
                    out.append(FactValue(ent.text, ent.label, text[s:e].strip(), p,
                                         ent.start, ent.end))
                    if limit and len(out) >= limit:
                        return out
        return out

    def _mentions_preferring(self, entity: CanonicalEntity,
                             prefer: list[int]) -> Iterator[tuple[int, int]]:
        """(passage, start) of the entity's mentions: in ``prefer`` passages first, then
        the rest in corpus order -- lazily, so a capped caller stops early."""
        for p in prefer:
            for start, _, eid in self.table.mentions_in(p):
                if eid == entity.id:
                    yield p, start
        preferred = set(prefer)
        for m in entity.mentions:
            if m.passage not in preferred:
                yield m.passage, m.start

    def facts_for(self, question_entities: Iterable[CanonicalEntity],
                  answer_span: tuple[int, int, int] | None, passages: list[int],
                  params: FactParams) -> list[FactSheet]:
        """Entities of the question, of the answer (passage, start, end), then the most
        salient in the passages."""
        chosen: dict[str, str] = {}
        for entity in question_entities:
            chosen.setdefault(entity.id, "question")
        if answer_span is not None:
            p, start, end = answer_span
            for ms, me, eid in self.table.mentions_in(p):
                if ms < end and start < me:
                    chosen.setdefault(eid, "answer")
        salience: Counter = Counter()
        for rank, p in enumerate(passages, start=1):
            for _, _, eid in self.table.mentions_in(p):
                salience[eid] += 1.0 / rank
        for eid, _ in sorted(salience.items(), key=lambda x: (-x[1], x[0])):
            if len(chosen) >= params.max_facts:
                break
            chosen.setdefault(eid, "passages")
        sheets = []
        for eid, reason in list(chosen.items())[:params.max_facts]:
            fact = self.sheet(self.table.by_id[eid], prefer=passages,
                              max_values=params.max_values, max_passages=params.max_passages)
            fact.reason = reason
            sheets.append(fact)
        return sheets


def _first_unique(items: Iterable, limit: int | None) -> list:
    out: dict = {}
    for item in items:
        out.setdefault(item)
        if limit and len(out) >= limit:
            break
    return list(out)
