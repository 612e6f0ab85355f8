"""Changing how the index is stored changes no answer: the /ask bodies for the seed dev
questions and a SQuAD sample equal those recorded before the storage changed
(tests/answers.py records them)."""

from __future__ import annotations

import pytest
from answers import build, expected, responses


@pytest.fixture(scope="module")
def answered(tmp_path_factory, nlp):
    return responses(build(tmp_path_factory.mktemp("answers")), nlp)


@pytest.mark.parametrize("path", ["seed/reader", "seed/no-reader", "squad/reader",
                                  "squad/no-reader"])
def test_every_recorded_response_is_given_again(answered, path):
    want, got = expected()[path], answered[path]
    assert sorted(got) == sorted(want)
    for question, body in want.items():
        assert got[question] == body, question


def test_the_recording_has_answers_passages_and_facts():
    """The comparison above would be empty-handed without them."""
    for path, bodies in expected().items():
        assert sum(b["answer"] is not None for b in bodies.values()) >= len(bodies) // 2, path
        assert all(b["passages"] for b in bodies.values()), path
        assert sum(bool(b["facts"]) for b in bodies.values()) >= len(bodies) // 2, path
