"""Stage 6b: pick a short answer span from the top passages, or refuse.

Candidates are entity mentions (typed questions), noun chunks (untyped "what/which X"
questions) or whole sentences ("why", "how did", "what did X say"), taken from the
sentences of the top passages. Each is scored from evidence -- type match, how much of the
question its sentence contains, how close it sits to the question's words, the passage's
BM25 score, and support from other sentences -- never from its position in the ranking.

The service refuses instead of guessing when a named thing in the question is absent from
the corpus, when the best passage covers too little of the question, or when a typed
question finds no mention of that type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .annotate import VALUE_LABELS, Entity
from .entities import ABBREVIATIONS, ROLE_WORDS, TITLE_NOUNS, clean_surface, demonym_place
from .entities import GLUED as _GLUED
from .index import Index
from .question import NAME_TYPES, QuestionAnalysis
from .retrieval import Hit, Query, idf

# Feature weights: set by hand, each change checked on the SQuAD train slice
# (bench/squad.py train) and the seed dev questions, never on SQuAD dev.
WEIGHTS = {"type": 2.0, "overlap": 2.0, "proximity": 1.5, "passage": 1.0, "support": 0.5,
           "head": 1.0, "list": 1.0}
MAX_PASSAGES = 5  # candidates come from this many top passages
# Shares of the question's IDF mass that the best passage, and the answer's sentence with
# the one before it, must contain; calibrated with bench/refusal.py on held-out SQuAD
# train articles.
MIN_COVERAGE = 0.5
MIN_ANSWER_COVERAGE = 0.35
# Attributes the answer itself expresses; any other ("population") must be stated near it.
GENERIC_HEADS = {"year", "date", "day", "month", "time", "number", "amount", "name", "kind",
                 "type", "one", "thing", "part", "percentage", "percent"}
HEAD_SPELLING = 0.9  # a misspelt attribute must be this close to a corpus word
# spaCy's small model confuses these; a near-miss label still counts, for less.
COMPATIBLE = {"PERSON": {"ORG", "NORP"}, "GPE": {"ORG", "NORP", "LOC", "PERSON"},
              "LOC": {"GPE", "FAC", "ORG"}, "ORG": {"GPE", "NORP", "PERSON", "FAC"},
              "DATE": {"TIME", "CARDINAL"}, "TIME": {"DATE"},
              "CARDINAL": {"QUANTITY", "MONEY"}, "QUANTITY": {"CARDINAL"},
              "MONEY": {"CARDINAL", "QUANTITY"}, "PERCENT": {"CARDINAL"}}
# A capitalised noun chunk the model left untagged: a possible answer for name questions.
NAME = "NAME"
NAME_LABELS = {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"}
PLACES = {"GPE", "LOC", "FAC"}
_LEADING = re.compile(r"(?:(?:the|a|an|its|their|his|her|this|that|these|those|our|"
                      r"so-called)\s+)+", re.I)
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
# Brackets are left out: "Majilis (the lower house of parliament)" defines, not separates.
_CLAUSE_MARK = re.compile(r"[,;:\u2014]")
# A short quoted title or name: 'an article entitled "Silent Stans"'.
_QUOTED = re.compile(r"[\"\u201c]([^\"\u201c\u201d]{2,80})[\"\u201d]")
MAX_QUOTED_WORDS = 8
CLAUSE_GAP = 3
# Clause breaks for why/how answers; a list comma is no break.
_CLAUSE_BREAK = re.compile(r"[;:\u2014]\s*|\s-\s|,\s+(?=(?:while|whereas|but|although|"
                           r"though|because|since|as|which|who|when|where|after|before|"
                           r"so|yet|and then|thus|hence)\b)")
_INTRO = re.compile(r"(?:In addition to|According to|Apart from|After|Before|Since|While|"
                    r"Although|Because|In|On|At|During|Despite|For)\b[^,]{0,80},\s+")
_JOINER = re.compile(r"^\s*(?:,\s*(?:(?:and|or)\s+)?|(?:and|or)\s+)$")


@dataclass(frozen=True)
class Answer:
    text: str
    label: str
    confidence: float
    passage_id: str
    start: int
    end: int
    sentence: str
    sentence_start: int


@dataclass
class Candidate:
    text: str
    label: str
    start: int
    end: int
    hit: Hit
    sentence: tuple[int, int]
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0

    def trace(self) -> dict:
        return {"text": self.text, "label": self.label, "passage_id": self.hit.passage.id,
                "start": self.start, "end": self.end, "score": round(self.score, 4),
                "features": {k: round(v, 4) for k, v in self.features.items()}}


@dataclass
class Outcome:
    answer: Answer | None
    reason: str | None
    candidates: list[Candidate]
    coverage: float
    # Coverage of the winning candidate's sentence window (0 when none was reached).
    answer_coverage: float = 0.0


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def type_score(label: str, expected: tuple[str, ...]) -> float:
    if not expected:
        return 0.5
    if label == NAME:  # an untagged proper name: a weak match, unless any name will do
        if expected == NAME_TYPES:
            return 0.8
        return 0.4 if expected[0] in NAME_LABELS else 0.0
    if label == expected[0]:
        return 1.0
    if label in expected:
        return 0.8
    if any(label in COMPATIBLE.get(e, ()) for e in expected[:1]):
        return 0.4
    return 0.0


class _Scorer:
    """Per-question state: IDF of its terms and the term positions of each sentence."""

    def __init__(self, index: Index, query: Query) -> None:
        self.index = index
        self.stands_for = query.matches()
        self.idf = {t: idf(index, t) for t in query.terms}  # unseen terms weigh most
        for term, targets in query.expansions.items():  # credit close spellings
            self.idf[term] = max(idf(index, v) for v, _ in targets)
        self.total = sum(self.idf.values()) or 1.0
        # A candidate made only of these is named by the question, so it is no answer.
        self.excluded = set(self.stands_for)

    def coverage(self, text: str) -> float:
        present = {self.stands_for[t] for t in self.index.analyzer.terms(text)
                   if t in self.stands_for}
        return sum(self.idf[t] for t in present) / self.total

    def sentence(self, text: str, start: int) -> tuple[list, list[int], float]:
        spans = self.index.analyzer.spans(text, start)
        matched = [i for i, (_, _, term) in enumerate(spans) if term in self.stands_for]
        return spans, matched, self.coverage(text)


def _proximity(spans, matched: list[int], start: int, end: int, scorer: _Scorer,
               text: str, base: int) -> float:
    """IDF-weighted closeness of each question term's nearest occurrence to the candidate.

    Crossing a clause boundary (comma, semicolon, colon, bracket) counts as extra words.
    """
    inside = [i for i, (s, e, _) in enumerate(spans) if s >= start and e <= end]
    if not inside:
        return 0.0
    nearest: dict[str, float] = {}
    for m in matched:
        if inside[0] <= m <= inside[-1]:
            continue
        lo, hi = (spans[m][1], start) if m < inside[0] else (end, spans[m][0])
        gap = min(abs(m - inside[0]), abs(m - inside[-1])) + CLAUSE_GAP * len(
            _CLAUSE_MARK.findall(text, lo - base, hi - base))
        term = scorer.stands_for[spans[m][2]]
        nearest[term] = min(gap, nearest.get(term, gap))
    return sum(scorer.idf[t] / (1.0 + (g - 1) / 3.0) for t, g in nearest.items()) / scorer.total


def _question_terms_only(index: Index, text: str, question_terms: set[str]) -> bool:
    terms = index.analyzer.terms(text)
    return not terms or all(t in question_terms for t in terms)


def _trim_phrase(index: Index, doc_text: str, start: int, end: int,
                 question_terms: set[str]) -> tuple[int, int]:
    """Drop leading determiners, and stop or question words at either edge of a chunk."""
    lead = _LEADING.match(doc_text, start, end)
    if lead:
        start = lead.end()
    words = index.analyzer.spans(doc_text[start:end], start)
    while words and (words[0][2] is None or words[0][2] in question_terms):
        words.pop(0)
    while words and (words[-1][2] is None or words[-1][2] in question_terms):
        words.pop()
    return (words[0][0], words[-1][1]) if words else (start, start)


def _asked_places(analysis: QuestionAnalysis) -> set[str]:
    """Places the question names, as written or through a demonym ("Chinese" -> China)."""
    places = set()
    for ent in analysis.entities:
        surface = clean_surface(ent.text)
        place = demonym_place(surface) or ABBREVIATIONS.get(surface)
        if place or ent.label == "GPE":
            places.add((place or surface).lower())
    return places


def _drop_contradicted_roles(analysis: QuestionAnalysis, candidates: list[Candidate],
                             resolved: dict[str, dict]) -> list[Candidate]:
    """'Who is the Chinese foreign minister?': a person the corpus names only as the
    *Japanese* Foreign Minister, or only as a president, is no answer. Uses the roles that
    entity resolution read from the corpus."""
    places = _asked_places(analysis)
    if analysis.head not in TITLE_NOUNS or not places:
        return candidates
    kept = []
    for c in candidates:
        entity = resolved[c.hit.passage.id].get(c.start)
        roles = entity.roles if entity else []
        titled = [r for r in roles if r.role.split()[-1].lower() == analysis.head]
        if titled:  # the asked office: keep unless every stated place is another one
            if any(r.affiliation is None or r.affiliation.lower() in places for r in titled):
                kept.append(c)
        elif not roles:  # nothing known about the person
            kept.append(c)
        # else: the corpus knows them only in other offices (a president, not a minister)
    return kept


def _coordinations(text: str, chunks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Runs of chunks joined as a list, "A, B and C": the last joiner is "and"/"or", and
    no later item starts with a determiner (that would be a new clause's subject)."""
    runs, i = [], 0
    while i < len(chunks):
        j = i
        while j + 1 < len(chunks) and _JOINER.match(text[chunks[j][1]:chunks[j + 1][0]]) \
                and not _LEADING.match(text, chunks[j + 1][0], chunks[j + 1][1]):
            j += 1
        if j > i and re.search(r"\b(?:and|or)\b", text[chunks[j - 1][1]:chunks[j][0]]):
            runs.append((chunks[i][0], chunks[j][1]))
        i = j + 1
    return runs


