"""The trained models of the ask path, loaded together and checked against each other."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from .combine import Calibration, default_calibration
from .encoder import SentenceEncoder, default_encoder
from .params import QAParams
from .ranker import RankerModel, default_ranker
from .reader import ReaderModel, default_reader


@dataclass(frozen=True)
class AnswerModels:
    """The ranker, and the reader with the sentence encoder and the calibration of its
    answers (None: reader off)."""

    ranker: RankerModel
    reader: ReaderModel | None = None
    calibration: Calibration | None = None
    encoder: SentenceEncoder | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ranker": self.ranker.describe()}
        if self.reader is not None and self.calibration is not None:
            out["reader"] = {**self.reader.describe(),
                             "calibration": self.calibration.describe()}
            if self.encoder is not None:
                out["reader"]["similarity"] = self.encoder.describe()
        return out


def load_models(params: QAParams, threads: int = 1) -> AnswerModels | None:
    """What ``params`` asks for, loaded once per process; a missing or damaged file raises
    a ``ModelError`` here, at start-up, not at the first question."""
    if not params.answer.ranker:
        return None
    if not params.answer.reader:
        return AnswerModels(default_ranker())
    return _with_reader(threads)


@functools.cache
def _with_reader(threads: int) -> AnswerModels:
    ranker, reader, calibration = default_ranker(), default_reader(threads), \
        default_calibration()
    calibration.check(ranker.sha256, reader.digests["delta"])
    return AnswerModels(ranker, reader, calibration, default_encoder())
