"""/ask served at 10k, 100k and 1M passages, and the seed corpus under load, end to end.

    .venv/bin/python bench/serving_scale.py [--sizes 10000,100000,1000000] [--seconds 20]
        [--before COMMIT]

Seed phase: `citeqa serve --no-reader` (2 workers) on ./corpus, as `make serve`; spaCy's
question-parse time measured in-process; one client (p50/p95/p99, per-stage server
timings from the explain trace), then 16 keep-alive connections for `--seconds`. With
`--before COMMIT` the same runs first against that commit's `src/` (exported with `git
archive` under bench/out/, its own index built there) for a before/after comparison.

Scale phases: an index of each size is made under bench/out/serving-scale/ by replicating
the passages of the seed index (./index, built by `citeqa index`) -- documents, passages,
annotations, analysed words, entity mentions -- as distinct documents ("<id>~<copy>"); no
spaCy runs. Its postings are rank_bm25's formula at the new size (IDF from rank_bm25's own
``_calc_idf``), vectorised. Then for each size: open time, full sha256 check time, disk
size, `citeqa serve --no-reader` start until /health answers, PSS of master + workers
(/proc/<pid>/smaps_rollup), /ask p50/p95/p99 for one client, requests/s with 16
connections, PSS before and after a hot reload (a copy of the version made current), and
up to 100k passages rank_bm25's stock ``get_scores`` beside citeqa's postings.
Only 127.0.0.1 is contacted; every phase is bounded. Output: bench/results/serving-scale.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np
from latency import load, percentiles, questions
from squad import EXTERNAL, ROOT, SETS, citeqa, read_jsonl, start_server, write_corpus

from citeqa.config import Config
from citeqa.ingest.annotate import load_model
from citeqa.search.bm25 import VARIANTS, BM25Params, Postings
from citeqa.store import index as index_store
from citeqa.store.disk import STORE_FILE

WORK = ROOT / "bench" / "out" / "serving-scale"
RESULTS = ROOT / "bench" / "results" / "serving-scale.json"


class Client:
    """One keep-alive connection to the server."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)

    def ask(self, question: str, explain: bool = False) -> dict:
        body = json.dumps({"question": question, "explain": explain})
        self.conn.request("POST", "/ask", body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise OSError(f"HTTP {response.status}: {data[:200]!r}")
        return json.loads(data)

    def get(self, path: str) -> dict:
        self.conn.request("GET", path)
        return json.loads(self.conn.getresponse().read())


def one_client(url: str, qs: list[str], rounds: int, seconds: float) -> dict:
    """``rounds`` passes over the questions, stopped after ``seconds`` (percentiles of all,
    and ``warm`` of the passes after the first); then each question once with
    ``explain`` (also stopped after ``seconds``) for the server's stage times."""
    client, took = Client(url), []
    stop = time.monotonic() + seconds
    for q in [q for _ in range(rounds) for q in qs]:
        if time.monotonic() > stop:
            break
        start = time.perf_counter()
        client.ask(q)
        took.append((time.perf_counter() - start) * 1000)
    stages: dict[str, list[float]] = {}
    stop = time.monotonic() + seconds
    for q in qs:
        if time.monotonic() > stop:
            break
        for stage, ms in client.ask(q, explain=True)["explain"]["timings_ms"].items():
            stages.setdefault(stage, []).append(ms)
    warm = took[len(qs):]  # after the first pass has read each question's pages once
    return {**percentiles(took), **({"warm": percentiles(warm)} if warm else {}),
            "stages_mean_ms": {
        s: round(statistics.mean(v), 2) for s, v in stages.items()}, "stages_p95_ms": {
        s: round(sorted(v)[int(0.95 * (len(v) - 1))], 2) for s, v in stages.items()}}


def pss_mb(pid: int) -> float:
    """PSS of ``pid`` and its children (gunicorn's master and workers)."""
    pids = [pid, *map(int, subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                          text=True).stdout.split())]
    total = 0
    for p in pids:
        for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def parse_ms(qs: list[str]) -> float:
    """spaCy's mean time to parse one question (the model citeqa serves with)."""
    nlp = load_model(Config().model)
    for q in qs:
        nlp(q)
    started = time.perf_counter()
    for _ in range(3):
        for q in qs:
            nlp(q)
    return round((time.perf_counter() - started) * 1000 / (3 * len(qs)), 2)


def probe(url: str, qs: list[str]) -> dict:
    """Each question once with ``explain``, one at a time: latency and the server's stages."""
    client, rows = Client(url), []
    for q in qs:
        start = time.perf_counter()
        timings = client.ask(q, explain=True)["explain"]["timings_ms"]
        rows.append({"ms": round((time.perf_counter() - start) * 1000, 1), **timings})
    return {"questions": len(rows), "requests": rows}


