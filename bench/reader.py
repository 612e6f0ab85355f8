"""The shipped reader given the gold paragraph, fp32 against dynamic int8 (report only).

Asks a seeded sample of SQuAD questions with their own paragraph -- the setting in which
published readers are compared -- through the package's reader, then through the same
weights quantized to int8 by ONNX Runtime, and reports EM/F1, milliseconds per question
and the model's size in memory:

    .venv/bin/python bench/reader.py [--set dev] [--limit 2000]

Results: bench/results/reader-gold-SET.json.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic
from squad import EXTERNAL, ROOT, SETS, f1, normalize, read_jsonl

from citeqa.qa.reader import ReaderModel, assembled_model, default_reader, package_parts


def run(reader: ReaderModel, questions: list[dict], contexts: dict[str, str]) -> dict:
    em = f1sum = 0.0
    took = []
    for q in questions:
        context = contexts[q["paragraph_id"]]
        start = time.perf_counter()
        reading = reader.read(q["question"], [context])
        took.append((time.perf_counter() - start) * 1000)
        best = reading.spans[0] if reading.spans else None
        answer = context[best.start:best.end] if best else ""
        em += max(normalize(answer) == normalize(a) for a in q["answers"])
        f1sum += max(f1(answer, a) for a in q["answers"])
    took.sort()
    n = len(questions)
    return {"questions": n, "EM": round(100 * em / n, 2), "F1": round(100 * f1sum / n, 2),
            "ms_p50": round(took[n // 2], 1), "ms_p95": round(took[int(0.95 * (n - 1))], 1)}


def int8_copy(reader: ReaderModel, threads: int) -> ReaderModel:
    """The same reader with its weights quantized to int8 (dynamic, per channel)."""
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(fp32)
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        model, _ = assembled_model(*package_parts()[:4])
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8,
                         per_channel=True)
        size = int8.stat().st_size
        session_options = ort.SessionOptions()
        session_options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(int8), session_options,
                                       providers=["CPUExecutionProvider"])
    quantized = ReaderModel(reader.manifest, session, reader.tokenizer, reader.digests)
    quantized.size = size
    return quantized


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=sorted(SETS), default="dev")
    ap.add_argument("--limit", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    folder = EXTERNAL / SETS[args.set]
    contexts = {p["id"]: p["context"] for p in read_jsonl(folder, "passages")}
    questions = read_jsonl(folder, "questions")
    random.Random(7).shuffle(questions)
    questions = questions[:args.limit]
    reader = default_reader(args.threads)
    results = {"set": args.set, "threads": args.threads,
               "fp32": run(reader, questions, contexts)}
    print(json.dumps(results["fp32"]))
    quantized = int8_copy(reader, args.threads)
    results["int8"] = {**run(quantized, questions, contexts),
                       "model_mb": round(quantized.size / 1e6, 1)}
    print(json.dumps(results["int8"]))
    out = ROOT / "bench" / "results" / f"reader-gold-{args.set}.json"
    out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
