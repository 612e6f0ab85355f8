"""The learned value linker: its features on small hand-made sentences (parsed by the real
model), the shipped weights, and a deterministic fit."""

import dataclasses
import gzip
import json
import sys

import pytest
from conftest import ROOT, annotation_of

from citeqa.ingest.passages import Passage
from citeqa.kb import linker as kb_linker
from citeqa.kb.linker import DENSE_FEATURES, FORMAT, FeatureParams, link_values, load_model, pairs
from citeqa.kb.links import LinkParams, read_links
from citeqa.serve.app import create_app

sys.path.insert(0, str(ROOT / "train"))
import linker as training


@pytest.fixture(scope="module")
def read(nlp):
    def run(text: str):
        annotation = annotation_of(nlp, Passage("d#0", "d", 0, 0, len(text), text))
        return annotation, read_links(annotation, text, LinkParams(learned=None))
    return run


def pair_of(found, mention: str, value: str):
    [pair] = [p for p in found if p.mention.text == mention and p.value.text == value]
    return dict(zip(DENSE_FEATURES, pair.dense, strict=True)), pair


def test_the_subject_of_a_passive_verb_gets_the_date(read):
    text = "Warsaw was occupied by the German army in 1939."
    annotation, passage = read(text)
    features, _ = pair_of(pairs(passage, FeatureParams()), "Warsaw", "1939")
    assert features["subject"] == features["passive_subject"] == 1.0
    assert features["main_subject"] == 1.0
    linked = {(text[a.mention[0]:a.mention[1]], a.value.text)
              for a in link_values(annotation, text, LinkParams())}
    assert ("Warsaw", "1939") in linked


def test_another_countrys_value_scores_below_the_threshold(read):
    text = ("The som in Kyrgyzstan has fallen by 15%, while the tenge in Kazakhstan has "
            "fallen by 14%.")
    _, passage = read(text)
    model = load_model(LinkParams().learned)
    found = pairs(passage, model.features)
    features, other = pair_of(found, "Kazakhstan", "15%")
    assert features["closer_same"] == 1.0 and features["subject"] == 0.0
    assert not other.rule and model.score(other) < model.threshold
    own, mine = pair_of(found, "Kyrgyzstan", "15%")
    assert own["subject"] == 1.0 and mine.rule


def test_the_shipped_weights_match_the_training_code():
    path = ROOT / "src" / "citeqa" / "kb" / "models" / "linker.json.gz"
    raw = json.loads(gzip.decompress(path.read_bytes()))
    params = training.TrainParams()
    assert raw["format"] == FORMAT and raw["version"] == params.version
    assert tuple(raw["dense_features"]) == DENSE_FEATURES == training.DENSE_FEATURES
    assert raw["feature_params"] == training.asdict(params.features)
    model = load_model(LinkParams().learned)
    assert model.features == params.features and len(model.dense) == len(DENSE_FEATURES)
    assert max(model.hashed) < 1 << model.features.hash_bits
    assert 0.5 < model.threshold <= 1.0
    cv = raw["cv"]["trials"][str(raw["cv"]["strength"])]["rules_or_model"]
    if model.threshold < 1.0:  # the model adds values only where they kept the precision
        assert cv["precision"] >= raw["cv"]["min_precision"]
    else:  # no threshold did: the rules alone link
        assert cv == raw["cv"]["rules_alone"]


def test_a_model_no_threshold_kept_precise_adds_nothing(read, monkeypatch):
    text = "Warsaw, which the army occupied in 1939, grew in 1950."
    annotation, _ = read(text)
    rules = link_values(annotation, text, LinkParams(learned=None))
    model = load_model(LinkParams().learned)
    eager = dataclasses.replace(model, threshold=0.0)
    monkeypatch.setattr(kb_linker, "load_model", lambda _: eager)
    assert len(link_values(annotation, text, LinkParams())) > len(rules)
    monkeypatch.setattr(kb_linker, "load_model",
                        lambda _: dataclasses.replace(model, threshold=1.0))
    assert link_values(annotation, text, LinkParams()) == rules


def test_training_is_deterministic(read):
    sentences = [
        ("a", "Kenya gained independence in 1963, and Uganda joined it in 1967.",
         [("Kenya", "1963", "yes"), ("Uganda", "1967", "yes"), ("Kenya", "1967", "no"),
          ("Uganda", "1963", "no")]),
        ("b", "The tenge in Kazakhstan fell by 14% while Russia grew by 2%.",
         [("Kazakhstan", "14%", "yes"), ("Russia", "2%", "yes"), ("Russia", "14%", "no"),
          ("Kazakhstan", "2%", "no")]),
        ("c", "Montana was admitted in 1889; Idaho was admitted in 1890.",
         [("Montana", "1889", "yes"), ("Idaho", "1890", "yes"), ("Montana", "1890", "no"),
          ("Idaho", "1889", "no")]),
    ]
    rows = []
    for doc, text, judged in sentences:
        _, passage = read(text)
        items = [{"doc": doc, "judgement": j,
                  "mentions": [[text.index(m), text.index(m) + len(m)]],
                  "value": [text.index(v), text.index(v) + len(v)]} for m, v, j in judged]
        rows += training.passage_rows(passage, FeatureParams(), items,
                                      lambda start, text=text: text[start:start + 4])
    params = training.TrainParams(strengths=(1.0,), folds=3, min_precision=0.5)
    first, second = training.train(rows, params), training.train(rows, params)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["cv"]["rows"] == 12 and first["dense_features"] == list(DENSE_FEATURES)


@pytest.mark.parametrize("content", [b"not gzip", gzip.compress(b'{"format": "other"}')],
                         ids=["not-gzip", "other-format"])
def test_damaged_weights_stop_the_server_at_start_up(seed_config, seed_index, tmp_path,
                                                     monkeypatch, content):
    """A bad linker file is a clear start-up error, not a failure at the first sheet."""
    (tmp_path / "linker.json.gz").write_bytes(content)
    monkeypatch.setattr(kb_linker, "MODELS", tmp_path)
    kb_linker.load_model.cache_clear()
    try:
        with pytest.raises(kb_linker.LinkerError, match="value linker"):
            create_app(seed_config, seed_index)
    finally:
        kb_linker.load_model.cache_clear()
