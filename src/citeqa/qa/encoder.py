"""How close a sentence is to the question, for refusal: the pretrained all-MiniLM-L6-v2
sentence encoder (the checkpoint the reader was fine-tuned from, left as published), run
by ONNX Runtime through the reader's own graph.

The reader learned where answers start and end, never that a passage may not answer at all:
a near-topic passage (the question's article, without the paragraph that answers it) still
gets a confident span. The pretrained encoder was trained to put a question near the
sentences that answer it, so the cosine between the question and the sentence holding the
reader's span separates an answering sentence from a merely related one.
``train/calibrate.py`` measures what it adds to the confidence.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from .reader import BASE_PACKAGE, BASE_VERSION, ReaderError, assembled_model, package_parts, session

MAX_TOKENS = 128  # a longer sentence is embedded by its first 128 word pieces


def _hidden_output(model: Any) -> str:
    """The name of the encoder's last hidden state: the input of the answer head."""
    transposed = {out for node in model.graph.node
                  if "qa_outputs.weight" in "".join(node.input) for out in node.output}
    for node in model.graph.node:
        if node.op_type == "MatMul" and transposed & set(node.input):
            return next(i for i in node.input if i not in transposed)
    raise ReaderError("the reader's graph has no answer head to read the encoder from")


class SentenceEncoder:
    """Mean-pooled, unit-length sentence vectors from the pretrained checkpoint."""

    def __init__(self, session: Any, tokenizer: Any, output: str,
                 digests: dict[str, str]) -> None:
        self.session = session
        self.tokenizer = tokenizer
        self.output = output
        self.digests = digests

    @classmethod
    def load(cls, directory: Path | None = None) -> SentenceEncoder:
        """The reader's graph with the pretrained weights, the answer head zeroed; the
        graph and checkpoint are checked against the sha256 in the reader's manifest."""
        import onnx
        from tokenizers import Tokenizer

        manifest, graph, delta, weights, tokenizer_json = package_parts(directory)
        model, digests = assembled_model(manifest, graph, delta, weights, pretrained=True)
        output = _hidden_output(model)
        model.graph.output.append(onnx.helper.make_tensor_value_info(
            output, onnx.TensorProto.FLOAT, None))
        tokenizer = Tokenizer.from_str(tokenizer_json)
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        return cls(session(model), tokenizer, output, digests)

    def embed(self, text: str) -> np.ndarray:
        enc = self.tokenizer.encode(text)
        feed = {"input_ids": np.asarray([enc.ids], np.int64),
                "attention_mask": np.asarray([enc.attention_mask], np.int64),
                "token_type_ids": np.zeros((1, len(enc.ids)), np.int64)}
        hidden = self.session.run([self.output], feed)[0][0]
        vector = hidden.mean(axis=0)
        return vector / (np.linalg.norm(vector) or 1.0)

    def describe(self) -> dict[str, Any]:
        return {"base": f"{BASE_PACKAGE}=={BASE_VERSION}", "pooling": "mean",
                "base_sha256": self.digests["base"]}


@functools.cache
def default_encoder() -> SentenceEncoder:
    """The encoder of the shipped reader's checkpoint, loaded once per process."""
    return SentenceEncoder.load()
