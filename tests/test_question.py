"""The question classifier on a table of question forms."""

import pytest

from citeqa.qa.question import analyze
from citeqa.search.analyzer import Analyzer

CASES = [
    # question, wh, expected labels (first ones), answer kind, extra checks
    ("Who is the new president of Turkmenistan?", "who", ("PERSON",), "entity", {}),
    ("When did Putin meet Tokayev in Moscow?", "when", ("DATE", "TIME"), "entity", {}),
    ("Where did the parade take place?", "where", ("GPE", "LOC"), "entity", {}),
    ("How many employees were at risk?", "how", ("CARDINAL",), "entity", {}),
    ("How much did migrants remit in 2021?", "how", ("MONEY",), "entity", {}),
    ("By how much did the Kyrgyz som fall?", "how", ("PERCENT",), "entity", {}),
    ("How long are the visas?", "how", ("DATE", "TIME"), "entity", {}),
    ("How old is the president?", "how", ("DATE", "CARDINAL"), "entity", {}),
    ("Which country hosts the base?", "which", ("GPE",), "entity", {"head": "country"}),
    ("Which two Central Asian countries host bases?", "which", ("GPE",), "entity",
     {"plural": True}),
    ("Which newspaper published the article?", "which", ("ORG",), "entity", {}),
    ("What agency reported the meeting?", "what", ("ORG",), "entity", {}),
    ("In what year did he visit the United States?", "what", ("DATE",), "entity",
     {"wants_year": True}),
    ("What was Uzbekistan's growth forecast?", "what", ("PERCENT",), "entity",
     {"head": "forecast"}),
    ("What is the population of Uzbekistan?", "what", ("CARDINAL",), "entity",
     {"attribute": "population"}),
    ("Which Japanese foreign minister held a conference?", "which", ("PERSON",), "entity", {}),
    ("Who is the mayor of Moscow?", "who", ("PERSON",), "entity",
     {"head": "mayor", "attribute": "mayor"}),
    # the owner written with 's asks what "of" asks, when the phrase ends the question
    ("Who is Kazakhstan's foreign minister?", "who", ("PERSON",), "entity",
     {"head": "minister", "attribute": "minister", "attribute_of": "Kazakhstan"}),
    ("What is Uzbekistan's population?", "what", ("CARDINAL",), "entity",
     {"attribute": "population", "attribute_of": "Uzbekistan"}),
    ("Who was the country's first president?", "who", ("PERSON",), "entity",
     {"attribute": "president", "attribute_of": "country"}),
    ("What are a dog's teeth mainly used for?", "what", (), "phrase", {"attribute": None}),
    ("What is the name of the Uzbek Senate?", "what", ("PERSON", "ORG"), "entity", {}),
    # "the name of" an office's holder asks what "who" asks
    ("What is the name of Kyrgyzstan's foreign minister?", "what", ("PERSON",), "entity",
     {"head": "name", "attribute": "minister", "attribute_of": "Kyrgyzstan"}),
    ("What is the name of the president of Kazakhstan?", "what", ("PERSON",), "entity",
     {"attribute": "president", "attribute_of": "Kazakhstan"}),
    ("Who is the US ambassador to Kazakhstan?", "who", ("PERSON",), "entity",
     {"head": "ambassador", "attribute": "ambassador", "attribute_of": "Kazakhstan"}),
    ("What is the lower house of the Kazakh parliament called?", "what", ("PERSON", "ORG"),
     "entity", {}),
    ("What did the World Bank lower the growth forecast to?", "what", ("PERCENT",), "entity",
     {"head": "forecast"}),
    ("what did the bank raise its price to", "what", ("MONEY",), "entity", {"head": "price"}),
    ("What share of GDP do remittances account for?", "what", ("PERCENT",), "entity",
     {"head": "share", "attribute": None}),
    ("What principle does Turkmenistan adhere to?", "what", (), "phrase",
     {"head": "principle"}),
    ("Why did Kazakhstan cancel the parade?", "why", (), "clause", {}),
    ("How did Kazakhstan vote on the resolution?", "how", (), "clause", {}),
    ("What did Sulaimanov say about sanctions?", "what", (), "clause", {}),
    ("sanctions on Russia", None, (), "clause", {}),
]


@pytest.mark.parametrize(("question", "wh", "expected", "kind", "extra"), CASES,
                         ids=[c[0] for c in CASES])
def test_question_forms(nlp, question, wh, expected, kind, extra):
    analysis = analyze(nlp, Analyzer(), question)
    assert analysis.wh == wh
    assert analysis.expected[:len(expected)] == expected
    assert analysis.answer_kind == kind
    for name, value in extra.items():
        assert getattr(analysis, name) == value


def test_question_entities_exclude_the_wh_phrase(nlp):
    analysis = analyze(nlp, Analyzer(), "When did Putin meet Tokayev in Moscow?")
    assert {e.text for e in analysis.entities} == {"Putin", "Tokayev", "Moscow"}
    assert all(e.text != "what year" for e in
               analyze(nlp, Analyzer(), "In what year did Mirziyoyev visit?").entities)
