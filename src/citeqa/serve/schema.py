"""The JSON contract of citeqa, shared by the HTTP API and the CLI.

Every public JSON body is one of the ``msgspec`` structs below, built by the functions at
the end from the internal values of the stages. Renaming an internal field therefore
cannot change the API; changing a struct here does, on purpose. Passages are named by
their string id (``"<doc id>#<n>"``) here and only here.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..ingest.annotate import Entity
from ..ingest.corpus import PassageStore
from ..ingest.documents import Document
from ..kb.entities import CanonicalEntity
from ..kb.facts import FactSheet, FactValue
from ..qa.ask import Response
from ..store.index import Index


class EntityMention(msgspec.Struct):
    text: str
    label: str
    start: int
    end: int


class AnswerJSON(msgspec.Struct):
    text: str
    label: str
    confidence: float
    passage_id: str
    start: int
    end: int
    sentence: str
    sentence_start: int


class PassageJSON(msgspec.Struct):
    id: str
    doc_id: str
    title: str
    date: str | None
    source: str | None
    rank: int
    score: float
    text: str
    start: int
    end: int
    entities: list[EntityMention]
    matches: list[tuple[int, int]]


class RoleJSON(msgspec.Struct):
    role: str
    affiliation: str | None
    passage_id: str


class RelatedJSON(msgspec.Struct):
    id: str
    entity: str
    label: str
    count: int


class CitedJSON(msgspec.Struct):
    """Words of the document: ``text == document text[start:end]``."""

    text: str
    start: int
    end: int


class NormalizedJSON(msgspec.Struct, omit_defaults=True):
    """A value as data: ``date`` (ISO 8601 at the precision stated), or ``amount`` with
    ``unit`` (ISO 4217 currency, "%", or the written unit)."""

    kind: str  # date, money, percent, quantity or number
    date: str | None = None
    amount: float | None = None
    unit: str | None = None


class ValueJSON(msgspec.Struct):
    text: str
    label: str
    sentence: str
    passage_id: str
    start: int
    end: int
    # What the sentence says of the entity: the predicate and the phrase it is said of.
    relation: CitedJSON
    subject: CitedJSON
    # null when no parser can read the value; ``text`` is then all there is.
    normalized: NormalizedJSON | None


class FactSheetJSON(msgspec.Struct):
    id: str
    entity: str
    label: str
    aliases: list[str]
    mentions: int
    documents: list[str]
    passages: list[str]
    roles: list[RoleJSON]
    related: list[RelatedJSON]
    values: list[ValueJSON]
    # Why the entity is in an answer's fact list: "question", "answer" or "passages".
    reason: str | None


class AskResponse(msgspec.Struct, omit_defaults=True):
    question: str
    answer: AnswerJSON | None
    passages: list[PassageJSON]
    facts: list[FactSheetJSON]
    took_ms: float
    # Present only when ``answer`` is null: why, in words and as a stable code.
    no_answer_reason: str | None = None
    no_answer_code: str | None = None
    # Present only when asked for.
    explain: dict[str, Any] | None = None


class ErrorBody(msgspec.Struct):
    code: str
    message: str


class ErrorResponse(msgspec.Struct):
    error: ErrorBody


class IndexInfo(msgspec.Struct, omit_defaults=True):
    version: str
    built_at: str
    fingerprint: str
    model: dict[str, str]
    bm25: dict[str, Any]
    # Only when a newer version failed its checks and this one is still served.
    refused: dict[str, str] | None = None


class HealthResponse(msgspec.Struct):
    status: str
    documents: int
    passages: int
    index: IndexInfo
    params: dict[str, Any]
    # The trained answer ranker in use (version, feature set, sha256, training data), or
    # null when the hand-set rules answer.
    ranker: dict[str, str] | None
    # The neural reader in use (version, sha256 of its weights and of the pretrained
    # checkpoint, training data, calibration), or null when it is switched off.
    reader: dict[str, Any] | None = None


class DocumentSummary(msgspec.Struct):
    id: str
    title: str
    path: str
    metadata: dict[str, str]
    passages: int


class DocumentsPage(msgspec.Struct):
    total: int
    offset: int
    limit: int
    documents: list[DocumentSummary]


class PassageSpan(msgspec.Struct):
    id: str
    n: int
    start: int
    end: int


class DocumentResponse(msgspec.Struct):
    id: str
    title: str
    path: str
    metadata: dict[str, str]
    text: str
    passages: list[PassageSpan]


class EntitySummary(msgspec.Struct):
    id: str
    entity: str
    label: str
    aliases: list[str]
    mentions: int


class EntitiesResponse(msgspec.Struct):
    entities: list[EntitySummary]


_encoder = msgspec.json.Encoder()


def encode(value: msgspec.Struct) -> bytes:
    return _encoder.encode(value)


def to_builtins(value: msgspec.Struct) -> Any:
    """Plain dicts and lists, as a JSON client would see them."""
    return msgspec.json.decode(_encoder.encode(value))


def _mention(e: Entity) -> EntityMention:
    return EntityMention(e.text, e.label, e.start, e.end)


def fact_sheet(store: PassageStore, sheet: FactSheet) -> FactSheetJSON:
    pid = _passage_id(store)
    return FactSheetJSON(
        id=sheet.id, entity=sheet.entity, label=sheet.label, aliases=sheet.aliases,
        mentions=sheet.mentions, documents=sheet.documents,
        passages=[pid(p) for p in sheet.passages],
        roles=[RoleJSON(r.role, r.affiliation, pid(r.passage)) for r in sheet.roles],
        related=[RelatedJSON(r.id, r.entity, r.label, r.count) for r in sheet.related],
        values=[_value(v, pid(v.passage)) for v in sheet.values],
        reason=sheet.reason)


def _value(v: FactValue, passage_id: str) -> ValueJSON:
    n = v.normalized
    return ValueJSON(
        v.text, v.label, v.sentence, passage_id, v.start, v.end,
        relation=CitedJSON(v.relation.text, v.relation.start, v.relation.end),
        subject=CitedJSON(v.subject.text, v.subject.start, v.subject.end),
        normalized=NormalizedJSON(n.kind, n.date, n.amount, n.unit) if n else None)


def _passage_id(store: PassageStore):
    return lambda pos: store.passage(pos).id


def ask_response(store: PassageStore, response: Response) -> AskResponse:
    answer = response.answer
    passages = []
    for shown in response.passages:
        hit = shown.hit
        doc = store.document_of(hit.pos)
        passages.append(PassageJSON(
            id=hit.passage.id, doc_id=hit.passage.doc_id, title=doc.title,
            date=doc.metadata.get("date"), source=doc.metadata.get("source"),
            rank=hit.rank, score=hit.score, text=hit.passage.text, start=hit.passage.start,
            end=hit.passage.end, entities=[_mention(e) for e in hit.annotation.entities],
            matches=shown.matches))
    refusal = response.refusal
    return AskResponse(
        question=response.question,
        answer=AnswerJSON(answer.text, answer.label, answer.confidence,
                          store.passage(answer.passage).id, answer.start, answer.end,
                          answer.sentence, answer.sentence_start) if answer else None,
        passages=passages, facts=[fact_sheet(store, f) for f in response.facts],
        took_ms=response.took_ms,
        no_answer_reason=refusal.message if answer is None and refusal else None,
        no_answer_code=refusal.code if answer is None and refusal else None,
        explain=response.explain)


def health(index: Index, params: dict[str, Any], ranker: dict[str, str] | None,
           reader: dict[str, Any] | None = None) -> HealthResponse:
    m = index.manifest
    return HealthResponse(
        status="ok", documents=len(index.store.documents), passages=len(index.store),
        index=IndexInfo(version=index.version, built_at=m["built_at"],
                        fingerprint=m["corpus"]["fingerprint"], model=m["model"],
                        bm25=m["bm25"], refused=index.refused),
        params=params, ranker=ranker, reader=reader)


def documents_page(store: PassageStore, docs: list[Document], offset: int,
                   limit: int) -> DocumentsPage:
    return DocumentsPage(total=len(store.documents), offset=offset, limit=limit, documents=[
        DocumentSummary(d.id, d.title, d.path, d.metadata, len(store.passages_of(d.id)))
        for d in docs])


def document(store: PassageStore, doc: Document) -> DocumentResponse:
    return DocumentResponse(
        id=doc.id, title=doc.title, path=doc.path, metadata=doc.metadata, text=doc.text,
        passages=[PassageSpan(p.id, p.n, p.start, p.end)
                  for p in map(store.passage, store.passages_of(doc.id))])


def entities(found: list[CanonicalEntity]) -> EntitiesResponse:
    return EntitiesResponse([EntitySummary(e.id, e.name, e.label, e.aliases, len(e.mentions))
                             for e in found])


def error(code: str, message: str) -> ErrorResponse:
    return ErrorResponse(ErrorBody(code, message))
