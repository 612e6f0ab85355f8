"""The trained answer ranker: named features per candidate, a linear model over them.

Features describe a candidate against the question: its label crossed with what the
question asks for (wh-word, "how many", head noun, expected label), where it sits in the
dependency parse relative to the question's words (its role crossed with the wh-word's
role, the tree distance to the nearest matched word, whether its governing word is one of
the question's), how much of the question its sentence, its neighbourhood and its passage
state, and which generators proposed it. The weights are learned on the SQuAD train slice
(``train/ranker.py``, ``make train``) and shipped as a small JSON file read here; a softmax
over a question's candidates turns scores into probabilities.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import hashlib
import json
import math
import operator
import re
from collections import deque
from dataclasses import dataclass
from importlib.resources import files
from itertools import repeat
from pathlib import Path
from typing import NamedTuple

from .candidates import Candidate, Hit
from .errors import ModelError
from .features import (
    HeadContext,
    QuestionScorer,
    clause_marks,
    head_context,
    head_nearness,
    type_score,
)
from .features import inside as words_inside
from .question import Question
from .spans import SentenceParse

# Bump whenever a feature's name or meaning changes: a model names the set it was trained on.
FEATURE_SET = "f2"
# The shapes of every feature name the featurizer emits (tests hold both the featurizer and
# the shipped weights to them).
_ASKS = r"(?:what|which|who|whom|whose|when|where|why|how|none|how-\w+)"
FEATURE_TEMPLATES = tuple(re.compile(p) for p in (
    r"type|overlap|passage|proximity|support|left_window|right_window|head_noun",
    r"has_question_words|capitalised|has_digit",
    rf"label=[A-Z_]+\|asks={_ASKS}", r"label=[A-Z_]+\|expects=[A-Za-z_]+",
    r"label=[A-Z_]+\|head=\S+", r"kind=(?:entity|phrase|clause)\|label=[A-Z_]+",
    r"rank=[1-5]", r"sentence_rank=[1-6]", r"src=[a-z]+", rf"src=[a-z]+\|asks={_ASKS}",
    rf"len=>?\d+\|asks={_ASKS}", rf"pos=[A-Z]+\|asks={_ASKS}",
    rf"dep=[A-Za-z:]*\|asks={_ASKS}", r"dep=[A-Za-z:]*\|whrole=[A-Za-z:]*",
    r"governed_by_question_word\|dep=[A-Za-z:]*", r"wh_verb_role\|match=(?:True|False)",
    r"tree=\d", rf"tree=\d\|asks={_ASKS}", rf"digit\|asks={_ASKS}",
    rf"path=[A-Za-z:^v/]*\|asks={_ASKS}", r"beside_question_word=(?:before|after)"))
WINDOW = 5  # words each side of a candidate that count as its neighbourhood
MAX_TREE = 4  # tree distances are counted up to this many edges
DEFAULT_MODEL = "ranker.json.gz"


@dataclass(frozen=True)
class RankerModel:
    version: str
    feature_set: str
    weights: dict[str, float]
    # P(answer right) = sigmoid(a * log-probability-of-the-top-answer + b * coverage + c)
    calibration: dict[str, float]
    sha256: str
    trained_on: str

    @classmethod
    def load(cls, path: Path | None = None) -> RankerModel:
        source = path or files("citeqa.qa.models").joinpath(DEFAULT_MODEL)
        try:
            raw = source.read_bytes()
            data = json.loads(gzip.decompress(raw))
        except (OSError, ValueError, EOFError) as exc:
            raise ModelError(f"cannot read the answer ranker {source}: {exc}") from None
        if data.get("feature_set") != FEATURE_SET:
            raise ModelError(f"the answer ranker {source} was trained on feature set "
                             f"{data.get('feature_set')!r}; this citeqa computes "
                             f"{FEATURE_SET!r}: retrain it with 'make train'")
        return cls(version=data["version"], feature_set=data["feature_set"],
                   weights=data["weights"], calibration=data["calibration"],
                   sha256=hashlib.sha256(raw).hexdigest(), trained_on=data["trained_on"])

    def score(self, features: dict[str, float]) -> float:
        # the same products summed in the same order as a generator would, without one
        return sum(map(operator.mul, map(self.weights.get, features, repeat(0.0)),
                       features.values()))

    def contributions(self, features: dict[str, float], top: int = 8) -> list[list]:
        """The features that moved this candidate's score most: [name, weight x value]."""
        parts = [(name, self.weights.get(name, 0.0) * value)
                 for name, value in features.items()]
        parts = sorted((p for p in parts if p[1]), key=lambda p: -abs(p[1]))[:top]
        return [[name, round(value, 4)] for name, value in parts]

    def confidence(self, top_probability: float, coverage: float) -> float:
        """Calibrated probability that the top answer is right."""
        c = self.calibration
        z = (c["a"] * math.log(max(top_probability, 1e-9)) + c["b"] * coverage + c["c"])
        return 1.0 / (1.0 + math.exp(-z))

    def describe(self) -> dict[str, str]:
        return {"version": self.version, "feature_set": self.feature_set,
                "sha256": self.sha256, "trained_on": self.trained_on}


