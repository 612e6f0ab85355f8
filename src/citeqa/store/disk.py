"""The passage store and entity table of a saved version, read on demand from SQLite.

``store.sqlite`` holds what the ask path reads one passage or one entity at a time:
documents, passages with their annotation, analysed words and resolved mentions, entities
with their sheets, every entity mention, and the alias keys the name look-ups use. It is
opened read-only (``immutable``: versions never change once written), one connection per
thread and process, so nothing is loaded at open and every process -- gunicorn workers, the
version before and after a hot reload -- shares the file's pages through the OS page
cache. A bounded per-process cache keeps recently decoded rows (``StoreParams``).

The classes here answer the same questions as the in-memory ``PassageStore`` and
``EntityTable`` the build assembles, so the QA and facts code works on either.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec
from rapidfuzz import fuzz, process

from ..ingest.annotate import Annotation, Entity, Token
from ..ingest.corpus import PassageStore
from ..ingest.documents import Document
from ..ingest.passages import Passage
from ..kb.entities import CanonicalEntity, Mention, Role
from ..kb.links import ValueLink
from ..kb.table import EntityTable, first_places, matching_entity, name_surface
from ..search.analyzer import Analyzer

STORE_FILE = "store.sqlite"
Words = list[tuple[int, int, str | None]]

SCHEMA = """
CREATE TABLE documents (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
    text TEXT NOT NULL, path TEXT NOT NULL, sha256 TEXT NOT NULL, body_start INTEGER NOT NULL,
    metadata TEXT NOT NULL);
CREATE TABLE passages (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, doc INTEGER NOT NULL,
    n INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, data BLOB NOT NULL,
    links BLOB NOT NULL);
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entities (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    label TEXT NOT NULL, mentions INTEGER NOT NULL, sheet BLOB NOT NULL);
CREATE TABLE mentions (entity INTEGER NOT NULL, n INTEGER NOT NULL, passage INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, label TEXT NOT NULL,
    PRIMARY KEY (entity, n)) WITHOUT ROWID;
CREATE TABLE alias_keys (n INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE,
    length INTEGER NOT NULL, entities TEXT NOT NULL);
CREATE TABLE alias_grams (gram TEXT NOT NULL, key INTEGER NOT NULL,
    PRIMARY KEY (gram, key)) WITHOUT ROWID;
CREATE TABLE alias_words (word TEXT NOT NULL, entity INTEGER NOT NULL,
    PRIMARY KEY (word, entity)) WITHOUT ROWID;
"""
# Made after the rows are in: faster to build, and the file is the same either way.
INDEXES = """
CREATE INDEX passages_doc ON passages (doc, pos);
CREATE INDEX entities_label ON entities (label, pos);
CREATE INDEX alias_keys_length ON alias_keys (length);
"""


class _Row(msgspec.Struct, array_like=True):
    """One passage's annotation, its analysed words and its resolved mentions."""

    entities: list[tuple[int, int, str]]
    sentences: list[tuple[int, int]]
    noun_chunks: list[tuple[int, int]]
    tokens: list[Token]
    words: Words
    mentions: list[tuple[int, int, str]]


class _Link(msgspec.Struct, array_like=True):
    """One value link (``kb.links.ValueLink``), its value's entity spelled out."""

    text: str
    label: str
    start: int
    end: int
    mention: tuple[int, int]
    subject: tuple[int, int]
    relation: tuple[int, int]


class _Sheet(msgspec.Struct, array_like=True):
    aliases: list[str]
    roles: list[tuple[str, str | None, int]]
    related: list[tuple[str, int]]


_row_decoder = msgspec.msgpack.Decoder(_Row)
_sheet_decoder = msgspec.msgpack.Decoder(_Sheet)
_links_decoder = msgspec.msgpack.Decoder(list[_Link])
_encoder = msgspec.msgpack.Encoder()


@dataclass(frozen=True)
class StoreParams:
    """Rows a serving process keeps decoded; bounded, so memory does not grow with the
    corpus, only with these numbers."""

    passages_cached: int = 8192  # a passage's id, document and text
    annotations_cached: int = 512  # its decoded parse, words and mentions (~50 kB each)
    documents_cached: int = 256
    entities_cached: int = 4096
    value_links_cached: int = 32768  # passages whose value links the facts keep (small)
    mention_batch: int = 256  # mentions read at a time while a caller iterates them
    places_cached: int = 1024  # entities whose first documents and passages are kept


def alias_words(aliases: list[str]) -> set[str]:
    """What a prefix search matches: each alias and each of its words, lower-cased."""
    return {a.lower() for a in aliases} | {w.lower() for a in aliases for w in a.split()}


