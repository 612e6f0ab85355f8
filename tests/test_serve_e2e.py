"""One real ``citeqa serve`` process (gunicorn) answering over HTTP."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SEED

CITEQA = Path(sys.executable).with_name("citeqa")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return json.loads(resp.read())
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"server did not answer {url} within {seconds}s")


def post(url: str, question: str) -> dict:
    request = urllib.request.Request(
        url + "/ask", data=json.dumps({"question": question}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture()
def served(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env["CITEQA_RELOAD_INTERVAL"] = "0.5"
    proc = subprocess.Popen(
        [str(CITEQA), "serve", "--corpus", str(corpus), "--index", str(tmp_path / "index"),
         "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        yield f"http://127.0.0.1:{port}", proc, tmp_path
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_serve_builds_the_missing_index_and_answers(served):
    url, proc, tmp_path = served
    health = wait_for(url + "/health", proc)
    assert health["status"] == "ok" and health["documents"] == 1
    assert (tmp_path / "index" / "CURRENT").exists()
    request = urllib.request.Request(
        url + "/ask", data=json.dumps({"question": "Who is the mayor of Moscow?"}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.headers["Server"].startswith("gunicorn")
        data = json.loads(resp.read())
    assert "Sobyanin" in data["passages"][0]["text"]
    try:
        urllib.request.urlopen(url + "/ask?q=", timeout=10)
        raise AssertionError("an empty question must be refused")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400
        assert json.loads(exc.read())["error"]["code"] == "empty_question"


def test_running_server_picks_up_a_new_document_without_failing_requests(served):
    url, proc, tmp_path = served
    before = wait_for(url + "/health", proc)
    question = "Which company will mine helium on the Moon?"
    assert post(url, question)["answer"] is None

    failures, stop = [], threading.Event()

    def keep_asking():
        while not stop.is_set():
            try:
                post(url, "When did Putin meet Tokayev in Moscow?")
            except OSError as exc:
                failures.append(exc)

    threads = [threading.Thread(target=keep_asking) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        (tmp_path / "corpus" / "moon.txt").write_text(
            "Lunar mining plans\nThe start-up Selenox announced on Monday that it will mine "
            "helium on the Moon from 2031, its chief executive said in Houston.\n")
        subprocess.run([str(CITEQA), "index", "--corpus", str(tmp_path / "corpus"), "--index",
                        str(tmp_path / "index")], check=True, capture_output=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            data = post(url, question)
            if data["passages"] and data["passages"][0]["doc_id"] == "moon":
                break
            time.sleep(0.3)
        else:
            raise AssertionError("the new document was not served within 15 s")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert failures == []
    assert "Selenox" in data["passages"][0]["text"]
    time.sleep(1.0)  # every worker re-checks within the reload interval
    for _ in range(8):  # requests spread over both workers: all see the new version
        assert post(url, question)["passages"][0]["doc_id"] == "moon"
    after = json.loads(urllib.request.urlopen(url + "/health", timeout=5).read())
    assert after["documents"] == 2
    assert after["index"]["version"] != before["index"]["version"]
