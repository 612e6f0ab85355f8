"""The live index of one serving process, swapped when ``CURRENT`` names a new version."""

from __future__ import annotations

import functools
import gc
import logging
import os
import threading
import time
import weakref
from pathlib import Path

from .index import Index, IndexUnavailable, current_version, load, verify

log = logging.getLogger(__name__)


class LiveIndex:
    """Requests take a reference with ``get()`` and keep using it, so a swap never disturbs
    a request in flight; the old index is freed when its last request ends.

    A new version is opened and its large files' sha256 checked in a background thread
    while the current one keeps serving; only a version that passed is swapped in. One
    that fails (or ``CURRENT`` itself damaged) is refused: the last good version keeps
    serving, one line is logged per refusal (not per check), the served index's
    ``refused`` names it for ``/health``, and it is not loaded again. The first version
    (handed over, or loaded by the first ``get()``) is checked whole before it is served.

    Each process also checks from a background thread (``watch``, started in every forked
    worker and at the first ``get()``), so an idle worker switches too: a build removes the
    versions superseded a while ago (``Retention``), and a worker still holding one would
    fail its next request.
    """

    def __init__(self, root: Path, interval: float = 2.0, index: Index | None = None) -> None:
        if index is not None and index.unverified:
            raise ValueError("serve a version only once all its files were checked")
        self.root = Path(root)
        self.interval = interval
        self._index = index
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._deciding = threading.Lock()
        self._refused: str | None = None  # the reason last refused, to log it once
        self._worker: tuple[int, threading.Thread] | None = None  # (pid, background check)
        self._watching: int | None = None  # the process whose watch thread runs
        os.register_at_fork(after_in_child=functools.partial(_watch_in_child,
                                                             weakref.ref(self)))

    def watch(self) -> None:
        """Check ``CURRENT`` every ``interval`` from a thread of this process (once)."""
        with self._lock:
            if self._watching == os.getpid():
                return
            self._watching = os.getpid()
        threading.Thread(target=_watching, args=(weakref.ref(self),), name="index-watch",
                         daemon=True).start()

    def get(self) -> Index:
        if self._watching != os.getpid():
            self.watch()
        if self._index is None:
            self._load_now()
        elif time.monotonic() - self._checked >= self.interval:
            self._refresh()
        if self._index is None:
            raise IndexUnavailable(f"no index in {self.root}: run 'citeqa index'")
        return self._index

    def join(self, timeout: float | None = None) -> None:
        """Wait for this process's background reload, if one runs (or is being decided on
        by the watch thread)."""
        with self._deciding:
            pass
        worker = self._worker
        if worker is not None and worker[0] == os.getpid():
            worker[1].join(timeout)

    def _busy(self) -> bool:
        worker = self._worker
        return worker is not None and worker[0] == os.getpid() and worker[1].is_alive()

    def _load_now(self) -> None:
        with self._lock:
            if self._index is None:
                self._checked = time.monotonic()
                self._index = load(self.root)

    def _refresh(self) -> None:
        with self._deciding:  # one decision at a time: a request's and the watch thread's
            self._decide()

    def _decide(self) -> None:
        self._checked = time.monotonic()
        if self._busy():
            return  # a check is already running; keep serving the current index
        try:
            live = current_version(self.root)
        except IndexUnavailable as exc:
            self._refuse(str(exc))
            return
        if live is None or live == self._index.version:
            return
        if self._refused is not None and self._refused.startswith(f"{live}: "):
            return
        with self._lock:
            if not self._busy():
                thread = threading.Thread(target=self._load_next, name="index-reload",
                                          daemon=True)
                thread.start()  # before ``join`` can see it: the watch thread may start it
                self._worker = (os.getpid(), thread)

    def _load_next(self) -> None:
        """Open and verify the version ``CURRENT`` names, then swap it in."""
        try:
            index = load(self.root, verify=False)
            verify(index)
        except Exception as exc:  # a damaged index must never fail the requests
            self._refuse(str(exc) if isinstance(exc, IndexUnavailable)
                         else f"{type(exc).__name__}: {exc}")
            return
        self._index, self._refused = index, None
        gc.collect()  # the old version's caches hold reference cycles: free them now

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


def _watch_in_child(ref: weakref.ref[LiveIndex]) -> None:
    live = ref()
    if live is not None:
        # another thread may have held them at the fork
        live._lock, live._deciding = threading.Lock(), threading.Lock()
        live.watch()


def _watching(ref: weakref.ref[LiveIndex]) -> None:
    """Until the live index is dropped: refresh it every interval."""
    while (live := ref()) is not None:
        interval = live.interval
        if live._index is not None and time.monotonic() - live._checked >= interval:
            live._refresh()
        del live
        time.sleep(interval)
