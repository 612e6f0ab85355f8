"""One calibrated confidence for the reader's answer, from the reader and the ranker.

The features are what each model says about the chosen span -- the reader's probability
and its margins over "no answer here" (in any window read, and in the span's own), the
ranker's probability for the same words -- how much of the question the passages state,
and how close the span's sentence is to the question (``encoder.py``); the closeness also
enters multiplied by each of the others, since a confident span in a sentence far from
the question is the mark of a near-topic passage that does not answer. A logistic model
over them is fitted on the reader's validation articles of the SQuAD train slice,
answerable and unanswerable (``train/calibrate.py``), and shipped as
``models/reader-calibration.json``; it names the ranker and reader it was fitted for, and a
mismatch is a start-up error.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from .errors import ModelError

CALIBRATION = "reader-calibration.json"
_BASE = ("log_reader_p", "null_margin", "window_margin", "ranker_p", "coverage", "support",
         "similarity")
FEATURES = _BASE + tuple(f"similarity*{name}" for name in _BASE)


class CalibrationError(ModelError):
    """The calibration file is missing, damaged or fitted for other models."""


def features(reader_p: float, null_margin: float, window_margin: float, ranker_p: float,
             coverage: float, support: float, similarity: float) -> dict[str, float]:
    """The confidence features of one answer; training and answering share this.
    ``null_margin`` is over the most confident "no answer" of any window read,
    ``window_margin`` over that of the window the span was read in."""
    base = {"log_reader_p": math.log(max(reader_p, 1e-6)),
            "null_margin": max(-20.0, min(20.0, null_margin)),
            "window_margin": max(-20.0, min(20.0, window_margin)),
            "ranker_p": ranker_p, "coverage": coverage, "support": support,
            "similarity": similarity}
    return {**base, **{f"similarity*{k}": similarity * v for k, v in base.items()}}


@dataclass(frozen=True)
class Calibration:
    version: str
    coefficients: dict[str, float]
    intercept: float
    fitted_for: dict[str, str]  # {"ranker": sha256, "reader": sha256}
    trained_on: str

    @classmethod
    def load(cls, path: Path | None = None) -> Calibration:
        source = path or Path(str(files("citeqa.qa.models"))) / CALIBRATION
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
            calibration = cls(version=data["version"], coefficients=data["coefficients"],
                              intercept=float(data["intercept"]),
                              fitted_for=data["fitted_for"], trained_on=data["trained_on"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CalibrationError(f"cannot read the answer calibration {source}: "
                                   f"{exc}") from None
        if set(calibration.coefficients) != set(FEATURES):
            raise CalibrationError(f"the answer calibration {source} uses features "
                                   f"{sorted(calibration.coefficients)}, not {FEATURES}")
        return calibration

    def check(self, ranker_sha256: str, reader_sha256: str) -> None:
        """Refuse to calibrate models other than the ones this was fitted on."""
        if self.fitted_for != {"ranker": ranker_sha256, "reader": reader_sha256}:
            raise CalibrationError("the answer calibration was fitted for another ranker "
                                   "or reader: run train/calibrate.py again")

    def confidence(self, values: dict[str, float]) -> float:
        z = self.intercept + sum(self.coefficients[k] * values[k] for k in FEATURES)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def describe(self) -> dict[str, Any]:
        return {"version": self.version, "trained_on": self.trained_on}


@functools.cache
def default_calibration() -> Calibration:
    return Calibration.load()