def served(corpus: Path, index: Path, qs: list[str], rounds: int, seconds: float,
           connections: int, reload: bool, env: dict[str, str] | None = None,
           probe_only: int = 0) -> dict:
    started = time.perf_counter()
    proc, url = start_server("--corpus", str(corpus), "--index", str(index), "--workers", "2",
                             "--no-reader", cwd=ROOT, env=env)
    try:
        row = {"ready_s": round(time.perf_counter() - started, 1)}
        row["pss_mb_idle"] = pss_mb(proc.pid)
        if probe_only:
            row["probe"] = probe(url, qs[:probe_only])
        else:
            for q in qs[:4]:  # both workers answer once (most likely)
                Client(url).ask(q)
            row["one_client"] = one_client(url, qs, rounds, 4 * seconds)
            row["load"] = load(url, qs, connections, seconds,
                               connect=lambda u: Client(u).ask)
        row["pss_mb"] = pss_mb(proc.pid)
        if reload:
            row["hot_reload"] = hot_reload(index, url, qs, proc.pid)
        return row
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def exported(commit: str) -> dict[str, str]:
    """The environment that runs ``commit``'s citeqa (its src/ first on the path)."""
    folder = WORK / f"before-{commit}"
    if not folder.exists():
        folder.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit, "src"], cwd=ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return {**{k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")},
            "PYTHONPATH": str(folder / "src")}


def hot_reload(root: Path, url: str, qs: list[str], pid: int) -> dict:
    """Copy the live version to a new one, make it current, wait until both workers serve
    it, ask again; PSS before and after."""
    before = pss_mb(pid)
    old = index_store.current_version(root)
    new = f"{old[:-4]}{'abcd' if old[-4:] != 'abcd' else 'dcba'}"
    shutil.rmtree(root / new, ignore_errors=True)  # an earlier run's, not live (--reuse)
    shutil.copytree(root / old, root / new)
    pointer = (root / index_store.CURRENT).read_text().split("\n")
    (root / ".CURRENT.tmp").write_text("\n".join([new, *pointer[1:]]))
    (root / ".CURRENT.tmp").replace(root / index_store.CURRENT)
    started, seen = time.perf_counter(), 0
    client = Client(url)
    while seen < 20 and time.perf_counter() - started < 600:
        health = Client(url).get("/health")
        seen = seen + 1 if health.get("index", {}).get("version") == new else 0
        time.sleep(0.2)
    switched = round(time.perf_counter() - started, 1)
    for q in qs[:2]:
        client.ask(q)
    return {"pss_mb_before": before, "pss_mb_after": pss_mb(pid), "switched_s": switched,
            "served_new_version": seen >= 20}


def replicate(source: Path, size: int, out: Path, reuse: bool) -> tuple[Path, dict]:
    """An index of about ``size`` passages (whole copies of the source's) under ``out``;
    with ``reuse``, the one made by an earlier run."""
    src = index_store.load(source)
    n_src = len(src.store)
    copies = max(1, round(size / n_src))
    if reuse and _made_from(out, src):
        return out, {"passages": n_src * copies, "copies": copies, "reused": True}
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    version = index_store.current_version(source)[:-4] + "r" + f"{copies:03d}"[-3:]
    folder = out / version
    folder.mkdir()
    started = time.perf_counter()
    _replicate_store(src.path / STORE_FILE, folder / STORE_FILE, copies)
    postings = _replicate_postings(src, copies)
    index_store._write_json(folder / "vocab.json",
                            sorted(postings.vocab, key=postings.vocab.__getitem__))
    for name in index_store.ARRAYS:
        np.save(folder / f"{name}.npy", getattr(postings, name), allow_pickle=False)
    counts = src.manifest["counts"]
    manifest = {**src.manifest, "counts": {
        **counts, "documents": counts["documents"] * copies,
        "passages": n_src * copies, "entity_mentions": counts["entity_mentions"] * copies},
        "files": {name: index_store._file_digest(folder / name)
                  for name in index_store.DATA_FILES}}
    index_store._write_json(folder / "manifest.json", manifest)
    digest = index_store._file_digest(folder / "manifest.json")["sha256"]
    (out / index_store.CURRENT).write_text(f"{version}\n{digest}\n")
    return out, {"passages": n_src * copies, "copies": copies,
                 "build_s": round(time.perf_counter() - started, 1)}


def _made_from(index: Path, src: index_store.Index) -> bool:
    """Whether an earlier run's index opens with this citeqa and was replicated from this
    source index as it is now (same corpus, format, derived data and value-link key)."""
    try:
        made = index_store.load(index, verify=False).manifest
    except index_store.IndexUnavailable:
        return False
    same = ("format_version", "pipeline_version", "derived_version", "links", "corpus")
    return all(made.get(key) == src.manifest.get(key) for key in same)


def _replicate_store(source: Path, target: Path, copies: int) -> None:
    """Every row of the source database once per copy, positions and ids shifted."""
    shutil.copy(source, target)
    db = sqlite3.connect(target, isolation_level=None)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
    n_docs = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    n_pass = db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
    db.execute("BEGIN")
    db.execute("CREATE TEMP TABLE copies (k INTEGER PRIMARY KEY)")
    db.executemany("INSERT INTO copies VALUES (?)", ((k,) for k in range(1, copies)))
    db.execute("CREATE TEMP TABLE d0 AS SELECT * FROM documents")
    db.execute("CREATE TEMP TABLE p0 AS SELECT * FROM passages")
    db.execute("CREATE TEMP TABLE m0 AS SELECT * FROM mentions")
    db.execute("UPDATE documents SET id = id || '~0'")
    db.execute("UPDATE passages SET id = (SELECT id FROM documents WHERE pos = doc) || '#' || n")
    db.execute("INSERT INTO documents SELECT pos + k * ?, id || '~' || k, title, text, path, "
               "sha256, body_start, metadata FROM copies, d0 ORDER BY k, pos", (n_docs,))
    db.execute("INSERT INTO passages SELECT p.pos + k * ?, d.id || '~' || k || '#' || p.n, "
               "p.doc + k * ?, p.n, p.start, p.\"end\", p.data, p.links FROM copies, p0 p "
               "JOIN d0 d ON d.pos = p.doc ORDER BY k, p.pos", (n_pass, n_docs))
    db.execute("DELETE FROM mentions")
    db.execute("INSERT INTO mentions SELECT m.entity, k * c.cnt + m.n, m.passage + k * ?, "
               "m.start, m.\"end\", m.label FROM (SELECT 0 AS k UNION ALL SELECT k FROM copies) "
               "JOIN m0 m JOIN (SELECT entity, COUNT(*) AS cnt FROM m0 GROUP BY entity) c "
               "ON c.entity = m.entity", (n_pass,))
    db.execute("UPDATE entities SET mentions = mentions * ?", (copies,))
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


def _replicate_postings(src: index_store.Index, copies: int) -> Postings:
    """rank_bm25's scores for ``copies`` copies of the source passages."""
    vocab = src.search.postings.vocab
    term_ids, docs, tfs, doc_len = [], [], [], []
    for pos in range(len(src.store)):
        terms = [t for _, _, t in src.store.words(pos) if t is not None]
        doc_len.append(len(terms))
        for term, tf in sorted(_counts(terms).items()):
            term_ids.append(vocab[term])
            docs.append(pos)
            tfs.append(tf)
    n_src = len(doc_len)
    term_arr = np.tile(np.asarray(term_ids, dtype=np.int64), copies)
    doc_arr = (np.tile(np.asarray(docs, dtype=np.int64), copies)
               + np.repeat(np.arange(copies, dtype=np.int64) * n_src, len(docs))).astype(np.int32)
    tf = np.tile(np.asarray(tfs, dtype=np.float64), copies)
    lengths = np.tile(np.asarray(doc_len, dtype=np.float64), copies)
    params = BM25Params(**src.manifest["bm25"])
    df = np.bincount(np.asarray(term_ids), minlength=len(vocab)) * copies
    model = object.__new__(VARIANTS[params.variant])  # rank_bm25's own IDF at this size
    model.corpus_size, model.idf, model.epsilon = n_src * copies, {}, params.epsilon
    model._calc_idf({t: int(df[i]) for t, i in vocab.items()})
    idf = np.zeros(len(vocab))
    for term, i in vocab.items():
        idf[i] = model.idf[term]
    return Postings.from_counts(vocab, idf, term_arr, doc_arr, tf, lengths,
                                float(lengths.mean()), params)


def _counts(terms: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in terms:
        out[t] = out.get(t, 0) + 1
    return out


def against_rank_bm25(index: Path, qs: list[str], limit: int) -> dict:
    """citeqa's memory-mapped postings and rank_bm25's get_scores on the same passages."""
    loaded = index_store.load(index, verify=False)
    store, search = loaded.store, loaded.search
    queries = [search.analyzer.terms(q) for q in qs]
    ours = []
    for q in queries:
        t = time.perf_counter()
        search.postings.top(q, 10)
        ours.append((time.perf_counter() - t) * 1000)
    row = {"citeqa_top10_ms": percentiles(ours)}
    if len(store) <= limit:
        corpus = [[t for _, _, t in store.words(p) if t] for p in range(len(store))]
        model = BM25Params(**loaded.manifest["bm25"]).make(corpus)
        theirs, agree = [], 0
        for q in queries[:20]:
            t = time.perf_counter()
            scores = model.get_scores(q)
            np.argsort(-scores, kind="stable")[:10]
            theirs.append((time.perf_counter() - t) * 1000)
            mine = search.postings.scores(q)[0]
            agree += bool(np.allclose(scores, mine, rtol=1e-4, atol=1e-4))
        row["rank_bm25_get_scores_ms"] = percentiles(theirs)
        row["scores_equal_for"] = f"{agree}/{len(theirs)} questions"
    return row


def open_times(index: Path) -> dict:
    started = time.perf_counter()
    loaded = index_store.load(index, verify=False)
    opened = time.perf_counter() - started
    started = time.perf_counter()
    index_store.verify(loaded)
    verified = time.perf_counter() - started
    folder = index / index_store.current_version(index)
    return {"open_s": round(opened, 3), "sha256_check_s": round(verified, 1),
            "disk_mb": round(sum(f.stat().st_size for f in folder.iterdir()) / 2**20, 1),
            "files_mb": {f.name: round(f.stat().st_size / 2**20, 1)
                         for f in sorted(folder.iterdir())}}


def mixed_pool() -> tuple[Path, Path]:
    """(corpus, index) of the seed article with every SQuAD v1.1 dev and train-slice
    article: 5,555 real annotated passages to replicate, so that a large index has the
    vocabulary and term frequencies of varied text rather than 44 passages' 840 terms."""
    corpus, index = WORK / "pool" / "corpus", WORK / "pool" / "index"
    if not corpus.is_dir():  # written aside and renamed: a stopped run leaves no half
        passages = [p for name in ("dev", "train")
                    for p in read_jsonl(EXTERNAL / SETS[name], "passages")]
        partial = corpus.with_name("corpus.partial")
        write_corpus(passages, {p["title"] for p in passages}, partial)
        shutil.copy(ROOT / "corpus" / "central-asia-russia-ukraine.txt", partial)
        partial.rename(corpus)
    # builds nothing when the index is up to date; re-derives it (spaCy's annotations
    # cached) when this citeqa's index format is newer
    subprocess.run(citeqa("index", "--corpus", str(corpus), "--index", str(index)), check=True)
    return corpus, index


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rank-bm25-max", type=int, default=150_000)
    ap.add_argument("--reuse", action="store_true", help="keep indexes an earlier run made")
    ap.add_argument("--probe-only", type=int, default=0, metavar="N",
                    help="instead of the latency and load phases, ask N questions once")
    ap.add_argument("--skip-seed", action="store_true")
    ap.add_argument("--before", help="also measure the seed phase at this commit")
    ap.add_argument("--pool", choices=("seed", "mixed"), default="seed",
                    help="replicate the seed index's 44 passages, or the seed with every "
                         "SQuAD dev and train-slice article (results as '<size>-mixed')")
    args = ap.parse_args()
    qs = questions()
    results: dict = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.before:
        env = exported(args.before)
        results["seed_before"] = {"commit": args.before, **served(
            ROOT / "corpus", WORK / f"before-{args.before}" / "index", qs, args.rounds,
            args.seconds, args.connections, reload=False, env=env)}
        print(json.dumps({"seed_before": results["seed_before"]}), flush=True)
    if not args.skip_seed:
        parse = parse_ms(qs)
        seed = served(ROOT / "corpus", ROOT / "index", qs, args.rounds, args.seconds,
                      args.connections, reload=False)
        target = round(0.6 * 2 / (parse / 1000), 1)
        results["seed"] = {"question_parse_ms": parse, "target_requests_per_s": target, **seed}
        print(json.dumps({"seed": results["seed"]}), flush=True)
    corpus, source = (ROOT / "corpus", ROOT / "index") if args.pool == "seed" else mixed_pool()
    for size in map(int, filter(None, args.sizes.split(","))):
        key = str(size) if args.pool == "seed" else f"{size}-mixed"
        index, made = replicate(source, size, WORK / key / "index", args.reuse)
        row = {**made, **open_times(index),
               **served(corpus, index, qs, args.rounds, args.seconds,
                        args.connections, reload=True, probe_only=args.probe_only),
               "retrieval": against_rank_bm25(index, qs, args.rank_bm25_max)}
        results[key] = row
        print(json.dumps({key: row}), flush=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