def grams(key: str) -> set[str]:
    """Distinct character bigrams: the candidates of a fuzzy alias look-up share them."""
    return {key[i:i + 2] for i in range(len(key) - 1)}


def write(path: Path, store: PassageStore, table: EntityTable, analyzer: Analyzer,
          links: Callable[[int], list[ValueLink]], links_key: str) -> None:
    """Write ``store`` and ``table`` (either kind) to a new SQLite file at ``path``, with
    each passage's value ``links`` (made as ``links_key`` names)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=4096;")
        db.executescript(SCHEMA)
        db.execute("BEGIN")
        db.execute("INSERT INTO meta VALUES ('links', ?)", (links_key,))
        doc_pos = {}
        for pos, d in enumerate(store.documents.values()):
            doc_pos[d.id] = pos
            db.execute("INSERT INTO documents VALUES (?,?,?,?,?,?,?,?)",
                       (pos, d.id, d.title, d.text, d.path, d.sha256, d.body_start,
                        json.dumps(d.metadata, ensure_ascii=False)))
        for pos in range(len(store)):
            p, a = store.passage(pos), store.annotation(pos)
            row = _Row([(e.start, e.end, e.label) for e in a.entities],
                       [tuple(s) for s in a.sentences], [tuple(c) for c in a.noun_chunks],
                       list(a.tokens), analyzer.spans(p.text, p.start), table.mentions_in(pos))
            stated = [_Link(k.value.text, k.value.label, k.value.start, k.value.end,
                            k.mention, k.subject, k.relation) for k in links(pos)]
            db.execute("INSERT INTO passages VALUES (?,?,?,?,?,?,?,?)",
                       (pos, p.id, doc_pos[p.doc_id], p.n, p.start, p.end,
                        _encoder.encode(row), _encoder.encode(stated)))
        keys: dict[str, list[int]] = {}
        for pos, e in enumerate(table.entities):
            sheet = _Sheet(list(e.aliases), [(r.role, r.affiliation, r.passage) for r in e.roles],
                           [tuple(r) for r in e.related])
            db.execute("INSERT INTO entities VALUES (?,?,?,?,?,?)",
                       (pos, e.id, e.name, e.label, len(e.mentions), _encoder.encode(sheet)))
            db.executemany("INSERT INTO mentions VALUES (?,?,?,?,?,?)",
                           ((pos, n, m.passage, m.start, m.end, m.label)
                            for n, m in enumerate(e.mentions)))
            for alias in e.aliases:
                keys.setdefault(alias.lower(), []).append(pos)
            db.executemany("INSERT OR IGNORE INTO alias_words VALUES (?,?)",
                           ((w, pos) for w in alias_words(e.aliases)))
        for n, (key, owners) in enumerate(keys.items()):
            db.execute("INSERT INTO alias_keys VALUES (?,?,?,?)",
                       (n, key, len(key), json.dumps(owners)))
            db.executemany("INSERT INTO alias_grams VALUES (?,?)", ((g, n) for g in grams(key)))
        db.execute("COMMIT")
        db.executescript(INDEXES)
        db.execute("ANALYZE")
    finally:
        db.close()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def documents_column(path: Path, column: Literal["sha256", "path"]) -> dict[str, str]:
    """Document id -> its content hash (for an incremental build to compare against) or
    the corpus path it was read from (``a.jsonl:3`` for a JSONL line)."""
    if column not in ("sha256", "path") or not path.is_file():
        return {}
    return dict(_Database(path).query(f"SELECT id, {column} FROM documents"))


class _Database:
    """Read-only connections to one file: one per thread and process (a connection must
    not cross a fork, and the app's threads each get their own)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self.query("SELECT 1 FROM documents LIMIT 1")  # fails now if the file is no database

    def connection(self) -> sqlite3.Connection:
        held = getattr(self._local, "held", None)
        if held is None or held[0] != os.getpid():
            uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
            held = self._local.held = (os.getpid(), sqlite3.connect(uri, uri=True))
        return held[1]

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self.connection().execute(sql, args).fetchall()

    def one(self, sql: str, args: tuple = ()) -> tuple | None:
        return self.connection().execute(sql, args).fetchone()


class _Documents(Mapping[str, Document]):
    """Document id -> document, read when asked for."""

    def __init__(self, db: _Database, cached: int) -> None:
        self._db = db
        self._count = db.one("SELECT COUNT(*) FROM documents")[0]
        self.at = functools.lru_cache(maxsize=cached)(self._at)

    def _at(self, pos: int) -> Document:
        row = self._db.one("SELECT id, title, text, path, sha256, body_start, metadata "
                           "FROM documents WHERE pos = ?", (pos,))
        if row is None:
            raise KeyError(pos)
        return Document(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]))

    def pos(self, doc_id: str) -> int | None:
        row = self._db.one("SELECT pos FROM documents WHERE id = ?", (doc_id,))
        return None if row is None else row[0]

    def __getitem__(self, doc_id: str) -> Document:
        pos = self.pos(doc_id) if isinstance(doc_id, str) else None
        if pos is None:
            raise KeyError(doc_id)
        return self.at(pos)

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self.pos(doc_id) is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[str]:
        return (row[0] for row in self._db.query("SELECT id FROM documents ORDER BY pos"))

    def page(self, offset: int, limit: int) -> list[Document]:
        return [self.at(pos) for pos in range(offset, min(offset + limit, self._count))]


