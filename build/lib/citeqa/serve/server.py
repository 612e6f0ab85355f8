"""Run the app under gunicorn (never Flask's development server).

The index and spaCy model are loaded once in the master (``preload_app``) and shared by
the forked workers copy-on-write; each worker then watches ``CURRENT`` for new versions.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

from ..config import Config
from ..ingest.annotate import load_model
from ..store.index import Index
from .app import create_app


class _Gunicorn(BaseApplication):
    def __init__(self, app, options: dict) -> None:
        self._app, self._options = app, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return self._app


def run(config: Config, index: Index) -> None:
    app = create_app(config, index, load_model(config.model))
    _Gunicorn(app, {
        "bind": f"{config.host}:{config.port}",
        "workers": config.workers,
        "preload_app": True,
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": "-",
        # The worker's pid in each line shows how requests spread over the workers.
        "access_log_format": '%(h)s pid=%(p)s "%(r)s" %(s)s %(B)s %(M)sms',
        "errorlog": "-",
        "proc_name": "citeqa",
        "control_socket_disable": True,  # gunicorn's runtime control socket is unused
    }).run()
