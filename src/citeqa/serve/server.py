"""Run the app under gunicorn (never Flask's development server).

The index and spaCy model are loaded once in the master (``preload_app``) and shared by
the forked workers copy-on-write; each worker then watches ``CURRENT`` for new versions.
Workers are threaded with a deadline for reading each request (``worker.py``): a slow
client holds one thread for at most ``read_timeout`` seconds, never a whole worker.
What the master loaded is frozen out of the garbage collector's sight (``CollectorParams``).
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from dataclasses import dataclass

from gunicorn.app.base import BaseApplication
from threadpoolctl import threadpool_limits

from ..config import Config
from ..ingest.annotate import load_model
from ..store.index import Index
from .ahead import ahead_hook, numpy_matmul
from .app import SECURITY_HEADERS, create_app
from .state import state
from .worker import ConnectionBalance, GuardedThreadWorker, ReadLimits


@dataclass(frozen=True)
class CollectorParams:
    """Garbage collection in a serving process. A question allocates thousands of
    short-lived objects; at Python's default threshold (700) the collector runs dozens of
    times per question and now and then walks the model's and index's objects too, which
    was a quarter of the ask path's p95 (BENCHMARKS "Speed of the ask path"). So what is
    loaded before the workers fork is frozen (never scanned again, and its pages stay
    shared), and the youngest generation is collected every ``young`` allocations."""

    young: int = 50_000
    middle: int = 20
    old: int = 50


def settle_collector(params: CollectorParams = CollectorParams()) -> None:
    """Freeze what is alive now and set the collector's thresholds (inherited by forks)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(params.young, params.middle, params.old)


def _exit_now(arbiter, worker) -> None:
    """gunicorn's last call in a worker that is stopping (its requests are done, its log
    line written): leave without running native destructors. ONNX Runtime's and the BLAS
    thread pools were built in the master before the fork, and tearing them down at
    interpreter exit in a worker aborts it (``std::system_error``, SIGABRT)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _claim_slot(arbiter, worker) -> None:
    """Master, before forking ``worker``: its place in the connection balance."""
    worker.slot = arbiter.app.balance.claim(
        {w.slot for w in arbiter.WORKERS.values() if w.slot is not None})


def _release_slot(arbiter, worker) -> None:
    """Master, once ``worker`` has exited."""
    if worker.slot is not None:
        arbiter.app.balance.release(worker.slot)


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict, limits: ReadLimits, config: Config) -> None:
        self._app, self._options = app, options
        # Read by GuardedThreadWorker in each worker process.
        self.limits, self.headers = limits, SECURITY_HEADERS
        self.ahead = ahead_hook(state(app).parse, config)
        # (twice the workers: a replacement may be forked before the one it replaces
        # is reaped)
        self.balance = ConnectionBalance(2 * config.workers)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app


def run(config: Config, index: Index) -> None:
    # citeqa's own warnings (a refused index version) go to stderr beside gunicorn's log.
    logging.basicConfig(level=logging.WARNING,
                        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s")
    # the serving process parses only questions from here on: its model multiplies them
    # through OpenBLAS (in place: load_model's cached model is this process's only one)
    app = create_app(config, index, numpy_matmul(load_model(config.model)))
    # a worker answers one request at a time on its core: BLAS threads (the question
    # parse's, ahead.numpy_matmul) would only take the other worker's
    threadpool_limits(1, user_api="blas")
    settle_collector()
    limits = ReadLimits(read_timeout=config.read_timeout,
                        max_body=app.config["MAX_CONTENT_LENGTH"])
    _Gunicorn(app, {
        "bind": f"{config.host}:{config.port}",
        "workers": config.workers,
        "worker_class": GuardedThreadWorker,
        "threads": config.threads,
        "preload_app": True,
        "timeout": 60,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": "-",
        # The client's port and the worker's pid in each line show how connections and
        # requests spread over the workers.
        "access_log_format": '%(h)s:%({remote_port}e)s pid=%(p)s "%(r)s" %(s)s %(B)s %(M)sms',
        "errorlog": "-",
        "proc_name": "citeqa",
        "control_socket_disable": True,  # gunicorn's runtime control socket is unused
        "worker_exit": _exit_now,
        "pre_fork": _claim_slot,
        "child_exit": _release_slot,
    }, limits, config).run()
