"""A gunicorn threaded worker that slow or hostile clients cannot starve.

gunicorn's ``gthread`` worker parks kept-alive connections on a poller, but it gives
every new connection a thread that waits up to 5 s for a first byte, and once a byte
arrives the thread reads the request blocking, with no deadline: a client sending one
header byte every two seconds holds that thread for ever. This worker

- puts new connections on the poller until they are readable, so an idle socket holds
  no thread, and stops accepting while all its threads are busy, so the other workers
  take new connections instead of queueing them behind slow ones;
- gives each request one deadline to arrive whole (headers and body), enforced by a
  watchdog thread that answers 408 and shuts the socket, which frees the reading thread,
  and the same time again to take the response (a socket timeout on the writes);
- reads and caps bodies before the app runs: a chunked body over the cap is a 413 like
  a declared one;
- runs the app itself one request at a time, in the order the requests came (a FIFO
  lock): the threads exist to read and write slow sockets, and the analyzer's Snowball
  stemmer and the spaCy pipeline are not thread-safe (two threads stemming at once raise
  ``IndexError``);
- sends gunicorn's own error pages (400, 414, 431, ...) in the API's JSON envelope with
  the security headers instead of HTML;
- takes new connections only while it holds no more than the other workers
  (``ConnectionBalance``): a kept-alive connection stays on the worker that accepted it,
  and the kernel hands each new one to whichever worker accepts first, so 16 clients
  could split 13 / 3 and the thirteen wait four times as long as the three. A worker
  held back still takes a connection no other worker has taken within
  ``BALANCE_GRACE``: the least-loaded one may be hung, starting or out of threads.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import io
import select
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from multiprocessing.sharedctypes import RawArray

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from .schema import encode, error

_REASONS = {400: "Bad Request", 403: "Forbidden", 408: "Request Timeout",
            413: "Content Too Large", 414: "URI Too Long",
            417: "Expectation Failed", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 501: "Not Implemented"}
# What a client is told for each of gunicorn's own refusals; gunicorn's text (which may
# quote the request) only goes to the log.
_MESSAGES = {400: "the request is not valid HTTP", 403: "the request is forbidden",
             408: "the request was not received in time",
             413: "the request body is too large", 414: "the request line is too long",
             417: "the expectation cannot be met",
             431: "the request headers are too large",
             500: "citeqa failed to handle this request; the error was logged",
             501: "the request uses a transfer coding citeqa does not support"}


@dataclass(frozen=True)
class ReadLimits:
    """How long a client may take to send one request, and how large its body may be."""

    read_timeout: float = 10.0
    max_body: int = 64 * 1024
    watchdog_interval: float = 0.25


def error_bytes(status: int, headers: dict[str, str]) -> bytes:
    """A complete ``Connection: close`` HTTP response in the JSON error envelope."""
    reason = _REASONS.get(status, "Error")
    code = reason.lower().replace(" ", "_").replace("content_too_large",
                                                    "request_entity_too_large")
    body = encode(error(code, _MESSAGES.get(status, reason)))
    head = [f"HTTP/1.1 {status} {reason}", "Connection: close",
            "Content-Type: application/json", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class ConnectionBalance:
    """Each worker's open connections, in memory the master shares with its forks.

    The master gives each worker a slot before forking it (``claim``) and frees it when
    the worker is gone (``release``); a worker writes its count there as it changes. A
    worker accepts only while it holds no more connections than the least-loaded other
    worker (``limit``), so kept-alive clients end up evenly spread, within one.
    """

    FREE = -1  # no worker, or one that is stopping and takes no more connections

    def __init__(self, slots: int) -> None:
        self._counts = RawArray(ctypes.c_int, [self.FREE] * slots)

    def claim(self, taken: set[int]) -> int | None:
        """A free slot for a worker about to be forked (master only); None when every
        slot is taken (more workers than planned for: that one accepts unbalanced)."""
        slot = next((i for i in range(len(self._counts)) if i not in taken), None)
        if slot is not None:
            self._counts[slot] = 0
        return slot

    def release(self, slot: int) -> None:
        self._counts[slot] = self.FREE

    def publish(self, slot: int, connections: int) -> None:
        self._counts[slot] = connections

    def limit(self, slot: int) -> int | None:
        """The most connections the worker in ``slot`` may hold before it stops
        accepting: one more than the least-loaded other worker; None when alone."""
        others = [c for i, c in enumerate(self._counts) if i != slot and c != self.FREE]
        return min(others) + 1 if others else None


class _Capture:
    """Stands in for the client socket so gunicorn's HTML error page can be read, not sent."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data


