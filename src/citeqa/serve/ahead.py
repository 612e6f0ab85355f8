"""The server's question parser: questions that wait for a worker's app lock are parsed
together, and the parse multiplies matrices through NumPy.

A worker runs the app one request at a time (``worker.py``), so under load several
``/ask`` requests wait for it, their questions already read. spaCy parses a batch of
questions for much less than it parses each alone (its per-call cost is most of a short
question's: 6.1 ms alone, 3.8 ms each in eights, BENCHMARKS.md), and ``nlp.pipe`` gives
the same tokens, tags, parse and entities as ``nlp``. So the worker checks each request
whole before it waits for the lock (``announced_question``, with the API's own checks),
a request the API will answer announces its question (``ParseAhead.waiting``), and the
first of them to need a parse parses every announced question at once; the others find
theirs done. A lone request is parsed alone, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from thinc.api import NumpyOps
from werkzeug.wrappers import Request

from .api import CHECKED, ApiError, ask_params, check_request

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from ..config import Config


@dataclass(eq=False)
class _Ticket:
    text: str
    doc: Doc | None = None


class ParseAhead:
    """``nlp`` called as ``parse(text)``, batching the questions announced meanwhile: at
    most ``max_batch`` questions, the others' at most ``max_chars`` characters together
    (a batch costs its first question no more than one longest question besides).

    ``waiting`` may be entered from any thread; ``__call__`` runs under the app lock, so
    spaCy (not thread-safe) is only ever called by one thread at a time. A thread's own
    announced question is found by thread, and used only for the same text; a request
    that leaves before its parse leaves its ticket unused, and leaving ``waiting``
    removes it.
    """

    def __init__(self, nlp: Language, max_batch: int, max_chars: int) -> None:
        self.nlp, self.max_batch, self.max_chars = nlp, max_batch, max_chars
        self._lock = threading.Lock()  # guards _queued and the tickets' docs
        self._queued: list[_Ticket] = []
        self._mine = threading.local()

    @contextmanager
    def waiting(self, text: str | None) -> Iterator[None]:
        """Announce ``text`` (this thread's question, None: none) for the duration."""
        ticket = _Ticket(text) if text is not None and self.max_batch > 1 else None
        if ticket is not None:
            with self._lock:
                self._queued.append(ticket)
        self._mine.ticket = ticket
        try:
            yield
        finally:
            self._mine.ticket = None
            if ticket is not None:
                with self._lock:
                    if ticket in self._queued:
                        self._queued.remove(ticket)

    def __call__(self, text: str) -> Doc:
        mine: _Ticket | None = getattr(self._mine, "ticket", None)
        with self._lock:
            if mine is not None and mine.text == text and mine.doc is not None:
                doc, mine.doc = mine.doc, None
                return doc
            others, chars = [], 0
            for ticket in self._queued:
                if len(others) == self.max_batch - 1:
                    break
                if ticket is not mine and chars + len(ticket.text) <= self.max_chars:
                    others.append(ticket)
                    chars += len(ticket.text)
            for ticket in others:
                self._queued.remove(ticket)
            if mine is not None and mine in self._queued:
                self._queued.remove(mine)
        if not others:
            return self.nlp(text)
        try:
            docs = list(self.nlp.pipe([text, *(t.text for t in others)],
                                      batch_size=len(others) + 1))
        except Exception:  # one question's failure is its own request's alone
            return self.nlp(text)  # the others, left without a parse, parse their own
        with self._lock:
            for ticket, doc in zip(others, docs[1:], strict=True):
                ticket.doc = doc
        return docs[0]


class _NumpyGemm(NumpyOps):
    def gemm(self, x, y, out=None, trans1=False, trans2=False):
        return np.matmul(x.T if trans1 else x, y.T if trans2 else y, out=out)


def numpy_matmul(nlp: Language) -> Language:
    """``nlp`` with its layers multiplying matrices through NumPy's BLAS (OpenBLAS)
    instead of thinc's bundled BLIS. A question's matrices are a few dozen rows; here BLIS
    takes 1.6 ms of a question's parse on them and OpenBLAS, on one thread, about 1 ms
    (BENCHMARKS.md). The parses are the same (tests/test_ahead.py); the transition
    parsers' own inner loop keeps BLIS. Changes ``nlp`` in place (``server.run`` gives it
    the serving process's model); batches of passages gain nothing, so indexing keeps
    BLIS."""
    ops = _NumpyGemm()
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if model is not None and hasattr(model, "walk"):
            for layer in model.walk():
                layer.ops = ops
    return nlp


def announced_question(environ: dict, config: Config) -> str | None:
    """The question of an ``/ask`` request the API will answer, checked whole as the API
    checks it (``api.check_request``, ``api.ask_params``), or None. A request the API will
    refuse is never parsed. What the checks found, the parameters or the error, goes into
    ``environ`` for the app, so a request is read and checked once (a 64 KiB body of
    brackets takes ~9 ms to check)."""
    if environ.get("PATH_INFO") != "/ask" or environ.get("REQUEST_METHOD") not in ("GET",
                                                                                   "POST"):
        return None
    body = environ.get("wsgi.input")
    if environ["REQUEST_METHOD"] == "POST" and not hasattr(body, "getvalue"):
        return None  # only a body the worker has read whole
    request = Request(environ)
    try:
        check_request(request, config)
        environ[CHECKED] = params = ask_params(request, config)
    except ApiError as exc:
        environ.setdefault(CHECKED, exc)
        return None
    finally:
        if hasattr(body, "seek"):
            body.seek(0)  # the app reads the body again
    return params[0]


def ahead_hook(parse: ParseAhead, config: Config) -> Callable:
    """What the worker enters before taking the app lock for ``environ``."""
    return lambda environ: parse.waiting(announced_question(environ, config))
