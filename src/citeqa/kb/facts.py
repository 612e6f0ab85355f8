"""Cited fact sheets for the entities a question, its answer and its passages involve.

Every fact points into the corpus: roles carry the passage they were read from, and each
value (a date, amount, percentage or count) is one the stored dependency parse states of
a mention of the entity (``links.py``), cited with its relation ("has fallen by") and its
subject ("the tenge in Kazakhstan") as document offsets, and normalized where a parser can
read it (``normalize.py``).
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..ingest.corpus import PassageStore
from .entities import CanonicalEntity, Role
from .linker import link_values, links_key
from .links import LinkParams, ValueLink
from .normalize import Normalized, normalize, resolvable
from .table import EntityTable


@dataclass(frozen=True)
class FactParams:
    """How much a fact list in ``/ask`` shows (``/entities/<id>`` shows everything) and how
    values are linked to entities."""

    version: str = "facts-5"
    max_facts: int = 5
    max_values: int = 8
    max_passages: int = 20
    # An /ask fact list reads the values of at most this many of an entity's mentions
    # (those in the answer's passages first), so its cost does not grow with the corpus.
    max_value_mentions: int = 200
    links: LinkParams = field(default_factory=LinkParams)


@dataclass(frozen=True)
class Cited:
    """Words of the corpus: ``text == document text[start:end]``."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class FactValue:
    text: str
    label: str
    sentence: str
    passage: int
    start: int
    end: int
    relation: Cited
    subject: Cited
    normalized: Normalized | None = None


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


def passage_links(store: PassageStore, p: int, params: LinkParams) -> list[ValueLink]:
    """The values the parse of passage ``p`` states of its mentions: read once, when the
    index is built, and again only by a reader whose link parameters differ."""
    date = store.document_of(p).metadata.get("date")
    return link_values(store.annotation(p), store.text_of(p), params,
                       lambda t: resolvable(t, date))


class FactBook:
    """Fact sheets read from the passage store and the entity table."""

    def __init__(self, store: PassageStore, table: EntityTable,
                 params: FactParams | None = None) -> None:
        self.store = store
        self.table = table
        self.params = params or FactParams()
        # This parameter set's per-passage memo of value links, looked up once per book:
        # a sheet reads it for every mention, and the look-up hashes the parameters.
        self._memo: dict[int, dict[int, list[ValueLink]]] | None = None

    def sheet(self, entity: CanonicalEntity, prefer: Iterable[int] = (),
              max_values: int | None = None, max_passages: int | None = None,
              max_mentions: int | None = None) -> FactSheet:
        """The entity's facts; values from passages in ``prefer`` (best first) lead.

        ``max_passages`` caps the passages and documents listed (``None``: all of them), so
        a sheet for an entity with 100k mentions costs no more on /ask than one with ten.
        """
        related = [RelatedEntity(i, other.name, other.label, n) for i, n in entity.related
                   if (other := self.table.get(i)) is not None]
        documents, passages = self.table.mention_places(entity, self.store, max_passages)
        return FactSheet(
            id=entity.id, entity=entity.name, label=entity.label, aliases=entity.aliases,
            mentions=len(entity.mentions), documents=documents, passages=passages,
            roles=list(entity.roles), related=related,
            values=self.values(entity, list(prefer), max_values, max_mentions))

    def values(self, entity: CanonicalEntity, prefer: list[int], limit: int | None,
               max_mentions: int | None = None) -> list[FactValue]:
        """Values the parse states of the entity's mentions, those of the ``prefer``
        passages first, in their order; at most ``max_mentions`` mentions are read."""
        out: list[FactValue] = []
        seen = set()
        mentions = itertools.islice(self._mentions_preferring(entity, prefer), max_mentions)
        for p, start in mentions:
            for link in self.links(p).get(start, ()):
                if (p, link.value.start) in seen:
                    continue
                seen.add((p, link.value.start))
                out.append(self._value(p, link))
                if limit and len(out) >= limit:
                    return out
        return out

    def links(self, p: int) -> dict[int, list[ValueLink]]:
        """Mention start -> the value links of one passage: as the index stored them when
        they were made with these parameters, else computed; kept per index."""
        memo = self._memo
        if memo is None:
            memo = self._memo = self.table.value_links.setdefault(self.params.links, {})
        by_mention = memo.get(p)  # one read: another thread may evict it meanwhile
        if by_mention is None:
            found = self.table.stored_links(p, links_key(self.params.links))
            by_mention = {}
            for link in (passage_links(self.store, p, self.params.links) if found is None
                         else found):
                by_mention.setdefault(link.mention[0], []).append(link)
            memo[p] = by_mention
        return by_mention

    def owners(self, p: int, start: int, end: int) -> list[CanonicalEntity]:
        """The entities the parse says a value overlapping ``start:end`` of passage ``p``
        is stated of (an answer's words, in passage offsets)."""
        ids = {s: eid for s, _, eid in self.table.mentions_in(p)}
        out: dict[str, CanonicalEntity] = {}
        for mention, links in self.links(p).items():
            if mention in ids and any(link.value.start < end and start < link.value.end
                                      for link in links) \
                    and (entity := self.table.get(ids[mention])) is not None:
                out[entity.id] = entity
        return list(out.values())

    def _value(self, p: int, link: ValueLink) -> FactValue:
        text = self.store.text_of(p)
        annotation = self.store.annotation(p)
        starts = [s for s, _ in annotation.sentences]
        s, e = annotation.sentences[bisect.bisect_right(starts, link.value.start) - 1]
        value = link.value
        date = self.store.document_of(p).metadata.get("date")
        return FactValue(value.text, value.label, text[s:e].strip(), p, value.start,
                         value.end, _cited(text, link.relation), _cited(text, link.subject),
                         normalize(value.text, value.label, date))

    def _mentions_preferring(self, entity: CanonicalEntity,
                             prefer: list[int]) -> Iterator[tuple[int, int]]:
        """(passage, start) of the entity's mentions: in ``prefer`` passages first, then
        the rest in corpus order -- lazily, so a capped caller stops early."""
        for p in prefer:
            for start, _, eid in self.table.mentions_in(p):
                if eid == entity.id:
                    yield p, start
        preferred = set(prefer)
        for p, start in self.table.mention_starts(entity):
            if p not in preferred:
                yield p, start

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
            fact = FactBook(self.store, self.table, params).sheet(
                self.table.by_id[eid], prefer=passages,
                max_values=params.max_values, max_passages=params.max_passages,
                max_mentions=params.max_value_mentions)
            fact.reason = reason
            sheets.append(fact)
        return sheets


def _cited(text: str, span: tuple[int, int]) -> Cited:
    return Cited(text[span[0]:span[1]], span[0], span[1])
