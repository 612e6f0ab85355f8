"""What one serving process holds, typed: settings, the live index, the question parser
(spaCy, batching waiting questions) and the answer parameters. Blueprints reach it through
``state()``, never through string keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app

from ..config import Config
from ..qa.load import AnswerModels
from ..qa.params import QAParams
from ..store.live import LiveIndex

if TYPE_CHECKING:
    from flask import Flask

    from .ahead import ParseAhead

_KEY = "citeqa"


@dataclass(frozen=True)
class ServeState:
    config: Config
    live: LiveIndex
    parse: ParseAhead
    params: QAParams
    models: AnswerModels | None  # None: the hand-set rules answer

    def install(self, app) -> None:
        app.extensions[_KEY] = self


def state(app: Flask | None = None) -> ServeState:
    """The state of ``app``, or of the app handling this request."""
    return (app or current_app).extensions[_KEY]
