"""Per-document cache of passages and annotations, so a re-index only runs spaCy on what
changed. Keyed by the document's content hash, under a folder named for the spaCy model
and the pipeline version: a new model or pipeline starts an empty cache by construction.
Entries are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import msgspec

from ..ingest.annotate import Annotation, from_record
from ..ingest.documents import Document
from ..ingest.passages import Passage


class AnnotationCache:
    def __init__(self, root: Path, model: dict[str, str], pipeline_version: str) -> None:
        key = re.sub(r"[^A-Za-z0-9._-]+", "-",
                     f"{model['name']}-{model['version']}-p{pipeline_version}")
        self.root = Path(root)
        self.folder = self.root / key
        self.used: set[str] = set()

    def _path(self, doc: Document) -> Path:
        return self.folder / doc.sha256[:2] / f"{doc.sha256}.json"

    def record(self, doc: Document) -> bytes | None:
        """The cached record of ``doc`` (``annotate_documents``), or None."""
        try:
            record = self._path(doc).read_bytes()
        except OSError:
            return None
        self.used.add(doc.sha256)
        return record

    def get(self, doc: Document) -> tuple[list[Passage], list[Annotation]] | None:
        record = self.record(doc)
        if record is None:
            return None
        try:
            return from_record(doc, record)
        except (ValueError, msgspec.DecodeError):
            return None

    def put(self, doc: Document, record: bytes) -> None:
        """Store a record made by ``annotate_documents`` (here or on a cluster worker)."""
        self.used.add(doc.sha256)
        path = self._path(doc)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(record)
        os.replace(tmp, path)

    def prune(self) -> int:
        """Forget entries of documents no longer in the corpus, and other models' caches."""
        removed = 0
        if self.root.is_dir():
            for other in self.root.iterdir():
                if other != self.folder:
                    shutil.rmtree(other, ignore_errors=True)
        if not self.folder.is_dir():
            return 0
        for path in self.folder.glob("*/*"):
            if path.name.startswith(".tmp-") or path.stem not in self.used:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
