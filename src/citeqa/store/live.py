"""The live index of one serving process, swapped when ``CURRENT`` names a new version."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from .index import Index, IndexUnavailable, current_version, load

log = logging.getLogger(__name__)


class LiveIndex:
    """Requests take a reference with ``get()`` and keep using it, so a swap never disturbs
    a request in flight; the old index is freed when its last request ends.

    A new version that fails its checks (or ``CURRENT`` itself damaged) is refused: the
    last good version keeps serving, one line is logged per refusal (not per check), the
    served index's ``refused`` names it for ``/health``, and it is not loaded again."""

    def __init__(self, root: Path, interval: float = 2.0, index: Index | None = None) -> None:
        self.root = Path(root)
        self.interval = interval
        self._index = index
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._refused: str | None = None  # the reason last refused, to log it once

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
            try:
                live = current_version(self.root)
                if live is None or (self._index is not None and live == self._index.version):
                    return
                if self._refused is not None and self._refused.startswith(f"{live}: "):
                    return
                self._index = load(self.root)
                self._refused = None
            except Exception as exc:  # a damaged index must never fail the requests
                if self._index is None:
                    raise IndexUnavailable(str(exc)) from None
                self._refuse(str(exc) if isinstance(exc, IndexUnavailable)
                             else f"{type(exc).__name__}: {exc}")
        finally:
            self._lock.release()

    def _refuse(self, reason: str) -> None:
        try:
            newer = current_version(self.root) or "?"
        except IndexUnavailable:
            newer = "CURRENT"
        key = f"{newer}: {reason}"
        if key == self._refused:
            return
        self._refused = key
        log.error("citeqa: refused index %s, still serving %s: %s", newer,
                  self._index.version, reason)
        self._index.refused = {"version": newer, "reason": reason}
