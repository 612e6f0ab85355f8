"""Candidate answers from the sentences of the top passages.

Entity mentions of the expected labels (typed questions), noun chunks (untyped "what/which
X" questions) or the best clause of a sentence ("why", "how did", "what did X say").
Candidates made only of the question's own words are never proposed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..ingest.annotate import Annotation, Entity
from ..ingest.passages import Passage
from ..kb.entities import GLUED, CanonicalEntity, clean_surface, demonym_place
from ..lexicon import (
    ABBREVIATIONS,
    INTRODUCERS,
    LEADING_WORDS,
    NAME_LABELS,
    PLACE_LABELS,
    ROLE_WORDS,
    SUBORDINATORS,
    TITLE_NOUNS,
    VALUE_LABELS,
)
from ..search.analyzer import Analyzer
from .features import NAME, QuestionScorer, type_score
from .question import Question
from .spans import SentenceParse, SentenceParses

_LEADING = re.compile(r"(?:(?:" + "|".join(map(re.escape, LEADING_WORDS)) + r")\s+)+", re.I)
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
# A short quoted title or name: 'an article entitled "Silent Stans"'.
_QUOTED = re.compile(r"[\"\u201c]([^\"\u201c\u201d]{2,80})[\"\u201d]")
# Clause breaks for why/how answers; a list comma is no break.
_CLAUSE_BREAK = re.compile(r"[;:\u2014]\s*|\s-\s|,\s+(?=(?:"
                           + "|".join(SUBORDINATORS) + r")\b)")
_INTRO = re.compile(r"(?:" + "|".join(INTRODUCERS) + r")\b[^,]{0,80},\s+")
_JOINER = re.compile(r"^\s*(?:,\s*(?:(?:and|or)\s+)?|(?:and|or)\s+)$")

# (text, label, start, end) of one proposed span.
Span = tuple[str, str, int, int]


@dataclass(frozen=True)
class SentenceLayout:
    """What the generators read of one sentence that no question changes, worked out once
    per sentence and kept with its parse (``SentenceParse.layout``): the same sentences
    come back question after question, and finding a sentence's mentions and chunks
    scans its whole passage."""

    # Entity mentions under the corpus-wide label, but an adjective keeps its own:
    # "Trump" is ORG if the corpus says so, "Russian" stays NORP though it refers to Russia.
    entities: tuple[Entity, ...]
    mentions: tuple[Entity, ...]  # the same mentions as the model tagged them
    chunks: tuple[tuple[int, int], ...]  # noun chunks
    free_chunks: tuple[tuple[int, int], ...]  # noun chunks overlapping no mention
    quoted: tuple[tuple[str, int, int, int], ...]  # (text, start, end, words) in quotes
    # (start, end) of a chunk -> its start after leading determiners and its words with
    # a term there (offsets from that start): ``Proposer.trim``'s part no question changes.
    cuts: dict[tuple[int, int], tuple[int, tuple[tuple[int, int, str], ...]]] = field(
        default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, hit: Hit, sent: tuple[int, int]) -> SentenceLayout:
        """Read once per cached sentence; nothing here depends on the question."""
        mentions = tuple(e for e in hit.annotation.entities
                         if sent[0] <= e.start and e.end <= sent[1])
        entities = tuple(Entity(e.text, hit.entities[e.start].label if e.start in hit.entities
                                and not demonym_place(clean_surface(e.text)) else e.label,
                                e.start, e.end) for e in mentions)
        chunks = tuple((s, e) for s, e in hit.annotation.noun_chunks
                       if sent[0] <= s and e <= sent[1])
        quoted = []
        for match in _QUOTED.finditer(hit.text, sent[0], sent[1]):
            quoted.append((match.group(1), *match.span(1), len(match.group(1).split())))
        return cls(entities, mentions, chunks,
                   tuple((s, e) for s, e in chunks
                         if not any(x.start < e and s < x.end for x in entities)),
                   tuple(quoted))


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with what answer extraction reads from it."""

    pos: int
    rank: int
    score: float
    passage: Passage
    annotation: Annotation
    text: str  # the document's text: every offset indexes it
    entities: dict[int, CanonicalEntity]  # mention start -> resolved entity
    words: list[tuple[int, int, str | None]]  # (start, end, BM25 term) of each word
    parses: SentenceParses = field(repr=False, compare=False)  # shared by the requests

    def parse(self, sentence: tuple[int, int]) -> SentenceParse | None:
        """The parse of one of its sentences (None without tokens): the candidate pool,
        the ranker's features and the refusal rules all read it."""
        return self.parses.get(self.pos, sentence)

    def layout(self, sentence: tuple[int, int]) -> SentenceLayout:
        """The ``SentenceLayout`` of one of its sentences: kept with its parse when it has
        one, else worked out again."""
        parse = self.parse(sentence)
        if parse is None:
            return SentenceLayout.of(self, sentence)
        if parse.layout is None:
            parse.layout = SentenceLayout.of(self, sentence)
        return parse.layout


