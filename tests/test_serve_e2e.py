"""One real ``citeqa serve`` process (gunicorn) answering over HTTP."""

import json
import re
import signal
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import CITEQA, citeqa_server, wait_for


def post(url: str, question: str) -> dict:
    request = urllib.request.Request(
        url + "/ask", data=json.dumps({"question": question}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.fixture()
def served(tmp_path):
    with citeqa_server(tmp_path, env={"CITEQA_RELOAD_INTERVAL": "0.5"},
                       stdout=subprocess.PIPE) as (url, proc):
        yield url, proc, tmp_path


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
    after = json.loads(urllib.request.urlopen(url + "/health", timeout=5).read())
    assert after["documents"] == 2
    assert after["index"]["version"] != before["index"]["version"]

    # Concurrent requests keep both sync workers busy, so both answer; each must already
    # serve the new document. k=3 marks these requests in the access log.
    marked = url + "/ask?" + urllib.parse.urlencode({"q": question, "k": 3})

    def first_doc(_):
        with urllib.request.urlopen(marked, timeout=10) as resp:
            return json.loads(resp.read())["passages"][0]["doc_id"]

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(first_doc, range(24))) == {"moon"}
    proc.send_signal(signal.SIGTERM)
    log = proc.communicate(timeout=20)[0]
    pids = set(re.findall(r'pid=<(\d+)> "GET /ask\?q=[^"]*k=3 ', log))
    assert len(pids) == 2, log[-2000:]
    # both workers stop cleanly: no native thread pool torn down after the fork
    assert proc.returncode == 0
    assert "terminate called" not in log and "was sent SIG" not in log, log[-2000:]