class _BodyTooLarge(Exception):
    pass


class FifoLock:
    """A lock granted in the order it was asked for. ``threading.Lock`` lets any waiter
    (or the releasing thread) take it next, so under load a request could wait through
    several others' turns: the tail of the latency, not its mean. Here the holder hands
    the lock to the longest waiter directly."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._held = False

    def __enter__(self) -> FifoLock:
        with self._guard:
            if not self._held:
                self._held = True
                return self
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the holder when it is this waiter's turn
        return self

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()  # still held: handed over
            else:
                self._held = False


def serialized(app: Callable, lock: contextlib.AbstractContextManager,
               ahead: Callable[[dict], contextlib.AbstractContextManager] | None = None,
               ) -> Callable:
    """``app`` (WSGI) run by one thread at a time; the response body, already built,
    is sent outside the lock. ``ahead(environ)`` is entered before waiting for the lock
    and left after: a request says there what it will need (``ahead.py``)."""

    def call(environ, start_response):
        with ahead(environ) if ahead is not None else contextlib.nullcontext(), lock:
            return app(environ, start_response)

    return call


class GuardedThreadWorker(ThreadWorker):
    """``gthread`` with a per-request read deadline, a body cap and JSON error pages.

    Its limits, headers and pre-lock hook come from the gunicorn application object
    (``app.limits``, ``app.headers``, ``app.ahead``), set by ``server.run``.
    """

    # How often a worker that holds back for the balance looks again: only its own
    # events wake its loop, and the others' counts may have fallen meanwhile (a burst of
    # new connections is paced by this).
    BALANCE_POLL = 0.005
    # A held-back worker takes a waiting connection itself once no other worker has taken
    # it for this long: the least-loaded one may have every thread busy, be hung, or be
    # starting, and the balance must never leave a connection waiting for it.
    BALANCE_GRACE = 0.05

    slot: int | None = None  # its ConnectionBalance slot, set by the master before forking
    _waiting_since: float | None = None  # a connection waits that the balance held back

    @property
    def nr_conns(self) -> int:
        return self._nr_conns

    @nr_conns.setter
    def nr_conns(self, count: int) -> None:
        self._nr_conns = count
        if self.slot is not None and self.balance is not None and self.alive:
            self.balance.publish(self.slot, count)
            if not self.alive:  # a stop signal came between the check and the write
                self.balance.release(self.slot)

    @property
    def worker_connections(self) -> int:
        """gunicorn's cap, lowered to what the balance allows now (read by the run loop
        before it decides whether to accept)."""
        limit = (self.balance.limit(self.slot)
                 if self.slot is not None and self.balance is not None else None)
        return self._max_connections if limit is None else min(self._max_connections, limit)

    @worker_connections.setter
    def worker_connections(self, count: int) -> None:
        self._max_connections = count

    def init_process(self) -> None:
        self.balance: ConnectionBalance | None = getattr(self.app, "balance", None)
        self.limits: ReadLimits = getattr(self.app, "limits", ReadLimits())
        self.headers: dict[str, str] = getattr(self.app, "headers", {})
        self._reading: dict[object, float] = {}
        self._reading_lock = threading.Lock()
        self._busy = 0  # connections handed to the thread pool (main thread only)
        threading.Thread(target=self._watchdog, name="read-deadline", daemon=True).start()
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        self.wsgi = serialized(self.wsgi, FifoLock(), getattr(self.app, "ahead", None))

    def accept(self, listener) -> None:
        """Accept, then wait on the poller (no thread) until the client sends something."""
        try:
            sock, addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, sock, addr, listener.getsockname())  # non-blocking
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self.on_pending_socket_readable, conn))

    def enqueue_req(self, conn) -> None:
        self._busy += 1
        if not self._thread_free():
            self.set_accept_enabled(False)
        super().enqueue_req(conn)

    def finish_request(self, conn, fs) -> None:
        self._busy -= 1
        super().finish_request(conn, fs)

    def set_accept_enabled(self, enabled: bool) -> None:
        """Accept only with a thread free (the run loop asks again after each request)."""
        super().set_accept_enabled(enabled and self._thread_free())

    def _thread_free(self) -> bool:
        return self._busy < self.cfg.threads

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if not self._held_back():
            self._waiting_since = None
            super().wait_for_and_dispatch_events(timeout)
            return
        super().wait_for_and_dispatch_events(min(timeout, self.BALANCE_POLL))
        if not self._held_back():
            return
        waiting = select.select(self.sockets, [], [], 0)[0]
        now = time.monotonic()
        if not waiting:
            self._waiting_since = None
        elif self._waiting_since is None:
            self._waiting_since = now
        elif now - self._waiting_since >= self.BALANCE_GRACE:
            self._waiting_since = None
            for listener in waiting:  # (another worker may take it first: EAGAIN)
                self.accept(listener)

    def _held_back(self) -> bool:
        """Not accepting only because the balance says another worker should."""
        return (not self._accepting and self.alive and self._thread_free()
                and self.nr_conns < self._max_connections)

    def _leave_balance(self) -> None:
        """Stopping: the others must not wait for this worker to take connections."""
        if self.slot is not None and self.balance is not None:
            self.balance.release(self.slot)

    def handle_exit(self, sig, frame) -> None:
        self._leave_balance()
        super().handle_exit(sig, frame)

    def handle_quit(self, sig, frame) -> None:
        self._leave_balance()
        super().handle_quit(sig, frame)

    def _watchdog(self) -> None:
        while True:
            time.sleep(self.limits.watchdog_interval)
            now = time.monotonic()
            with self._reading_lock:
                late = [c for c, deadline in self._reading.items() if deadline <= now]
                for conn in late:
                    del self._reading[conn]
            for conn in late:
                self._refuse(conn.sock, 408)

    def _refuse(self, sock: socket.socket, status: int) -> None:
        """Answer ``status`` and shut the socket: a thread blocked reading it returns."""
        try:
            sock.settimeout(1.0)
            sock.sendall(error_bytes(status, self.headers))
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def _done_reading(self, conn) -> bool:
        """Stop the clock; False when the watchdog already refused the request."""
        with self._reading_lock:
            return self._reading.pop(conn, None) is not None

    def handle(self, conn):
        with self._reading_lock:
            self._reading[conn] = time.monotonic() + self.limits.read_timeout
        try:
            return super().handle(conn)
        finally:
            self._done_reading(conn)

    def handle_request(self, req, conn):
        try:
            body = self._read_body(req)
        except _BodyTooLarge:
            if self._done_reading(conn):
                self._refuse(conn.sock, 413)
            return False
        if not self._done_reading(conn):
            return False  # the deadline passed while the body trickled in
        if body is not None:
            req.body = io.BytesIO(body)
        conn.sock.settimeout(self.limits.read_timeout)  # bounds sending the response
        try:
            return super().handle_request(req, conn)
        except TimeoutError:
            self.log.warning("Client at %s did not take its response within %ss; closed",
                             conn.client[0] if conn.client else "?", self.limits.read_timeout)
            return False

    def _read_body(self, req) -> bytes | None:
        """The whole body, at most ``max_body`` bytes, or None when there is none."""
        if req.body is None:
            return None
        declared = next((v for k, v in req.headers if k == "CONTENT-LENGTH"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.limits.max_body:
            raise _BodyTooLarge
        data = req.body.read(self.limits.max_body + 1)
        if len(data) > self.limits.max_body:
            raise _BodyTooLarge
        return data

    def handle_error(self, req, client, addr, exc) -> None:
        """gunicorn's own refusal (status chosen and logged by gunicorn), sent as JSON."""
        page = _Capture()
        super().handle_error(req, page, addr, exc)
        try:
            status = int(page.data.split(b" ", 2)[1])
        except (IndexError, ValueError):
            status = 500
        try:
            util.write_nonblock(client, error_bytes(status, self.headers))
        except Exception:  # the client may be gone; there is no one left to tell
            self.log.debug("Failed to send error message.")
