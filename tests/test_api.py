"""The HTTP contract, through Flask's test client."""

import pytest
from conftest import SEED_ID

from citeqa.lexicon import LABEL_NAMES
from citeqa.qa.params import QAParams
from citeqa.qa.ranker import FEATURE_SET

QUESTION = "By how much did the tenge fall against the dollar?"


def test_ask_post_returns_the_documented_shape(client, seed_index):
    response = client.post("/ask", json={"question": QUESTION, "k": 3})
    assert response.status_code == 200
    data = response.get_json()
    assert list(data) [:5] == ["question", "answer", "passages", "facts", "took_ms"]
    assert data["question"] == QUESTION
    assert isinstance(data["took_ms"], float)
    assert len(data["passages"]) == 3
    assert [p["rank"] for p in data["passages"]] == [1, 2, 3]
    scores = [p["score"] for p in data["passages"]]
    assert scores == sorted(scores, reverse=True)
    for p in data["passages"]:
        assert set(p) == {"id", "doc_id", "title", "date", "source", "rank", "score", "text",
                          "start", "end", "entities", "matches"}
        for s, e in p["matches"]:
            assert p["start"] <= s < e <= p["end"]
        text = seed_index.store.documents[p["doc_id"]].text
        assert text[p["start"]:p["end"]] == p["text"]
        assert p["id"].startswith(SEED_ID + "#")
        for e in p["entities"]:
            assert set(e) == {"text", "label", "start", "end"}
            assert text[e["start"]:e["end"]] == e["text"]


def test_ask_get_equals_post(client):
    got = client.get("/ask", query_string={"q": QUESTION, "k": 2}).get_json()
    posted = client.post("/ask", json={"question": QUESTION, "k": 2}).get_json()
    assert [p["id"] for p in got["passages"]] == [p["id"] for p in posted["passages"]]


def test_default_k_is_five(client):
    data = client.post("/ask", json={"question": "Kazakhstan Russia Uzbekistan"}).get_json()
    assert len(data["passages"]) == 5


def test_relevant_passage_ranks_first(client):
    data = client.post("/ask", json={"question": "What did Sobyanin, mayor of Moscow, say?"})
    assert "Sobyanin, mayor of Moscow" in data.get_json()["passages"][0]["text"]


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"data": "not json", "content_type": "application/json"}, 400, "invalid_json"),
    ({"data": "question=x"}, 400, "invalid_json"),
    ({"json": ["a list"]}, 400, "invalid_json"),
    ({"json": {}}, 400, "missing_question"),
    ({"json": {"question": 42}}, 400, "invalid_parameter"),
    ({"json": {"question": "   "}}, 400, "empty_question"),
    ({"json": {"question": "x" * 1001}}, 400, "question_too_long"),
    ({"json": {"question": "ok", "k": 0}}, 400, "invalid_parameter"),
    ({"json": {"question": "ok", "k": 51}}, 400, "invalid_parameter"),
    ({"json": {"question": "ok", "k": "five"}}, 400, "invalid_parameter"),
    ({"json": {"question": "ok", "k": True}}, 400, "invalid_parameter"),
    ({"data": "x" * 70_000, "content_type": "application/json"}, 413, "request_entity_too_large"),
])
def test_bad_requests_get_json_errors(client, kwargs, status, code):
    response = client.post("/ask", **kwargs)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"] and "Traceback" not in error["message"]