@functools.cache
def default_ranker() -> RankerModel:
    """The ranker shipped inside the package, loaded once per process."""
    return RankerModel.load()


def known_feature(name: str) -> bool:
    return any(t.fullmatch(name) for t in FEATURE_TEMPLATES)


def _bucket(n: int, edges: tuple[int, ...]) -> str:
    for edge in edges:
        if n <= edge:
            return str(edge)
    return f">{edges[-1]}"


_RANKS = tuple(f"rank={min(r, 5)}" for r in range(6))
_SENTENCE_RANKS = tuple(f"sentence_rank={min(r, 6)}" for r in range(7))


class SpanShape(NamedTuple):
    """What the features read of one candidate span that no question changes, worked out
    once per span and kept with its sentence's parse (``SentenceParse.shapes``): the same
    spans come back question after question."""

    words: range  # indexes of the sentence's words wholly inside the span
    lo: int  # first and last token index
    hi: int
    head: int  # the syntactic head's token index
    terms: tuple[str, ...]  # index terms of the words inside, in order
    context: HeadContext  # what ``head_nearness`` compares with a head noun
    capitalised: float
    has_digit: float


class SentenceView(NamedTuple):
    """What the features read of one sentence that no question changes, worked out once
    and kept with its parse (``SentenceParse.view``): it is the same for every question
    whose candidate pool reaches the sentence."""

    marks: list[int]  # ``clause_marks`` of the sentence's text
    neighbours: dict[int, list[int]]  # token index -> its head and children in the sentence
    token_terms: tuple[str, ...]  # index term of the word each token starts ("" for none)

    @classmethod
    def of(cls, parse: SentenceParse, text: str, sentence: tuple[int, int],
           spans: list[tuple[int, int, str | None]]) -> SentenceView:
        tokens, first, last = parse.tokens, parse.first, parse.last
        neighbours: dict[int, list[int]] = {i: [] for i in range(first, last + 1)}
        for i in range(first, last + 1):
            h = tokens[i].head
            if h != i and h in neighbours:
                neighbours[i].append(h)
                neighbours[h].append(i)
        term_at = {s: t for s, _, t in spans}
        return cls(clause_marks(text[sentence[0]:sentence[1]]), neighbours,
                   tuple(term_at.get(t.start) or "" for t in tokens[first:last + 1]))


class _Sentence:
    """What every candidate of one sentence shares: its parse, its words' question terms,
    each token's tree distance to the nearest word the question also uses, and the
    features of each head token and each window edge once computed (candidates of a
    sentence share heads and edges)."""

    def __init__(self, hit: Hit, parse: SentenceParse, sentence: tuple[int, int],
                 scorer: QuestionScorer) -> None:
        self.offset = sentence[0]
        self.spans, self.matched_words, self.coverage = scorer.sentence(hit, sentence)
        view = parse.view
        if view is None:
            view = parse.view = SentenceView.of(parse, hit.text, sentence, self.spans)
        self.marks = view.marks
        self.parse = parse
        self.first, self.last = parse.first, parse.last
        self.starts = parse.starts
        self.text = hit.text
        self.terms = list(map(scorer.stands_for.get, view.token_terms))
        self.matched = [self.first + k for k, t in enumerate(self.terms) if t]
        distance = self._distances(view.neighbours)
        # tree distance of each token, counted from ``first``; MAX_TREE + 1 when farther
        self.distances = [distance.get(i, MAX_TREE + 1)
                          for i in range(self.first, self.last + 1)]
        self.heads: dict[int, tuple[list[tuple[str, float]], str]] = {}
        self.left: dict[int, float] = {}
        self.right: dict[int, float] = {}

    def _distances(self, neighbours: dict[int, list[int]]) -> dict[int, int]:
        dist = {i: 0 for i in self.matched}
        self.toward: dict[int, int] = {}  # next token on the way to the nearest matched one
        queue = deque(self.matched)
        while queue:
            i = queue.popleft()
            if dist[i] >= MAX_TREE:
                continue
            for j in neighbours[i]:
                if j not in dist:
                    dist[j] = dist[i] + 1
                    self.toward[j] = i
                    queue.append(j)
        return dist

    def path(self, i: int) -> str:
        """Dependency labels from token ``i`` to the nearest word the question uses:
        "nsubj^" climbs from a subject to its verb, "vpobj" descends to an object."""
        tokens, steps = self.parse.tokens, []
        while i in self.toward and len(steps) < 3:
            j = self.toward[i]
            steps.append(f"{tokens[i].dep}^" if tokens[i].head == j else f"v{tokens[j].dep}")
            i = j
        return "/".join(steps)

    def shape(self, start: int, end: int) -> SpanShape:
        """The span's ``SpanShape``, from the parse's store when an earlier question read
        it."""
        shapes = self.parse.shapes
        found = shapes.get((start, end))
        if found is None:
            spans = self.spans
            words = words_inside(spans, start, end)
            lo, hi = self.token_range(start, end)
            surface = self.text[start:end]
            found = shapes[(start, end)] = SpanShape(
                words, lo, hi, self.head_of(lo, hi),
                tuple(spans[i][2] for i in words if spans[i][2]),
                head_context(spans, words, start, end),
                float(all(w[:1].isupper() for w in surface.split())),
                float(any(map(str.isdigit, surface))))
        return found

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        lo = self.first + max(bisect.bisect_right(self.starts, start) - 1, 0)
        hi = self.first + max(bisect.bisect_left(self.starts, end) - 1, 0)
        return lo, max(lo, hi)

    def head_of(self, lo: int, hi: int) -> int:
        """The span's syntactic head: its first token governed from outside the span."""
        tokens = self.parse.tokens
        for i in range(lo, hi + 1):
            if not lo <= tokens[i].head <= hi or tokens[i].head == i:
                return i
        return hi


