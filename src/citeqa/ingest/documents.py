"""Read the corpus folder into documents, skipping bad files with a reason."""

from __future__ import annotations

import datetime as dt
import filecmp
import functools
import hashlib
import json
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

MAX_FILE_BYTES = 20 * 1024 * 1024
# Letters and digits of any script are kept ("новости/путь"); any other run becomes "-".
_ID_UNSAFE = re.compile(r"[^\w./-]+")
# Half of a UTF-16 pair on its own: JSON ("\\ud800") and YAML escapes can produce one, and
# it cannot be encoded, stored or sent; such text is refused with a reason.
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    # The title line, a newline, then the body: offsets of passages and answers index this.
    text: str
    path: str
    # Hash of what this document contributes (title, text, metadata): the cache key part.
    sha256: str
    body_start: int = 0
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


class BadDocument(ValueError):
    """A file that cannot become a document; the message is the reason shown to maintainers."""


METADATA_KEYS = ("date", "source", "language")
# Fewer words than this is navigation or an error page, not an article.
MIN_HTML_WORDS = 5
MAX_ID_CHARS = 200


def doc_id_for(relative: Path) -> str:
    """A stable id from the path below the corpus root: ``news/a b.txt`` -> ``news/a-b``."""
    stem = relative.with_suffix("").as_posix()
    return _clean_id(stem)


def _clean_id(raw: str) -> str:
    """NFC first, so a name typed on one system and saved decomposed on another (macOS)
    is one id."""
    return _ID_UNSAFE.sub("-", unicodedata.normalize("NFC", raw)).strip("-") or "document"


def unsafe_id(doc_id: str) -> str | None:
    """Why ``doc_id`` cannot name a document, or None. Ids become URL paths
    (``/documents/<id>``, ``/read/<id>``): each ``/``-separated part must be a plain name,
    never empty, ``.``, ``..`` or hidden, and the whole at most ``MAX_ID_CHARS`` long."""
    if len(doc_id) > MAX_ID_CHARS:
        return f"longer than {MAX_ID_CHARS} characters"
    for part in doc_id.split("/"):
        if not part or part.startswith("."):
            return f"the path segment {part!r} is not a plain name"
    return None


def decode_text(data: bytes) -> str:
    if not data.strip():
        raise BadDocument("empty file")
    if b"\x00" in data:
        raise BadDocument("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadDocument(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def invalid_unicode(text: str) -> str | None:
    """Why ``text`` is not valid Unicode text (a lone surrogate), or None when it is."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return f"a lone surrogate U+{ord(found.group()):04X} at character {found.start()}"


def make_document(doc_id: str, title: object, body: str, path: str,
                  metadata: dict[str, object] | None = None) -> Document:
    """Normalise one document: title line + body, metadata reduced to known string keys."""
    title = _text_field("title", title)
    given = {k: _text_field(k, v) for k, v in (metadata or {}).items()
             if k in METADATA_KEYS and v}
    fields = {"id": doc_id, "title": title, "text": body, **given}
    for name, value in fields.items():
        why = invalid_unicode(value)
        if why:
            raise BadDocument(f"invalid Unicode in {name!r}: {why}")
    why = unsafe_id(doc_id)
    if why:
        raise BadDocument(f"unsafe document id {doc_id[:MAX_ID_CHARS]!r}: {why}")
    title = " ".join(title.split())
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not body.strip():
        raise BadDocument("no body text")
    if not title:
        first = body.strip().split("\n", 1)[0]
        title = first if len(first) <= 200 else first[:200].rsplit(" ", 1)[0] + "\u2026"
    meta = {k: v for k, v in given.items() if v}
    if "date" in meta:
        meta["date"] = metadata_date(meta["date"])
    text = title + "\n" + body
    digest = hashlib.sha256(json.dumps([doc_id, text, meta], sort_keys=True).encode())
    return Document(id=doc_id, title=title, text=text, path=path, sha256=digest.hexdigest(),
                    body_start=len(title), metadata=meta)


def _text_field(name: str, value: object) -> str:
    """A title or metadata value as text: a string or a number, never a list or a
    mapping, whose Python spelling would be served."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        kind = {list: "a list", dict: "a mapping", bool: "true/false"}.get(type(value),
                                                                          type(value).__name__)
        raise BadDocument(f"{name!r} must be text, not {kind}")
    return str(value)


