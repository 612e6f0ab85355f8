"""Stage 7: cited fact sheets for the entities a question, its answer and its passages involve.

Every fact points into the corpus: roles carry the passage they were read from, and each
value (a date, amount, percentage or count) is a span stated in the same sentence as a
mention of the entity, with its passage id and document offsets.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from .annotate import VALUE_LABELS
from .entities import ABBREVIATIONS, CanonicalEntity, clean_surface, demonym_place
from .index import Index

LOOKUP_SIMILARITY = 85.0
MAX_FACTS = 5
MAX_VALUES = 8
MAX_PASSAGES_LISTED = 20


@dataclass(frozen=True)
class FactValue:
    text: str
    label: str
    sentence: str
    passage_id: str
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
    passages: list[str]
    roles: list[dict]
    related: list[RelatedEntity]
    values: list[FactValue] = field(default_factory=list)
    # Why this entity is in the answer's fact list: "question", "answer" or "passages".
    reason: str | None = None


def lookup(index: Index, text: str) -> CanonicalEntity | None:
    """The canonical entity a surface form names: exact alias, demonym, then close spelling."""
    surface = clean_surface(text)
    surface = demonym_place(surface) or ABBREVIATIONS.get(surface, surface)
    ids = index.aliases.get(surface.lower())
    if not ids and len(surface) >= 5 and index.alias_keys:
        match = process.extractOne(surface.lower(), index.alias_keys, scorer=fuzz.ratio,
                                   score_cutoff=LOOKUP_SIMILARITY)
        ids = index.aliases[match[0]] if match else None
    if not ids:
        return None
    # Several entities may share an alias; the most mentioned one is the likelier reading.
    return max((index.entity_by_id[i] for i in ids), key=lambda e: (len(e.mentions), e.id))


def question_entities(analysis_entities: Iterable[str], question: str) -> list[str]:
    """spaCy's entities of the question plus any demonym it uses ("the Kazakh tenge")."""
    words = [w.strip(".,;:?!\"'()") for w in question.split()]
    return list(dict.fromkeys([*analysis_entities, *(w for w in words if demonym_place(w))]))


def resolve_named(index: Index, texts: Iterable[str]) -> list[tuple[str, CanonicalEntity]]:
    """The question's names with the canonical entity each refers to (unknown ones dropped)."""
    return [(text, entity) for text in texts if (entity := lookup(index, text)) is not None]


def alias_terms(index: Index,
                named: list[tuple[str, CanonicalEntity]]) -> dict[str, set[str]]:
    """A question entity's last term -> the words its other names add ('Kamilov' ->
    'abdulaziz'; 'Milziyoev' -> 'mirziyoyev', 'mirziyoev')."""
    out: dict[str, set[str]] = {}
    for text, entity in named:
        own = index.analyzer.terms(text)
        if not own:
            continue
        extra = {t for alias in entity.aliases for t in index.analyzer.terms(alias)} - set(own)
        if extra:
            out.setdefault(own[-1], set()).update(extra)
    return out


def search(index: Index, prefix: str = "", label: str | None = None,
           limit: int = 50) -> list[CanonicalEntity]:
    prefix = prefix.lower().strip()
    found = []
    for entity in index.entities:  # already ordered by mentions
        if label and entity.label != label:
            continue
        if prefix and not any(a.lower().startswith(prefix) or any(
                w.lower().startswith(prefix) for w in a.split()) for a in entity.aliases):
            continue
        found.append(entity)
        if len(found) >= limit:
            break
    return found


def sheet(index: Index, entity: CanonicalEntity, prefer: Iterable[int] = (),
          max_values: int | None = MAX_VALUES,
          max_passages: int | None = MAX_PASSAGES_LISTED) -> FactSheet:
    """The entity's facts; values from passages in ``prefer`` (indexes, best first) lead.

    ``max_passages`` caps the passages and documents listed (``None``: all of them), so a
    sheet for an entity with 100k mentions costs no more on /ask than one with ten.
    """
    passage_ids = _first_unique((index.passages[m.passage].id for m in entity.mentions),
                                max_passages)
    documents = _first_unique((index.passages[m.passage].doc_id for m in entity.mentions),
                              max_passages)
    related = [RelatedEntity(i, index.entity_by_id[i].name, index.entity_by_id[i].label, n)
               for i, n in entity.related if i in index.entity_by_id]
    return FactSheet(
        id=entity.id, entity=entity.name, label=entity.label, aliases=entity.aliases,
        mentions=len(entity.mentions), documents=documents,
        passages=passage_ids,
        roles=[{"role": r.role, "affiliation": r.affiliation, "passage_id": r.passage_id}
               for r in entity.roles],
        related=related, values=values(index, entity, list(prefer), max_values))


def values(index: Index, entity: CanonicalEntity, prefer: list[int],
           limit: int | None) -> list[FactValue]:
    """Dates, amounts, percentages and counts stated in a sentence that mentions the entity,
    those of the ``prefer`` passages first, in their order."""
    out: list[FactValue] = []
    seen = set()
    for p, start in _mentions_preferring(index, entity, prefer):
        annotation = index.annotations[p]
        starts = [s for s, _ in annotation.sentences]
        k = bisect.bisect_right(starts, start) - 1
        if k < 0:
            continue
        s, e = annotation.sentences[k]
        passage = index.passages[p]
        text = index.documents[passage.doc_id].text
        for ent in annotation.entities:
            if ent.label in VALUE_LABELS and s <= ent.start and ent.end <= e \
                    and (p, ent.start) not in seen:
                seen.add((p, ent.start))
                out.append(FactValue(ent.text, ent.label, text[s:e].strip(), passage.id,
                                     ent.start, ent.end))
                if limit and len(out) >= limit:
                    return out
    return out


def _first_unique(items: Iterable[str], limit: int | None) -> list[str]:
    out: dict[str, None] = {}
    for item in items:
        out.setdefault(item)
        if limit and len(out) >= limit:
            break
    return list(out)


def _mentions_preferring(index: Index, entity: CanonicalEntity, prefer: list[int]):
    """(passage, start) of the entity's mentions: in ``prefer`` passages first, then the
    rest in corpus order -- lazily, so a capped caller stops early."""
    for p in prefer:
        for start, _, eid in index.mentions_in.get(p, ()):
            if eid == entity.id:
                yield p, start
    preferred = set(prefer)
    for m in entity.mentions:
        if m.passage not in preferred:
            yield m.passage, m.start


def facts_for(index: Index, question_entities: Iterable[CanonicalEntity],
              answer_span: tuple | None, passage_indexes: list[int],
              limit: int = MAX_FACTS) -> list[FactSheet]:
    """Entities of the question, of the answer, then the most salient in the passages."""
    chosen: dict[str, str] = {}
    for entity in question_entities:
        chosen.setdefault(entity.id, "question")
    if answer_span is not None:
        p, start, end = answer_span
        for ms, me, eid in index.mentions_in.get(p, ()):
            if ms < end and start < me:
                chosen.setdefault(eid, "answer")
    salience: Counter = Counter()
    for rank, p in enumerate(passage_indexes, start=1):
        for _, _, eid in index.mentions_in.get(p, ()):
            salience[eid] += 1.0 / rank
    for eid, _ in sorted(salience.items(), key=lambda x: (-x[1], x[0])):
        if len(chosen) >= limit:
            break
        chosen.setdefault(eid, "passages")
    sheets = []
    for eid, reason in list(chosen.items())[:limit]:
        fact = sheet(index, index.entity_by_id[eid], prefer=passage_indexes)
        fact.reason = reason
        sheets.append(fact)
    return sheets
