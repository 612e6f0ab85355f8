"""Questions waiting for a worker are parsed together, and parse as they would alone."""

from __future__ import annotations

import json
import threading

import pytest
from conftest import ROOT, SEED, in_threads
from thinc.api import NumpyOps
from werkzeug.test import EnvironBuilder

from citeqa.config import Config
from citeqa.ingest.annotate import load_model
from citeqa.serve import api
from citeqa.serve.ahead import ParseAhead, announced_question, numpy_matmul
from citeqa.serve.api import CHECKED, ApiError
from citeqa.serve.worker import serialized

QUESTIONS = ["Who is the president of Kazakhstan?",
             "How much did the tenge fall in 2022?",
             "Which countries abstained in the UN vote on March 2?",
             "What did Mirziyoyev say about the war in Ukraine?"]


class Counting:
    """The real pipeline, with a record of how it was called."""

    def __init__(self, nlp) -> None:
        self.nlp, self.calls = nlp, []

    def __call__(self, text):
        self.calls.append([text])
        return self.nlp(text)

    def pipe(self, texts, batch_size):
        texts = list(texts)
        self.calls.append(texts)
        return self.nlp.pipe(texts, batch_size=batch_size)


def signature(doc) -> list[tuple]:
    return [(t.text, t.tag_, t.pos_, t.dep_, t.head.i, t.lemma_, t.ent_iob_, t.ent_type_,
             t.is_sent_start) for t in doc]


def ask_in_threads(parse: ParseAhead, questions: list[str]) -> dict[str, object]:
    """Each question in its own thread: all announce first, then parse one at a time (the
    app lock), as in a worker under load."""
    announced, app_lock, docs = threading.Barrier(len(questions)), threading.Lock(), {}

    def request(text: str) -> None:
        with parse.waiting(text):
            announced.wait(timeout=30)
            with app_lock:
                docs[text] = parse(text)

    in_threads(request, questions)
    return docs


def test_waiting_questions_are_parsed_in_one_batch_as_they_would_be_alone(nlp):
    counting = Counting(nlp)
    docs = ask_in_threads(ParseAhead(counting, max_batch=8, max_chars=1000), QUESTIONS)
    assert len(counting.calls) == 1 and sorted(counting.calls[0]) == sorted(QUESTIONS)
    for question in QUESTIONS:
        assert signature(docs[question]) == signature(nlp(question))


def test_a_batch_is_capped_and_the_rest_parse_later(nlp):
    counting = Counting(nlp)
    docs = ask_in_threads(ParseAhead(counting, max_batch=3, max_chars=1000), QUESTIONS)
    assert sorted(len(batch) for batch in counting.calls) == [1, 3]
    assert sorted(docs) == sorted(QUESTIONS)


def test_the_others_in_a_batch_are_capped_in_characters(nlp):
    """A long question waits for a batch of its own instead of slowing a short one's."""
    counting, long = Counting(nlp), "Who said " + "that the tenge fell " * 10 + "?"
    ask_in_threads(ParseAhead(counting, max_batch=8, max_chars=100), [*QUESTIONS[:3], long])
    assert len(counting.calls) == 2
    assert all(sum(map(len, batch[1:])) <= 100 for batch in counting.calls)
    assert sorted(q for batch in counting.calls for q in batch) == sorted([*QUESTIONS[:3],
                                                                          long])


def test_batch_of_one_parses_each_question_alone(nlp):
    counting = Counting(nlp)
    ask_in_threads(ParseAhead(counting, max_batch=1, max_chars=1000), QUESTIONS)
    assert sorted(counting.calls) == sorted([q] for q in QUESTIONS)


def test_a_question_the_parser_fails_on_fails_only_its_own_request(nlp):
    class Failing(Counting):
        def __call__(self, text):
            if "poison" in text:
                raise ValueError("cannot parse")
            return super().__call__(text)

        def pipe(self, texts, batch_size):
            texts = list(texts)
            if any("poison" in t for t in texts):
                raise ValueError("cannot parse")
            return super().pipe(texts, batch_size)

    parse, failures = ParseAhead(Failing(nlp), max_batch=8, max_chars=1000), []
    announced, app_lock, docs = threading.Barrier(3), threading.Lock(), {}

    def request(text: str) -> None:
        with parse.waiting(text):
            announced.wait(timeout=30)
            with app_lock:
                try:
                    docs[text] = parse(text)
                except ValueError:
                    failures.append(text)

    in_threads(request, ["Who founded Acme?", "poison?", "Where is Boston?"])
    assert failures == ["poison?"]
    assert {q: d.text for q, d in docs.items()} == {
        "Who founded Acme?": "Who founded Acme?", "Where is Boston?": "Where is Boston?"}


def test_a_request_that_leaves_without_its_parse_leaves_nothing_behind(nlp):
    counting = Counting(nlp)
    parse = ParseAhead(counting, max_batch=8, max_chars=1000)
    with parse.waiting("Who founded Acme?"):
        pass  # refused before its parse: an invalid parameter, say
    parse("Where is Boston?")
    assert counting.calls == [["Where is Boston?"]]