_ISO_SHAPED = re.compile(r"\d{4}-?\d{2}-?\d{2}(?:[T ].*)?")


def metadata_date(text: str) -> str:
    """A document's date as ISO 8601: ``2022-03-02``, ``2022-03``, ``2022`` or a full
    timestamp when one is given. Written dates ("2 March 2022") are read by ``dateparser``
    (a slashed date is month first); one that names no year, is relative ("yesterday"),
    does not exist ("2022-02-30") or is no date at all makes the file a bad document, so
    every served date is one the facts stage can resolve relative dates against."""
    text = " ".join(text.split())
    if _ISO_SHAPED.fullmatch(text):
        try:
            when = (dt.datetime.fromisoformat(text) if len(text) > 10
                    else dt.date.fromisoformat(text))
            return when.isoformat()
        except ValueError as exc:
            raise BadDocument(f"the date {text[:40]!r} is not a real date ({exc})") from None
    data = _date_parser().get_date_data(text)
    if data.date_obj is None:
        raise BadDocument(f"the date {text[:40]!r} cannot be read as a date (write it as "
                          f"YYYY-MM-DD)")
    if not re.search(r"\b\d{4}\b", text):  # dateparser reads "20 April" as April 2020
        raise BadDocument(f"the date {text[:40]!r} has no four-digit year (write it as "
                          f"YYYY-MM-DD)")
    when = data.date_obj
    return {"year": f"{when.year:04d}", "month": f"{when.year:04d}-{when.month:02d}"}.get(
        data.period or "day", when.date().isoformat())


@functools.cache
def _date_parser():
    """One parser of absolute written dates for every document (building one costs more
    than reading a date)."""
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings={
        "PARSERS": ["custom-formats", "absolute-time"], "REQUIRE_PARTS": ["year"],
        "PREFER_DAY_OF_MONTH": "first"})