@dataclass(slots=True)  # some 190 a question, each read by every feature
class Candidate:
    text: str
    label: str
    start: int
    end: int
    hit: Hit
    sentence: tuple[int, int]
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    # Which generators proposed this span: entity, name, chunk, parse, clause.
    sources: set[str] = field(default_factory=set)
    # Rank of its sentence by how much of the question it states (1 = most).
    sentence_rank: int = 0
    # Its identity as an answer, for support and rivalry: its words, lower-cased (read
    # often; a plain attribute is cheaper than a cached property).
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.key = norm(self.text)

    def trace(self) -> dict:
        return {"text": self.text, "label": self.label, "passage_id": self.hit.passage.id,
                "start": self.start, "end": self.end, "score": round(self.score, 4),
                "features": {k: round(v, 4) for k, v in self.features.items()}}


@functools.lru_cache(maxsize=65_536)
def _words(analyzer: Analyzer, text: str
           ) -> tuple[tuple[tuple[int, int, str | None], ...], tuple[str, ...]]:
    """The words of a span's text (offsets within it) and its index terms, which do not
    depend on the question: the same spans come back question after question (tuples:
    every caller shares them)."""
    words = tuple(analyzer.spans(text))
    return words, tuple(t for _, _, t in words if t is not None)


@functools.lru_cache(maxsize=65_536)  # the same spans come back question after question
def norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