def test_get_without_q_and_wrong_method(client):
    assert client.get("/ask").get_json()["error"]["code"] == "missing_question"
    response = client.delete("/ask")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_unknown_route_is_a_json_404(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_internal_errors_hide_the_trace(client, monkeypatch):
    import citeqa.serve.api

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(citeqa.serve.api, "ask", boom)
    response = client.post("/ask", json={"question": "anything"})
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "internal_error" in body and "secret internals" not in body


def test_health(client, seed_index):
    data = client.get("/health").get_json()
    assert data["status"] == "ok"
    assert data["documents"] == 1
    assert data["passages"] == len(seed_index.store.passages)
    assert data["index"]["fingerprint"] == seed_index.manifest["corpus"]["fingerprint"]
    assert data["index"]["built_at"] == seed_index.manifest["built_at"]
    assert data["index"]["version"] == seed_index.version
    params = QAParams()
    assert data["params"]["version"] == params.version
    assert data["params"]["answer"]["min_coverage"] == params.answer.min_coverage
    assert data["ranker"]["feature_set"] == FEATURE_SET
    assert len(data["ranker"]["sha256"]) == 64 and "SQuAD" in data["ranker"]["trained_on"]


def test_explain_and_refusals_name_the_parameters_and_a_code(client):
    body = client.post("/ask", json={"question": "Who is the prime minister of Canada?",
                                     "explain": True}).get_json()
    assert body["answer"] is None
    assert body["no_answer_code"] == "not_in_corpus"
    assert "'Canada'" in body["no_answer_reason"]
    assert body["explain"]["params_version"] == QAParams().version
    assert set(body["explain"]["timings_ms"]) == {"parse", "retrieval", "answer", "facts",
                                                  "serialization"}
    answered = client.post("/ask", json={"question": "Who is the new president of "
                                                     "Turkmenistan?"}).get_json()
    assert answered["answer"] and "no_answer_code" not in answered


def test_labels_come_from_the_lexicon(client):
    assert client.get("/labels").get_json() == LABEL_NAMES


def test_documents_are_paged(tmp_path):
    from conftest import make_corpus

    from citeqa.config import Config
    from citeqa.serve.app import create_app
    from citeqa.store import build as builder

    corpus = make_corpus(tmp_path / "c", {f"d{n}.txt": f"Doc {n}\nBody {n}." for n in range(5)})
    config = Config.load({"corpus": corpus, "index": tmp_path / "i"}, environ={})
    builder.build(config)
    client = create_app(config).test_client()
    page = client.get("/documents", query_string={"offset": 1, "limit": 2}).get_json()
    assert page["total"] == 5 and page["offset"] == 1 and page["limit"] == 2
    assert [d["id"] for d in page["documents"]] == ["d1", "d2"]
    assert client.get("/documents?limit=0").get_json()["error"]["code"] == "invalid_parameter"


def test_documents(client, seed_index):
    listing = client.get("/documents").get_json()["documents"]
    assert [d["id"] for d in listing] == [SEED_ID]
    doc = client.get(f"/documents/{SEED_ID}").get_json()
    assert doc["title"].startswith("Central Asian countries")
    assert len(doc["passages"]) == listing[0]["passages"] == len(seed_index.store.passages)
    for p in doc["passages"]:
        assert doc["text"][p["start"]:p["end"]] == seed_index.store.passages[p["n"]].text
    missing = client.get("/documents/nope")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "document_not_found"


def test_security_headers_on_every_response(client):
    for response in (client.get("/health"), client.get("/nope")):
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_index_is_a_503(tmp_path):
    from citeqa.config import Config
    from citeqa.serve.app import create_app

    app = create_app(Config.load({"index": tmp_path / "none"}, environ={}))
    response = app.test_client().post("/ask", json={"question": "anything"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "index_unavailable"


def test_answer_fields_and_explain_flag(client, seed_index):
    data = client.post("/ask", json={"question": "By how much did the Kyrgyz som fall?"})
    answer = data.get_json()["answer"]
    assert set(answer) == {"text", "label", "confidence", "passage_id", "start", "end",
                           "sentence", "sentence_start"}
    assert answer["text"] == "15%"
    doc_text = seed_index.store.documents[answer["passage_id"].split("#")[0]].text
    assert doc_text[answer["start"]:answer["end"]] == "15%"
    assert answer["sentence"] in doc_text
    assert "explain" not in data.get_json()
    explained = client.get("/ask", query_string={"q": "By how much did the Kyrgyz som fall?",
                                                 "explain": "true"}).get_json()
    assert explained["answer"] == answer
    assert explained["explain"]["candidates"][0]["text"] == "15%"


def test_refusal_carries_a_reason(client):
    data = client.post("/ask", json={"question": "Who is the prime minister of Canada?"})
    body = data.get_json()
    assert body["answer"] is None
    assert "Canada" in body["no_answer_reason"]


def test_explain_must_be_boolean(client):
    response = client.post("/ask", json={"question": "x y", "explain": "maybe"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_parameter"