def parse_txt(relative: Path, data: bytes) -> list[Document]:
    """First line is the title, the rest is the body."""
    text = decode_text(data).strip("\n")
    title, _, body = text.lstrip().partition("\n")
    if not body.strip():
        raise BadDocument("no body text after the title line")
    return [make_document(doc_id_for(relative), title, body, relative.as_posix())]


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
# "---" then a "key:" line, and no closing line: front matter whose end was forgotten (a
# Markdown rule "---" at the top is followed by text, not a key).
_UNCLOSED_FRONT_MATTER = re.compile(r"\A---[ \t]*\n[\w-]+[ \t]*:")
_MD_LEADING_RULES = re.compile(r"\A(?:[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*\n|[ \t]*\n)+")
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.M)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3}|`+)(\S.*?\S|\S)\1")


def _front_matter(source: str) -> object:
    """YAML front matter, safely and without aliases: a few hundred bytes of nested
    aliases expand to megabytes ("billion laughs"), and metadata never needs them."""
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """Dates stay text: ``metadata_date`` reads them, and "2099-13-45" is then a bad
        date rather than a YAML error."""

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in front matter", mark)
            return super().compose_node(parent, index)

    NoAliasLoader.add_constructor("tag:yaml.org,2002:timestamp",
                                  yaml.SafeLoader.construct_yaml_str)
    return yaml.load(source, Loader=NoAliasLoader)  # a SafeLoader: no Python objects


def parse_md(relative: Path, data: bytes) -> list[Document]:
    """Markdown with optional YAML front matter (title, date, source/url, language)."""
    import yaml

    text = decode_text(data)
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            meta = _front_matter(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise BadDocument(f"invalid YAML front matter: {str(exc).splitlines()[0]}") from None
        if not isinstance(meta, dict):
            raise BadDocument("YAML front matter is not a mapping")
        text = text[match.end():]
    elif _UNCLOSED_FRONT_MATTER.match(text):
        raise BadDocument("the YAML front matter opened by '---' is never closed (end it "
                          "with a line '---')")
    body = _MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1", _MD_HEADING.sub("", text)))
    body = _MD_LEADING_RULES.sub("", body)  # a rule above the title is not the title
    title = meta.get("title")
    if not title:
        title, _, body = body.strip().partition("\n")
    meta.setdefault("source", meta.get("url"))
    return [make_document(doc_id_for(relative), title, body, relative.as_posix(), meta)]


def parse_html(relative: Path, data: bytes) -> list[Document]:
    """The main article text (boilerplate dropped) and its metadata, via trafilatura."""
    import trafilatura

    text = decode_text(data)
    extracted = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                            include_tables=False, favor_precision=True)
    if extracted is None or len((extracted.text or "").split()) < MIN_HTML_WORDS:
        raise BadDocument("no article text found in the HTML")
    body = extracted.text
    title = extracted.title or ""
    if title and body.startswith(title):
        body = body[len(title):]
    return [make_document(doc_id_for(relative), title, body, relative.as_posix(),
                          {"date": extracted.date, "source": extracted.url,
                           "language": extracted.language})]


def parse_jsonl(relative: Path, data: bytes) -> list[Document]:
    """One JSON object per line: id, title, text, and optional date/source/url/language.

    A bad line is reported with its number; the file's other lines still count.
    """
    docs, errors = [], []
    for number, line in enumerate(decode_text(data).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise BadDocument("not a JSON object")
            if not isinstance(row.get("text"), str) or not row["text"].strip():
                raise BadDocument("no 'text'")
            raw_id = row.get("id")
            if raw_id is None or str(raw_id).strip() == "":
                raise BadDocument("no 'id'")
            row.setdefault("source", row.get("url"))
            docs.append(make_document(_clean_id(str(raw_id)), row.get("title") or "",
                                      row["text"], f"{relative.as_posix()}:{number}", row))
        except (ValueError, BadDocument) as exc:
            reason = "invalid JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
            errors.append(f"line {number}: {reason}")
    if errors and not docs:
        raise BadDocument("; ".join(errors[:5]))
    if errors:
        raise PartialDocument(docs, "; ".join(errors[:5]))
    return docs


def parse_pdf(relative: Path, data: bytes) -> list[Document]:
    """The PDF's text layer via pypdf; a scanned PDF without one is skipped."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise BadDocument(f"unreadable PDF ({exc})") from None
    body = "\n".join(" ".join(p.split()) for p in pages if p.strip())
    if not body.strip():
        raise BadDocument("PDF has no text layer (a scan?)")
    return [make_document(doc_id_for(relative), title, body, relative.as_posix())]


class PartialDocument(BadDocument):
    """Some documents of a multi-document file were read, some lines were not."""

    def __init__(self, documents: list[Document], reason: str) -> None:
        super().__init__(reason)
        self.documents = documents


Parser = Callable[[Path, bytes], list[Document]]
PARSERS: dict[str, Parser] = {".txt": parse_txt, ".md": parse_md, ".markdown": parse_md,
                              ".html": parse_html, ".htm": parse_html, ".jsonl": parse_jsonl,
                              ".pdf": parse_pdf}


def scan_corpus(root: Path) -> tuple[list[Path], list[Skipped]]:
    """Files below ``root`` (hidden ones excluded), sorted so ids and order are stable, and
    the symbolic links left out.

    A link is followed only when it names a regular file inside the corpus: one pointing
    out of it (``passwd.txt -> /etc/passwd``) would publish that file through
    ``/documents``. Links to folders are never descended into.
    """
    files: list[Path] = []
    links: list[Skipped] = []
    real_root = root.resolve()
    for folder, dirs, names in os.walk(root):  # does not follow linked folders
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in [*(d for d in dirs if (base / d).is_symlink()), *names]:
            path = base / name
            relative = path.relative_to(root)
            if name.startswith("."):
                continue
            if not path.is_symlink():
                if path.is_file():
                    files.append(relative)
                continue
            target = path.resolve()
            if not target.is_relative_to(real_root):
                links.append(Skipped(relative.as_posix(),
                                     "a symbolic link to outside the corpus (not followed)"))
            elif not target.is_file():
                links.append(Skipped(relative.as_posix(),
                                     "a symbolic link to a folder or nothing (not followed)"))
            else:
                files.append(relative)
    return sorted(files), sorted(links, key=lambda s: s.path)


def corpus_files(root: Path) -> list[Path]:
    """The files of the corpus that are read (see ``scan_corpus``)."""
    return scan_corpus(root)[0]


def read_document_file(path: Path, relative: Path, max_bytes: int | None = None
                       ) -> tuple[list[Document], Skipped | None]:
    """The documents of one file, and why it (or part of it) was skipped. ``relative`` is
    its path below the corpus root, which names its documents."""
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    name = relative.as_posix()
    parser = PARSERS.get(relative.suffix.lower())
    if parser is None:
        return [], Skipped(name, f"unsupported file type {relative.suffix or '(none)'!r}")
    try:
        if path.stat().st_size > max_bytes:
            raise BadDocument(f"larger than {max_bytes // (1024 * 1024)} MiB")
        return parser(relative, path.read_bytes()), None
    except PartialDocument as exc:
        return exc.documents, Skipped(name, str(exc))
    except BadDocument as exc:
        return [], Skipped(name, str(exc))
    except OSError as exc:
        return [], Skipped(name, f"unreadable: {exc.strerror or exc}")
    except Exception as exc:  # a parsing library's failure on one file must not stop a build
        return [], Skipped(name, f"could not be parsed ({type(exc).__name__}: {exc})")


def load_corpus(root: Path, max_bytes: int | None = None,
                incumbents: Mapping[str, str] | None = None
                ) -> tuple[list[Document], list[Skipped]]:
    """Every document below ``root``; files over ``max_bytes`` are skipped unread.

    Two documents with one id, or with the same title and text under two names: the one
    read from the path ``incumbents`` (id -> path in the live index) names is kept, so a
    file added later never replaces an indexed document by sorting first; otherwise the
    first in path order is.
    """
    incumbents = incumbents or {}
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder {root} does not exist")
    documents: dict[str, Document] = {}
    texts: dict[str, Document] = {}  # hash of title and text -> the document kept
    files, skipped = scan_corpus(root)
    for relative in files:
        parsed, problem = read_document_file(root / relative, relative, max_bytes)
        if problem:
            skipped.append(problem)
        for doc in parsed:
            key = _text_key(doc)
            same_id, same_text = documents.get(doc.id), texts.get(key)
            held = same_id or same_text
            if held is None:
                documents[doc.id] = texts[key] = doc
                continue
            winner, loser = held, doc
            if incumbents.get(doc.id) == doc.path != held.path:
                winner, loser = doc, held  # the indexed one keeps its place
                del documents[held.id], texts[_text_key(held)]
                documents[doc.id] = texts[key] = doc
            why = (f"duplicate document id {doc.id!r} (already used by {winner.path})"
                   if same_id else f"the same title and text as {winner.path}")
            skipped.append(Skipped(loser.path, why))
    return list(documents.values()), skipped


def _text_key(doc: Document) -> str:
    return hashlib.sha256(doc.text.encode()).hexdigest()


def _file_key(path: Path, max_bytes: int) -> str:
    """The content hash of a file that can be indexed, read in blocks; size and mtime of
    one that cannot (unsupported or over the cap), which is never read."""
    try:
        stat = path.stat()
        if path.suffix.lower() not in PARSERS or stat.st_size > max_bytes:
            return f"size={stat.st_size} mtime={stat.st_mtime_ns}"
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return "unreadable"


def corpus_fingerprint(root: Path, max_bytes: int | None = None) -> str:
    """Changes whenever a file below ``root`` is added, removed, renamed or edited."""
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    digest = hashlib.sha256()
    if root.is_dir():
        for relative in corpus_files(root):
            digest.update(f"{relative.as_posix()}\0{_file_key(root / relative, max_bytes)}\n"
                          .encode())
    return digest.hexdigest()[:16]


def _copies(path: Path, root: Path) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """(source file, corpus file) pairs to copy ``path`` into ``root``, and the hidden
    files and folders inside it, which are left out; refuses links.

    A link's target could be any file of this machine (``shadow.txt -> /etc/shadow``), and
    a link already in the corpus would make the copy write outside it; neither is followed.
    """
    def refuse_link(link: Path, where: str) -> None:
        raise OSError(f"{link} is a symbolic link{where} (to {os.readlink(link)}): citeqa "
                      f"add copies no links; copy the file itself if you mean it")

    if path.is_symlink():
        refuse_link(path, "")
    pairs, hidden = [], []
    if path.is_dir():
        for folder, dirs, names in os.walk(path):
            base = Path(folder)
            for name in [*dirs, *names]:
                if (base / name).is_symlink():
                    refuse_link(base / name, f" inside {path}")
            hidden += [base / n for n in sorted([*dirs, *names]) if n.startswith(".")]
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            pairs += [(base / n, root / path.name / (base / n).relative_to(path))
                      for n in sorted(names) if not n.startswith(".")]
    else:
        pairs.append((path, root / path.name))
    for _, target in pairs:
        for inside in (target, *target.parents):
            if inside == root:
                break
            if inside.is_symlink():
                raise OSError(f"{inside} in the corpus is a symbolic link: remove it "
                              f"before adding {path}")
    return pairs, hidden


class Added(NamedTuple):
    """What ``add_to_corpus`` did: (given path, its place in the corpus) of each copy, and
    the hidden files inside given folders, which were not copied (no build reads them)."""

    copied: list[tuple[Path, Path]]
    hidden: list[Path]
    same: list[Path]  # given paths whose every file was already in the corpus, unchanged


def add_to_corpus(paths: list[Path], root: Path, replace: bool = False,
                  max_bytes: int | None = None) -> Added:
    """Copy files or folders into the corpus folder.

    Every path is checked before anything is copied, so a typo, a link, a hidden file, a
    file no build could index (empty, not UTF-8, an unsupported type ...) or (unless
    ``replace``) a different file already in the corpus under the same name copies nothing.
    """
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(f"{path}: no such file or folder")
        if path.name.startswith("."):
            raise OSError(f"{path} is hidden: the index reads no hidden files or folders; "
                          f"rename it without the leading dot")
    root.mkdir(parents=True, exist_ok=True)
    plans = [(path, _copies(path, root)) for path in paths]
    pairs = [(source, target) for _, (copies, _) in plans for source, target in copies]
    unreadable = []
    for source, target in pairs:
        docs, problem = read_document_file(source, target.relative_to(root), max_bytes)
        if problem and not docs:
            unreadable.append(f"{source}: {problem.reason}")
    if unreadable:
        raise BadDocument(f"{len(unreadable)} file(s) cannot be indexed, so nothing was "
                          f"added: " + "; ".join(unreadable[:10])
                          + ("; ..." if len(unreadable) > 10 else ""))
    present = {target: filecmp.cmp(source, target, shallow=False)  # same content?
               for source, target in pairs if target.is_file()}
    if not replace:
        for source, target in pairs:
            if present.get(target) is False:
                raise FileExistsError(f"{target.relative_to(root)} is already in the corpus "
                                      f"with other content: rename {source}, or add it with "
                                      f"--replace to replace the corpus file")
    added, same = [], []
    for path, (copies, _) in plans:
        new = [(source, target) for source, target in copies if not present.get(target)]
        try:
            for source, target in new:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        except OSError as exc:
            raise OSError(f"{path}: could not copy into {root}: {exc.strerror or exc}") from None
        if new or not copies:
            added.append((path, root / path.name))
        else:
            same.append(path)
    return Added(added, [hidden for _, (_, skipped) in plans for hidden in skipped], same)
