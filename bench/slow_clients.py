"""How a running ``citeqa serve`` treats normal clients while hostile ones hold sockets.

Starts a server on 127.0.0.1 (seed corpus, a private index), opens SLOW connections that
trickle one header or body byte every 0.3 s and IDLE ones that send nothing, then times
normal ``/ask`` requests for a few seconds. Bounded: every socket has a timeout and the
run ends by itself. Results are in BENCHMARKS.md ("Slow and idle clients").

    .venv/bin/python bench/slow_clients.py [--slow 10] [--idle 20] [--seconds 6]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from squad import start_server

ROOT = Path(__file__).resolve().parent.parent


def trickle(port: int, prefix: bytes, rest: bytes, stop: threading.Event) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
        try:
            sock.sendall(prefix)
            for byte in rest:
                if stop.is_set():
                    return
                sock.sendall(bytes([byte]))
                time.sleep(0.3)
        except OSError:
            return  # the server hung up: its read deadline


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=int, default=10)
    parser.add_argument("--idle", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="citeqa-slow-"))
    (base / "corpus").mkdir()
    shutil.copy(ROOT / "corpus" / "central-asia-russia-ukraine.txt", base / "corpus")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    server, url = start_server("--corpus", str(base / "corpus"), "--index",
                               str(base / "index"), env=env)
    port = int(url.rsplit(":", 1)[1])
    stop = threading.Event()
    try:
        head = b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 500\r\n\r\n"
        hostile = [threading.Thread(target=trickle, args=(port, b"G", b"ET /health " * 40,
                                                          stop), daemon=True)
                   for _ in range(args.slow // 2)]
        hostile += [threading.Thread(target=trickle, args=(port, head, b"{" * 500, stop),
                                     daemon=True) for _ in range(args.slow - args.slow // 2)]
        for t in hostile:
            t.start()
        idle = [socket.create_connection(("127.0.0.1", port), timeout=1.0)
                for _ in range(args.idle)]
        time.sleep(0.5)
        latencies, failures = [], 0
        question = json.dumps({"question": "By how much did the Kyrgyz som fall?"}).encode()
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            request = urllib.request.Request(url + "/ask", data=question,
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=5) as resp:
                    resp.read()
                latencies.append(time.monotonic() - started)
            except OSError:
                failures += 1
        for sock in idle:
            sock.close()
    finally:
        stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)
    latencies.sort()
    print(json.dumps({
        "slow_clients": args.slow, "idle_clients": args.idle, "normal_requests": len(latencies),
        "failed": failures, "p50_ms": round(1000 * statistics.median(latencies), 1),
        "max_ms": round(1000 * latencies[-1], 1)}))


if __name__ == "__main__":
    main()
