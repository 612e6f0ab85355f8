"""When to refuse instead of answering: each rule returns a ``Refusal`` (a stable code and
a message for people) or ``None``.

The service refuses when a named thing in the question is absent from the corpus, when no
passage matches, when the best passages or the answer's own sentence state too little of
the question, when no candidate of the expected type is found, for "what is the X of Y?"
when the answer's sentence does not state X, or is not about Y, when the answer is a
value the text states of another entity of the kind the question asks about, when the
question states a number (a year: "the 2022 forecast") that the answer's passage does not,
when "who is the X of Y?" is answered with a person the text gives another office, and
when "what is the X of Y?" is answered with a number counting something else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..kb.entities import CanonicalEntity
from ..lexicon import GENERIC_HEADS, ROLE_WORDS, TITLE_NOUNS, TITLE_PREFIXES, VALUE_LABELS
from ..search.retrieval import Query, SearchIndex
from .candidates import Candidate
from .params import AnswerParams
from .question import Question
from .spans import SentenceParse

# The hard rules ``AnswerParams.rules`` may name, each with the refusal code it gives.
RULES = {"absent_names": "not_in_corpus", "attribute_unstated": "attribute_not_stated",
         "owner_unstated": "attribute_of_other", "value_of_other": "value_of_other",
         "number_unstated": "number_not_stated", "role_of_other": "role_of_other",
         "count_of_other": "count_of_other"}

# code -> what it means; the README lists these.
CODES = {
    "not_in_corpus": "a name or the asked-for attribute never occurs in the documents",
    "no_match": "no passage contains any of the question's words",
    "weak_passages": "the best passages state too little of the question",
    "no_candidate": "no answer of the expected type is stated near the question's words",
    "weak_answer_sentence": "the best answer's sentence states too little of the question",
    "attribute_not_stated": "the answer's sentence does not state the attribute asked about",
    "attribute_of_other": "the answer's sentence states the attribute of something else",
    "value_of_other": "the parse states the answer's value of another entity of the kind "
                      "the question names",
    "number_not_stated": "the question states a number (a year) that the answer's passage "
                         "does not",
    "role_of_other": "the person the answer names holds another office in its sentence than "
                     "the one asked about",
    "count_of_other": "the answer's number counts something other than the attribute asked "
                      "about",
    "unsure": "the trained ranker's calibrated confidence in its best answer is too low",
}


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown refusal code {self.code!r}")


def absent_names(search: SearchIndex, question: Question, query: Query,
                 params: AnswerParams) -> Refusal | None:
    """Named things and the asked-for attribute ("population") the corpus never uses."""
    analyzer, missing = search.analyzer, []
    # A generic head ("the value of", "the title of") names the answer's form, not a
    # property the text must state: attribute_unstated exempts it the same way.
    head = (analyzer.term(question.attribute)
            if question.attribute and question.attribute not in GENERIC_HEADS else None)
    if head and not search.knows(head) and not any(
            w >= params.head_spelling for _, w in query.expansions.get(head, ())):
        missing.append(question.attribute)
    for ent in question.entities:
        if ent.label in VALUE_LABELS:
            continue
        terms = analyzer.terms(ent.text)
        if terms and not any(search.knows(t) or t in query.expansions for t in terms):
            missing.append(ent.text)
    if not missing:
        return None
    return Refusal("not_in_corpus", "the documents never mention " + ", ".join(
        f"'{m}'" for m in missing))


def no_match() -> Refusal:
    return Refusal("no_match", "no passage contains any of the question's words")


def weak_passages(coverage: float, params: AnswerParams) -> Refusal | None:
    if coverage >= params.min_coverage:
        return None
    return Refusal("weak_passages", f"the best passages contain only {coverage:.0%} of what "
                                    f"the question asks about")


def no_candidate(question: Question) -> Refusal:
    wanted = "/".join(question.expected) or "phrase"
    return Refusal("no_candidate", f"no {wanted} answer is stated near the question's words "
                                   f"in the top passages")


def weak_answer_sentence(best: Candidate, support: float,
                         params: AnswerParams) -> Refusal | None:
    if support >= params.min_answer_coverage:
        return None
    return Refusal("weak_answer_sentence",
                   f"the sentence around the best answer ('{best.text}') contains only "
                   f"{support:.0%} of what the question asks about")


def unsure(best: Candidate, confidence: float, threshold: float) -> Refusal | None:
    if confidence >= threshold:
        return None
    return Refusal("unsure", f"the best answer ('{best.text}') is right with probability "
                             f"{confidence:.0%} only, below {threshold:.0%}")


def _states(attribute: str, query: Query, window_terms: set[str]) -> bool:
    """Whether a window's terms state an attribute's term or a close spelling of it."""
    return bool(window_terms & {attribute, *(t for t, _ in query.expansions.get(attribute, ()))})


def attribute_unstated(search: SearchIndex, question: Question, query: Query,
                       best: Candidate, window: str, rules: Iterable[str]) -> Refusal | None:
    """'What is the X of Y?': the answer's sentence window must state X (rule
    ``attribute_unstated``) and be about Y (rule ``owner_unstated``)."""
    rules = set(rules) & {"attribute_unstated", "owner_unstated"}
    analyzer = search.analyzer
    attribute = analyzer.term(question.attribute) if question.attribute and rules else None
    if not attribute:
        return None
    window_terms = set(analyzer.terms(window))
    if "attribute_unstated" in rules and question.attribute not in GENERIC_HEADS \
            and not _states(attribute, query, window_terms):
        return Refusal("attribute_not_stated",
                       f"no passage states the {question.attribute} asked about: the best "
                       f"candidate ('{best.text}') comes from a sentence that does not "
                       f"mention it")
    owner = analyzer.terms(question.attribute_of or "") if "owner_unstated" in rules else []
    stands_for = query.matches()
    if owner and not any(stands_for.get(t) in owner or t in owner for t in window_terms):
        return Refusal("attribute_of_other",
                       f"no passage states the {question.attribute} of "
                       f"{question.attribute_of}: the best candidate ('{best.text}') comes "
                       f"from a passage about something else")
    return None


def _head(best: Candidate) -> tuple[SentenceParse, int] | None:
    """The parse of the answer's sentence and the answer's syntactic head: its word whose
    head lies outside it."""
    parse = best.hit.parse(best.sentence)
    if parse is None:
        return None
    tokens = parse.tokens
    inside = [i for i in range(parse.first, parse.last + 1)
              if best.start <= tokens[i].start and tokens[i].end <= best.end]
    heads = [i for i in inside if tokens[i].head == i
             or not best.start <= tokens[tokens[i].head].start < best.end]
    return (parse, heads[0]) if heads else None


# Words qualifying an office: "Defense Minister" is no "Prime Minister" (temporal ones,
# "former" and "acting", and ordinals, "first", are not offices of their own).
_QUALIFIERS = (ROLE_WORDS - TITLE_NOUNS) - {"former", "acting", "first"}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _titles(parse: SentenceParse, h: int, best: Candidate) -> set[str]:
    """Title words the answer's sentence gives the person ``h`` heads: inside the answer,
    in compounds before the name ("Defense Minister ruslan Zaksilkov"), and in an
    apposition either way ("Valentina Matviyenko, Chairman of ...", "the ambassador to
    the United States, Yerjan Ashkbayev" -- where the parser may hang the name on the
    last noun of the title's phrase)."""
    tokens = parse.tokens
    around = [c for c in parse.children[h] if tokens[c].dep in ("appos", "compound")]
    if tokens[h].dep == "appos" and parse.first <= tokens[h].head <= parse.last:
        up = tokens[h].head
        for _ in range(3):
            around.append(up)
            if tokens[up].dep not in ("pobj", "prep") or tokens[up].head == up:
                break
            up = tokens[up].head
    found: set[str] = set()
    for i in around:
        lo, hi = parse.left_phrase(i)
        for j in range(lo, hi + 1):
            found |= _words(tokens[j].lemma)
        # and the office's "of" phrase: "Minister of Economy", "Minister of Foreign Affairs"
        for p in parse.children[i]:
            if tokens[p].dep == "prep" and tokens[p].lemma.lower() == "of":
                for o in parse.children[p]:
                    if tokens[o].dep == "pobj":
                        lo, hi = parse.left_phrase(o)
                        for j in range(lo, hi + 1):
                            found |= _words(tokens[j].lemma)
    found |= _words(best.text)
    return found & (ROLE_WORDS | TITLE_NOUNS | TITLE_PREFIXES)


def role_of_other(question: Question, best: Candidate, rules: Iterable[str]
                  ) -> Refusal | None:
    """"Who is the president of Y?" (or "What is the name of Y's president?") is not
    answered by a person whose own title in the answer's sentence is another office:
    "Valentina Matviyenko, Chairman of the Russian Federation Council, visited Tajikistan"
    names no president of Tajikistan; nor is it by a vice-president, nor "Who is the
    prime minister?" by a defense minister."""
    asked = question.attribute
    if "role_of_other" not in rules or asked not in TITLE_NOUNS \
            or not (question.wh == "who" or question.head == "name"):
        return None
    found = _head(best)
    if found is None:
        return None
    titles = _titles(*found, best)
    if not titles & TITLE_NOUNS:
        return None
    wanted = _words(question.text)
    other = (asked not in titles or bool((titles & TITLE_PREFIXES) - wanted)
             or bool(titles & _QUALIFIERS and wanted & _QUALIFIERS
                     and not titles & wanted & _QUALIFIERS))
    if not other:
        return None
    return Refusal("role_of_other", f"the text calls '{best.text}' "
                                    f"{' '.join(sorted(titles))}, not the {asked} asked "
                                    f"about")


def count_of_other(search: SearchIndex, question: Question, query: Query, best: Candidate,
                   window: str, rules: Iterable[str]) -> Refusal | None:
    """"What is the population of Y?" is not answered by a number that counts something
    the question does not name, in a sentence that does not state the attribute: "133,000
    labor migrants from Uzbekistan" is no population of Uzbekistan ("the most populous
    area (23.6 million residents)" may be one)."""
    asked = question.attribute
    if "count_of_other" not in rules or not asked or asked in GENERIC_HEADS:
        return None
    found = _head(best)
    if found is None:
        return None
    parse, h = found
    tokens = parse.tokens
    counted = tokens[h].head
    if tokens[h].pos != "NUM" or tokens[h].dep not in ("nummod", "quantmod") \
            or best.start <= tokens[counted].start < best.end \
            or tokens[counted].pos not in ("NOUN", "PROPN"):
        return None
    analyzer = search.analyzer
    noun, attribute = tokens[counted].lemma.lower(), analyzer.term(asked)
    if noun == asked or analyzer.term(noun) in question.terms or not attribute \
            or _states(attribute, query, set(analyzer.terms(window))):
        return None
    return Refusal("count_of_other", f"'{best.text}' counts {noun}, not the {asked} asked "
                                     f"about")


def sentence_rules(search: SearchIndex, question: Question, query: Query, best: Candidate,
                   window: str, rules: Iterable[str]) -> Refusal | None:
    """The hard rules that read the best answer's sentence against "what/who is the X of
    Y?", in the order every answer path applies them."""
    return (attribute_unstated(search, question, query, best, window, rules)
            or role_of_other(question, best, rules)
            or count_of_other(search, question, query, best, window, rules))


# Values that an event gives everyone in it: its date and time.
SHARED_LABELS = frozenset({"DATE", "TIME"})


def value_of_other(answer: str, owners: list[CanonicalEntity],
                   asked: list[CanonicalEntity], label: str = "") -> Refusal | None:
    """A value the parse states of another entity of a kind the question names, and of
    none the question names: "the som in Kyrgyzstan has fallen by 15%" does not say by how
    much the Uzbek som fell. A date stated of two or more such entities together is a
    shared event's, not another entity's: "Kazakhstan, Kyrgyzstan and Tajikistan abstained
    in the vote ... on March 2" dates the vote, whoever the question names. A measure
    stays each one's ("30% of GDP in Kyrgyzstan and Tajikistan" is not Uzbekistan's).
    ``owners`` are the entities the answer's value (of entity ``label``) is stated of
    (kb/facts.py), ``asked`` the question's linked entities."""
    if not owners or not asked or {e.id for e in owners} & {e.id for e in asked}:
        return None
    others = [e.name for e in owners if e.label in {a.label for a in asked}]
    if not others or (len(others) > 1 and label in SHARED_LABELS):
        return None
    meant = [a.name for a in asked if a.label in {e.label for e in owners}]
    return Refusal("value_of_other", f"the text gives '{answer}' for {' and '.join(others)}, "
                                     f"not for {' or '.join(meant)}")


# A number written in digits, "2022", "1,300" or "2.5" (not part of a word: "1990s", "G7").
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?!\w)")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")


def number_unstated(question: str, answer: str, passage: str) -> Refusal | None:
    """A number the question states must be in the answer's passage: "What 2022 growth
    forecast ...?" is not answered by a passage that gives only another year's. (The
    article may name the year elsewhere; the answer must come from where it is.)"""
    stated = {n.replace(",", "") for n in _DIGITS.findall(passage)}
    missing = [n for n in _NUMBER.findall(question) if n.replace(",", "") not in stated]
    if not missing:
        return None
    return Refusal("number_not_stated", f"the passage of the best answer ('{answer}') does "
                                        f"not state {', '.join(missing)}, which the question "
                                        f"names")