def _quoted(index: Index, hit: Hit, sent: tuple[int, int], question_terms):
    """Short quoted spans: titles and names the model rarely tags ("Silent Stans")."""
    doc_text = index.documents[hit.passage.doc_id].text
    for match in _QUOTED.finditer(doc_text, sent[0], sent[1]):
        s, e = match.span(1)
        if len(match.group(1).split()) <= MAX_QUOTED_WORDS and not _question_terms_only(
                index, match.group(1), question_terms):
            yield match.group(1), NAME, s, e


def _untagged_names(index: Index, hit: Hit, sent: tuple[int, int], ents, question_terms):
    """Capitalised noun chunks spaCy did not tag ("Sobyanin, mayor of Moscow"), and short
    quoted spans."""
    yield from _quoted(index, hit, sent, question_terms)
    doc_text = index.documents[hit.passage.doc_id].text
    for s, e in hit.annotation.noun_chunks:
        if not (sent[0] <= s and e <= sent[1]) or any(x.start < e and s < x.end for x in ents):
            continue
        s2, e2 = _trim_phrase(index, doc_text, s, e, question_terms)
        words = doc_text[s2:e2].split()
        if words and all(w[:1].isupper() for w in words) and not _question_terms_only(
                index, doc_text[s2:e2], question_terms) and not all(
                w.lower() in ROLE_WORDS or demonym_place(w) for w in words):
            yield doc_text[s2:e2], NAME, s2, e2  # ("Defense" of "Defense Minister" is none)