class DiskPassageStore(PassageStore):
    """``PassageStore`` over ``store.sqlite``: one indexed read per passage or document."""

    def __init__(self, db: _Database, params: StoreParams) -> None:
        self._db = db
        self.documents = _Documents(db, params.documents_cached)
        self._count = db.one("SELECT COUNT(*) FROM passages")[0]
        # Two caches: a passage's place is cheap and asked for often (a fact sheet reads
        # the document of each mention), its decoded annotation is not.
        self._place = functools.lru_cache(maxsize=params.passages_cached)(self._read_place)
        self._data = functools.lru_cache(maxsize=params.annotations_cached)(self._read_data)

    def _read_place(self, pos: int) -> tuple[Passage, int]:
        found = self._db.one('SELECT id, doc, n, start, "end" FROM passages WHERE pos = ?',
                             (int(pos),))
        if found is None:
            raise IndexError(f"no passage at position {pos}")
        pid, doc, n, start, end = found
        document = self.documents.at(doc)
        return Passage(pid, document.id, n, start, end, document.text[start:end]), doc

    def _read_data(self, pos: int) -> tuple[Annotation, _Row]:
        found = self._db.one("SELECT data FROM passages WHERE pos = ?", (int(pos),))
        if found is None:
            raise IndexError(f"no passage at position {pos}")
        row = _row_decoder.decode(found[0])
        passage = self.passage(pos)
        text = self.text_of(pos)
        annotation = Annotation(passage.id, [Entity(text[s:e], label, s, e)
                                             for s, e, label in row.entities],
                                row.sentences, row.noun_chunks, row.tokens)
        return annotation, row

    def __len__(self) -> int:
        return self._count

    @property
    def passages(self) -> Sequence[Passage]:
        return _Lazy(self._count, self.passage)

    @property
    def annotations(self) -> Sequence[Annotation]:
        return _Lazy(self._count, self.annotation)

    def passage(self, pos: int) -> Passage:
        return self._place(pos)[0]

    def annotation(self, pos: int) -> Annotation:
        return self._data(pos)[0]

    def words(self, pos: int) -> Words:
        """(start, end, term) of every word, analysed when the index was built."""
        return self._data(pos)[1].words

    def mentions_in(self, pos: int) -> list[tuple[int, int, str]]:
        return self._data(pos)[1].mentions

    def document_of(self, pos: int) -> Document:
        return self.documents.at(self._place(pos)[1])

    def text_of(self, pos: int) -> str:
        return self.document_of(pos).text

    def position(self, passage_id: str) -> int | None:
        row = self._db.one("SELECT pos FROM passages WHERE id = ?", (passage_id,))
        return None if row is None else row[0]

    def passages_of(self, doc_id: str) -> list[int]:
        doc = self.documents.pos(doc_id)
        if doc is None:
            return []
        return [r[0] for r in self._db.query("SELECT pos FROM passages WHERE doc = ? "
                                             "ORDER BY pos", (doc,))]

    def document_page(self, offset: int, limit: int) -> list[Document]:
        return self.documents.page(offset, limit)

    def texts(self) -> Iterator[str]:
        return (self.passage(pos).text for pos in range(self._count))


