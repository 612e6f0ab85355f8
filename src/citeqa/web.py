"""The asker's page: static files from ``web/``, one HTML shell for the ask and read views."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("web", __name__)


def _web_dir():
    return current_app.config["CITEQA"].web


@bp.get("/")
def home():
    return send_from_directory(_web_dir(), "index.html", max_age=0)


@bp.get("/read/<path:doc_id>")
def read(doc_id: str):
    """The document view; the page's script fetches ``/documents/<doc_id>`` itself."""
    return send_from_directory(_web_dir(), "index.html", max_age=0)


@bp.get("/static/<path:name>")
def static(name: str):
    return send_from_directory(_web_dir(), name, max_age=300)