def _resolved(index: Index, hit: Hit):
    """(start -> canonical entity) for the mentions of a passage."""
    return {s: index.entity_by_id[eid]
            for s, _, eid in index.mentions_in.get(index.position[hit.passage.id], ())}


def _entity_candidates(index: Index, hit: Hit, sent: tuple[int, int],
                       analysis: QuestionAnalysis, question_terms: set[str], resolved: dict):
    doc_text = index.documents[hit.passage.doc_id].text
    # The corpus-wide label beats the model's label for this one mention ("Trump" ORG), but
    # an adjective keeps its own: "Russian" is NORP even though it refers to Russia.
    ents = [Entity(e.text, resolved[e.start].label if e.start in resolved
                   and not demonym_place(clean_surface(e.text)) else e.label, e.start, e.end)
            for e in hit.annotation.entities if sent[0] <= e.start and e.end <= sent[1]]
    if analysis.expected[:1] and analysis.expected[0] in NAME_LABELS:
        yield from _untagged_names(index, hit, sent, ents, question_terms)
    for i, ent in enumerate(ents):
        if _question_terms_only(index, ent.text, question_terms):
            continue
        if analysis.wh == "where" and analysis.head is None and i > 0 and ent.label in PLACES \
                and ents[i - 1].label in PLACES and doc_text[ents[i - 1].end:ent.start] == ", ":
            continue  # "in Moscow, Russia": for "where", Russia only qualifies Moscow
        year = _YEAR.search(ent.text) if analysis.wants_year and ent.label == "DATE" else None
        if year:  # "In what year...?" is answered by the year of "July 2019"
            yield year.group(), "DATE", ent.start + year.start(), ent.start + year.end()
        else:
            glued = _GLUED.match(ent.text)  # "WTO.Mirziyoyev": a caption glued to a name
            start = ent.start + (glued.end() if glued else 0)
            yield doc_text[start:ent.end], ent.label, start, ent.end
        if analysis.plural and ent.label not in VALUE_LABELS:
            # A list answer ("Kyrgyzstan and Tajikistan"); spaCy may label its parts apart.
            end, j = ent.end, i + 1
            while j < len(ents) and type_score(ents[j].label, analysis.expected) > 0 and (
                    _JOINER.match(doc_text[end:ents[j].start])):
                end, j = ents[j].end, j + 1
            if j > i + 1:
                yield doc_text[ent.start:end], ent.label, ent.start, end