class _Lazy(Sequence):
    """A read-only sequence whose items are fetched by position when asked for."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    def __init__(self, count: int, get) -> None:
        self._count, self._get = count, get

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._get(j) for j in range(*i.indices(self._count))]
        if not -self._count <= i < self._count:
            raise IndexError(i)
        return self._get(i % self._count)


class _Mentions(Sequence):
    """An entity's mentions in corpus order, read in batches as a caller iterates: a
    fact sheet that needs the first few never reads the thousands after them."""

    def __init__(self, db: _Database, entity: int, count: int, batch: int) -> None:
        self._db, self._entity, self._count, self._batch = db, entity, count, batch

    def __len__(self) -> int:
        return self._count

    def _range(self, lo: int, hi: int) -> list[Mention]:
        return [Mention(*r) for r in self._db.query(
            'SELECT passage, start, "end", label FROM mentions WHERE entity = ? '
            "AND n >= ? AND n < ? ORDER BY n", (self._entity, lo, hi))]

    def __iter__(self) -> Iterator[Mention]:
        for lo in range(0, self._count, self._batch):
            yield from self._range(lo, lo + self._batch)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(self)[i]
        if not -self._count <= i < self._count:
            raise IndexError(i)
        i %= self._count
        return self._range(i, i + 1)[0]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)


class _Bounded(OrderedDict):
    """A dict that forgets its least recently stored entries beyond ``size``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        if len(self) > self.size:
            self.popitem(last=False)


