"""How ``citeqa serve`` prepares its processes before gunicorn forks the workers."""

import gc

from citeqa.config import Config
from citeqa.serve import server
from citeqa.serve.server import CollectorParams, settle_collector


def test_what_is_loaded_is_frozen_and_young_objects_collected_less_often():
    before = gc.get_threshold()
    try:
        settle_collector(CollectorParams(young=12_345, middle=7, old=9))
        assert gc.get_threshold() == (12_345, 7, 9)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class _App:
    def __init__(self) -> None:
        self.config = {"MAX_CONTENT_LENGTH": 1024}


def test_serve_settles_the_collector_and_blas_threads_after_loading_and_before_forking(monkeypatch):
    calls = []
    monkeypatch.setattr(server, "load_model", lambda name: "model")
    monkeypatch.setattr(server, "numpy_matmul", lambda nlp: calls.append(f"matmul {nlp}"))
    monkeypatch.setattr(server, "create_app", lambda *a: calls.append("app") or _App())
    monkeypatch.setattr(server, "settle_collector", lambda: calls.append("collector"))
    monkeypatch.setattr(server, "threadpool_limits",
                        lambda n, user_api: calls.append(f"{user_api}={n}"))
    monkeypatch.setattr(server._Gunicorn, "__init__", lambda self, *args: None)
    monkeypatch.setattr(server._Gunicorn, "run", lambda self: calls.append("fork"))
    server.run(Config(), index=None)
    assert calls == ["matmul model", "app", "blas=1", "collector", "fork"]
