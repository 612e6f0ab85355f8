"""The trained answer ranker: candidates from the parse, features on hand-made sentences,
the shipped weights, and a deterministic training run."""

import gzip
import json
import sys

import pytest
from conftest import ROOT

from citeqa.qa.ask import ask, retrieve, sentence_parses
from citeqa.qa.extract import featurize
from citeqa.qa.features import QuestionScorer
from citeqa.qa.params import AnswerParams, QAParams
from citeqa.qa.ranker import FEATURE_SET, ModelError, RankerModel, known_feature
from citeqa.qa.spans import SentenceParses

sys.path.insert(0, str(ROOT / "train"))
import ranker as training


def candidates_of(index, nlp, question):
    params = QAParams()
    analysis, query, hits, _ = retrieve(index, nlp, question, params)
    pool, features = featurize(analysis, QuestionScorer(index.search, query), hits,
                               params.answer)
    return {c.text: f for c, f in zip(pool, features, strict=True)}


def test_the_subject_of_the_asked_verb_fills_the_wh_role(acme, nlp):
    found = candidates_of(acme, nlp, "Who founded Acme?")
    f = found["John Smith"]
    assert f["dep=nsubj|whrole=nsubj"] == 1.0
    assert f["wh_verb_role|match=True"] == 1.0
    assert f["label=PERSON|asks=who"] == 1.0
    assert "wh_verb_role|match=True" not in found["Boston"]


def test_a_prepositional_object_of_the_asked_verb_is_governed_by_it(acme, nlp):
    found = candidates_of(acme, nlp, "When did John Smith found Acme?")
    assert found["1990"]["governed_by_question_word|dep=pobj"] == 1.0
    assert found["1990"]["label=DATE|asks=when"] == 1.0


def test_numbers_with_units_and_tree_distance(acme, nlp):
    found = candidates_of(acme, nlp, "How many engineers does the company employ?")
    assert "300" in found and found["300"]["tree=1"] == 1.0
    assert found["300"]["has_digit"] == 1.0
    assert found["300"]["digit|asks=how-many"] == 1.0


def test_parse_spans_reach_beyond_entities_and_chunks(acme, nlp):
    found = candidates_of(acme, nlp, "What principle does Acme follow in its contracts?")
    assert "principle of permanent neutrality" in found
    assert "permanent neutrality" in found
    assert "economic and financial" in candidates_of(acme, nlp, "What were Acme's reforms?")


def test_every_feature_has_a_known_shape(acme, nlp):
    names = set()
    for question in ("Who founded Acme?", "How many engineers does the company employ?",
                     "Why did John Smith leave the navy?", "Where is the plant?"):
        for features in candidates_of(acme, nlp, question).values():
            names.update(features)
    unknown = sorted(n for n in names if not known_feature(n))
    assert not unknown


def test_the_shipped_ranker_loads_and_speaks_this_feature_set():
    model = RankerModel.load()
    assert model.feature_set == FEATURE_SET
    assert len(model.weights) > 500
    assert not [n for n in model.weights if not known_feature(n)]
    assert {"a", "b", "c"} <= set(model.calibration)
    assert len(model.sha256) == 64 and "SQuAD" in model.trained_on


def test_a_damaged_model_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "ranker.json.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(ModelError, match="cannot read"):
        RankerModel.load(bad)
    other = tmp_path / "other.json.gz"
    other.write_bytes(gzip.compress(json.dumps({"feature_set": "f0"}).encode()))
    with pytest.raises(ModelError, match="feature set 'f0'"):
        RankerModel.load(other)


def test_both_answer_paths_answer(acme, nlp):
    rules = QAParams(answer=AnswerParams(ranker=False))
    ranked = QAParams(answer=AnswerParams(ranker=True))
    for params in (rules, ranked):
        response = ask(acme, nlp, "Who founded Acme?", 3, explain=True, params=params)
        assert response.answer is not None and response.answer.text == "John Smith"
    assert "contributions" in response.explain
    top = response.explain["contributions"]["John Smith"]
    assert top and all(known_feature(name) for name, _ in top)


