"""What a question asks for -- wh-form, head noun, expected entity labels -- read once.

The small model's parses of questions are unreliable, so the head noun is found by
position (the noun run right after the wh-word, or after a copula: "What was X's growth
forecast") and mapped to spaCy labels through ``HEAD_NOUNS``; the wh-form alone decides
when there is no head noun. The same pass collects the question's names (for linking to
entities) and its BM25 terms, so no later stage reads the question again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..kb.entities import demonym_place
from ..lexicon import (
    CHANGE_WORDS,
    HEAD_NOUNS,
    HOW_X,
    NAME_TYPES,
    NAMING_VERBS,
    SAY_VERBS,
    TITLE_NOUNS,
    URGING,
    VALUE_PREPOSITIONS,
    WH_DEFAULT,
    WH_WORDS,
)
from ..search.analyzer import Analyzer

if TYPE_CHECKING:
    from collections.abc import Callable

    from spacy.tokens import Doc

    # spaCy's ``Language``, or anything that parses a question the same way (the server's
    # batching ``ParseAhead``)
    Parser = Callable[[str], Doc]

@dataclass(frozen=True)
class QuestionEntity:
    text: str
    label: str


@dataclass(frozen=True)
class Question:
    text: str
    wh: str | None
    head: str | None
    expected: tuple[str, ...]
    # "entity": a typed span; "phrase": a noun phrase; "clause": a supporting sentence.
    answer_kind: str
    plural: bool
    wants_year: bool
    # "What is the X of Y?": the answer's sentence must state X, and Y must be in reach.
    attribute: str | None = None
    attribute_of: str | None = None
    entities: tuple[QuestionEntity, ...] = field(default_factory=tuple)
    # Names to look up among the corpus's entities: spaCy's entities and any demonym.
    names: tuple[str, ...] = ()
    # The question's BM25 terms, in order.
    terms: tuple[str, ...] = ()
    # The wh-phrase's relation to its verb (nsubj, dobj, pobj ...) and that verb's term:
    # the answer usually fills the same role of the same verb in its sentence.
    wh_role: str | None = None
    wh_verb: str | None = None
    # "many" of "how many", "much" of "how much" ...
    how: str | None = None


def _noun_run(doc, i: int) -> tuple[list, int]:
    """Nouns of the phrase starting at token ``i`` (adjectives, numbers, 's skipped)."""
    nouns, j = [], i
    while j < len(doc):
        tok = doc[j]
        if tok.pos_ in ("NOUN", "PROPN") or (tok.tag_ in ("NN", "NNS") and tok.pos_ != "VERB"):
            nouns.append(tok)
        elif tok.pos_ in ("ADJ", "NUM", "DET") or tok.tag_ == "POS":
            if nouns and tok.pos_ == "DET":
                break
        else:
            break
        j += 1
    return nouns, j


def _owner(doc, i: int) -> str | None:
    """The noun phrase after "of": "the population of [Uzbekistan]"."""
    nouns, _ = _noun_run(doc, i)
    return doc[nouns[0].i:nouns[-1].i + 1].text if nouns else None


def _possessor(doc, start: int, end: int) -> str | None:
    """The owner written with 's inside the phrase ``start``..``end`` (its words before the
    's, without a determiner): "Kazakhstan" of "Kazakhstan's foreign minister"."""
    marks = [t.i for t in doc[start:end] if t.tag_ == "POS"]
    if not marks:
        return None
    words = [t for t in doc[start:marks[-1]] if t.pos_ != "DET"]
    return doc[words[0].i:words[-1].i + 1].text if words else None


def _ends(doc, i: int) -> bool:
    """Whether nothing but punctuation follows token ``i``."""
    return all(t.is_punct for t in doc[i:])


def _names(entities: tuple[QuestionEntity, ...], text: str) -> tuple[str, ...]:
    """spaCy's entities of the question plus any demonym it uses ("the Kazakh tenge")."""
    words = [w.strip(".,;:?!\"'()") for w in text.split()]
    return tuple(dict.fromkeys([*(e.text for e in entities),
                                *(w for w in words if demonym_place(w))]))


def analyze(nlp: Parser, analyzer: Analyzer, text: str) -> Question:
    doc = nlp(text)
    lowered = [t.lower_ for t in doc]
    wh_i = next((i for i, w in enumerate(lowered) if w in WH_WORDS), None)
    wh = lowered[wh_i] if wh_i is not None else None
    entities = tuple(QuestionEntity(e.text, e.label_) for e in doc.ents
                     if e.text.lower() not in WH_WORDS and not e.text.lower().startswith("what"))
    head, expected, kind, plural, nouns = None, (), "phrase", False, []
    attribute = attribute_of = None

    if wh in ("what", "which") and wh_i is not None:
        nouns, after = _noun_run(doc, wh_i + 1)
        if not nouns and after < len(doc) and doc[after].lemma_ == "be":
            nouns, end = _noun_run(doc, after + 1)
            # "What is the population of X?" asks for an attribute of X, and so does
            # "What is X's population?" (the whole question: "What are a dog's teeth used
            # for?" asks something else).
            if nouns and end < len(doc) and doc[end].lower_ == "of":
                attribute = nouns[-1].lemma_.lower()
                attribute_of = _owner(doc, end + 1)
                titled, stop = _noun_run(doc, end + 1)
                if attribute == "name" and titled \
                        and titled[-1].lemma_.lower() in TITLE_NOUNS:
                    # "What is the name of Kyrgyzstan's foreign minister?" asks who holds
                    # the office, as "Who is Kyrgyzstan's foreign minister?" does
                    attribute = titled[-1].lemma_.lower()
                    attribute_of = _possessor(doc, end + 1, titled[-1].i) or (
                        _owner(doc, stop + 1) if stop < len(doc) and doc[stop].lower_
                        in ("of", "to") else None)
            elif nouns and _ends(doc, end) and (owner := _possessor(doc, after + 1,
                                                                    nouns[-1].i)):
                attribute, attribute_of = nouns[-1].lemma_.lower(), owner
    elif wh == "how" and wh_i is not None and wh_i + 1 < len(doc):
        following = lowered[wh_i + 1]
        if following in HOW_X:
            expected, kind = HOW_X[following], "entity"
            nouns, _ = _noun_run(doc, wh_i + 2)
            if following in ("much", "many") and nouns:
                specific = HEAD_NOUNS.get(nouns[-1].lemma_.lower())
                if specific and following == "much":
                    expected = specific
            if following == "much" and any(t.lemma_.lower() in CHANGE_WORDS for t in doc):
                expected = ("PERCENT", "MONEY", "QUANTITY", "CARDINAL")
        else:
            kind = "clause"  # how did X vote / how does it work: manner
    elif wh in WH_DEFAULT and wh_i is not None:
        expected, kind = WH_DEFAULT[wh], "entity"
        after = wh_i + 1
        if wh == "who" and after < len(doc) and doc[after].lemma_ == "be":
            # "Who is the mayor of Moscow?": the role noun is the answer's head, and with
            # "of" an attribute of Moscow that the answer's sentence must state.
            role, end = _noun_run(doc, after + 1)
            if role and role[-1].pos_ == "NOUN":
                head = role[-1].lemma_.lower()
                if end < len(doc) and doc[end].lower_ == "of":
                    attribute = head
                    attribute_of = _owner(doc, end + 1)
                elif _ends(doc, end) and (owner := _possessor(doc, after + 1, role[-1].i)):
                    attribute, attribute_of = head, owner  # "Who is X's mayor?"
                elif head in TITLE_NOUNS and end < len(doc) and doc[end].lower_ == "to":
                    attribute = head  # "Who is the US ambassador to Kazakhstan?"
                    attribute_of = _owner(doc, end + 1)
    elif wh == "why":
        kind = "clause"

    if nouns and not expected:
        for tok in [nouns[-1], *nouns[:-1]]:
            labels = HEAD_NOUNS.get(tok.lemma_.lower()) or HEAD_NOUNS.get(tok.lower_)
            if labels:
                head, expected, kind = tok.lemma_.lower(), labels, "entity"
                break
        else:
            head = nouns[-1].lemma_.lower()
        plural = nouns[-1].tag_ in ("NNS", "NNPS")
    elif nouns:
        head = nouns[-1].lemma_.lower()
        plural = nouns[-1].tag_ in ("NNS", "NNPS")
    words = [t for t in doc if not t.is_punct]
    if wh == "what" and not expected and len(words) > 2 \
            and words[-1].lower_ in VALUE_PREPOSITIONS:
        # "What did X lower the growth forecast to?": the answer is the new value of the
        # last typed noun ("forecast" -> PERCENT).
        for tok in reversed(words[:-1]):
            labels = HEAD_NOUNS.get(tok.lemma_.lower())
            if tok.pos_ == "NOUN" and labels:
                head, expected, kind = tok.lemma_.lower(), labels, "entity"
                break
    if wh in ("what", "which") and (head == "name" or any(
            t.lemma_.lower() in NAMING_VERBS and t.pos_ == "VERB"
            and not any(c.dep_ == "prt" or c.lower_ in URGING for c in t.children)
            and (t.i + 1 >= len(doc) or doc[t.i + 1].lower_ not in URGING) for t in doc)):
        expected, kind = NAME_TYPES, "entity"
    if kind == "phrase" and any(t.lemma_.lower() in SAY_VERBS and t.pos_ == "VERB"
                                for t in doc):
        kind = "clause"
    if wh is None and not expected:
        kind = "clause"
    role, verb = _wh_role(doc, wh_i, analyzer)
    how = lowered[wh_i + 1] if wh == "how" and wh_i is not None and wh_i + 1 < len(doc) \
        and lowered[wh_i + 1] in HOW_X else None
    return Question(text=text, wh=wh, head=head, expected=tuple(expected),
                    answer_kind=kind, plural=plural, wants_year=head == "year",
                    attribute=attribute, attribute_of=attribute_of, entities=entities,
                    names=_names(entities, text), terms=tuple(analyzer.terms(text)),
                    wh_role=role, wh_verb=verb, how=how)


def _wh_role(doc, wh_i: int | None, analyzer: Analyzer) -> tuple[str | None, str | None]:
    """The dependency of the wh-phrase ("which country" -> its noun's) and its verb's term."""
    if wh_i is None:
        return None, None
    tok = doc[wh_i]
    while tok.dep_ in ("det", "amod", "advmod", "npadvmod", "poss") and tok.head is not tok \
            and tok.head.pos_ in ("NOUN", "PROPN", "ADJ", "ADV", "PRON"):
        tok = tok.head
    if tok.dep_ == "pobj" and tok.head.head is not tok.head:
        return "pobj", analyzer.term(tok.head.head.lemma_.lower())
    if tok.head is tok:
        return tok.dep_, None
    return tok.dep_, analyzer.term(tok.head.lemma_.lower())
