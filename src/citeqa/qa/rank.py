"""Rank a question's candidates by weighted evidence, and say how sure the winner is."""

from __future__ import annotations

from .candidates import Candidate
from .params import AnswerParams


def rank(candidates: list[Candidate], params: AnswerParams) -> list[Candidate]:
    """Score and sort. Support: the same answer in other sentences, each counted by how much
    of the question it contains, so a name that is merely everywhere ("Russia") gains
    little. Deterministic: score, then the earlier passage rank and offset win ties."""
    evidence: dict[str, float] = {}
    for c in {(c.hit.pos, c.sentence, c.key): c for c in candidates}.values():
        evidence[c.key] = evidence.get(c.key, 0.0) + c.features["overlap"]
    for c in candidates:
        c.features["support"] = min(1.0, evidence[c.key] - c.features["overlap"])
        c.score = params.weights.score(c.features)
    return sorted(candidates, key=lambda c: (-c.score, c.hit.rank, c.start, -c.end))


def confidence(best: Candidate, coverage: float, candidates: list[Candidate],
               params: AnswerParams) -> float:
    """A 0-1 score: evidence strength times the winner's margin over a different answer."""
    f, w = best.features, params.confidence
    strength = (w.coverage * coverage + w.type * f["type"] + w.proximity * f["proximity"]
                + w.overlap * f["overlap"])
    rival = next((c for c in candidates[1:] if c.key != best.key), None)
    margin = 1.0 if rival is None else min(1.0, 0.5 + (best.score - rival.score) / 2)
    return round(max(0.0, min(1.0, strength * (w.floor + (1 - w.floor) * margin))), 3)