def examples(index, nlp):
    qa = [("Who founded Acme?", "John Smith"), ("When was Acme founded?", "1990"),
          ("Where was Acme founded?", "Boston"), ("What does the company make?", "rockets"),
          ("How many engineers does Acme employ?", "300"),
          ("What principle does Acme follow?", "permanent neutrality")]
    return training.examples_for(index, nlp, [
        {"question": q, "answers": [a], "title": f"t{i % 3}"} for i, (q, a) in enumerate(qa)],
        QAParams())


def test_training_is_deterministic(acme, nlp, tmp_path):
    data = examples(acme, nlp)
    assert sum(any(ex.gold) for ex in data) >= 5
    outputs = []
    for n in range(2):
        model, _ = training.train(data[:4], data[4:])
        training.write_model(model, tmp_path / f"m{n}.json.gz")
        outputs.append((tmp_path / f"m{n}.json.gz").read_bytes())
    assert outputs[0] == outputs[1]
    loaded = RankerModel.load(tmp_path / "m0.json.gz")
    assert loaded.feature_set == FEATURE_SET and loaded.weights


def test_sentence_parses_are_kept_between_questions_and_bounded(acme, nlp):
    """A sentence read for one question is not parsed again for the next; the cache
    belongs to the index version and holds at most ``sentences_cached`` sentences."""
    params = QAParams()
    parses = sentence_parses(acme, params)
    parses.get.cache_clear()
    _, _, first, _ = retrieve(acme, nlp, "Who founded Acme?", params)
    sentence = first[0].annotation.sentences[0]
    parse = first[0].parse(sentence)
    _, _, second, _ = retrieve(acme, nlp, "When did John Smith found Acme?", params)
    hit = next(h for h in second if h.pos == first[0].pos)
    assert hit.parse(sentence) is parse
    assert sentence_parses(acme, params) is parses
    assert parses.get.cache_info().maxsize == params.answer.sentences_cached

    read = []
    small = SentenceParses(lambda pos: read.append(pos) or acme.store.annotation(pos).tokens,
                           size=2)
    sentences = [(pos, s) for pos in range(len(acme.store))
                 for s in acme.store.annotation(pos).sentences][:3]
    assert len(sentences) == 3
    for pos, s in sentences:
        assert small.get(pos, s).first <= small.get(pos, s).last
    assert small.get.cache_info().currsize == 2
    assert len(read) == 3  # one read per sentence, none for the repeated look-ups
    small.get(*sentences[0])  # the oldest went first: reading it again reads the store
    assert len(read) == 4


QUESTIONS = ("Who founded Acme?", "What principle does Acme follow?",
             "How many engineers does Acme employ?", "Where was Acme founded?")


def answer_state(index, nlp, question):
    """Every candidate of a question by span, with its text, label, generators, sentence
    rank and features."""
    params = QAParams()
    analysis, query, hits, _ = retrieve(index, nlp, question, params)
    pool, features = featurize(analysis, QuestionScorer(index.search, query), hits,
                               params.answer)
    return {(c.hit.pos, c.start, c.end): (c.text, c.label, sorted(c.sources),
                                          c.sentence_rank, f)
            for c, f in zip(pool, features, strict=True)}


def test_what_cached_sentences_keep_depends_on_no_question(acme, nlp):
    """The candidate pool's sentence layouts (with their chunks' trimmed words), the
    ranker's span shapes and sentence views are kept with each cached sentence parse and
    reused by later questions: each question, asked after the others filled the cache,
    gets the candidates and features a cold cache gives."""
    get = sentence_parses(acme, QAParams()).get
    cold = {}
    for question in QUESTIONS:
        get.cache_clear()
        cold[question] = answer_state(acme, nlp, question)
        assert cold[question], question
    get.cache_clear()
    for question in QUESTIONS:
        answer_state(acme, nlp, question)
    _, _, hits, _ = retrieve(acme, nlp, QUESTIONS[0], QAParams())
    parses = [h.parse(s) for h in hits for s in h.annotation.sentences]
    assert any(p.shapes for p in parses if p) and any(p.layout for p in parses if p)
    assert any(p.view for p in parses if p) and any(p.layout.cuts for p in parses
                                                    if p and p.layout)
    for question in reversed(QUESTIONS):
        assert answer_state(acme, nlp, question) == cold[question], question
