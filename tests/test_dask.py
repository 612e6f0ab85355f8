"""The annotation stage on Dask (``--dask``): the same index as a local build, whatever
happens to the workers or to the build itself.

Each cluster here is 2 worker processes of one thread on this machine, closed by the test
that starts it; documents are tiny and sent one per task, so a build is a few seconds.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import dask
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import make_corpus
from distributed import Client, LocalCluster, WorkerPlugin

from citeqa.cli import main
from citeqa.config import Config
from citeqa.ingest import annotate as annotate_module
from citeqa.ingest import cluster as cluster_module
from citeqa.ingest.cluster import ClusterParams
from citeqa.store import build as builder
from citeqa.store import index as index_store
from citeqa.store.cache import AnnotationCache

DOCS = {
    "a.txt": "Som falls\nThe Kyrgyz som fell by 15% in March, the National Bank of the "
             "Kyrgyz Republic said on Tuesday.\n",
    "b.txt": "Tenge steadies\nKazakhstan's central bank kept its base rate at 14% and said "
             "inflation would slow.\n",
    "c.md": "---\ntitle: Tashkent talks\ndate: 2022-05-04\n---\nUzbek President Shavkat "
            "Mirziyoyev met Kazakh President Tokayev in Tashkent on Wednesday.\n",
    "d.txt": "Remittances\nMigrants from Tajikistan sent less money home from Russia after "
             "the rouble fell, the World Bank said.\n",
    "e.txt": "Gas deal\nTurkmenistan agreed to sell more gas to China through the Central "
             "Asia pipeline, officials in Ashgabat said.\n",
    # A long paragraph, cut into passages from its own parse, and a run-on sentence cut
    # across its parse.
    "f.txt": "Trade\n" + " ".join(["Kazakhstan's central bank kept its base rate at 14% and "
                                    "said inflation would slow by the end of the year."] * 12)
             + "\nExports of cotton and gold from Uzbekistan " + "and to Turkey and Iran " * 30
             + "rose in 2021.\n",
}
ONE_PER_TASK = ClusterParams(batch_chars=1)


def config_for(base: Path, dask: str = "") -> Config:
    corpus = base / "corpus"
    if not corpus.exists():
        make_corpus(corpus, DOCS)
    return Config.load({"corpus": corpus, "index": base / "index", "dask": dask or None},
                       environ={})


def records(index: Path) -> dict[str, bytes]:
    """The annotation cache's records, by file name (the document's content hash)."""
    return {p.name: p.read_bytes() for p in (index / builder.CACHE_DIR).rglob("*.json")}


def assert_same_index(built: Path, reference: Path) -> None:
    """Same annotation records, corpus fingerprint, passages, annotations, entities and
    postings."""
    assert records(built) == records(reference)
    a, b = index_store.load(built), index_store.load(reference)
    assert a.manifest["corpus"]["fingerprint"] == b.manifest["corpus"]["fingerprint"]
    assert a.manifest["counts"] == b.manifest["counts"]
    assert a.store.passages == b.store.passages
    assert a.store.annotations == b.store.annotations
    assert a.entities.entities == b.entities.entities
    pa, pb = a.search.postings, b.search.postings
    assert pa.vocab == pb.vocab
    for name in ("offsets", "doc_ids", "weights", "baseline"):
        assert np.array_equal(getattr(pa, name), getattr(pb, name)), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The single-process build of DOCS."""
    config = config_for(tmp_path_factory.mktemp("reference"))
    report = builder.build(config)
    assert report.documents == len(DOCS) and not report.skipped
    assert len(index_store.load(config.index).store.passages_of("f")) > 3
    return config.index


@pytest.fixture()
def cluster():
    """A cluster of our own (to plant plugins in its workers), closed after the test."""
    with (LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=None) as local, Client(local) as client):
        yield local, client
    assert not multiprocessing.active_children()


def test_a_local_dask_build_is_the_single_process_build(tmp_path, reference):
    base = tmp_path / "dask"
    config_for(base)
    result = CliRunner().invoke(main, ["index", "--corpus", str(base / "corpus"), "--index",
                                       str(base / "index"), "--dask", "local:2"])
    assert result.exit_code == 0, result.output
    assert f"added {len(DOCS)}," in result.output
    assert f"spaCy ran on {len(DOCS)} documents" in result.output
    assert_same_index(base / "index", reference)
    assert not multiprocessing.active_children()  # the local cluster was closed


class KillOnFirstTask(WorkerPlugin):
    """The first worker to start a task dies on the spot (once per cluster): a machine
    lost in the middle of a build."""

    name = "kill-on-first-task"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish != "executing":
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os._exit(1)


