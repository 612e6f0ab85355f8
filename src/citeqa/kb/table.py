"""The entity table: canonical entities and the look-ups every later stage needs.

Built once per loaded index from the resolved entities; answers "which entity is this
mention?" (by passage position and offset) and "which entity does this name mean?".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from ..lexicon import ABBREVIATIONS
from .entities import CanonicalEntity, clean_surface, demonym_place

if TYPE_CHECKING:
    from ..ingest.corpus import PassageStore
    from .links import ValueLink


def first_places(mentions: Iterable[tuple[int, str]], limit: int | None
                 ) -> tuple[list[str], list[int]]:
    """The first ``limit`` (all when ``None``) distinct documents and passages of
    (passage, document) pairs in corpus order; reads no further than it needs."""
    documents: dict[str, None] = {}
    passages: dict[int, None] = {}
    for passage, doc in mentions:
        if limit and len(documents) >= limit and len(passages) >= limit:
            break
        if not limit or len(passages) < limit:
            passages.setdefault(passage)
        if not limit or len(documents) < limit:
            documents.setdefault(doc)
    return list(documents), list(passages)


def name_surface(text: str) -> str:
    """The form of a name its aliases are looked up by: cleaned, a demonym's place, an
    abbreviation spelled out."""
    surface = clean_surface(text)
    return demonym_place(surface) or ABBREVIATIONS.get(surface, surface)


def matching_entity(owners: list[CanonicalEntity]) -> CanonicalEntity | None:
    """Of the entities sharing an alias, the most mentioned: the likelier reading."""
    return max(owners, key=lambda e: (len(e.mentions), e.id)) if owners else None


class EntityTable:
    def __init__(self, entities: list[CanonicalEntity]) -> None:
        self.entities = entities  # ordered by mentions, most first
        self.by_id = {e.id: e for e in entities}
        self.labels = {e.label for e in entities}
        # passage position -> [(start, end, entity id)] in offset order
        self._mentions_in: dict[int, list[tuple[int, int, str]]] = {}
        for e in entities:
            for m in e.mentions:
                self._mentions_in.setdefault(m.passage, []).append((m.start, m.end, e.id))
        for mentions in self._mentions_in.values():
            mentions.sort()
        self._aliases: dict[str, list[str]] = {}
        for e in entities:
            for alias in e.aliases:
                self._aliases.setdefault(alias.lower(), []).append(e.id)
        self._alias_keys = list(self._aliases)  # for fuzzy look-ups of misspelt names
        # link parameters -> passage position -> {mention start: value links}, filled
        # lazily by FactBook: each passage's parse is read once per index, not per question.
        self.value_links: dict[object, dict[int, dict]] = {}

    def stored_links(self, pos: int, key: str) -> list[ValueLink] | None:
        """Passage ``pos``'s value links as saved with the index under ``key``
        (``linker.links_key``); None when none were (a table built in memory, or links
        made by other parameters)."""
        return None

    def __len__(self) -> int:
        return len(self.entities)

    def get(self, entity_id: str) -> CanonicalEntity | None:
        return self.by_id.get(entity_id)

    def mentions_in(self, pos: int) -> list[tuple[int, int, str]]:
        """(start, end, entity id) of the resolved mentions in one passage."""
        return self._mentions_in.get(pos, [])

    def mention_places(self, entity: CanonicalEntity, store: PassageStore,
                       limit: int | None) -> tuple[list[str], list[int]]:
        """The first ``limit`` (all when ``None``) distinct documents and passages that
        mention ``entity``, in corpus order."""
        return first_places(((m.passage, store.passage(m.passage).doc_id)
                             for m in entity.mentions), limit)

    def mention_starts(self, entity: CanonicalEntity) -> Iterator[tuple[int, int]]:
        """(passage, start) of the entity's mentions in corpus order, lazily."""
        return ((m.passage, m.start) for m in entity.mentions)

    def at(self, pos: int) -> dict[int, CanonicalEntity]:
        """Mention start -> canonical entity, for one passage."""
        return {s: self.by_id[eid] for s, _, eid in self.mentions_in(pos)}

    def lookup(self, text: str, similarity: float) -> CanonicalEntity | None:
        """The entity a surface form names: exact alias, demonym, then a close spelling
        (rapidfuzz ratio >= ``similarity``)."""
        surface = name_surface(text)
        ids = self._aliases.get(surface.lower())
        if not ids and len(surface) >= 5 and self._alias_keys:
            match = process.extractOne(surface.lower(), self._alias_keys, scorer=fuzz.ratio,
                                       score_cutoff=similarity)
            ids = self._aliases[match[0]] if match else None
        return matching_entity([self.by_id[i] for i in ids or ()])

    def search(self, prefix: str = "", label: str | None = None,
               limit: int = 50) -> list[CanonicalEntity]:
        """Entities whose name or any word of an alias starts with ``prefix``."""
        prefix = prefix.lower().strip()
        found = []
        for entity in self.entities:
            if label and entity.label != label:
                continue
            if prefix and not any(a.lower().startswith(prefix) or any(
                    w.lower().startswith(prefix) for w in a.split()) for a in entity.aliases):
                continue
            found.append(entity)
            if len(found) >= limit:
                break
        return found
