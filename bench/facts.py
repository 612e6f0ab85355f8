"""Entity facts against the judged set in bench/facts/: value precision, role precision,
expected-fact and key-fact recall, for the parts tuned on and the held-back part.

    .venv/bin/python bench/facts.py [--unjudged]

The corpus is the seed article plus the SQuAD v1.1 dev and train-slice articles of the
parts below (their text only; no question or answer is read), written to
bench/out/facts/corpus and indexed there (spaCy runs once; later runs reuse the annotation
cache; a change to the linking code re-links the stored passages). Entities are then
resolved with the current code.

Judged items (bench/facts/RULES.md says how they were judged):
- judged.jsonl: every value stated in a sentence that mentions one of the largest sheets'
  entities (the old same-sentence rule, a superset of what the parse links), with the
  entity's mentions in that sentence and a judgement (yes / no / unclear);
- roles.jsonl: every role on the sheets of the judged documents.
- keyfacts.jsonl: of the "yes" items, each (document, entity)'s key facts (at most 10),
  chosen by code-blind helpers (RULES.md, "Key facts").
A system value counts when it is a judged value and its entity has one of the judged
mentions and the judged entity's name (a mention now resolved to another entity is
unjudged for it); precision is yes / (yes + no) (unclear is reported, not counted); recall is the
share of "yes" items the system lists, key-fact recall the share of key facts. Values and
roles the judged set does not cover are listed with --unjudged, so they can be judged
before they are counted.
Output: a table, and bench/results/facts.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path

from citeqa.config import Config
from citeqa.kb.entities import resolve
from citeqa.kb.facts import FactBook
from citeqa.kb.table import EntityTable
from citeqa.lexicon import NAME_LABELS, VALUE_LABELS
from citeqa.store import build as builder
from citeqa.store import index as index_store

ROOT = Path(__file__).resolve().parent.parent
JUDGED = ROOT / "bench" / "facts"
WORK = ROOT / "bench" / "out" / "facts"
EXTERNAL = ROOT.parent / "shared" / "data" / "external"
SQUAD = EXTERNAL / "squad-v1.1-dev" / "passages.jsonl"
TRAIN = EXTERNAL / "squad-v1.1-train-heldout-du2017" / "passages.jsonl.gz"
ARTICLES = ("Super_Bowl_50", "Apollo_program", "Kenya", "Fresno,_California")
# Train-slice articles added to the tuning part (judged after the first four).
# The last four were judged by code-blind helpers after the linker-1 weights were fitted
# (reported apart: for linker-1 and the rules they were unseen text).
ADDED_FOR_LINKER_2 = ("Portugal", "Financial_crisis_of_2007%E2%80%9308",
                      "Arnold_Schwarzenegger", "University_of_Notre_Dame")
TRAIN_ARTICLES = ("Tajikistan", "Republic_of_the_Congo", "2008_Sichuan_earthquake", "Montana",
                  "Plymouth", *ADDED_FOR_LINKER_2)
# SQuAD dev articles of the second held-back part, judged once the first held-back part's
# errors had been looked at (their text only; no question or answer is read).
FRESH_ARTICLES = ("1973_oil_crisis", "Victoria_(Australia)", "Jacksonville,_Florida")
# SQuAD dev articles of the third held-back part, chosen and judged after the links-4 rules
# were final and before any later linking change was scored.
FRESH_ARTICLES_3 = ("Warsaw", "Black_Death", "Sky_(United_Kingdom)")
# SQuAD dev articles of the fourth held-back part, judged by a code-blind helper in session
# 15 before any of that session's linking changes was scored.
FRESH_ARTICLES_4 = ("Nikola_Tesla", "Scottish_Parliament", "Newcastle_upon_Tyne")
# SQuAD dev articles of the fifth held-back part, judged by code-blind helpers after links-9
# was final, and scored once.
FRESH_ARTICLES_5 = ("Harvard_University", "Southern_California",
                    "Intergovernmental_Panel_on_Climate_Change")
# SQuAD dev articles of the sixth held-back part, judged by code-blind helpers in session 16
# while the earlier held-back parts were promoted to tuning (see RULES.md), scored once
# when links-10 was final, and tuned on since.
FRESH_ARTICLES_6 = ("University_of_Chicago", "French_and_Indian_War", "Genghis_Khan")
# SQuAD dev articles of the seventh held-back part, judged by code-blind helpers in session
# 16 once held-back-6 had been scored and was being tuned on, scored once when links-11
# and resolution-7 were final, and tuned on since.
FRESH_ARTICLES_7 = ("Normans", "Huguenot", "Victoria_and_Albert_Museum")
# SQuAD dev articles of the eighth held-back part, judged by code-blind helpers in session
# 16 once held-back-7 had been scored and was being tuned on, and scored once when
# resolution-8 was final.
FRESH_ARTICLES_8 = ("Martin_Luther", "Yuan_dynasty", "Rhine")
# SQuAD dev articles of the ninth held-back part, judged by code-blind helpers in session
# 17 once held-back-8 had been scored and was being tuned on, scored once when links-13
# and resolution-10 were final, and tuned on since.
FRESH_ARTICLES_9 = ("European_Union_law", "Doctor_Who", "Amazon_rainforest")
# SQuAD dev articles of the tenth held-back part (four: these have fewer values), judged by
# code-blind helpers in session 17 once held-back-9 had been scored and was being tuned on,
# scored once when links-14 was final, and tuned on since.
FRESH_ARTICLES_10 = ("United_Methodist_Church", "Imperialism", "Economic_inequality",
                     "Islamism")
# SQuAD dev articles of the eleventh held-back part (five: few values each), judged by
# code-blind helpers in session 17 once held-back-10 had been scored and was being tuned on,
# and scored once when links-15 was final.
FRESH_ARTICLES_11 = ("Oxygen", "Packet_switching", "Private_school", "Construction",
                     "Steam_engine")
# SQuAD dev articles of the twelfth held-back part, judged by code-blind helpers in
# session 18 while its rules were written, and scored once when they were final.
FRESH_ARTICLES_12 = ("American_Broadcasting_Company", "Teacher", "Pharmacy",
                     "Civil_disobedience")
# SQuAD train-slice articles of the thirteenth held-back part (six: the dev set's unused
# articles are all science, with few named values), judged by code-blind helpers in
# session 20 while the linker was refitted, and scored once when it was final.
FRESH_ARTICLES_13 = ("2008_Summer_Olympics_torch_relay", "Canadian_Armed_Forces",
                     "Spectre_(2015_film)", "Dutch_Republic", "Saint_Barth%C3%A9lemy",
                     "BBC_Television")
# Items to judge are written for these articles (``--candidates OUT --for PART``).
CANDIDATE_PARTS = {"tuning": TRAIN_ARTICLES, "held-back-2": FRESH_ARTICLES,
                   "held-back-3": FRESH_ARTICLES_3, "held-back-4": FRESH_ARTICLES_4,
                   "held-back-5": FRESH_ARTICLES_5, "held-back-6": FRESH_ARTICLES_6,
                   "held-back-7": FRESH_ARTICLES_7, "held-back-8": FRESH_ARTICLES_8,
                   "held-back-9": FRESH_ARTICLES_9, "held-back-10": FRESH_ARTICLES_10,
                   "held-back-11": FRESH_ARTICLES_11, "held-back-12": FRESH_ARTICLES_12,
                   "held-back-13": FRESH_ARTICLES_13}
# Parts of small sheets (any but each document's largest): sampled sentences of the tuned
# documents, and of the held-back part's.
SMALL = ("small-tuned", "small-tuned-2", "small-held-back-11")
SEED = "central-asia-russia-ukraine"
DEV_ARTICLES = (ARTICLES + FRESH_ARTICLES + FRESH_ARTICLES_3 + FRESH_ARTICLES_4
                + FRESH_ARTICLES_5 + FRESH_ARTICLES_6 + FRESH_ARTICLES_7
                + FRESH_ARTICLES_8 + FRESH_ARTICLES_9
                + FRESH_ARTICLES_10 + FRESH_ARTICLES_11 + FRESH_ARTICLES_12)


def corpus() -> Path:
    """The seed article and the SQuAD articles, one .txt document each (title line first)."""
    folder = WORK / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "corpus" / "central-asia-russia-ukraine.txt", folder)
    paragraphs: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for source, titles in ((SQUAD, DEV_ARTICLES), (TRAIN, TRAIN_ARTICLES + FRESH_ARTICLES_13)):
        with (gzip.open if source.suffix == ".gz" else open)(source, "rt",
                                                             encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["title"] in titles:
                    paragraphs[row["title"]].append((row["paragraph_index"], row["context"]))
    for title in DEV_ARTICLES + TRAIN_ARTICLES + FRESH_ARTICLES_13:
        name = doc_name(title)
        body = "\n".join(text for _, text in sorted(paragraphs[title]))
        path = folder / f"{name}.txt"
        content = title.replace("_", " ") + "\n" + body + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
    return folder


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# The tuning part is reported whole and by where its documents come from.
# Held back until scored once as unseen text (held-back to -5 by session 15, held-back-6
# -7 in session 16, -8 to -10 in session 17), tuned on since; held-back-11 took their place.
PROMOTED = ("held-back", "held-back-2", "held-back-3", "held-back-4", "held-back-5",
            "held-back-6", "held-back-7", "held-back-8", "held-back-9", "held-back-10")
TUNED = ("tuning", *PROMOTED)
ERRORS_OF = (*TUNED, "small-tuned", "small-tuned-2")  # the parts whose errors --errors lists
PARTS = ("tuning", *PROMOTED, "held-back-11", "held-back-12", "held-back-13", "tuned: all",
         "tuned: promoted held-back 1-10", "tuning: seed + Super Bowl",
         "tuning: train-slice articles", "tuning: added for linker-2", *SMALL)


def parts_of(item: dict) -> list[str]:
    if item["part"] in PROMOTED:
        return [item["part"], "tuned: all", "tuned: promoted held-back 1-10"]
    if item["part"] != "tuning":
        return [item["part"]]
    train = item["doc"] in {doc_name(t) for t in TRAIN_ARTICLES}
    added = item["doc"] in {doc_name(t) for t in ADDED_FOR_LINKER_2}
    return ["tuning", "tuned: all",
            "tuning: train-slice articles" if train else "tuning: seed + Super Bowl",
            *(["tuning: added for linker-2"] if added else [])]


def item_key(item: dict) -> tuple:
    """One judged value: the same value is judged once per entity."""
    return item["doc"], item["entity"], tuple(item["value"])


def doc_name(title: str) -> str:
    return "squad-" + re.sub(r"[^a-z0-9_]", "", title.lower()).replace("_", "-")


def write_small_candidates(store, table: EntityTable, book: FactBook, out: Path,
                           part: str, judged: list[dict], per_doc: int = 6) -> None:
    """Every value in up to ``per_doc`` sampled (entity, sentence) pairs of each tuned
    document (all of the seed article's, and all of a held-back part's) where a sheet the
    judged set leaves out -- any but each document's largest -- lists a value: the small
    sheets a reader meets in /ask facts, judged like the rest (RULES.md). A second tuned
    sample (``small-tuned-2``) leaves out the pairs judged already."""
    tuned = part.startswith("small-tuned")
    docs = {i["doc"] for i in judged if i["part"] in
            (TUNED if tuned else (part.removeprefix("small-"),))}
    large = {(i["doc"], i["entity"]) for i in judged if i["part"] not in SMALL}
    seen = {(i["doc"], i["entity"], i["sentence"][0]) for i in judged if i["part"] in SMALL}
    pairs: dict[str, set[tuple]] = defaultdict(set)
    for entity in table.entities:
        if entity.label not in NAME_LABELS:
            continue
        for value in book.sheet(entity).values:
            doc = store.passage(value.passage).doc_id
            if doc in docs and (doc, entity.name) not in large:
                s, e = next((s, e) for s, e in store.annotation(value.passage).sentences
                            if s <= value.start < e)
                if (doc, entity.name, s) not in seen:
                    pairs[doc].add((entity.name, entity.id, value.passage, s, e))
    rng = random.Random(part)
    rows = []
    for doc in sorted(pairs):
        chosen = sorted(pairs[doc])
        if doc != SEED and tuned:
            chosen = sorted(rng.sample(chosen, min(per_doc, len(chosen))))
        for name, entity_id, pos, s, e in chosen:
            entity = table.get(entity_id)
            mentions = [[m.start, m.end] for m in entity.mentions
                        if m.passage == pos and s <= m.start < e]
            text = store.text_of(pos)
            rows += [{"part": part, "doc": doc, "entity": name, "mentions": mentions,
                      "value": [v.start, v.end], "text": v.text, "label": v.label,
                      "sentence": [s, e], "judgement": None, "sentence_text": text[s:e]}
                     for v in store.annotation(pos).entities
                     if v.label in VALUE_LABELS and s <= v.start and v.end <= e]
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{len(rows)} values to judge in {out}")


def write_candidates(store, table: EntityTable, out: Path, part: str,
                     per_doc: int = 3) -> None:
    """Every value in every sentence that mentions one of each ``part`` article's
    ``per_doc`` most mentioned names -- the same superset judged.jsonl was built from --
    and every role on those articles' sheets, unjudged, for a reader to judge by RULES.md
    (roles go to OUT with ``.roles`` before the suffix)."""
    rows, role_rows = [], []
    for title in CANDIDATE_PARTS[part]:
        doc = doc_name(title)
        in_doc = [(sum(store.passage(m.passage).doc_id == doc for m in e.mentions), e)
                  for e in table.entities if e.label in NAME_LABELS]
        for _, entity in sorted(in_doc, key=lambda x: -x[0])[:per_doc]:
            by_sentence: dict[tuple[int, int, int], list[list[int]]] = defaultdict(list)
            for m in entity.mentions:
                if store.passage(m.passage).doc_id != doc:
                    continue
                for s, e in store.annotation(m.passage).sentences:
                    if s <= m.start < e:
                        by_sentence[(m.passage, s, e)].append([m.start, m.end])
            for (pos, s, e), mentions in sorted(by_sentence.items()):
                text = store.text_of(pos)
                for v in store.annotation(pos).entities:
                    if v.label in VALUE_LABELS and s <= v.start and v.end <= e:
                        rows.append({"part": part, "doc": doc, "entity": entity.name,
                                     "mentions": mentions, "value": [v.start, v.end],
                                     "text": v.text, "label": v.label, "sentence": [s, e],
                                     "judgement": None, "sentence_text": text[s:e]})
        for entity in table.entities:
            for role in entity.roles:
                passage = store.passage(role.passage)
                if passage.doc_id == doc:
                    role_rows.append({
                        "part": part, "doc": doc, "entity": entity.name, "role": role.role,
                        "affiliation": role.affiliation, "judgement": None,
                        "evidence": store.text_of(role.passage)[passage.start:passage.end]})
    roles_out = out.with_suffix(".roles" + out.suffix)
    for path, items in ((out, rows), (roles_out, role_rows)):
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items))
    print(f"{len(rows)} values to judge in {out}, {len(role_rows)} roles in {roles_out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--unjudged", action="store_true", help="list values and roles to judge")
    ap.add_argument("--errors", action="store_true",
                    help="list the tuned parts' wrong values and roles and missed expected "
                         "facts")
    ap.add_argument("--part", choices=PARTS, action="append",
                    help="report only this part (default: every part)")
    ap.add_argument("--candidates", type=Path, metavar="OUT",
                    help="write the items to judge for the --for part's articles to OUT")
    ap.add_argument("--second-judge", type=Path, metavar="FILE",
                    help="score with FILE's judgements in place of the same items' own")
    ap.add_argument("--for", dest="for_part", choices=sorted([*CANDIDATE_PARTS, *SMALL]),
                    default="tuning", help="whose articles --candidates writes")
    args = ap.parse_args()
    config = Config.load({"corpus": corpus(), "index": WORK / "index"}, environ={})
    builder.build(config)
    store = index_store.load(config.index).store
    table = EntityTable(resolve(store))
    book = FactBook(store, table)
    judged = load(JUDGED / "judged.jsonl")
    if args.candidates and args.for_part in SMALL:
        write_small_candidates(store, table, book, args.candidates, args.for_part, judged)
        return
    if args.candidates:
        write_candidates(store, table, args.candidates, args.for_part)
        return
    if args.second_judge:  # another judge's calls on some items replace the first's
        other = {item_key(i): i["judgement"] for i in load(args.second_judge)}
        judged = [{**i, "judgement": other.get(item_key(i), i["judgement"])}
                  for i in judged]
    roles = load(JUDGED / "roles.jsonl")

    by_value: dict[tuple, list[dict]] = defaultdict(list)
    for item in judged:
        by_value[(item["doc"], item["value"][0])].append(item)  # a value may be widened
    judged_mentions = {(item["doc"], *m) for item in judged for m in item["mentions"]}
    counts: Counter = Counter()
    found: set[int] = set()
    unjudged = []
    for entity in table.entities:
        spans = {(store.passage(m.passage).doc_id, m.start, m.end) for m in entity.mentions}
        names = {entity.name, *entity.aliases}
        if not spans & judged_mentions:
            continue
        for value in book.sheet(entity).values:
            doc = store.passage(value.passage).doc_id
            # (a judgement holds for the entity it was made for: a mention now resolved
            # to another entity -- "Indians" no longer India -- is judged anew)
            matched = [i for i in by_value.get((doc, value.start), [])
                       if {(doc, *m) for m in i["mentions"]} & spans]
            items = [i for i in matched if i["entity"] in names]
            if matched and not items:
                for part in parts_of(matched[0]):
                    counts[(part, "other entity")] += 1
            if not items:
                unjudged.append((entity.name, value.text, value.relation.text,
                                 value.subject.text, value.sentence))
                continue
            item = items[0]
            for part in parts_of(item):
                counts[(part, item["judgement"])] += 1
            found.add(id(item))
            if args.errors and item["part"] in ERRORS_OF and item["judgement"] == "no":
                print("WRONG", item["part"], "|", entity.name, "|", value.text, "|",
                      value.relation.text, "|", value.subject.text, "|", value.sentence)
    expected: Counter = Counter()
    key_facts = {item_key(k) for k in load(JUDGED / "keyfacts.jsonl")}
    for item in judged:
        if item["judgement"] == "yes":
            key = item_key(item) in key_facts
            for part in parts_of(item):
                expected[(part, "expected")] += 1
                expected[(part, "found")] += id(item) in found
                expected[(part, "key")] += key
                expected[(part, "key found")] += key and id(item) in found
            if args.errors and item["part"] in ERRORS_OF and id(item) not in found:
                print("MISSED KEY" if key else "MISSED", item["part"], "|", item["entity"],
                      "|", item["text"], "|", item["sentence_text"])

    role_judgement = {(r["doc"], r["entity"], r["role"], r["affiliation"]): r for r in roles}
    role_counts: Counter = Counter()
    unjudged_roles = []
    judged_docs = {r["doc"] for r in roles}
    for entity in table.entities:
        for role in entity.roles:
            doc = store.passage(role.passage).doc_id
            if doc not in judged_docs:
                continue
            match = next((role_judgement[k] for alias in entity.aliases
                          if (k := (doc, alias, role.role, role.affiliation)) in role_judgement),
                         None)
            if match is None:
                unjudged_roles.append((doc, entity.name, role.role, role.affiliation,
                                       store.text_of(role.passage)[
                                           store.passage(role.passage).start:
                                           store.passage(role.passage).end][:300]))
                continue
            for part in parts_of(match):
                role_counts[(part, match["judgement"])] += 1
            if args.errors and match["judgement"] == "no" and match["part"] in ERRORS_OF:
                print("WRONG ROLE", match["part"], "|", entity.name, "|", role.role, "|",
                      role.affiliation, "|", match["evidence"][:200])

    result = {}
    print(f"{'part':30} {'value P':>8} {'yes':>4} {'no':>4} {'unclr':>5} {'recall':>7} "
          f"{'key R':>6} {'keys':>5} {'role P':>7} {'roles':>5} {'other':>5}")
    for part in args.part or PARTS:
        yes, no, unclear = (counts[(part, j)] for j in ("yes", "no", "unclear"))
        r_yes, r_no = role_counts[(part, "yes")], role_counts[(part, "no")]
        row = {"value_precision": round(yes / max(1, yes + no), 3), "values_yes": yes,
               "values_no": no, "values_unclear": unclear,
               "expected_recall": round(expected[(part, "found")]
                                        / max(1, expected[(part, "expected")]), 3),
               "expected": expected[(part, "expected")],
               "key_fact_recall": round(expected[(part, "key found")]
                                        / max(1, expected[(part, "key")]), 3),
               "key_facts": expected[(part, "key")],
               "role_precision": round(r_yes / max(1, r_yes + r_no), 3),
               "roles": r_yes + r_no,
               # listed values judged for an entity their mention no longer resolves to
               "values_of_another_entity": counts[(part, "other entity")]}
        result[part] = row
        print(f"{part:30} {row['value_precision']:8.3f} {yes:4} {no:4} {unclear:5} "
              f"{row['expected_recall']:7.3f} {row['key_fact_recall']:6.3f} {row['key_facts']:5} "
              f"{row['role_precision']:7.3f} {row['roles']:5} "
              f"{row['values_of_another_entity']:5}")
    result["unjudged_values"] = len(unjudged)
    result["unjudged_roles"] = len(unjudged_roles)
    print(f"unjudged: {len(unjudged)} values, {len(unjudged_roles)} roles")
    if args.unjudged:
        for row in unjudged + unjudged_roles:
            print(" | ".join(str(x) for x in row))
    out = ROOT / "bench" / "results" / "facts.json"
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
