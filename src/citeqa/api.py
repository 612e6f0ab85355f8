"""The JSON API: ``/ask``, ``/health``, ``/documents/<id>``. Errors are always JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from . import facts
from .index import Index, IndexUnavailable
from .retrieval import Hit
from .service import Response, ask

bp = Blueprint("api", __name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def _index() -> Index:
    try:
        return current_app.extensions["citeqa.index"].get()
    except IndexUnavailable as exc:
        raise ApiError(503, "index_unavailable", str(exc)) from None


def _int_param(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ApiError(400, "invalid_parameter", f"'{name}' must be an integer")
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"'{name}' must be an integer") from None
    if not low <= number <= high:
        raise ApiError(400, "invalid_parameter", f"'{name}' must be between {low} and {high}")
    return number


def _bool_param(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no", ""):
        return value.lower() in ("1", "true", "yes")
    raise ApiError(400, "invalid_parameter", f"'{name}' must be true or false")


def _ask_params() -> tuple[str, int, bool]:
    config = current_app.config["CITEQA"]
    if request.method == "POST":
        body = request.get_json(silent=True)
        if body is None:
            raise ApiError(400, "invalid_json",
                           "the request body must be a JSON object, sent with "
                           "Content-Type: application/json")
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_json", "the request body must be a JSON object")
        question, k = body.get("question"), body.get("k", config.default_k)
        explain = body.get("explain", False)
    else:
        question, k = request.args.get("q"), request.args.get("k", config.default_k)
        explain = request.args.get("explain", "")
    if question is None:
        raise ApiError(400, "missing_question", "a 'question' is required"
                       if request.method == "POST" else "the 'q' parameter is required")
    if not isinstance(question, str):
        raise ApiError(400, "invalid_parameter", "'question' must be a string")
    question = " ".join(question.split())
    if not question:
        raise ApiError(400, "empty_question", "the question is empty")
    if len(question) > config.max_question_chars:
        raise ApiError(400, "question_too_long",
                       f"the question is longer than {config.max_question_chars} characters")
    return question, _int_param(k, "k", 1, config.max_k), _bool_param(explain, "explain")


def hit_json(index: Index, hit: Hit) -> dict[str, Any]:
    p = hit.passage
    doc = index.documents[p.doc_id]
    return {"id": p.id, "doc_id": p.doc_id, "title": doc.title,
            "date": doc.metadata.get("date"), "source": doc.metadata.get("source"),
            "rank": hit.rank, "score": hit.score, "text": p.text, "start": p.start,
            "end": p.end, "entities": [asdict(e) for e in hit.annotation.entities],
            "matches": [list(m) for m in hit.matches]}


def response_json(index: Index, response: Response) -> dict[str, Any]:
    out = {"question": response.question,
           "answer": asdict(response.answer) if response.answer else None,
           "passages": [hit_json(index, h) for h in response.passages],
           "facts": [asdict(f) for f in response.facts],
           "took_ms": response.took_ms}
    if response.answer is None:
        out["no_answer_reason"] = response.no_answer_reason
    if response.explain is not None:
        out["explain"] = response.explain
    return out


@bp.route("/ask", methods=["GET", "POST"])
def ask_route():
    question, k, explain = _ask_params()
    index = _index()
    nlp = current_app.extensions["citeqa.nlp"]
    return jsonify(response_json(index, ask(index, nlp, question, k, explain)))


@bp.get("/health")
def health():
    index = _index()
    m = index.manifest
    return jsonify({"status": "ok", "documents": len(index.documents),
                    "passages": len(index.passages),
                    "index": {"version": index.version, "built_at": m["built_at"],
                              "fingerprint": m["corpus"]["fingerprint"],
                              "model": m["model"], "bm25": m["bm25"]}})


@bp.get("/documents")
def documents():
    index = _index()
    offset = _int_param(request.args.get("offset", 0), "offset", 0, 10**9)
    limit = _int_param(request.args.get("limit", 100), "limit", 1, 1000)
    page = list(index.documents.values())[offset:offset + limit]
    return jsonify({"total": len(index.documents), "offset": offset, "limit": limit,
                    "documents": [{"id": d.id, "title": d.title, "path": d.path,
                                   "metadata": d.metadata,
                                   "passages": len(index.passages_of(d.id))} for d in page]})


def _found(mapping: dict, key: str, what: str):
    """``mapping[key]``, or a JSON 404 naming what was not found."""
    if key not in mapping:
        raise ApiError(404, f"{what}_not_found", f"no {what} with id {key!r}")
    return mapping[key]


@bp.get("/documents/<path:doc_id>")
def document(doc_id: str):
    index = _index()
    doc = _found(index.documents, doc_id, "document")
    return jsonify({"id": doc.id, "title": doc.title, "path": doc.path,
                    "metadata": doc.metadata, "text": doc.text,
                    "passages": [{"id": p.id, "n": p.n, "start": p.start, "end": p.end}
                                 for p in index.passages_of(doc_id)]})


@bp.get("/entities")
def entities():
    index = _index()
    label = request.args.get("label") or None
    if label is not None and label.upper() not in index.entity_labels:
        raise ApiError(400, "invalid_parameter", f"no entity has the label {label!r}")
    limit = _int_param(request.args.get("limit", 50), "limit", 1, 500)
    found = facts.search(index, request.args.get("q", ""), label and label.upper(), limit)
    return jsonify({"entities": [
        {"id": e.id, "entity": e.name, "label": e.label, "aliases": e.aliases,
         "mentions": len(e.mentions)} for e in found]})


@bp.get("/entities/<path:entity_id>")
def entity(entity_id: str):
    index = _index()
    found = _found(index.entity_by_id, entity_id, "entity")
    return jsonify(asdict(facts.sheet(index, found, max_values=None, max_passages=None)))


def register_errors(app) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error",
                              "citeqa failed to handle this request; the error was logged")
