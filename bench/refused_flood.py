"""Does a flood of requests the API refuses slow a valid client? A real `citeqa serve
--no-reader` (2 workers) on the seed corpus; one kept-alive client asks a seed question in
a loop while `--threads` clients send `/ask` bodies refused before any parse (`k` = 0)
with a long question, for `--seconds`. Only 127.0.0.1 is contacted; every client stops by
itself. Output: the last run's line, also in bench/results/refused-flood.json.

    .venv/bin/python bench/refused_flood.py [--threads 40] [--seconds 10]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import threading
import time

from squad import ROOT, start_server

VALID = json.dumps({"question": "Who is the president of Kazakhstan?"})
REFUSED = json.dumps({"question": "government " * 90, "k": 0})
JSON = {"Content-Type": "application/json"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    proc, url = start_server("--workers", "2", "--no-reader", cwd=ROOT, seconds=300,
                             env=dict(os.environ))
    host, port = url.removeprefix("http://").split(":")
    stop = time.monotonic() + args.seconds
    took: list[float] = []
    refused = [0]

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(host, int(port), timeout=10)

    def flood() -> None:
        conn = connect()
        while time.monotonic() < stop:
            try:
                conn.request("POST", "/ask", REFUSED, JSON)
                response = conn.getresponse()
                response.read()
                refused[0] += response.status == 400
            except (OSError, http.client.HTTPException):
                conn = connect()

    def ask() -> None:
        conn = connect()
        while time.monotonic() < stop:
            start = time.perf_counter()
            conn.request("POST", "/ask", VALID, JSON)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
            took.append((time.perf_counter() - start) * 1000)

    try:
        threads = [threading.Thread(target=flood) for _ in range(args.threads)]
        threads.append(threading.Thread(target=ask))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 30)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    line = json.dumps({"refusing_threads": args.threads, "seconds": args.seconds,
                       "refused": refused[0], "answered": len(took),
                       "p50_ms": round(statistics.median(took), 1),
                       "max_ms": round(max(took), 1)})
    print(line)
    (ROOT / "bench" / "results" / "refused-flood.json").write_text(line + "\n")


if __name__ == "__main__":
    main()
