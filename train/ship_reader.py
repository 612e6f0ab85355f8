"""Package the fine-tuned reader (``make ship-reader``, after ``make train-reader``).

Writes into ``src/citeqa/qa/models/``:
- ``reader.npz``: what fine-tuning changed, per tensor (``citeqa.qa.reader.quantize``);
- ``reader-graph.onnx``: the ONNX graph without the weights that ``reader.npz`` and the
  pretrained checkpoint rebuild (about 100 KB instead of 90 MB);
- ``reader.json``: the manifest: sha256 of all three inputs, hyper-parameters, training
  data, and validation exact match of the full model and of the shipped one.

The shipped weights are checked twice: ONNX Runtime running the package's own loader must
match torch running the same weights on padded batches, and the validation figures are
measured through the package's loader, not through torch.

Usage (the ``reader`` extra):
    .venv/bin/python train/ship_reader.py [--final bench/out/reader/out/final]
        [--checkpoint CKPT.pt]   # a mid-training checkpoint instead, for trying the path
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from safetensors.numpy import load_file
from transformers import BertConfig, BertForQuestionAnswering

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
import reader as training  # noqa: E402  (train/reader.py: data, split, features, decoding)

from citeqa.qa import reader as shipped  # noqa: E402

LOG = logging.getLogger("ship_reader")
MODELS = ROOT.parent / "src" / "citeqa" / "qa" / "models"
PREFIX = "model."  # the export wrapper's attribute holding the model
READER_VERSION = "reader-3"  # reader-2 continued: a near-topic copy of every question, lr 2e-5


def changes(state: dict[str, torch.Tensor], base: dict[str, np.ndarray]
            ) -> tuple[dict[str, np.ndarray], dict[str, str | None]]:
    """The arrays of reader.npz and the initializer -> pretrained tensor map."""
    arrays: dict[str, np.ndarray] = {}
    weights: dict[str, str | None] = {}
    for name, tensor in state.items():
        onnx_name, base_name = PREFIX + name, name.removeprefix("bert.")
        value = tensor.detach().numpy().astype(np.float32)
        if base_name not in base:
            weights[onnx_name] = None
            arrays[f"{onnx_name}::value"] = value
            continue
        weights[onnx_name] = base_name
        delta = value - base[base_name]
        if base_name == "embeddings.word_embeddings.weight":
            continue  # the pretrained vocabulary's vectors stay as they are
        if delta.ndim == 2:
            for part, array in shipped.quantize(delta).items():
                arrays[f"{onnx_name}::{part}"] = array
        else:
            arrays[f"{onnx_name}::delta"] = delta.astype(np.float16)
    return arrays, weights


def export_graph(model: BertForQuestionAnswering, feats: training.Features,
                 weights: dict[str, str | None]) -> bytes:
    """The ONNX graph with the rebuilt initializers removed. Constant folding is off so
    that every weight keeps its parameter name (ONNX Runtime folds at session start)."""
    wrapper = training._LogitsOnly(model).eval()
    example = next(training.check_batches(feats))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {0: "batch", 1: "sequence"}
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        path = Path(tmp) / "model.onnx"
        torch.onnx.export(wrapper, tuple(example[k] for k in names), str(path),
                          input_names=names, output_names=["start_logits", "end_logits"],
                          dynamic_axes={k: axes for k in [*names, "start_logits",
                                                          "end_logits"]},
                          opset_version=17, dynamo=False, do_constant_folding=False)
        graph = onnx.load(str(path))
    present = {i.name for i in graph.graph.initializer}
    missing = set(weights) - present
    if missing:
        raise SystemExit(f"the exported graph lacks initializers {sorted(missing)[:5]}")
    kept = [i for i in graph.graph.initializer if i.name not in weights]
    del graph.graph.initializer[:]
    graph.graph.initializer.extend(kept)
    return graph.SerializeToString()


def check_against_torch(reader: shipped.ReaderModel, model: BertForQuestionAnswering,
                        feats: training.Features, tolerance: float = 1e-3) -> float:
    worst = 0.0
    model.eval()
    for batch in training.check_batches(feats):
        with torch.no_grad():
            ref = model(**batch)
        got = reader.session.run(None, {k: v.numpy() for k, v in batch.items()})
        for r, g in zip((ref.start_logits, ref.end_logits), got, strict=True):
            worst = max(worst, float(np.abs(r.numpy() - g).max()))
    if worst >= tolerance:
        raise SystemExit(f"shipped reader differs from torch by {worst:.2e}")
    return worst


def validate(reader: shipped.ReaderModel, questions: list[training.Question]
             ) -> tuple[float, float]:
    """Validation EM/F1 of the shipped reader, each question given its gold paragraph."""
    predictions = {}
    for q in questions:
        reading = reader.read(q.question, [q.context])
        best = reading.spans[0] if reading.spans else None
        predictions[q.id] = q.context[best.start:best.end] if best else ""
    return training.squad_scores(predictions, questions)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--final", type=Path, default=training.WORK / "out" / "final")
    parser.add_argument("--checkpoint", type=Path, help="a training checkpoint instead")
    parser.add_argument("--base-dir", type=Path, default=training.WORK / "base")
    parser.add_argument("--data-dir", type=Path, default=training.DEFAULT_DATA)
    parser.add_argument("--out-dir", type=Path, default=MODELS)
    parser.add_argument("--limit", type=int, default=0, help="validate on N questions only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    training.extract_base(args.base_dir)

    hp = training.HParams()
    model = BertForQuestionAnswering(BertConfig.from_pretrained(args.base_dir))
    if args.checkpoint:
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        history, source = state["run"].get("history", []), args.checkpoint.name
        trained = state.get("hparams", dataclasses.asdict(hp))
    else:
        model = BertForQuestionAnswering.from_pretrained(args.final)
        metrics = json.loads((args.final / "metrics.json").read_text())
        history, source = metrics["history"], "final"
        trained = metrics.get("hparams", dataclasses.asdict(hp))
    full = model.state_dict()
    base = load_file(str(args.base_dir / "model.safetensors"))
    arrays, weights = changes(full, base)

    # torch runs the weights exactly as the package will rebuild them
    rebuilt = shipped.assemble(base, arrays, weights)
    model.load_state_dict({k.removeprefix(PREFIX): torch.from_numpy(v)
                           for k, v in rebuilt.items()}, strict=False)
    _, val_qs, val_titles = training.split_by_article(
        training.load_questions(args.data_dir), hp.val_fraction, hp.seed)
    tok = training.load_tokenizer(args.base_dir, hp)
    feats = training.build_features(tok, val_qs[:64], hp)
    graph = export_graph(model, feats, weights)

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    delta = buffer.getvalue()
    base_bytes = (args.base_dir / "model.safetensors").read_bytes()
    manifest = {
        "version": READER_VERSION,
        "graph": {"file": "reader-graph.onnx", "sha256": shipped.sha256(graph)},
        "delta": {"file": "reader.npz", "sha256": shipped.sha256(delta),
                  "levels": shipped.LEVELS, "clip": shipped.CLIP},
        "base": {"package": f"{shipped.BASE_PACKAGE}=={shipped.BASE_VERSION}",
                 "sha256": shipped.sha256(base_bytes)},
        "trained_on": "SQuAD v1.1 train slice (squad-v1.1-train-heldout-du2017), "
                      f"validation articles held out with seed {hp.seed}: "
                      + ", ".join(val_titles),
        "validation_articles": val_titles,
        "source": source,
        "max_length": hp.max_length, "doc_stride": hp.doc_stride,
        "hparams": trained,
        "history": history,
        "weights": weights,
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "reader-graph.onnx").write_bytes(graph)
    (args.out_dir / "reader.npz").write_bytes(delta)
    reader = shipped.ReaderModel.load_parts(manifest, graph, delta, base_bytes,
                                            (args.base_dir / "tokenizer.json").read_text(),
                                            threads=2)
    worst = check_against_torch(reader, model, feats)
    LOG.info("shipped reader vs torch: max abs logit difference %.2e", worst)
    questions = val_qs[:args.limit] if args.limit else val_qs
    em, f1 = validate(reader, questions)
    manifest["validation"] = {"questions": len(questions), "em": round(em, 2),
                              "f1": round(f1, 2), "given": "gold paragraph"}
    LOG.info("shipped reader on %d validation questions: EM %.2f F1 %.2f", len(questions),
             em, f1)
    (args.out_dir / shipped.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    LOG.info("wrote %s (delta %.1f MB, graph %.0f KB)", args.out_dir, len(delta) / 1e6,
             len(graph) / 1e3)


if __name__ == "__main__":
    main()
