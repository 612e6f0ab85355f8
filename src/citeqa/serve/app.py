"""The Flask app factory: one app per process, holding the live index and the model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from ..config import Config
from ..ingest.annotate import load_model
from ..kb import normalize
from ..kb.linker import load_model as load_linker
from ..qa.load import AnswerModels, load_models
from ..qa.params import QAParams
from ..store.index import Index
from ..store.live import LiveIndex
from .ahead import ParseAhead
from .api import bp as api_bp
from .api import register_errors
from .openapi import bp as openapi_bp
from .state import ServeState
from .web import bp as web_bp

if TYPE_CHECKING:
    from spacy.language import Language

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def _warm(nlp: Language, models: AnswerModels | None) -> None:
    """Pay each library's first-call costs (spaCy's pipeline, ONNX Runtime's buffers, the
    date parser) here, once, in the process the workers fork from, not in the first
    answers: they made the first question to each worker several times slower."""
    nlp("Who warmed the pipeline up?")
    if models is not None and models.reader is not None:
        models.reader.read("Who warmed the reader up?", ["Acme warmed the reader up."])
    normalize.warm()


def create_app(config: Config | None = None, index: Index | None = None,
               nlp: Language | None = None, params: QAParams | None = None) -> Flask:
    """Build the app; ``index`` and ``nlp`` preloaded by the caller or loaded here."""
    config = config or Config.load()
    params = params or QAParams()
    if not config.reader:
        params = params.without_reader()
    # a missing or damaged model stops start-up, not the first request
    models = load_models(params, config.reader_threads)
    if params.facts.links.learned is not None:
        load_linker(params.facts.links.learned)
    nlp = nlp or load_model(config.model)
    _warm(nlp, models)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    ServeState(config=config, live=LiveIndex(config.index, config.reload_interval, index),
               parse=ParseAhead(nlp, config.parse_batch,
                                config.max_question_chars), params=params,
               models=models).install(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(web_bp)
    app.register_blueprint(openapi_bp)
    register_errors(app)

    @app.after_request
    def _secure(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
