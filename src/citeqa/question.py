"""Stage 6a: what a question asks for -- wh-form, head noun, expected entity labels.

The small model's parses of questions are unreliable, so the head noun is found by
position (the noun run right after the wh-word, or after a copula: "What was X's growth
forecast") and mapped to spaCy labels through ``HEAD_NOUNS``; the wh-form alone decides
when there is no head noun.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

# Head noun -> expected labels, most likely first. Extend by adding words to a row.
_HEAD_TABLE: list[tuple[tuple[str, ...], str]] = [
    (("PERSON",), "president minister leader mayor person man woman king queen ambassador "
                  "governor director secretary chairman chairwoman chancellor official "
                  "spokesman spokesperson founder author writer player coach actor actress "
                  "singer artist scientist inventor emperor ruler general commander pope "
                  "prince princess son daughter father mother wife husband ceo chief deputy "
                  "premier senator politician composer architect philosopher diplomat envoy "
                  "journalist reporter editor head successor predecessor owner manager "
                  "captain winner student teacher"),
    (("GPE", "LOC"), "country nation state city capital town province republic village county"),
    (("LOC", "GPE", "FAC"), "region continent river mountain sea ocean lake island desert "
                            "area place location"),
    (("ORG",), "organization organisation company agency newspaper bank party team "
               "university school college group institution ministry department firm "
               "corporation union network channel station club band alliance bloc media "
               "outlet website magazine publisher court parliament government council "
               "committee army body airline center centre institute foundation office service "
               "association society commission"),
    (("DATE",), "year date day month decade century period era season"),
    (("TIME",), "time hour"),
    (("MONEY",), "cost price budget salary fee revenue income fund worth value sum money "
                 "investment loan debt remittance profit tax"),
    (("MONEY", "QUANTITY", "CARDINAL"), "amount"),
    (("PERCENT",), "percentage percent proportion inflation"),
    (("PERCENT", "MONEY", "CARDINAL"), "rate share growth decline increase drop fall rise "
                                       "forecast"),
    (("CARDINAL",), "number population count total figure"),
    (("QUANTITY",), "distance length height weight depth speed temperature size"),
    (("NORP",), "nationality religion ethnicity"),
    (("LANGUAGE", "NORP"), "language"),
    (("EVENT",), "event war battle tournament festival"),
    (("LAW",), "law treaty act constitution"),
    (("WORK_OF_ART",), "book film movie song album novel play painting"),
]
HEAD_NOUNS: dict[str, tuple[str, ...]] = {
    word: labels for labels, words in _HEAD_TABLE for word in words.split()}
HOW_X: dict[str, tuple[str, ...]] = {
    "many": ("CARDINAL", "QUANTITY", "MONEY"),
    "much": ("MONEY", "PERCENT", "QUANTITY", "CARDINAL"),
    "long": ("DATE", "TIME", "QUANTITY"),
    "old": ("DATE", "CARDINAL"),
    "far": ("QUANTITY",),
    "big": ("QUANTITY", "CARDINAL"), "large": ("QUANTITY", "CARDINAL"),
    "often": ("DATE", "TIME", "CARDINAL"),
}
WH_DEFAULT: dict[str, tuple[str, ...]] = {
    "who": ("PERSON", "ORG", "NORP"), "whom": ("PERSON", "ORG", "NORP"),
    "whose": ("PERSON", "ORG"), "when": ("DATE", "TIME"), "where": ("GPE", "LOC", "FAC"),
}
WH_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how"}
# "By how much did X fall?" asks for a relative change first.
CHANGE_WORDS = {"fall", "rise", "drop", "increase", "decrease", "grow", "decline", "shrink",
                "depreciate", "appreciate", "gain", "climb", "plunge", "jump", "slump"}
SAY_VERBS = {"say", "tell", "state", "claim", "announce", "warn", "stress", "emphasize",
             "argue", "report", "explain", "think", "believe", "describe"}
# "What is X called?", "What is the name of X?": the answer is a name of any kind.
NAMING_VERBS = {"call", "name", "entitle", "title", "dub", "nickname"}
VALUE_PREPOSITIONS = {"to", "by", "from"}
URGING = {"on", "upon", "for"}  # "call on X to ...", "call for ..." urge; they do not name
NAME_TYPES = ("PERSON", "ORG", "GPE", "LOC", "FAC", "WORK_OF_ART", "EVENT", "LAW",
              "PRODUCT", "NORP", "LANGUAGE")


@dataclass(frozen=True)
class QuestionEntity:
    text: str
    label: str


@dataclass(frozen=True)
class QuestionAnalysis:
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


def analyze(nlp: Language, text: str) -> QuestionAnalysis:
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
            # "What is the population of X?" asks for an attribute of X.
            if nouns and end < len(doc) and doc[end].lower_ == "of":
                attribute = nouns[-1].lemma_.lower()
                attribute_of = _owner(doc, end + 1)
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
    return QuestionAnalysis(text=text, wh=wh, head=head, expected=tuple(expected),
                            answer_kind=kind, plural=plural, wants_year=head == "year",
                            attribute=attribute, attribute_of=attribute_of,
                            entities=entities)
