"""The JSON API: ``/ask``, ``/health``, ``/documents``, ``/entities``, ``/labels``.

Bodies are the structs of ``schema``; errors are always the JSON error envelope."""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from ..config import Config
from ..kb.facts import FactBook
from ..lexicon import LABEL_NAMES
from ..qa.ask import ask
from ..store.index import Index, IndexUnavailable
from . import schema
from .guard import BadQuestion, checked_question, host_allowed, json_depth
from .state import state

bp = Blueprint("api", __name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_response(body: msgspec.Struct, status: int = 200) -> Response:
    return Response(schema.encode(body), status=status, mimetype="application/json")


def error_response(status: int, code: str, message: str) -> Response:
    return json_response(schema.error(code, message), status)


def _index() -> Index:
    try:
        return state().live.get()
    except IndexUnavailable as exc:
        raise ApiError(503, "index_unavailable", str(exc)) from None


def _int_param(value: Any, name: str, low: int, high: int, text: bool = True) -> int:
    """An integer: a JSON number, or with ``text`` (a query string) ASCII digits."""
    if isinstance(value, str) and text and _INTEGER.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "invalid_parameter", f"'{name}' must be an integer")
    if not low <= value <= high:
        raise ApiError(400, "invalid_parameter", f"'{name}' must be between {low} and {high}")
    return value


_INTEGER = re.compile(r"-?[0-9]+")


def _bool_param(value: Any, name: str, text: bool = True) -> bool:
    """A boolean: JSON true or false, or with ``text`` (a query string) 1/0, true/false,
    yes/no or empty."""
    if isinstance(value, bool):
        return value
    if text and isinstance(value, str) and value.lower() in ("1", "true", "yes", "0",
                                                              "false", "no", ""):
        return value.lower() in ("1", "true", "yes")
    raise ApiError(400, "invalid_parameter", f"'{name}' must be true or false")


# The environ key of what ``check_request`` and ``ask_params`` found for an /ask request
# before the app ran (``ahead.announced_question``): its parameters, or the ApiError to
# answer; the app then checks it no further.
CHECKED = "citeqa.ask_params"


def ask_params(req: Request, config: Config) -> tuple[str, int, bool]:
    """The question, ``k`` and ``explain`` of an ``/ask`` request, or ``ApiError``. Pure of
    the app: the worker checks a request with it before the request waits for the app
    (``ahead.py``), and the handler reuses that result."""
    if req.method == "POST":
        if json_depth(req.get_data(cache=True)) > config.max_json_depth:
            raise ApiError(400, "invalid_json", f"the JSON body is nested deeper than "
                                                f"{config.max_json_depth} levels")
        body = _json_body(req)
        question, k = body.get("question"), body.get("k", config.default_k)
        explain = body.get("explain", False)
    else:
        question, k = req.args.get("q"), req.args.get("k", config.default_k)
        explain = req.args.get("explain", "")
    if question is None:
        raise ApiError(400, "missing_question", "a 'question' is required"
                       if req.method == "POST" else "the 'q' parameter is required")
    if not isinstance(question, str):
        raise ApiError(400, "invalid_parameter", "'question' must be a string")
    try:
        question = checked_question(question, config.max_question_chars,
                                    config.max_question_tokens)
    except BadQuestion as exc:
        raise ApiError(400, exc.code, exc.message) from None
    text = req.method != "POST"  # a JSON body says what type it means
    return (question, _int_param(k, "k", 1, config.max_k, text),
            _bool_param(explain, "explain", text))


def check_request(req: Request, config: Config) -> None:
    """What every request must pass before any route: an allowed Host, a method, transfer
    coding and query string citeqa reads (``ApiError`` otherwise)."""
    if not host_allowed(req.host, config.allowed_hosts):
        raise ApiError(400, "host_not_allowed", "this server does not answer to that "
                                                "Host name (see CITEQA_ALLOWED_HOSTS)")
    if req.method == "OPTIONS":  # no cross-origin use, so no preflight to answer
        raise ApiError(405, "method_not_allowed", "OPTIONS is not supported here")
    codings = req.headers.get("Transfer-Encoding", "").lower().split(",")
    if any(c.strip() not in ("", "chunked") for c in codings):
        raise ApiError(501, "not_implemented",
                       "the request uses a transfer coding citeqa does not support")
    try:
        names = [name for name, _ in parse_qsl(req.query_string.decode("latin-1"),
                                               keep_blank_values=True, errors="strict")]
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_parameter",
                       "the query string is not valid UTF-8 once %-decoded") from None
    _given_once(names)


