"""Connections spread evenly over the workers, and each worker runs requests in the
order they came (``serve/worker.py``: ``ConnectionBalance``, ``FifoLock``)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

from conftest import ROOT, citeqa_server, in_threads

from citeqa.serve.worker import ConnectionBalance, FifoLock, GuardedThreadWorker


def test_the_lock_goes_to_the_waiters_in_the_order_they_came():
    lock, order, n = FifoLock(), [], 8
    lock.__enter__()

    def wait_turn(i: int) -> None:
        with lock:
            order.append(i)

    threads = []
    for i in range(n):  # each waiter queues before the next one starts
        thread = threading.Thread(target=wait_turn, args=(i,))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while len(lock._waiting) < i + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
    lock.__exit__(None, None, None)
    for thread in threads:
        thread.join(timeout=5)
    assert order == list(range(n))
    with lock:  # free again, taken at once
        pass


def test_a_worker_holds_at_most_one_connection_more_than_the_least_loaded_other():
    balance = ConnectionBalance(4)
    first, second = balance.claim(set()), balance.claim({0})
    assert (first, second) == (0, 1)
    assert balance.limit(first) == 1  # the other holds none yet
    balance.publish(second, 5)
    assert balance.limit(first) == 6 and balance.limit(second) == 1
    balance.release(second)  # gone or stopping: no one to wait for
    assert balance.limit(first) is None
    assert balance.claim({0}) == 1
    assert ConnectionBalance(1).claim({0}) is None  # more workers than slots: unbalanced


def test_the_worker_stops_accepting_while_it_holds_more_than_the_others():
    worker = object.__new__(GuardedThreadWorker)  # the accept rule alone, no gunicorn
    worker.alive, worker.balance = True, ConnectionBalance(2)
    worker.slot = worker.balance.claim(set())
    other = worker.balance.claim({worker.slot})
    worker.worker_connections = 1000
    worker.nr_conns = 3  # published for the other workers to read
    assert worker.balance.limit(other) == 4
    worker.balance.publish(other, 2)
    assert worker.nr_conns >= worker.worker_connections  # the run loop stops accepting
    worker.balance.publish(other, 3)
    assert worker.nr_conns < worker.worker_connections == 4
    # stopping (SIGTERM): it takes no more connections, so the others stop waiting for it
    worker.method_queue = type("Queue", (), {"defer": lambda self, f: None})()
    worker.handle_exit(None, None)
    assert not worker.alive and worker.balance.limit(other) is None
    worker.nr_conns = 1  # a connection closing meanwhile is not published
    assert worker.balance.limit(other) is None


def test_kept_alive_clients_spread_evenly_over_the_workers(tmp_path):
    """16 clients connect at once and ask over their kept-alive connections, as
    bench/latency.py does; the access log says which worker served which connection."""
    questions = [json.loads(line)["question"]
                 for line in (ROOT / "bench" / "probes" / "seed-tuning.jsonl")
                 .read_text().splitlines() if line.strip()]
    with citeqa_server(tmp_path, env={"CITEQA_READER": "0"},
                       stdout=subprocess.PIPE) as (url, proc):
        port = int(url.rsplit(":", 1)[1])
        start = threading.Barrier(16)

        def client(n: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            start.wait(timeout=30)
            for i in range(6):
                body = json.dumps({"question": questions[(n + i) % len(questions)]})
                conn.request("POST", "/ask", body, {"Content-Type": "application/json"})
                assert conn.getresponse().read()
            conn.close()

        in_threads(client, list(range(16)))
        proc.terminate()
        log = proc.communicate(timeout=30)[0]
    served = defaultdict(set)
    for client_port, pid in re.findall(r':(\d+) pid=<(\d+)> "POST /ask', log):
        served[pid].add(client_port)
    counts = Counter({pid: len(ports) for pid, ports in served.items()})
    assert sum(counts.values()) == 16 and len(counts) == 2, log[-2000:]
    assert max(counts.values()) - min(counts.values()) <= 2, counts


def test_a_hung_worker_does_not_hold_the_others_back(tmp_path):
    """The least-loaded worker may be unable to accept (stopped here; in life hung,
    starting, or with every thread busy): the others take the connections it leaves
    waiting, a grace period later, instead of waiting for it."""
    with citeqa_server(tmp_path, env={"CITEQA_READER": "0"}) as (url, proc):
        port = int(url.rsplit(":", 1)[1])
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text()
        stopped = int(children.split()[0])
        os.kill(stopped, signal.SIGSTOP)
        opened, took = [], []
        try:
            for _ in range(4):  # kept open: the live worker holds more and more
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                start = time.monotonic()
                conn.request("GET", "/health")
                assert conn.getresponse().read()
                took.append(time.monotonic() - start)
                opened.append(conn)
        finally:
            os.kill(stopped, signal.SIGCONT)
            for conn in opened:
                conn.close()
    assert max(took) < 1.0, took
