"""``/openapi.json``: the HTTP contract as OpenAPI 3.1, generated from the msgspec structs
the API builds its responses with (``schema.py``), so the document cannot drift from them.

The ``/ask`` request is validated by hand in ``api.py`` (its messages name each rule);
``AskRequest`` states the same rules for the document, and the schemathesis test checks
that the server keeps to them.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

import msgspec
from flask import Blueprint, Response

from ..config import Config
from . import schema
from .state import state

bp = Blueprint("openapi", __name__)


def ask_request(config: Config) -> type[msgspec.Struct]:
    """The ``POST /ask`` body, with the limits of this server's settings."""
    question = Annotated[str, msgspec.Meta(min_length=1,
                                           max_length=config.max_question_chars)]
    k = Annotated[int, msgspec.Meta(ge=1, le=config.max_k)]
    return msgspec.defstruct("AskRequest", [("question", question),
                                            ("k", k, config.default_k),
                                            ("explain", bool, False)])


def _error_responses(*statuses: int) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    return {str(s): {"description": "an error (JSON envelope)",
                     "content": {"application/json": {"schema": ref}}} for s in statuses}


def _ok(name: str) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{name}"}}}}}


def _query(name: str, schema_: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema_}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


@functools.lru_cache(maxsize=4)
def document(config: Config) -> dict[str, Any]:
    """The OpenAPI document for a server with ``config``'s limits."""
    request = ask_request(config)
    _, components = msgspec.json.schema_components(
        [request, schema.AskResponse, schema.HealthResponse, schema.DocumentsPage,
         schema.DocumentResponse, schema.EntitiesResponse, schema.FactSheetJSON,
         schema.ErrorResponse], ref_template="#/components/schemas/{name}")
    # 408, 414 and 431 come from the worker (request too slow, line or headers too long).
    common = _error_responses(400, 404, 405, 408, 413, 414, 431, 503)
    k = {"type": "integer", "minimum": 1, "maximum": config.max_k}
    explain = {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", ""]}
    ask = {"responses": {**_ok("AskResponse"), **common}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "citeqa", "version": "1",
                 "description": "Questions answered from news documents, with citations."},
        "paths": {
            "/ask": {
                "post": {**ask, "operationId": "askPost", "requestBody": {
                    "required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/AskRequest"}}}}},
                "get": {**ask, "operationId": "askGet", "parameters": [
                    _query("q", {"type": "string", "minLength": 1,
                                 "maxLength": config.max_question_chars}, required=True),
                    _query("k", k), _query("explain", explain)]},
            },
            "/health": {"get": {"operationId": "health",
                                "responses": {**_ok("HealthResponse"), **common}}},
            "/documents": {"get": {"operationId": "documents", "parameters": [
                _query("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000})],
                "responses": {**_ok("DocumentsPage"), **common}}},
            "/documents/{doc_id}": {"get": {"operationId": "document",
                                            "parameters": [_path("doc_id")],
                                            "responses": {**_ok("DocumentResponse"),
                                                          **common}}},
            "/entities": {"get": {"operationId": "entities", "parameters": [
                _query("q", {"type": "string"}), _query("label", {"type": "string"}),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500})],
                "responses": {**_ok("EntitiesResponse"), **common}}},
            "/entities/{entity_id}": {"get": {"operationId": "entity",
                                              "parameters": [_path("entity_id")],
                                              "responses": {**_ok("FactSheetJSON"),
                                                            **common}}},
            "/labels": {"get": {"operationId": "labels", "responses": {
                "200": {"description": "label -> what it means", "content": {
                    "application/json": {"schema": {
                        "type": "object", "additionalProperties": {"type": "string"}}}}},
                **common}}},
        },
        "components": {"schemas": components},
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(msgspec.json.encode(document(state().config)),
                    mimetype="application/json")
