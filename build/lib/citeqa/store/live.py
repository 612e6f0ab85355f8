"""The live index of one serving process, swapped when ``CURRENT`` names a new version."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .index import Index, IndexUnavailable, current_version, load


class LiveIndex:
    """Requests take a reference with ``get()`` and keep using it, so a swap never disturbs
    a request in flight; the old index is freed when its last request ends."""

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
            raise IndexUnavailable(f"no index in {self.root}: run 'citeqa index'")
        return self._index

    def _refresh(self) -> None:
        if not self._lock.acquire(blocking=self._index is None):
            return  # another thread is already loading; keep serving the current index
        try:
            self._checked = time.monotonic()
            live = current_version(self.root)
            if live is not None and (self._index is None or live != self._index.version):
                try:
                    self._index = load(self.root)
                except IndexUnavailable:
                    if self._index is None:
                        raise
        finally:
            self._lock.release()
