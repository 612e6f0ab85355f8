"""The OpenAPI document: generated from the response structs, and kept by a live server
under schemathesis (bounded: a fixed seed and a few examples per operation)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from conftest import citeqa_server

from citeqa.serve import schema

ST = Path(sys.executable).with_name("st")


def test_openapi_is_generated_from_the_response_structs(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    _, generated = msgspec.json.schema_components(
        [schema.AskResponse, schema.HealthResponse, schema.ErrorResponse],
        ref_template="#/components/schemas/{name}")
    for name, component in generated.items():
        assert document["components"]["schemas"][name] == component
    ask = document["components"]["schemas"]["AskRequest"]
    assert ask["properties"]["question"]["maxLength"] == 1000
    assert ask["properties"]["k"]["maximum"] == 50
    assert set(document["paths"]) == {"/ask", "/health", "/documents", "/documents/{doc_id}",
                                      "/entities", "/entities/{entity_id}", "/labels"}


def test_responses_decode_as_the_documented_structs(client):
    body = client.post("/ask", json={"question": "Who is the mayor of Moscow?"}).get_data()
    assert msgspec.json.decode(body, type=schema.AskResponse).passages
    msgspec.json.decode(client.get("/health").get_data(), type=schema.HealthResponse)
    msgspec.json.decode(client.get("/nowhere").get_data(), type=schema.ErrorResponse)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("contract")
    # a file, not a pipe nobody reads (that would stall the server)
    with open(base / "server.log", "w") as log, citeqa_server(base, workers=1,
                                                              stdout=log) as (url, _):
        yield url, base / "server.log"


def test_schemathesis_finds_no_server_error_and_no_schema_violation(served, tmp_path):
    url, log = served
    run = subprocess.run(
        [str(ST), "run", f"{url}/openapi.json", "--max-examples", "15", "--seed", "7",
         "--checks", "not_a_server_error,response_schema_conformance,"
                     "status_code_conformance,content_type_conformance",
         "--workers", "1", "--request-timeout", "20", "--phases", "coverage,fuzzing"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed",
                                           run.stdout).groups())
    assert generated == passed > 100
    assert '" 500 ' not in log.read_text()
