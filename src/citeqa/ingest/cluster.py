"""The annotation stage on a Dask cluster: documents out in batches, plain records back.

spaCy is nearly all of an index build, and ``nlp.pipe(n_process=…)`` stops at one machine.
Here each batch of documents is cut into passages and annotated on a Dask worker with the
same code as a local build (``annotate_documents``), and comes back as the JSON records the
annotation cache stores, as they are: no spaCy object is ever pickled, the machine that
runs the build only writes and decodes them, and the model is loaded once per worker
process (``SpacyModel``), never sent.
Results are yielded as they complete, so the caller can cache each one at once: a build
stopped half-way resumes from the cache and sends only what is missing. A worker that dies
costs nothing: the scheduler re-runs its tasks elsewhere (``distributed.scheduler.
allowed-failures``), and a batch that still fails is split so only its bad document is
skipped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import dask
from distributed import Client, LocalCluster, WorkerPlugin, as_completed

from .annotate import annotate_documents, brief, load_model
from .documents import Document, Skipped

LOCAL_PREFIX = "local:"


class ClusterError(RuntimeError):
    """The Dask cluster cannot be reached or was lost during the build."""


@dataclass(frozen=True)
class ClusterParams:
    """How work is cut and sent. A task carries ``batch_chars`` of text (about 35
    passages, a second or two of spaCy): long enough that scheduling costs well under 1%
    of the spaCy time, short enough that the workers finish together and a lost worker
    re-does little. ``tasks_per_thread`` batches are queued per worker thread so none
    idles while results travel, without shipping the whole corpus to the scheduler."""

    batch_chars: int = 20_000
    tasks_per_thread: int = 2
    spacy_batch_size: int = 16  # nlp.pipe batch size on the worker, as in a local build
    connect_timeout: float = 30.0  # seconds to reach the scheduler or start local workers
    # Dask settings of a ``local:N`` cluster, which shares this machine's cores with the
    # build. Each of its processes (scheduler, nannies, workers) otherwise spends ~3.5% of
    # a core on diagnostics alone -- the event loop's 20 ms tick, a 0.5 s system monitor
    # and the workers' 10 ms sampling profiler (measured idle, 15 s: 0.5 s CPU each). And
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc hand freed
    # memory back to the OS at once: spaCy's many short-lived NumPy arrays then fault
    # their pages in again, and a worker spent 20-26% more CPU than one process on the
    # same documents (8% without it; BENCHMARKS.md, "Annotating on Dask").
    local_config: tuple[tuple[str, Any], ...] = (
        ("distributed.admin.tick.interval", "1s"),
        ("distributed.admin.system-monitor.interval", "5s"),
        ("distributed.worker.profile.enabled", False),
        ("distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_", None))


class SpacyModel(WorkerPlugin):
    """Worker plugin: loads the spaCy model when a worker starts (and again in a worker
    that replaces a dead one), so tasks find it in ``load_model``'s per-process cache.
    Registered once per model on a long-lived cluster (``idempotent``)."""

    idempotent = True

    def __init__(self, model: str) -> None:
        self.model = model
        self.name = f"citeqa-spacy-model-{model}"

    def setup(self, worker: Any) -> None:
        load_model(self.model)


def annotate_batch(model: str, docs: list[Document], spacy_batch_size: int
                   ) -> list[tuple[str, bytes] | Skipped]:
    """Runs on a worker: ``(document id, record)`` per annotated document, or the
    ``Skipped`` naming why not — the same outcome a local build has for each document."""
    nlp = load_model(model)
    return [result if isinstance(result, Skipped) else (result[0].id, result[1])
            for result in annotate_documents(nlp, docs, spacy_batch_size, n_process=1)]


def batches(docs: Iterable[Document], batch_chars: int) -> Iterator[list[Document]]:
    """Consecutive documents grouped up to ``batch_chars`` of text (one long one alone)."""
    batch: list[Document] = []
    size = 0
    for doc in docs:
        if batch and size + len(doc.text) > batch_chars:
            yield batch
            batch, size = [], 0
        batch.append(doc)
        size += len(doc.text)
    if batch:
        yield batch


@contextlib.contextmanager
def connect(address: str, model: str, params: ClusterParams) -> Iterator[Client]:
    """A client of the scheduler at ``address`` whose workers have loaded ``model``;
    ``local:N`` starts (and afterwards stops) a cluster of N single-threaded worker
    processes on this machine, with ``params.local_config``."""
    with contextlib.ExitStack() as stack:
        try:
            target: str | LocalCluster = address
            if address.startswith(LOCAL_PREFIX):
                stack.enter_context(dask.config.set(dict(params.local_config)))
                target = stack.enter_context(LocalCluster(
                    n_workers=int(address[len(LOCAL_PREFIX):]), threads_per_worker=1,
                    processes=True, host="127.0.0.1", dashboard_address=None))
            client = stack.enter_context(Client(target, timeout=params.connect_timeout))
        except OSError as exc:  # unreachable (TimeoutError is an OSError too)
            raise ClusterError(f"could not reach the Dask scheduler at {address}: "
                               f"{brief(exc)}") from None
        client.register_plugin(SpacyModel(model))
        yield client


def annotate_on_cluster(client: Client, model: str, docs: list[Document],
                        params: ClusterParams = ClusterParams()
                        ) -> Iterator[tuple[Document, bytes] | Skipped]:
    """Annotate ``docs`` on the cluster of ``client`` (see ``connect``), yielding each
    document's record (or why it was skipped) as soon as its batch completes."""
    by_id = {doc.id: doc for doc in docs}
    threads = max(1, sum(client.nthreads().values()))
    queue = batches(docs, params.batch_chars)
    sent: dict[Any, list[Document]] = {}
    running = as_completed()

    def send(batch: list[Document]) -> None:
        future = client.submit(annotate_batch, model, batch, params.spacy_batch_size,
                               pure=False)
        sent[future] = batch
        running.add(future)

    for batch in islice(queue, threads * params.tasks_per_thread):
        send(batch)
    for future in running:
        batch = sent.pop(future)
        try:
            results = future.result()
        except Exception as exc:
            if client.status != "running":
                raise ClusterError(f"lost the Dask scheduler at {client.scheduler.address}: "
                                   f"{brief(exc)}") from None
            if len(batch) > 1:  # find the document at fault: each alone
                for doc in batch:
                    send([doc])
                continue
            results = [Skipped(batch[0].path, f"failed on the Dask cluster ({brief(exc)})")]
        future.release()
        for result in results:
            yield result if isinstance(result, Skipped) else (by_id[result[0]], result[1])
        for batch in islice(queue, 1):
            send(batch)
