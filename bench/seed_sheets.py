"""The seed article's 20 largest fact sheets, judged the way issue 11's first measurement
was (every value and role read against its cited sentence, plus the facts a reader
expects on each sheet), scored against the sheets the current code builds.

    .venv/bin/python bench/seed_sheets.py

The judgements in bench/facts/seed-sheets/ were made by a helper that never read the code,
on the sheets `GET /entities/<id>` served for the 20 most mentioned entities (links-8;
RULES.md there and NOTES.md say how). The seed corpus (./corpus) is indexed under
bench/out/seed-sheets (spaCy runs once; the annotation cache serves later runs); each
current value is matched to a judgement by entity id and offsets, each role by entity,
title and affiliation, each expected fact by entity, value words and sentence. Values the
judge never saw are counted as unjudged, not as right. Output: a table, and
bench/results/seed-sheets.json.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import msgspec
from facts import ROOT, load

from citeqa.config import Config
from citeqa.kb.facts import FactBook
from citeqa.serve import schema
from citeqa.store import build as builder
from citeqa.store import index as index_store

JUDGED = ROOT / "bench" / "facts" / "seed-sheets"
WORK = ROOT / "bench" / "out" / "seed-sheets"
SHEETS = 20


def words(text: str) -> str:
    return " ".join(text.split()).strip(" .").lower()


def same(listed: str, expected: str, head: int = 0) -> bool:
    """Whether a listed text is the expected one: either holds the other (the judge wrote
    "March 10th" where the sheet says "March 10th this year"), or, with ``head``, either
    holds the other's first ``head`` characters (a sentence quoted in part)."""
    a, b = words(listed), words(expected)
    if not a or not b:
        return False
    if head:
        return a[:head] in b or b[:head] in a
    return within(a, b) or within(b, a)


def within(part: str, whole: str) -> bool:
    """``part`` in ``whole`` on word boundaries ("5" is not in "25 percent")."""
    return re.search(r"(?<!\w)" + re.escape(part) + r"(?!\w)", whole) is not None


def main() -> None:
    config = Config.load({"corpus": ROOT / "corpus", "index": WORK / "index"}, environ={})
    builder.build(config)
    index = index_store.load(config.index)
    book = FactBook(index.store, index.entities)
    sheets = [msgspec.json.decode(msgspec.json.encode(schema.fact_sheet(
        index.store, book.sheet(entity)))) for entity in index.entities.search("", None, SHEETS)]

    values = {(v["entity_id"], v["start"], v["end"]): v["judgement"]
              for v in load(JUDGED / "values.judged.jsonl")}
    roles = {(r["entity_id"], r["role"], r["affiliation"]): r["judgement"]
             for r in load(JUDGED / "roles.judged.jsonl")}
    counts: Counter = Counter()
    listed: dict[str, list[dict]] = {}
    for sheet in sheets:
        listed[sheet["entity"]] = sheet["values"]
        for v in sheet["values"]:
            counts["value " + values.get((sheet["id"], v["start"], v["end"]), "unjudged")] += 1
        for r in sheet["roles"]:
            counts["role " + roles.get((sheet["id"], r["role"], r["affiliation"]),
                                       "unjudged")] += 1
    expected = load(JUDGED / "expected.jsonl")
    found = sum(any(same(v["text"], e["value"]) and same(v["sentence"], e["sentence"], 40)
                    for v in listed.get(e["entity"], [])) for e in expected)
    yes, no = counts["value yes"], counts["value no"]
    result = {
        "sheets": len(sheets),
        "values": {j: counts["value " + j] for j in ("yes", "no", "unclear", "unjudged")},
        "value_precision": round(yes / max(1, yes + no), 3),
        "roles": {j: counts["role " + j] for j in ("yes", "no", "unjudged")},
        "role_precision": round(counts["role yes"]
                                / max(1, counts["role yes"] + counts["role no"]), 3),
        "expected_found": found, "expected": len(expected),
        "expected_recall": round(found / max(1, len(expected)), 3),
    }
    print(json.dumps(result, indent=1))
    (ROOT / "bench" / "results" / "seed-sheets.json").write_text(json.dumps(result, indent=1)
                                                                 + "\n")


if __name__ == "__main__":
    main()
