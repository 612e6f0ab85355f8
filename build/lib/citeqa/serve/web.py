"""The asker's page: static files shipped inside the package (``citeqa.web``), one HTML
shell for the ask and read views."""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, abort, send_from_directory

bp = Blueprint("web", __name__)
# Only the page's own kinds of file are served from the package folder.
STATIC_SUFFIXES = (".js", ".css", ".svg", ".png", ".ico")


@functools.cache
def web_dir() -> Path:
    """The installed page's folder (a real folder for any pip install, editable or not)."""
    return Path(str(files("citeqa.web")))


@bp.get("/")
def home():
    return send_from_directory(web_dir(), "index.html", max_age=0)


@bp.get("/read/<path:doc_id>")
def read(doc_id: str):
    """The document view; the page's script fetches ``/documents/<doc_id>`` itself."""
    return send_from_directory(web_dir(), "index.html", max_age=0)


@bp.get("/static/<path:name>")
def static(name: str):
    if not name.endswith(STATIC_SUFFIXES):
        abort(404)
    return send_from_directory(web_dir(), name, max_age=300)