def _given_once(names: list[str]) -> None:
    """A parameter named twice (query string or JSON body) is refused, not resolved."""
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice is not None:
        raise ApiError(400, "invalid_parameter", f"'{twice}' is given more than once")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    _given_once([name for name, _ in pairs])
    return dict(pairs)


def _json_body(req: Request) -> dict[str, Any]:
    """The request body as a JSON object; each way it can fail says which."""
    if not req.is_json:
        raise ApiError(400, "invalid_json", "the request body must be a JSON object, sent "
                                            "with Content-Type: application/json")
    try:
        body = json.loads(req.get_data(cache=True), object_pairs_hook=_pairs)
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the request body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the request body is not valid JSON "
                                            f"({exc.msg} at character {exc.pos})") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise ApiError(400, "invalid_json", "a number in the request body is too long "
                                            "to read") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "the request body must be a JSON object")
    return body


@bp.route("/ask", methods=["GET", "POST"])
def ask_route():
    question, k, explain = (request.environ.get(CHECKED)  # (an error: raised before)
                            or ask_params(request, state().config))
    index = _index()
    response = ask(index, state().parse, question, k, explain, state().params, state().models)
    started = time.perf_counter()
    body = schema.ask_response(index.store, response)
    data = schema.encode(body)
    if body.explain is not None:  # the trace reports its own encoding: encode it twice
        body.explain["timings_ms"]["serialization"] = round(
            (time.perf_counter() - started) * 1000, 3)
        data = schema.encode(body)
    return Response(data, mimetype="application/json")


@bp.get("/health")
def health():
    models = state().models.describe() if state().models else {}
    return json_response(schema.health(_index(), state().params.describe(),
                                       models.get("ranker"), models.get("reader")))


@bp.get("/documents")
def documents():
    store = _index().store
    offset = _int_param(request.args.get("offset", 0), "offset", 0, 10**9)
    limit = _int_param(request.args.get("limit", 100), "limit", 1, 1000)
    page = store.document_page(offset, limit)
    return json_response(schema.documents_page(store, page, offset, limit))


def _found(mapping: dict, key: str, what: str):
    """``mapping[key]``, or a JSON 404 naming what was not found."""
    if key not in mapping:
        raise ApiError(404, f"{what}_not_found", f"no {what} with id {key!r}")
    return mapping[key]


@bp.get("/documents/<path:doc_id>")
def document(doc_id: str):
    store = _index().store
    return json_response(schema.document(store, _found(store.documents, doc_id, "document")))


@bp.get("/entities")
def entities():
    table = _index().entities
    label = request.args.get("label") or None
    if label is not None and label.upper() not in table.labels:
        raise ApiError(400, "invalid_parameter", f"no entity has the label {label!r}")
    limit = _int_param(request.args.get("limit", 50), "limit", 1, 500)
    found = table.search(request.args.get("q", ""), label and label.upper(), limit)
    return json_response(schema.entities(found))


@bp.get("/entities/<path:entity_id>")
def entity(entity_id: str):
    index = _index()
    found = _found(index.entities.by_id, entity_id, "entity")
    sheet = FactBook(index.store, index.entities).sheet(found)
    return json_response(schema.fact_sheet(index.store, sheet))


@bp.get("/labels")
def labels():
    """What each entity and answer label means, for the page's legend and badges."""
    return Response(msgspec.json.encode(LABEL_NAMES), mimetype="application/json")


def register_errors(app: Flask) -> None:
    @app.before_request
    def _check_request():
        checked = request.environ.get(CHECKED)  # the worker's check, when it ran one
        if isinstance(checked, ApiError):
            raise checked
        if checked is None:
            check_request(request, state().config)

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
