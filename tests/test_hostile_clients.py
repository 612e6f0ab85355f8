"""A real ``citeqa serve`` against slow and malformed clients, on 127.0.0.1 only.

Every socket here has a timeout and every sender stops by itself: the tests are bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.request

import pytest
from conftest import ROOT, citeqa_server, in_threads

READ_TIMEOUT = 2.0
SECURITY = ("content-security-policy", "x-content-type-options", "referrer-policy",
            "x-frame-options")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with citeqa_server(tmp_path_factory.mktemp("hostile"),
                       env={"CITEQA_READ_TIMEOUT": str(READ_TIMEOUT)}) as (url, _):
        yield int(url.rsplit(":", 1)[1])


def raw(port: int, data: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as is; the status, headers and body of the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


class SlowClient(threading.Thread):
    """Sends ``prefix`` at once, then one byte of ``trickle`` per ``pause``, until the
    server closes the socket or ``limit`` seconds pass."""

    def __init__(self, port: int, prefix: bytes, trickle: bytes, pause: float = 0.3,
                 limit: float = 8.0) -> None:
        super().__init__(daemon=True)
        self.port, self.prefix, self.trickle = port, prefix, trickle
        self.pause, self.limit = pause, limit
        self.reply, self.closed_after = b"", None

    def run(self) -> None:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
            try:
                sock.sendall(self.prefix)
                for n in range(len(self.trickle)):
                    if time.monotonic() - started > self.limit:
                        return
                    sock.sendall(self.trickle[n:n + 1])
                    time.sleep(self.pause)
            except OSError:
                pass  # the server gave up on us, as it should
            deadline = started + self.limit
            while time.monotonic() < deadline:
                try:
                    chunk = sock.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                self.reply += chunk
            self.closed_after = time.monotonic() - started


def test_slow_clients_do_not_starve_normal_ones(server):
    header = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    body_head = (b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 200\r\n\r\n")
    slow = [SlowClient(server, b"G", header[1:]) for _ in range(5)]
    slow += [SlowClient(server, body_head, b"{" * 200) for _ in range(5)]
    for client in slow:
        client.start()
    # Idle sockets that never send a byte hold no thread at all.
    idle = [socket.create_connection(("127.0.0.1", server), timeout=1.0) for _ in range(20)]
    time.sleep(0.5)  # every slow client is connected and trickling
    answered = []
    for _ in range(8):
        started = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{server}/health", timeout=5) as resp:
            assert json.loads(resp.read())["status"] == "ok"
        answered.append(time.monotonic() - started)
        time.sleep(0.1)
    for client in slow:
        client.join(timeout=15)
    for sock in idle:
        sock.close()
    assert max(answered) < 1.0, answered
    for client in slow:
        # The server hung up on each by the read deadline, not the client's own limit.
        assert client.closed_after is not None and client.closed_after < READ_TIMEOUT + 2
        if client.reply:
            assert client.reply.startswith(b"HTTP/1.1 408 "), client.reply[:80]


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400),
    (b"GET / HTTP/7.1\r\nHost: x\r\n\r\n", 400),
    (b"POST /ask HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", 400),
])
def test_gunicorn_refusals_are_json_with_security_headers(server, request_bytes, status):
    got, headers, body = raw(server, request_bytes)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert all(name in headers for name in SECURITY)
    assert set(json.loads(body)["error"]) == {"code", "message"}


def _chunked(payload: bytes, size: int = 4096) -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + size]), payload[i:i + size])
                      for i in range(0, len(payload), size))
    return (b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")


def test_chunked_body_over_the_limit_is_413_not_cut(server):
    question = json.dumps({"question": "Who is the mayor of Moscow?", "pad": "x" * 70_000})
    status, headers, body = raw(server, _chunked(question.encode()))
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_entity_too_large"
    assert all(name in headers for name in SECURITY)


def test_chunked_body_under_the_limit_is_answered(server):
    status, _, body = raw(server, _chunked(b'{"question": "Who is the mayor of Moscow?"}'))
    assert status == 200
    assert "Sobyanin" in json.loads(body)["passages"][0]["text"]


def test_declared_body_over_the_limit_is_413_unread(server):
    request = (b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: 2000000000\r\n\r\n{")
    status, _, body = raw(server, request)
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_entity_too_large"


def test_concurrent_questions_in_one_worker_are_all_answered(server):
    """Threads share one analyzer and one spaCy pipeline, neither thread-safe: the app
    runs one request at a time per worker, so none of these may fail."""
    # Words never seen before miss the stemmer's cache, so every request stems at once.
    questions = [" ".join(f"rationaliz{n}x{w}ations" for w in range(40)) + "?"
                 for n in range(24)]
    failures = []

    def ask(question: str) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server}/ask", data=json.dumps({"question": question}).encode(),
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                json.loads(resp.read())
        except OSError as exc:
            failures.append(f"{question}: {exc}")

    in_threads(ask, questions)
    assert failures == []


def test_questions_asked_together_get_the_answers_they_get_alone(server):
    """Questions waiting for a worker are parsed in one batch (serve/ahead.py): each still
    gets the answer and passages it gets when asked alone."""
    questions = [json.loads(line)["question"] for line in
                 (ROOT / "bench" / "probes" / "seed-tuning.jsonl").open()][:12]

    def ask(question: str) -> tuple:
        request = urllib.request.Request(
            f"http://127.0.0.1:{server}/ask", data=json.dumps({"question": question}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            body = json.loads(resp.read())
        return (body["answer"], [(p["doc_id"], p["start"]) for p in body["passages"]])

    alone = {q: ask(q) for q in questions}
    together, ready = {}, threading.Barrier(len(questions))

    def ask_together(question: str) -> None:
        ready.wait(timeout=30)
        together[question] = ask(question)

    in_threads(ask_together, questions)
    assert together == alone