class Proposer:
    """Proposes spans of one question's top passages."""

    def __init__(self, question: Question, scorer: QuestionScorer,
                 max_quoted_words: int) -> None:
        self.question = question
        self.analyzer: Analyzer = scorer.analyzer
        self.scorer = scorer
        self.excluded = scorer.excluded
        self.max_quoted_words = max_quoted_words
        self._own: dict[str, bool] = {}

    def question_words_only(self, text: str) -> bool:
        """Whether ``text`` says nothing but the question's words (once per text: the
        generators propose the same mention again and again)."""
        own = self._own.get(text)
        if own is None:
            terms = _words(self.analyzer, text)[1]
            own = self._own[text] = not terms or self.excluded.issuperset(terms)
        return own

    def trim(self, layout: SentenceLayout, doc_text: str, start: int, end: int
             ) -> tuple[int, int]:
        """Drop leading determiners, and stop or question words at either edge of a chunk
        of ``layout``'s sentence (the determiners and words are kept there)."""
        cut = layout.cuts.get((start, end))
        if cut is None:
            lead = _LEADING.match(doc_text, start, end)
            at = lead.end() if lead else start
            cut = layout.cuts[(start, end)] = (at, tuple(
                w for w in _words(self.analyzer, doc_text[at:end])[0] if w[2] is not None))
        start, words = cut
        excluded = self.excluded
        kept = [w for w in words if w[2] not in excluded]
        return (start + kept[0][0], start + kept[-1][1]) if kept else (start, start)

    def quoted(self, hit: Hit, sent: tuple[int, int]) -> Iterator[Span]:
        """Short quoted spans: titles and names the model rarely tags ("Silent Stans")."""
        for text, s, e, words in hit.layout(sent).quoted:
            if words <= self.max_quoted_words and not self.question_words_only(text):
                yield text, NAME, s, e

    def untagged_names(self, hit: Hit, sent: tuple[int, int]) -> Iterator[Span]:
        """Capitalised noun chunks spaCy did not tag ("Sobyanin, mayor of Moscow"), and
        short quoted spans."""
        yield from self.quoted(hit, sent)
        layout = hit.layout(sent)
        for s, e in layout.free_chunks:
            s2, e2 = self.trim(layout, hit.text, s, e)
            words = hit.text[s2:e2].split()
            if words and all(w[:1].isupper() for w in words) \
                    and not self.question_words_only(hit.text[s2:e2]) and not all(
                    w.lower() in ROLE_WORDS or demonym_place(w) for w in words):
                yield hit.text[s2:e2], NAME, s2, e2  # ("Defense" of "Defense Minister": none)

    def entities(self, hit: Hit, sent: tuple[int, int], typed: bool = True) -> Iterator[Span]:
        """Entity mentions; for a typed question also untagged names when a name is
        expected, and lists of its type. ``typed=False`` proposes all of them."""
        q, text = self.question, hit.text
        ents = hit.layout(sent).entities
        if not typed or (q.expected[:1] and q.expected[0] in NAME_LABELS):
            yield from self.untagged_names(hit, sent)
        for i, ent in enumerate(ents):
            if self.question_words_only(ent.text):
                continue
            if q.wh == "where" and q.head is None and i > 0 and ent.label in PLACE_LABELS \
                    and ents[i - 1].label in PLACE_LABELS \
                    and text[ents[i - 1].end:ent.start] == ", ":
                continue  # "in Moscow, Russia": for "where", Russia only qualifies Moscow
            year = _YEAR.search(ent.text) if q.wants_year and ent.label == "DATE" else None
            if year:  # "In what year...?" is answered by the year of "July 2019"
                yield year.group(), "DATE", ent.start + year.start(), ent.start + year.end()
            else:
                glued = GLUED.match(ent.text)  # "WTO.Mirziyoyev": a caption glued to a name
                start = ent.start + (glued.end() if glued else 0)
                yield text[start:ent.end], ent.label, start, ent.end
            if (q.plural or not typed) and ent.label not in VALUE_LABELS:
                # A list answer ("Kyrgyzstan and Tajikistan"); spaCy may label its parts apart.
                end, j = ent.end, i + 1
                while j < len(ents) and (not typed or type_score(ents[j].label, q.expected) > 0
                                         ) and _JOINER.match(text[end:ents[j].start]):
                    end, j = ents[j].end, j + 1
                if j > i + 1:
                    yield text[ent.start:end], ent.label, ent.start, end

    def phrases(self, hit: Hit, sent: tuple[int, int]) -> Iterator[Span]:
        """Noun phrases, and entity mentions under the model's labels."""
        yield from self.noun_phrases(hit, sent)
        for ent in hit.layout(sent).mentions:
            if not self.question_words_only(ent.text):
                yield ent.text, ent.label, ent.start, ent.end

    def noun_phrases(self, hit: Hit, sent: tuple[int, int]) -> Iterator[Span]:
        """Noun chunks without edge stop or question words, and short quoted spans."""
        text, layout = hit.text, hit.layout(sent)
        chunks = list(layout.chunks)
        if self.question.plural:  # "construction, retail and fast food industries" is one
            chunks = [*_coordinations(text, chunks), *chunks]
        for s, e in chunks:
            s2, e2 = self.trim(layout, text, s, e)
            if e2 > s2 and not self.question_words_only(text[s2:e2]):
                yield text[s2:e2], "NOUN_PHRASE", s2, e2
        for quoted, _, s, e in self.quoted(hit, sent):
            yield quoted, "NOUN_PHRASE", s, e

    def best_clause(self, text: str, sent: tuple[int, int]) -> tuple[int, int]:
        """The clause that states most of the question (the shorter one on ties)."""
        found = clauses(text[sent[0]:sent[1]], sent[0])
        if not found:
            return strip(text[sent[0]:sent[1]], sent[0])
        return max(found, key=lambda c: (round(self.scorer.coverage(text[c[0]:c[1]]), 6),
                                         -(c[1] - c[0])))


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


