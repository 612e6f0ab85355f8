"""Run the app under gunicorn (never Flask's development server).

The index and spaCy model are loaded once in the master (``preload_app``) and shared by
the forked workers copy-on-write; each worker then watches ``CURRENT`` for new versions.
Workers are threaded with a deadline for reading each request (``worker.py``): a slow
client holds one thread for at most ``read_timeout`` seconds, never a whole worker.
"""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from ..config import Config
from ..ingest.annotate import load_model
from ..store.index import Index
from .app import SECURITY_HEADERS, create_app
from .worker import GuardedThreadWorker, ReadLimits


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict, limits: ReadLimits) -> None:
        self._app, self._options = app, options
        # Read by GuardedThreadWorker in each worker process.
        self.limits, self.headers = limits, SECURITY_HEADERS
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
    app = create_app(config, index, load_model(config.model))
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
        # The worker's pid in each line shows how requests spread over the workers.
        "access_log_format": '%(h)s pid=%(p)s "%(r)s" %(s)s %(B)s %(M)sms',
        "errorlog": "-",
        "proc_name": "citeqa",
        "control_socket_disable": True,  # gunicorn's runtime control socket is unused
    }, limits).run()