def _phrase_candidates(index: Index, hit: Hit, sent: tuple[int, int],
                       analysis: QuestionAnalysis, question_terms: set[str]):
    doc_text = index.documents[hit.passage.doc_id].text
    chunks = [(s, e) for s, e in hit.annotation.noun_chunks if sent[0] <= s and e <= sent[1]]
    if analysis.plural:  # "construction, retail and fast food industries" is one answer
        chunks = [*_coordinations(doc_text, chunks), *chunks]
    for s, e in chunks:
        s2, e2 = _trim_phrase(index, doc_text, s, e, question_terms)
        if e2 > s2 and not _question_terms_only(index, doc_text[s2:e2], question_terms):
            yield doc_text[s2:e2], "NOUN_PHRASE", s2, e2
    for text, _, s, e in _quoted(index, hit, sent, question_terms):
        yield text, "NOUN_PHRASE", s, e
    for ent in hit.annotation.entities:
        if sent[0] <= ent.start and ent.end <= sent[1] and not _question_terms_only(
                index, ent.text, question_terms):
            yield ent.text, ent.label, ent.start, ent.end


def extract(index: Index, analysis: QuestionAnalysis, query: Query,
            hits: list[Hit]) -> Outcome:
    missing = _missing(index, analysis, query)
    if missing:
        return Outcome(None, "the documents never mention " + ", ".join(
            f"'{m}'" for m in missing), [], 0.0)
    if not hits:
        return Outcome(None, "no passage contains any of the question's words", [], 0.0)

    scorer = _Scorer(index, query)
    head = index.analyzer.term(analysis.head) if analysis.head else None
    top_score = hits[0].score or 1.0
    candidates: list[Candidate] = []
    resolved: dict[str, dict] = {}  # passage id -> {mention start: canonical entity}
    for hit in hits[:MAX_PASSAGES]:
        doc_text = index.documents[hit.passage.doc_id].text
        resolved[hit.passage.id] = _resolved(index, hit)
        for sent in hit.annotation.sentences:
            text = doc_text[sent[0]:sent[1]]
            spans, matched, overlap = scorer.sentence(text, sent[0])
            if not matched:
                continue
            shared = {"overlap": overlap, "passage": hit.score / top_score}
            if analysis.answer_kind == "clause":
                s, e = _best_clause(index, doc_text, sent, scorer)
                label = "CLAUSE" if (s, e) != _strip(text, sent[0]) else "SENTENCE"
                candidates.append(Candidate(doc_text[s:e], label, s, e, hit, sent, {
                    "type": 1.0, "proximity": 1.0, **shared}))
                continue
            found = (_entity_candidates(index, hit, sent, analysis, scorer.excluded,
                                        resolved[hit.passage.id])
                     if analysis.answer_kind == "entity"
                     else _phrase_candidates(index, hit, sent, analysis, scorer.excluded))
            for ctext, label, s, e in found:
                tscore = type_score(label, analysis.expected)
                if analysis.expected and tscore == 0.0:
                    continue
                candidates.append(Candidate(ctext, label, s, e, hit, sent, {
                    "type": tscore,
                    "proximity": _proximity(spans, matched, s, e, scorer, text, sent[0]),
                    "head": _near_head(spans, head, s, e, label != "NOUN_PHRASE"),
                    "list": float(analysis.plural and _is_list(ctext)), **shared}))
    candidates = _drop_contradicted_roles(analysis, candidates, resolved)
    # Support: the same answer in other sentences, each counted by how much of the question
    # it contains, so a name that is merely everywhere ("Russia") gains little.
    evidence: dict[str, float] = {}
    for c in {(c.hit.passage.id, c.sentence, _norm(c.text)): c for c in candidates}.values():
        evidence[_norm(c.text)] = evidence.get(_norm(c.text), 0.0) + c.features["overlap"]
    for c in candidates:
        c.features["support"] = min(1.0, evidence[_norm(c.text)] - c.features["overlap"])
        c.score = sum(WEIGHTS[k] * v for k, v in c.features.items())
    # Deterministic: score, then the earlier passage rank and offset win ties.
    candidates.sort(key=lambda c: (-c.score, c.hit.rank, c.start, -c.end))

    covered = {h.passage.id: scorer.coverage(h.passage.text) for h in hits[:MAX_PASSAGES]}
    coverage = max(covered.values())
    if coverage < MIN_COVERAGE:
        return Outcome(None, f"the best passages contain only {coverage:.0%} of what the "
                             f"question asks about", candidates, coverage)
    if not candidates:
        wanted = "/".join(analysis.expected) or "phrase"
        return Outcome(None, f"no {wanted} answer is stated near the question's words in the "
                             f"top passages", candidates, coverage)
    best = candidates[0]
    window = _window(index, best)
    window_terms = set(index.analyzer.terms(window))
    support = scorer.coverage(window)
    if support < MIN_ANSWER_COVERAGE:
        return Outcome(None, f"the sentence around the best answer ('{best.text}') contains "
                             f"only {support:.0%} of what the question asks about",
                       candidates, coverage, support)
    attribute = index.analyzer.term(analysis.attribute) if analysis.attribute else None
    if attribute and analysis.attribute not in GENERIC_HEADS and not (
            window_terms & {attribute, *(t for t, _ in query.expansions.get(attribute, ()))}):
        return Outcome(None, f"no passage states the {analysis.attribute} asked about: the "
                             f"best candidate ('{best.text}') comes from a sentence that does "
                             f"not mention it", candidates, coverage, support)
    owner = index.analyzer.terms(analysis.attribute_of or "")
    if attribute and owner and not any(scorer.stands_for.get(t) in owner or t in owner
                                       for t in window_terms):
        return Outcome(None, f"no passage states the {analysis.attribute} of "
                             f"{analysis.attribute_of}: the best candidate ('{best.text}') "
                             f"comes from a passage about something else", candidates,
                       coverage, support)
    doc_text = index.documents[best.hit.passage.doc_id].text
    s, e = _strip(doc_text[best.sentence[0]:best.sentence[1]], best.sentence[0])
    confidence = _confidence(best, covered[best.hit.passage.id], candidates)
    return Outcome(Answer(text=best.text, label=best.label, confidence=confidence,
                          passage_id=best.hit.passage.id, start=best.start, end=best.end,
                          sentence=doc_text[s:e], sentence_start=s),
                   None, candidates, coverage, support)