class _Memo(dict):
    """``EntityTable.value_links`` with each parameter set's per-passage memo bounded, so
    a long-running worker's facts cache does not grow with the passages it has seen."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = _Bounded(self.size)
        return self[key]


class _ById(Mapping[str, CanonicalEntity]):
    def __init__(self, table: DiskEntityTable) -> None:
        self._table = table

    def __getitem__(self, entity_id: str) -> CanonicalEntity:
        found = self._table.get(entity_id)
        if found is None:
            raise KeyError(entity_id)
        return found

    def __contains__(self, entity_id: object) -> bool:
        return isinstance(entity_id, str) and self._table.get(entity_id) is not None

    def __len__(self) -> int:
        return len(self._table)

    def __iter__(self) -> Iterator[str]:
        return (e.id for e in self._table.entities)


class DiskEntityTable(EntityTable):
    """``EntityTable`` over ``store.sqlite``: names are looked up through indexes (exact
    alias, alias words by prefix, fuzzy candidates by shared bigrams), never by a scan."""

    def __init__(self, db: _Database, store: DiskPassageStore,
                 params: StoreParams) -> None:
        self._db, self._store, self._params = db, store, params
        self._count = db.one("SELECT COUNT(*) FROM entities")[0]
        self.labels = {r[0] for r in db.query("SELECT DISTINCT label FROM entities")}
        self.by_id = _ById(self)
        self._at_pos = functools.lru_cache(maxsize=params.entities_cached)(self._read)
        self._pos_of = functools.lru_cache(maxsize=params.entities_cached)(self._find)
        self._places = functools.lru_cache(maxsize=params.places_cached)(self._read_places)
        self.value_links = _Memo(params.value_links_cached)
        self._links_key = db.one("SELECT value FROM meta WHERE name = 'links'")[0]

    def stored_links(self, pos: int, key: str) -> list[ValueLink] | None:
        if key != self._links_key:
            return None
        found = self._db.one("SELECT links FROM passages WHERE pos = ?", (int(pos),))
        if found is None:
            raise IndexError(f"no passage at position {pos}")
        return [ValueLink(Entity(k.text, k.label, k.start, k.end), k.mention, k.subject,
                          k.relation) for k in _links_decoder.decode(found[0])]

    def _read(self, pos: int) -> CanonicalEntity:
        found = self._db.one("SELECT id, name, label, mentions, sheet FROM entities "
                             "WHERE pos = ?", (pos,))
        if found is None:
            raise IndexError(f"no entity at position {pos}")
        eid, name, label, count, data = found
        sheet = _sheet_decoder.decode(data)
        return CanonicalEntity(
            id=eid, name=name, label=label, aliases=sheet.aliases,
            mentions=_Mentions(self._db, pos, count, self._params.mention_batch),
            roles=[Role(*r) for r in sheet.roles], related=sheet.related)

    @property
    def entities(self) -> Sequence[CanonicalEntity]:
        return _Lazy(self._count, self._at_pos)

    def __len__(self) -> int:
        return self._count

    def _find(self, entity_id: str) -> int | None:
        row = self._db.one("SELECT pos FROM entities WHERE id = ?", (entity_id,))
        return None if row is None else row[0]

    def get(self, entity_id: str) -> CanonicalEntity | None:
        pos = self._pos_of(entity_id)
        return None if pos is None else self._at_pos(pos)

    def mentions_in(self, pos: int) -> list[tuple[int, int, str]]:
        return self._store.mentions_in(pos)

    def mention_places(self, entity: CanonicalEntity, store: PassageStore,
                       limit: int | None) -> tuple[list[str], list[int]]:
        """As ``EntityTable.mention_places``, but one joined read that stops at ``limit``
        (an entity of a million mentions lists its first places as fast as one of ten),
        kept per entity: every question about it lists the same ones."""
        read = self._places if limit else self._read_places  # all of them: not kept
        documents, passages = read(entity.id, limit)
        return list(documents), list(passages)

    def mention_starts(self, entity: CanonicalEntity) -> Iterator[tuple[int, int]]:
        """As ``EntityTable.mention_starts``, read straight from one cursor that stops
        when the caller does: a fact sheet reads up to hundreds of mentions per entity
        and needs only where each is, not a ``Mention`` built for it."""
        rows = self._db.connection().execute(
            "SELECT passage, start FROM mentions WHERE entity = ? ORDER BY n",
            (self._pos_of(entity.id),))
        try:
            yield from rows
        finally:
            rows.close()

    def _read_places(self, entity_id: str, limit: int | None
                     ) -> tuple[tuple[str, ...], tuple[int, ...]]:
        rows = self._db.connection().execute(
            "SELECT m.passage, d.id FROM mentions m JOIN passages p ON p.pos = m.passage "
            "JOIN documents d ON d.pos = p.doc WHERE m.entity = ? ORDER BY m.n",
            (self._pos_of(entity_id),))
        try:
            documents, passages = first_places(rows, limit)
        finally:
            rows.close()
        return tuple(documents), tuple(passages)

    def _owners(self, key: str) -> list[CanonicalEntity]:
        row = self._db.one("SELECT entities FROM alias_keys WHERE key = ?", (key,))
        return [] if row is None else [self._at_pos(p) for p in json.loads(row[0])]

    def lookup(self, text: str, similarity: float) -> CanonicalEntity | None:
        surface = name_surface(text)
        key = surface.lower()
        owners = self._owners(key)
        if not owners and len(surface) >= 5:
            match = process.extractOne(key, self._fuzzy_candidates(key, similarity),
                                       scorer=fuzz.ratio, score_cutoff=similarity)
            owners = self._owners(match[0]) if match else []
        return matching_entity(owners)

    def _fuzzy_candidates(self, key: str, similarity: float) -> list[str]:
        """Every alias key that could score ``similarity`` against ``key``, in build order
        (extractOne's tie-break). fuzz.ratio is the Indel similarity, so a key's length
        is within [l c/(200-c), l (200-c)/c], at most d = (1-c/100)(l+hi) edits apart,
        and each edit removes at most two of ``key``'s distinct bigrams: a candidate
        shares at least |bigrams| - 2d of them."""
        c = similarity / 100
        length = len(key)
        lo, hi = int(length * c / (2 - c)), int(length * (2 - c) / c) + 1
        edits = int((1 - c) * (length + hi)) + 1
        own = grams(key)
        need = len(own) - 2 * edits
        if need <= 0:
            rows = self._db.query("SELECT key FROM alias_keys WHERE length BETWEEN ? AND ? "
                                  "ORDER BY n", (lo, hi))
        else:
            marks = ",".join("?" * len(own))
            rows = self._db.query(
                f"SELECT k.key FROM alias_grams g JOIN alias_keys k ON k.n = g.key "
                f"WHERE g.gram IN ({marks}) AND k.length BETWEEN ? AND ? "
                f"GROUP BY k.n HAVING COUNT(*) >= ? ORDER BY k.n", (*own, lo, hi, need))
        return [r[0] for r in rows]

    def search(self, prefix: str = "", label: str | None = None,
               limit: int = 50) -> list[CanonicalEntity]:
        prefix = prefix.lower().strip()
        where, args = ([], [])
        if label:
            where.append("e.label = ?")
            args.append(label)
        if prefix:
            rows = self._db.query(
                "SELECT DISTINCT w.entity FROM alias_words w JOIN entities e ON e.pos = w.entity "
                f"WHERE w.word >= ? AND w.word < ? {'AND ' + where[0] if where else ''} "
                "ORDER BY w.entity LIMIT ?", (prefix, prefix + "\U0010ffff", *args, limit))
        else:
            rows = self._db.query(
                f"SELECT e.pos FROM entities e {'WHERE ' + where[0] if where else ''} "
                "ORDER BY e.pos LIMIT ?", (*args, limit))
        return [self._at_pos(r[0]) for r in rows]


def open_store(path: Path, params: StoreParams | None = None
               ) -> tuple[DiskPassageStore, DiskEntityTable]:
    """The passage store and entity table of one ``store.sqlite``, nothing read yet."""
    params = params or StoreParams()
    db = _Database(path)
    store = DiskPassageStore(db, params)
    return store, DiskEntityTable(db, store, params)