def clauses(text: str, start: int) -> list[tuple[int, int]]:
    """Clause spans of a sentence: split at ; : and dashes, at a comma before a
    subordinator ("..., while ..."), and after an introductory adjunct ("In addition to
    X, ..."). Commas inside lists ("Kazakhstan, Kyrgyzstan and ...") do not split."""
    cuts = [0, *(m.end() for m in _CLAUSE_BREAK.finditer(text)), len(text)]
    intro = _INTRO.match(text)
    if intro:
        cuts.append(intro.end())
    spans = []
    for a, b in zip(sorted(set(cuts)), sorted(set(cuts))[1:], strict=False):
        s, e = strip(text[a:b], start + a)
        while e > s and text[e - start - 1] in ",;:\u2014- \t\n":
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def strip(text: str, start: int) -> tuple[int, int]:
    """Offsets of ``text`` (at ``start``) without surrounding whitespace."""
    return start + len(text) - len(text.lstrip()), start + len(text.rstrip())


def asked_places(question: Question) -> set[str]:
    """Places the question names, as written or through a demonym ("Chinese" -> China)."""
    places = set()
    for ent in question.entities:
        surface = clean_surface(ent.text)
        place = demonym_place(surface) or ABBREVIATIONS.get(surface)
        if place or ent.label == "GPE":
            places.add((place or surface).lower())
    return places


def drop_contradicted_roles(question: Question,
                            candidates: list[Candidate]) -> list[Candidate]:
    """'Who is the Chinese foreign minister?': a person the corpus names only as the
    *Japanese* Foreign Minister, or only as a president, is no answer. Uses the roles that
    entity resolution read from the corpus."""
    places = asked_places(question)
    if question.head not in TITLE_NOUNS or not places:
        return candidates
    kept = []
    for c in candidates:
        entity = c.hit.entities.get(c.start)
        roles = entity.roles if entity else []
        titled = [r for r in roles if r.role.split()[-1].lower() == question.head]
        if titled:  # the asked office: keep unless every stated place is another one
            if any(r.affiliation is None or r.affiliation.lower() in places for r in titled):
                kept.append(c)
        elif not roles:  # nothing known about the person
            kept.append(c)
        # else: the corpus knows them only in other offices (a president, not a minister)
    return kept


def candidate_pool(question: Question, scorer: QuestionScorer, hits: list[Hit],
                   max_quoted_words: int, max_sentences: int) -> list[Candidate]:
    """Every span that some generator proposes, whatever its type (the ranker, not a
    filter, decides), in the ``max_sentences`` sentences of ``hits`` that state most of
    the question. One candidate per span, remembering every generator that proposed it."""
    proposer = Proposer(question, scorer, max_quoted_words)
    pool: dict[tuple[int, int, int], Candidate] = {}
    ranked = sorted(((scorer.sentence(hit, sent)[2], -hit.rank, -sent[0], hit, sent)
                     for hit in hits for sent in hit.annotation.sentences
                     if scorer.sentence(hit, sent)[1]),
                    key=lambda x: x[:3], reverse=True)[:max_sentences]
    for rank, (_, _, _, hit, sent) in enumerate(ranked, start=1):
        def add(source: str, text: str, label: str, start: int, end: int,
                hit: Hit = hit, sent: tuple[int, int] = sent, rank: int = rank) -> None:
            key = (hit.pos, start, end)
            found = pool.get(key)
            if found is None:
                found = pool[key] = Candidate(text, label, start, end, hit, sent,
                                              sentence_rank=rank)
            elif found.label in ("NOUN_PHRASE", NAME) and label not in ("NOUN_PHRASE", NAME):
                found.label = label  # the entity label is the more informative one
            found.sources.add(source)

        for text, label, s, e in proposer.entities(hit, sent, typed=False):
            add("name" if label == NAME else "entity", text, label, s, e)
        for text, label, s, e in proposer.noun_phrases(hit, sent):
            add("chunk", text, label, s, e)
        parse = hit.parse(sent)
        if parse is not None:
            for s, e in parse.proposed(hit.text):
                text = hit.text[s:e]
                if not proposer.question_words_only(text):
                    add("parse", text, "NOUN_PHRASE", s, e)
        if question.answer_kind == "clause":
            s, e = proposer.best_clause(hit.text, sent)
            add("clause", hit.text[s:e], "CLAUSE", s, e)
    return list(pool.values())