def _window(index: Index, candidate: Candidate) -> str:
    """The candidate's sentence and the one before it in its passage (for "it", "they")."""
    sentences = candidate.hit.annotation.sentences
    i = sentences.index(candidate.sentence)
    start = sentences[max(i - 1, 0)][0]
    return index.documents[candidate.hit.passage.doc_id].text[start:candidate.sentence[1]]


def _clauses(text: str, start: int) -> list[tuple[int, int]]:
    """Clause spans of a sentence: split at ; : and dashes, at a comma before a
    subordinator ("..., while ..."), and after an introductory adjunct ("In addition to
    X, ..."). Commas inside lists ("Kazakhstan, Kyrgyzstan and ...") do not split."""
    cuts = [0, *(m.end() for m in _CLAUSE_BREAK.finditer(text)), len(text)]
    intro = _INTRO.match(text)
    if intro:
        cuts.append(intro.end())
    spans = []
    for a, b in zip(sorted(set(cuts)), sorted(set(cuts))[1:], strict=False):
        s, e = _strip(text[a:b], start + a)
        while e > s and text[e - start - 1] in ",;:\u2014- \t\n":
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def _best_clause(index: Index, doc_text: str, sent: tuple[int, int],
                 scorer: _Scorer) -> tuple[int, int]:
    """The clause that states most of the question (the shorter one on ties)."""
    clauses = _clauses(doc_text[sent[0]:sent[1]], sent[0])
    if not clauses:
        return _strip(doc_text[sent[0]:sent[1]], sent[0])
    return max(clauses, key=lambda c: (round(scorer.coverage(doc_text[c[0]:c[1]]), 6),
                                       -(c[1] - c[0])))