class Featurizer:
    """Features of one question's candidates. Feature names are built once per question
    (label, source, length, tree distance) or per sentence (head token, window edge), not
    per candidate: a question has some 190 candidates. Features are inserted in a fixed
    order, which fixes the order ``RankerModel.score`` sums them in."""

    def __init__(self, question: Question, scorer: QuestionScorer) -> None:
        self.q = question
        self.scorer = scorer
        self.head_term = scorer.analyzer.term(question.head) if question.head else None
        self.wh = question.wh or "none"
        self.asks = f"how-{question.how}" if question.how else self.wh
        self.exp = question.expected[0] if question.expected else "none"
        self._sentences: dict[tuple[int, tuple[int, int]], _Sentence | None] = {}
        asks = f"|asks={self.asks}"
        self._asks = asks
        self._labels: dict[str, tuple[list[tuple[str, float]], list[tuple[str, float]]]] = {}
        self._leads: dict[tuple, dict[str, float]] = {}
        self._tags: dict[tuple[str, str], list[tuple[str, float]]] = {}
        self._lengths: dict[int, str] = {}
        self._trees = [(f"tree={d}", f"tree={d}{asks}") for d in range(MAX_TREE + 2)]
        self._digit = f"digit{asks}"

    def _sentence(self, c: Candidate) -> _Sentence | None:
        key = (c.hit.pos, c.sentence)
        if key not in self._sentences:
            parse = c.hit.parse(c.sentence)
            self._sentences[key] = (_Sentence(c.hit, parse, c.sentence, self.scorer)
                                    if parse else None)
        return self._sentences[key]

    def _label(self, label: str) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The features a candidate's label alone decides: those before ``overlap``, and
        those after ``sentence_rank``."""
        found = self._labels.get(label)
        if found is None:
            q = self.q
            after = [(f"kind={q.answer_kind}|label={label}", 1.0)]
            if q.head:
                after.append((f"label={label}|head={q.head}", 1.0))
            found = self._labels[label] = (
                [(f"label={label}{self._asks}", 1.0), (f"label={label}|expects={self.exp}", 1.0),
                 ("type", type_score(label, q.expected))], after)
        return found

    def _head(self, sentence: _Sentence, head: int) -> tuple[list[tuple[str, float]], str]:
        """The features the span's head token decides, and its path feature's name."""
        found = sentence.heads.get(head)
        if found is None:
            q, asks, tokens = self.q, self._asks, sentence.parse.tokens
            tok = tokens[head]
            f = self._tags.get((tok.pos, tok.dep))
            if f is None:  # the same for every head of this part of speech and relation
                f = [(f"pos={tok.pos}{asks}", 1.0), (f"dep={tok.dep}{asks}", 1.0)]
                if q.wh_role:
                    f.append((f"dep={tok.dep}|whrole={q.wh_role}", 1.0))
                self._tags[(tok.pos, tok.dep)] = f
            parent = tok.head
            governor = tokens[parent].head if tokens[parent].dep == "prep" else parent
            k = governor - sentence.first
            if 0 <= k < len(sentence.terms) and sentence.terms[k]:
                f = [*f, (f"governed_by_question_word|dep={tok.dep}", 1.0)]
                if q.wh_verb and sentence.terms[k] == q.wh_verb:
                    f.append((f"wh_verb_role|match={tok.dep == q.wh_role}", 1.0))
            found = sentence.heads[head] = (f, f"path={sentence.path(head)}{asks}")
        return found

    def _window(self, sentence: _Sentence, lo: int, hi: int) -> tuple[float, float]:
        """Shares of the question's IDF mass stated by the WINDOW words before ``lo`` and
        after ``hi``."""
        idf, total, first, terms = self.scorer.idf, self.scorer.total, sentence.first, \
            sentence.terms
        left = sentence.left.get(lo)
        if left is None:
            window = terms[max(lo - WINDOW, first) - first:lo - first]
            left = sentence.left[lo] = (sum(idf[t] for t in {t for t in window if t}) / total
                                        if any(window) else 0.0)
        right = sentence.right.get(hi)
        if right is None:
            window = terms[hi + 1 - first:hi + 1 + WINDOW - first]
            right = sentence.right[hi] = (sum(idf[t] for t in {t for t in window if t})
                                          / total if any(window) else 0.0)
        return left, right

    def features_all(self, candidates: list[Candidate], clause_gap: int
                     ) -> list[dict[str, float]]:
        """Features of every candidate, including support: the same answer stated in other
        sentences, weighted by how much of the question each of them states."""
        top_score = max((c.hit.score for c in candidates), default=1.0)
        out = [self.features(c, top_score, clause_gap) for c in candidates]
        evidence: dict[str, float] = {}
        seen = set()
        for c, f in zip(candidates, out, strict=True):
            key = (c.hit.pos, c.sentence, c.key)
            if key not in seen:
                seen.add(key)
                evidence[c.key] = evidence.get(c.key, 0.0) + f["overlap"]
        for c, f in zip(candidates, out, strict=True):
            f["support"] = min(1.0, evidence[c.key] - f["overlap"])
        return out

    def _lead(self, c: Candidate, sentence: _Sentence | None, top_score: float
              ) -> dict[str, float]:
        """The features before ``proximity``: its label's, its sentence's and passage's, and
        its generators'. Candidates of one sentence with the same label and generators
        share them, so each such set is built once and copied."""
        key = (c.hit.pos, c.sentence, c.sentence_rank, c.label, tuple(c.sources), top_score)
        found = self._leads.get(key)
        if found is None:
            before, after = self._label(c.label)
            found = dict(before)
            found["overlap"] = sentence.coverage if sentence else 0.0
            found["passage"] = c.hit.score / (top_score or 1.0)
            found[_RANKS[min(c.hit.rank, 5)]] = 1.0
            found[_SENTENCE_RANKS[min(c.sentence_rank, 6)]] = 1.0
            found.update(after)
            for source in key[4]:
                found[f"src={source}"] = found[f"src={source}{self._asks}"] = 1.0
            self._leads[key] = found
        return found

    def features(self, c: Candidate, top_score: float, clause_gap: int) -> dict[str, float]:
        label = c.label
        sentence = self._sentence(c)
        f = self._lead(c, sentence, top_score).copy()
        if sentence is None:
            return f
        first = sentence.first
        words, lo, hi, head, inside, context, capitalised, has_digit = sentence.shape(
            c.start, c.end)
        f["proximity"] = self.scorer.proximity(sentence.spans, sentence.matched_words, words,
                                               c.start, c.end, sentence.marks,
                                               sentence.offset, clause_gap)
        size = hi - lo + 1
        length = self._lengths.get(size)
        if length is None:
            length = self._lengths[size] = f"len={_bucket(size, (1, 2, 3, 4, 6, 10))}{self._asks}"
        f[length] = 1.0
        head_features, path = self._head(sentence, head)
        f.update(head_features)
        dist = min(sentence.distances[lo - first:hi + 1 - first])
        tree, tree_asks = self._trees[dist]
        f[tree] = f[tree_asks] = 1.0
        if 0 < dist <= MAX_TREE:
            f[path] = 1.0
        if lo > first and sentence.terms[lo - 1 - first]:
            f["beside_question_word=before"] = 1.0
        if hi < sentence.last and sentence.terms[hi + 1 - first]:
            f["beside_question_word=after"] = 1.0
        f["left_window"], f["right_window"] = self._window(sentence, lo, hi)
        f["head_noun"] = head_nearness(context, self.head_term, label != "NOUN_PHRASE")
        excluded = self.scorer.excluded
        f["has_question_words"] = (sum(map(excluded.__contains__, inside)) / len(inside)
                                   if inside else 0.0)
        f["capitalised"] = capitalised
        f["has_digit"] = f[self._digit] = has_digit
        return f
