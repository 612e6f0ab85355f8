"""The ask path, shared by the HTTP API and the CLI: question -> passages -> answer -> facts."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import index as index_store
from .index import Index
from .retrieval import Hit, search


@dataclass
class Response:
    question: str
    passages: list[Hit]
    answer: Any = None
    no_answer_reason: str | None = None
    facts: list[Any] = field(default_factory=list)
    explain: dict[str, Any] | None = None
    took_ms: float = 0.0


def ask(index: Index, question: str, k: int) -> Response:
    started = time.perf_counter()
    hits = search(index, index.analyzer.terms(question), k)
    return Response(question=question, passages=hits,
                    took_ms=round((time.perf_counter() - started) * 1000, 2))


class IndexHolder:
    """The live index of one process, swapped when ``CURRENT`` names a new version.

    Requests take a reference with ``get()`` and keep using it, so a swap never disturbs a
    request in flight; the old index is freed when its last request ends.
    """

    def __init__(self, root: Path, interval: float = 2.0, index: Index | None = None) -> None:
        self.root = Path(root)
        self.interval = interval
        self._index = index
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def get(self) -> Index:
        if self._index is None or time.monotonic() - self._checked >= self.interval:
            self._refresh()
        if self._index is None:
            raise index_store.IndexUnavailable(f"no index in {self.root}: run 'citeqa index'")
        return self._index

    def _refresh(self) -> None:
        if not self._lock.acquire(blocking=self._index is None):
            return  # another thread is already loading; keep serving the current index
        try:
            self._checked = time.monotonic()
            live = index_store.current_version(self.root)
            if live is not None and (self._index is None or live != self._index.version):
                try:
                    self._index = index_store.load(self.root)
                except index_store.IndexUnavailable:
                    if self._index is None:
                        raise
        finally:
            self._lock.release()