def _strip(text: str, start: int) -> tuple[int, int]:
    return start + len(text) - len(text.lstrip()), start + len(text.rstrip())


def _is_list(text: str) -> bool:
    return bool(re.search(r",\s|\sand\s", text))


def _near_head(spans, head: str | None, start: int, end: int, is_value: bool) -> float:
    """How directly the candidate names the question's head noun: "Carnegie Center",
    "principle of X" and "Foreign Minister X" fully, "3% growth" fully for values, but a
    phrase before the head only half ("fast food industries" answers, "long-term
    principle" only describes)."""
    if head is None:
        return 0.0
    inside = [t for s, e, t in spans if s >= start and e <= end and t]
    if inside and inside[-1] == head:  # "which center" -> "Carnegie Center"
        return 1.0
    if head in [t for s, e, t in spans if e <= start][-3:]:
        return 1.0
    if head in [t for s, e, t in spans if s >= end][:2]:
        return 1.0 if is_value else 0.5
    return 0.0


def _confidence(best: Candidate, coverage: float, candidates: list[Candidate]) -> float:
    """A 0-1 score: evidence strength times the winner's margin over a different answer."""
    f = best.features
    strength = 0.45 * coverage + 0.25 * f["type"] + 0.2 * f["proximity"] + 0.1 * f["overlap"]
    rival = next((c for c in candidates[1:] if _norm(c.text) != _norm(best.text)), None)
    margin = 1.0 if rival is None else min(1.0, 0.5 + (best.score - rival.score) / 2)
    return round(max(0.0, min(1.0, strength * (0.6 + 0.4 * margin))), 3)


def _missing(index: Index, analysis: QuestionAnalysis, query: Query) -> list[str]:
    """Named things and the asked-for attribute ("population") that the corpus never uses."""
    missing = []
    head = index.analyzer.term(analysis.attribute) if analysis.attribute else None
    if head and head not in index.postings.vocab and not any(
            w >= HEAD_SPELLING for _, w in query.expansions.get(head, ())):
        missing.append(analysis.attribute)
    for ent in analysis.entities:
        if ent.label in VALUE_LABELS:
            continue
        terms = index.analyzer.terms(ent.text)
        if terms and not any(t in index.postings.vocab or t in query.expansions
                             for t in terms):
            missing.append(ent.text)

    return missing
