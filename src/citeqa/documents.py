"""Stage 1: read the corpus folder into documents, skipping bad files with a reason."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 20 * 1024 * 1024
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._/-]+")


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    text: str
    path: str
    sha256: str
    # Passages are cut from text[body_start:]; the title line is not a passage.
    body_start: int = 0
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


class BadDocument(ValueError):
    """A file that cannot become a document; the message is the reason shown to maintainers."""


def doc_id_for(relative: Path) -> str:
    """A stable id from the path below the corpus root: ``news/a b.txt`` -> ``news/a-b``."""
    stem = relative.with_suffix("").as_posix()
    return _ID_UNSAFE.sub("-", stem).strip("-") or "document"


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


def parse_txt(relative: Path, data: bytes) -> list[Document]:
    """First line is the title, the rest is the body."""
    text = decode_text(data)
    lead = len(text) - len(text.lstrip())
    first_end = text.find("\n", lead)
    first_end = len(text) if first_end == -1 else first_end
    title = text[lead:first_end].strip()
    if not text[first_end:].strip():
        raise BadDocument("no body text after the title line")
    return [Document(id=doc_id_for(relative), title=title, text=text, path=relative.as_posix(),
                     sha256=hashlib.sha256(data).hexdigest(), body_start=first_end)]


Parser = Callable[[Path, bytes], list[Document]]
PARSERS: dict[str, Parser] = {".txt": parse_txt}


def corpus_files(root: Path) -> list[Path]:
    """Files below ``root`` (hidden ones excluded), sorted so ids and order are stable."""
    return sorted(p.relative_to(root) for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".")
                                              for part in p.relative_to(root).parts))


def load_corpus(root: Path) -> tuple[list[Document], list[Skipped]]:
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder {root} does not exist")
    documents: list[Document] = []
    skipped: list[Skipped] = []
    seen: dict[str, str] = {}
    for relative in corpus_files(root):
        parser = PARSERS.get(relative.suffix.lower())
        if parser is None:
            skipped.append(Skipped(relative.as_posix(),
                                   f"unsupported file type {relative.suffix or '(none)'!r}"))
            continue
        path = root / relative
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise BadDocument(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
            parsed = parser(relative, path.read_bytes())
        except BadDocument as exc:
            skipped.append(Skipped(relative.as_posix(), str(exc)))
            continue
        except OSError as exc:
            skipped.append(Skipped(relative.as_posix(), f"unreadable: {exc.strerror or exc}"))
            continue
        for doc in parsed:
            if doc.id in seen:
                skipped.append(Skipped(doc.path, f"duplicate document id {doc.id!r} "
                                                 f"(already used by {seen[doc.id]})"))
                continue
            seen[doc.id] = doc.path
            documents.append(doc)
    return documents, skipped


def corpus_fingerprint(root: Path) -> str:
    """Changes whenever a file below ``root`` is added, removed, renamed or edited."""
    digest = hashlib.sha256()
    if root.is_dir():
        for relative in corpus_files(root):
            try:
                content = hashlib.sha256((root / relative).read_bytes()).hexdigest()
            except OSError:
                content = "unreadable"
            digest.update(f"{relative.as_posix()}\0{content}\n".encode())
    return digest.hexdigest()[:16]