def test_a_question_the_handler_writes_differently_is_parsed_as_written(nlp):
    parse = ParseAhead(Counting(nlp), max_batch=8, max_chars=1000)
    with parse.waiting("Who founded Acme?"):
        doc = parse("Who founded Acme in 1990?")
    assert doc.text == "Who founded Acme in 1990?"


def test_numpy_matmul_parses_as_the_stock_pipeline():
    """Sixty seed questions and the seed article, one by one and in a batch."""
    fresh = load_model.__wrapped__  # not the process's cached model
    nlp, fast = fresh(Config().model), numpy_matmul(fresh(Config().model))
    assert {type(layer.ops) for layer in nlp.get_pipe("ner").model.walk()} == {NumpyOps}
    questions = [json.loads(line)["question"] for line in
                 (ROOT / "bench" / "probes" / "seed-tuning.jsonl").open()]
    assert len(questions) >= 60
    texts = [*questions, SEED.read_text(encoding="utf-8")]
    assert [signature(fast(t)) for t in questions] == [signature(nlp(t)) for t in questions]
    assert ([signature(d) for d in fast.pipe(texts, batch_size=8)]
            == [signature(d) for d in nlp.pipe(texts, batch_size=8)])


def environ(method: str = "POST", path: str = "/ask", **kwargs) -> dict:
    return EnvironBuilder(path=path, method=method, base_url="http://127.0.0.1:8000",
                          **kwargs).get_environ()


ASK = "Who founded Acme?"


@pytest.mark.parametrize("request_environ, question", [
    (environ("GET", query_string="q=Who+founded%20%20Acme%3F&k=3"), ASK),
    (environ(json={"question": " Who\nfounded Acme? ", "k": 2, "explain": True}), ASK),
    (environ("GET", path="/entities", query_string="q=Acme"), None),
    (environ("PUT", query_string="q=Acme"), None),
    (environ("GET", query_string="q=a&q=b"), None),
    (environ("GET", query_string="q=Acme&k=0"), None),
    (environ("GET", query_string="q=Acme%FF"), None),
    (environ("GET", query_string="q=%20"), None),
    (environ(json={"question": 3}), None),
    (environ(json={"question": ASK, "k": "3"}), None),
    (environ(json={"question": ASK, "explain": "maybe"}), None),
    (environ(data='{"question": "a", "question": "b"}', content_type="application/json"),
     None),
    (environ(data=json.dumps({"question": ASK}), content_type="text/plain"), None),
    (environ(json={"question": ASK, "x": json.loads("[" * 32 + "]" * 32)}), None),
    (environ(data=b"[" * 5000, content_type="application/json"), None),
    (environ(data=b"\xff\xfe", content_type="application/json"), None),
    (environ("GET", query_string="q=Acme", headers={"Host": "evil.test"}), None),
])
def test_only_a_question_the_api_will_answer_is_announced(request_environ, question):
    """Whatever the API refuses is refused before any parse (tests/test_api.py has the
    refusals' messages), and the announced question is the one the handler parses."""
    assert announced_question(request_environ, Config()) == question
    checked = request_environ.get(CHECKED)
    assert (checked[0] == question) if question else (checked is None
                                                      or isinstance(checked, ApiError))
    assert request_environ["wsgi.input"].read(1) in (b"", b"{", b"[", b"\xff")  # rewound


def test_a_request_refused_before_the_app_is_checked_once(app, monkeypatch):
    """A 64 KiB body of brackets takes milliseconds to check: the handler answers the
    error the worker found instead of checking the body again."""
    request_environ = environ(data=b"[" * 60_000, content_type="application/json")
    assert announced_question(request_environ, app.extensions["citeqa"].config) is None
    monkeypatch.setattr(api, "ask_params", lambda *args: pytest.fail("checked twice"))
    with app.request_context(request_environ):
        response = app.full_dispatch_request()
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_the_handler_uses_the_checked_parameters(app):
    """The body is read and checked once: the handler takes what the worker checked."""
    question = QUESTIONS[0]
    request_environ = environ(json={"question": question, "k": 3})
    assert announced_question(request_environ, app.extensions["citeqa"].config) == question
    assert request_environ[CHECKED] == (question, 3, False)
    request_environ[CHECKED] = (question, 1, False)  # a change only the handler can see
    with app.request_context(request_environ):
        response = app.full_dispatch_request()
    assert len(response.get_json()["passages"]) == 1


def test_the_worker_announces_before_it_waits_for_the_app_lock():
    events, lock = [], threading.Lock()

    class Ahead:
        def __init__(self, environ):
            events.append(("announce", environ["PATH_INFO"], lock.locked()))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            events.append(("leave", lock.locked()))

    def app(environ, start_response):
        events.append(("app", lock.locked()))
        return [b"ok"]

    assert serialized(app, lock, Ahead)(environ("GET"), None) == [b"ok"]
    assert events == [("announce", "/ask", False), ("app", True), ("leave", False)]