def test_a_killed_worker_costs_nothing(tmp_path, reference, cluster):
    local, client = cluster
    marker = tmp_path / "killed"
    client.register_plugin(KillOnFirstTask(str(marker)))
    config = config_for(tmp_path, dask=local.scheduler_address)
    report = builder.build(config, cluster=ONE_PER_TASK)
    killed = int(marker.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)  # that worker really died, mid-task
    assert report.annotated == len(DOCS) and not report.skipped
    assert_same_index(config.index, reference)


class FailOn(WorkerPlugin):
    """Makes spaCy raise, in the worker, on any passage with ``word`` in it."""

    name = "fail-on"

    def __init__(self, word: str) -> None:
        self.word = word

    def setup(self, worker) -> None:
        real = annotate_module.parse
        word = self.word

        def parse(nlp, texts, *args, **kwargs):
            for parsed, text in zip(real(nlp, texts, *args, **kwargs), texts, strict=True):
                if word in text:
                    raise RuntimeError("the tagger fell over\nsecond line")
                yield parsed

        annotate_module.parse = parse


def test_a_document_failing_on_a_worker_is_skipped_and_named_as_locally(
        tmp_path, cluster, monkeypatch):
    local, client = cluster
    client.register_plugin(FailOn("Turkmenistan"))
    report = builder.build(config_for(tmp_path / "dask", dask=local.scheduler_address))
    monkeypatch.setattr(annotate_module, "parse", annotate_module.parse)  # undone after
    FailOn("Turkmenistan").setup(None)  # the same failure in this process
    expected = builder.build(config_for(tmp_path / "local"))
    assert report.skipped == expected.skipped == [
        builder.Skipped("e.txt", "spaCy failed on it (RuntimeError: the tagger fell over)")]
    assert report.documents == expected.documents == len(DOCS) - 1


def test_an_interrupted_build_resumes_from_the_cache(tmp_path, reference, monkeypatch):
    config = config_for(tmp_path, dask="local:2")
    real_put = AnnotationCache.put
    cached: list[str] = []

    def put_then_stop(self, doc, record):
        if len(cached) == 2:
            raise KeyboardInterrupt  # the maintainer's ^C, with two documents done
        real_put(self, doc, record)
        cached.append(doc.id)

    monkeypatch.setattr(AnnotationCache, "put", put_then_stop)
    with pytest.raises(KeyboardInterrupt):
        builder.build(config, cluster=ONE_PER_TASK)
    assert not multiprocessing.active_children()  # the interrupted build closed its cluster
    assert index_store.current_version(config.index) is None
    monkeypatch.setattr(AnnotationCache, "put", real_put)

    sent: list[str] = []
    real_batches = cluster_module.batches

    def recorded(docs, batch_chars):
        for batch in real_batches(docs, batch_chars):
            sent.extend(doc.id for doc in batch)
            yield batch

    monkeypatch.setattr(cluster_module, "batches", recorded)
    report = builder.build(config, cluster=ONE_PER_TASK)
    everything = {"a", "b", "c", "d", "e", "f"}
    assert sorted(sent) == sorted(everything - set(cached))
    assert report.annotated == len(DOCS) - 2
    assert_same_index(config.index, reference)

    sent.clear()  # incremental: one document changed, only it goes out
    (config.corpus / "b.txt").write_text(DOCS["b.txt"] + "Analysts expect more.\n")
    report = builder.build(config, cluster=ONE_PER_TASK)
    assert sent == ["b"] and report.changed == ["b"] and report.annotated == 1


def test_an_unreachable_scheduler_fails_the_build_with_one_line(tmp_path):
    config = config_for(tmp_path, dask="tcp://127.0.0.1:9")
    with pytest.raises(builder.BuildError, match=r"^could not reach the Dask scheduler at "
                                                 r"tcp://127.0.0.1:9: \w+"):
        builder.build(config, cluster=ClusterParams(connect_timeout=1))
    assert index_store.current_version(config.index) is None


def test_a_local_cluster_spends_no_core_on_diagnostics_nor_page_faults(monkeypatch):
    """The local cluster shares the build's cores: its workers run without Dask's
    sampling profiler, with the slow event-loop tick and system monitor, and with glibc's
    own trimming of freed memory (no MALLOC_TRIM_THRESHOLD_)."""
    # As in a fresh citeqa process: the nannies of the clusters other tests started left
    # Dask's default in this process's environment, which the workers would inherit.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    params = ClusterParams()
    keys = [key for key, _ in params.local_config]
    with cluster_module.connect("local:2", Config().model, params) as client:
        settings = client.run(lambda: [dask.config.get(key) for key in keys])
        trim = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(settings.values()) == [[value for _, value in params.local_config]] * 2
    assert list(trim.values()) == [None, None]
    assert dask.config.get("distributed.worker.profile.enabled")  # only there
    assert not multiprocessing.active_children()


@pytest.mark.parametrize("address", ["local:0", "local:x", "local:", "tcp://a b"])
def test_a_bad_address_is_refused(address):
    with pytest.raises(ValueError, match="CITEQA_DASK"):
        Config.load({"dask": address}, environ={})
