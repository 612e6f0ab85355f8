"""Every tunable number of the ask path, in versioned parameter objects passed in.

A benchmark that wants other numbers builds another object (``dataclasses.replace``);
nothing is patched in place. ``QAParams.version`` is reported in ``/health`` and in the
explain trace, so an answer can always be traced to the numbers that produced it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..kb.facts import FactParams
from ..search.retrieval import RetrievalParams


@dataclass(frozen=True)
class Weights:
    """Feature weights of the answer score: set by hand, each change checked on the SQuAD
    train slice (bench/squad.py train) and the seed dev questions, never on SQuAD dev."""

    type: float = 2.0
    overlap: float = 2.0
    proximity: float = 1.5
    passage: float = 1.0
    support: float = 0.5
    head: float = 1.0
    list: float = 1.0

    def score(self, features: dict[str, float]) -> float:
        return sum(getattr(self, name) * value for name, value in features.items())


@dataclass(frozen=True)
class ConfidenceWeights:
    """Confidence = evidence strength x (floor + (1 - floor) x margin over the runner-up)."""

    coverage: float = 0.45
    type: float = 0.25
    proximity: float = 0.2
    overlap: float = 0.1
    floor: float = 0.6


@dataclass(frozen=True)
class AnswerParams:
    version: str = "rules-10"
    weights: Weights = field(default_factory=Weights)
    confidence: ConfidenceWeights = field(default_factory=ConfidenceWeights)
    max_passages: int = 5  # candidates come from this many top passages
    # Shares of the question's IDF mass that the best passage, and the answer's sentence
    # with the one before it, must contain; calibrated with bench/refusal.py on held-out
    # SQuAD train articles.
    min_coverage: float = 0.5
    min_answer_coverage: float = 0.35
    head_spelling: float = 0.9  # a misspelt attribute must be this close to a corpus word
    clause_gap: int = 3  # crossing a comma or bracket counts as this many words
    max_quoted_words: int = 8  # longer quoted spans are quotations, not titles
    # The trained ranker (qa/ranker.py) picks the answer; off, the hand-set weights above do.
    ranker: bool = True
    # The ranker's candidates come from this many sentences, those stating most of the
    # question. On 1,500 SQuAD train-slice questions whose answer is in a top-5 passage,
    # the gold answer is a candidate for 77.9% with 10 sentences (180 candidates), 75.2%
    # with 7 (134) and 73.2% with 5 (99); the ranker's exact match is no lower with 5,
    # and its candidates cost the answer stage's CPU in proportion.
    max_sentences: int = 5
    # With the ranker: refuse when the calibrated probability of being right is lower.
    min_confidence: float = 0.2
    # Parsed sentences a serving process keeps between questions, per index version
    # (memory, not answers: each holds its passage's tokens, ~20 kB, and the ranker's
    # shapes of its candidate spans, ~10 kB on the seed questions).
    sentences_cached: int = 1024
    # The neural reader picks the answer among the ranker's best sentences (needs the
    # ranker); off, the ranker's own best candidate is the answer.
    reader: bool = True
    # Refusal rules that are knowledge, not tuning (policy.py); each one's measured effect
    # is in BENCHMARKS.md ("Refusal rules"), measured by switching it here.
    # Optional: "attribute_unstated" ("what is the X of Y?" answered from a sentence not
    # stating X) and "owner_unstated" (nor naming Y); at 85% of answerable questions
    # answered both together cost near-topic refusals on the train slice
    # (bench/operating_point.py).
    rules: tuple[str, ...] = ("absent_names", "value_of_other", "number_unstated",
                              "role_of_other", "count_of_other")


@dataclass(frozen=True)
class ReaderParams:
    """How the neural reader (qa/reader.py) reads and how its answer is chosen and trusted.
    Tuned on the reader's validation articles of the SQuAD train slice (train/calibrate.py),
    never on SQuAD dev or SQuADShifts."""

    version: str = "read-7"
    # The reader reads this many sentences, those holding the ranker's best candidates,
    # each with `context` sentences either side (overlapping windows merge). On 600
    # train-slice questions 2, 3 and 4 sentences gave the same exact match (45.8, 45.7,
    # 46.0) and the reader's time grows with each; no context sentence cost 1.4 points.
    sentences: int = 3
    context: int = 1
    n_best: int = 20
    max_answer_tokens: int = 30
    # A span's score: its reader logits plus this times the log of the ranker's probability
    # for the same words (a span the ranker never proposed counts as `ranker_floor`).
    ranker_weight: float = 0.5
    ranker_floor: float = 0.01
    # Refuse when the calibrated probability of being right is lower.
    min_confidence: float = 0.101


@dataclass(frozen=True)
class QAParams:
    retrieval: RetrievalParams = field(default_factory=RetrievalParams)
    answer: AnswerParams = field(default_factory=AnswerParams)
    reader: ReaderParams = field(default_factory=ReaderParams)
    facts: FactParams = field(default_factory=FactParams)
    # rapidfuzz ratio at which a misspelt name in a question still names an entity
    link_similarity: float = 85.0

    @property
    def version(self) -> str:
        parts = [self.retrieval.version, self.answer.version, self.facts.version]
        if self.answer.ranker and self.answer.reader:
            parts.insert(2, self.reader.version)
        return "+".join(parts)

    def without_reader(self) -> QAParams:
        return replace(self, answer=replace(self.answer, reader=False))

    def describe(self) -> dict[str, Any]:
        return {"version": self.version, **asdict(self)}
