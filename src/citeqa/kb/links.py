"""Which entity a value is about, read off the dependency parse stored at index time.

A sentence that names several entities and several values pairs them only where the
parse does: the entity (or something it owns: "the tenge in Kazakhstan", "Kazakhstan's
economy") is the subject of the verb whose object or complement holds the value, or the
possessor or modifier of the noun the value measures ("Kenya's 47 counties"), or the place
where the dated event happens ("protests broke out in Kazakhstan in January"). A
"respectively" sentence pairs its coordinated entities and values in order. A definite
description stands for the last name of the passage it fits: "the country" or "the
central government" for the last country named, "in the same location" for the last
place, "the team" for the last team-like name; the value is then the name's, cited with
the description as its subject. A value inside a subject counts that subject only, so
"the five Central Asian countries" is no fact about Russia next to them; the date of a
report or statement stays with the reporter, because the reported clause is another
verb's. Words that only look like values
-- "first" as an adverb or in a title, "one of", a number inside a name, a bare relative
date ("the day", "this year", "Wednesday"), the base of a rate ("per 1000 people") -- are
dropped, and so are a quoted number (a gold-plated "50") and, for the clause, the date
right after a "since" event ("since Super Bowl XIX in 1985" is that game's year).

The small parser often breaks on encyclopedic text, so the parse is read leniently where
the sentence still says whose a value is: a list of counted nouns is one phrase, a
participle or a value inside the subject happens where the main clause does, a bracketed
conversion shares the links of the amount it restates, "there were X" has X as its
subject, a noun given a subject of its own ("Tajikistan (glosses), officially ..., is
...") hands it on, a subject may hang on the auxiliary of a split verb ("it was re -
admitted"), coordinated clauses share a place put before them all, and "of which 76
million euros" hung on a number is a share of the last amount in euros. Short
capitalised words after a number are its unit ("23:30 CST"). Encyclopedic shapes: a list of
counted nouns chained by apposition stands where its first item does ("71 primary schools,
13 secondary schools"), a rank clause without its verb shares it ("ranked 4th in size, but
44th in population"), what a place "is home to" is its, an amount a verb sets its object
at is the object's owner's ("put Montana's population at 989,415"). Not the entity's: a
value alone in brackets after a name (that name's: "the Dawes Act (1887)"), what a
counted noun is "with" ("one city with a population over 100,000"), a place a rank is
"in" (the scope: "the fourth largest state in the United States"), a place in brackets
the value is not in, and a number word opening a name ("The Three Towns").

Links-9 adds: what a verb predicates of its object is the object's ("ranked Notre Dame
10th", "proclaimed Montana the forty-first state"), the parts a subject is divided into or
consists of are its ("divided into 308 municipalities"), an amount a verb changes its
object by is the object's owner's ("reduce California's emissions by 25 percent"), a date
with a "when" clause dates that clause's named doer; and drops a comparison's baseline
("compared with 38.9% for Angelides"), an age given to a place or nationality, a
currency's country ("trillions of U.S. dollars"), a ranking's scope ("the top twenty
universities in the United States"), a number naming a show ("60 Minutes"), a
citation's year ("(Kasmel et al., 2004)"), a gloss in brackets ("(Portuguese:
freguesia)") and a nationality standing for one person ("the first American to ...").

Links-10 to -12 add: a rank in an "as" phrase of a verb with a named object is the
object's ("ranked Notre Dame as the ninth highest"), a passive's named doer acts when it
happens ("occupied by Germany from 4 August 1915"), an office taken dates the body served
("became president of Notre Dame in 1919"); and drop a region's values from the whole
("southern California", "east-central Poland"), a possessed thing's rank from its owner
("Warsaw's first stock exchange"), a count from the names it lists as members ("two
cities, Los Angeles and San Diego"), the date of a ranking or estimate from the judged
("In 2012 the EIU ranked Warsaw"), a kin's doing from the relative ("a grandson of
Genghis Khan"), rooms, street numbers and page citations, and wars named by their length.

Links-13 adds: "he" or "she" as a subject stands for the one person named before it in
the sentence, when a subject ("Luther wrote a German Mass, which he published in early
1526"); and drops a rank from a name that only labels the ranked thing ("the first Huguenot church",
"the first historical reference to Warsaw"). Links-14 gives a participle's date to its
named doer rather than the noun's label ("a British programme produced by the BBC since
1963") and drops numbers citing a text's parts ("articles 9 and 10"). Links-15 keeps a
conjoined noun's "of" owner from the thing counted beside it ("23 countries and the 50
states of the US").

Pairs these rules do not link may still be linked by the learned linker (``linker.py``),
which reads the parse kept in ``PassageLinks``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from babel import Locale

from ..ingest.annotate import Annotation, Entity, Token
from ..lexicon import ABBREVIATIONS, DEMONYMS, ROLE_WORDS, VALUE_LABELS
from .entities import untagged_demonyms
from .normalize import DATE_ANCHOR, currency_after


@dataclass(frozen=True)
class LinkParams:
    """How far the parse is followed; ``version`` changes whenever a number does."""

    version: str = "links-15"
    # Weights of the learned linker in citeqa/kb/models (``linker.py``); None: rules only.
    learned: str | None = "linker.json.gz"
    max_climb: int = 5  # edges from a value up to its verb
    max_relation_tokens: int = 6  # longer predicates are cited as the verb alone
    max_modifier_depth: int = 3  # "the vice-president of Kyrgyzstan's cabinet"
    # Verbs after which "first" is a rank, not an adverb: "ranked first", "finished fourth".
    rank_verbs: tuple[str, ...] = ("rank", "finish", "place", "position")


@dataclass(frozen=True)
class ValueLink:
    """A value stated of one entity mention, with the words that say so (document offsets)."""

    value: Entity
    mention: tuple[int, int]
    subject: tuple[int, int]
    relation: tuple[int, int]


_SUBJECTS = {"nsubj", "nsubjpass", "csubj", "csubjpass"}
# Subject pronouns that stand for a noun or name before them, and those for a person.
_IMPERSONAL = {"it", "they"}
_PERSONAL = {"he", "she"}
# Nouns a nationality word names the language of ("Portuguese speakers"), and verbs that
# name something in a language ("known in Portuguese as").
_LANGUAGE_NOUNS = frozenset({"speaker", "language", "tongue", "dialect", "translation",
                             "pronunciation", "spelling", "script", "alphabet"})
_NAMING_VERBS = frozenset({"know", "call", "name", "write", "spell", "say", "mean"})
# Nouns whose ordinal is a rank of whoever holds it: "holds third place".
_RANK_NOUNS = frozenset({"place", "position", "rank", "spot"})
_OBJECTS = {"dobj", "attr", "oprd", "dative", "acomp"}
# Edges from a noun to what makes it someone's: "Kenya's", "Kazakh", "the som in Kyrgyzstan".
_OWNERS = {"poss", "compound", "amod", "nmod", "appos", "conj"}
_OWNER_PREPS = {"of", "in", "for", "at", "to", "among"}
# Of a measured noun or a subject only: "133,000 migrants from Uzbekistan", "remittances
# from Tajik migrants totaled $2.1 billion".
_ORIGIN_PREPS = {"from"}
_PLACE_PREPS = {"in", "at", "across", "throughout", "along"}
_PLACE_LABELS = {"GPE", "LOC", "FAC", "ORG"}  # an organisation too: "in the seat of Wenchuan"
_COUNTRIES = {p.lower() for p in DEMONYMS.values()}
_DEMONYMS = {d.lower() for d in DEMONYMS}
_HAVE = {"have", "own", "possess"}
# What numbers a thing rather than counting: rooms, patents, pages and page citations.
_LABEL_NUMBER = re.compile(r"(?:\b(?:[Rr]oom|[Ss]uite|[Aa]partment|[Pp]atent|[Pp]ages?|pp?\.)"
                           r"\s+(?:[Nn]o\.\s*)?|[A-Za-z.)\]]:\d+(?:[-\u2013]\d+)?"
                           r"(?:,\s*\d+(?:[-\u2013]\d+)?)*,\s*)$")
# What cites a law's or a text's parts: "articles 9 and 10", "Article 12", "section 3(1)".
_CITED = re.compile(r"(?<![\w-])(?:[Aa]rticles?|[Ss]ections?|[Pp]aragraphs?|[Cc]hapters?"
                    r"|[Cc]lauses?|Art\.)\s+(?:\d+[a-z]?(?:\(\d+\))?(?:,\s*|\s+(?:and|to)\s+))*$")
_STREET = re.compile(r"\s+(?:[NSEW]\.\s+)?(?:[A-Z][\w'.-]*\s+){1,3}(Street|St\.|Avenue|Ave\."
                     r"|Road|Rd\.|Boulevard|Blvd\.|Lane|Place|Square)\b")
# A war named by its length: "the Seven Years' War", "the Hundred Years War".
_WAR = re.compile(r"[A-Z][a-z]+ Years?['\u2019]? Wars?\b")
# Kin: "the son of X" is someone else than X, and what he does or has is not X's.
_KIN_NOUNS = frozenset({"son", "daughter", "grandson", "granddaughter", "child", "wife",
                        "husband", "widow", "brother", "sister", "father", "mother",
                        "nephew", "niece", "cousin", "heir", "descendant", "grandfather",
                        "grandmother", "uncle", "aunt", "successor", "predecessor"})
# Verbs that give their subject an office: its dates are also the served body's.
_OFFICE_VERBS = frozenset({"be", "become", "serve", "remain", "elect", "reelect", "appoint",
                           "name", "install", "inaugurate", "swear"})
# Offices one person holds for a body ("president of Notre Dame"); not "leader" or
# "economy", which rank a thing among others ("the largest economy of East Africa").
_OFFICE_NOUNS = frozenset({"president", "vice-president", "minister", "secretary", "mayor",
                           "governor", "ambassador", "chairman", "chairwoman", "chair",
                           "chairperson", "director", "king", "queen", "chancellor",
                           "senator", "premier", "ceo", "emperor", "pope", "dean", "provost",
                           "rector"})
# Verbs of judging: the date of a ranking or an estimate is the judge's, not the judged's.
_JUDGING_VERBS = frozenset({"rank", "rate", "estimate", "list", "describe", "call",
                            "classify", "consider", "deem", "judge", "assess", "evaluate",
                            "review", "survey"})
# A compass word right before a place name: the name is then a region of it.
_COMPASS = re.compile(r"\b(?:(?:north|south|east|west)(?:-?(?:east|west|central))?(?:ern)?"
                      r"|central)\s+$", re.I)
# What makes "the X" one person: "the first American", "the only Briton".
_ONE_OF_A_KIND = frozenset({"only", "last", "sole", "lone"})
_ORDINAL_WORD = re.compile(r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
                           r"|\d+(?:st|nd|rd|th)")
# Words that rank a counted noun: "the top twenty universities".
_RANK_WORDS = frozenset({"top", "bottom", "best", "worst"})
# Currency nouns: their country modifier names the money, not whose it is. (Not
# normalize's table: that reads amounts' units and has "pound", here also a weight.)
_CURRENCY_NOUNS = frozenset({"dollar", "euro", "ruble", "rouble", "yuan", "pound", "tenge",
                             "som", "yen", "shilling", "rupee", "franc", "peso", "lira",
                             "manat", "somoni", "hryvnia", "renminbi", "escudo", "tögrög",
                             "tugrik", "zloty", "krone", "krona", "rand", "real", "won"})
# An age: a person's, never a place's or a country's nationality word (the tagger's
# labels of people vary too much to require PERSON; a NORP that is no demonym may be one).
_NOT_AGED = frozenset({"GPE", "LOC", "FAC", "NORP"})
_AGE = re.compile(r"\bages? of\b|\baged\b", re.I)
_YEAR_OLD = re.compile(r"\byears?[- ]old\b", re.I)
_AGED = re.compile(r"\b(?:aged|ages? of)\s+$", re.I)  # right before the number
# ... but a bracket of ages counts a population's share: "70% are under the age of 30",
# "between the ages of 14 and 30", "aged 65 and over".
_AGE_BRACKET = re.compile(r"\b(?:under|over|above|below|between|from)\s+(?:the\s+)?"
                          r"(?:ages?\b|$)|\baged\s+between\b", re.I)
_AGE_OVER = re.compile(r"\s*(?:and|or)\s+(?:over|older|above|under|younger)\b", re.I)
# A number naming a work or show: "60 Minutes", "The 6th Day" (not "the 19th Century").
_TITLED_UNIT = re.compile(r"(?:\d[\d,]*|The \d+(?:st|nd|rd|th)) (?:Minutes?|Hours?|Days?|Nights?"
                          r"|Weeks?|Months?|Years?|Seconds?)")
# Verbs that change their object by an amount or to a level.
_CHANGE_VERBS = frozenset({"reduce", "cut", "increase", "raise", "lower", "boost", "decrease",
                           "expand", "double", "triple", "slash", "lift", "grow", "shrink"})
# (preposition, verb) pairs whose object is what the subject is made of.
_PART_PHRASES = frozenset({("into", v) for v in ("divide", "subdivide", "split", "organize",
                                                 "organise", "separate", "group")}
                          | {("of", v) for v in ("consist", "compose", "comprise")})


def _country_names() -> frozenset[str]:
    """Country names as written in English: CLDR's territories ("Congo - Brazzaville"
    read as "Congo"; not its regions, "Central Asia") and their abbreviations."""
    names = set()
    for code, name in Locale("en").territories.items():
        if len(code) == 2 and code.isalpha():
            names.add(name.lower())
            names.add(name.split(" - ")[0].split(" (")[0].lower())
    names.update(k.lower() for k, v in ABBREVIATIONS.items() if v.lower() in names)
    return frozenset(names)


_COUNTRY_NAMES = _country_names()
# Definite descriptions that stand for a named entity the passage has already given: the
# head noun's class says which names can be meant ("the country" a country, "the central
# government" its country's, "in the same location" the last place).
_ANAPHOR_NOUNS = {"country": "country", "nation": "country", "government": "country",
                  "location": "place", "place": "place", "team": "team"}
# The only modifiers such a description may carry: "the neighbouring country", "the
# government of Kenya" or "the country that ..." name something else or say whose it is.
_ANAPHOR_MODIFIERS = {"central", "federal", "national", "same", "whole", "entire"}
_DIRECTIONS = {"north", "south", "east", "west", "northeast", "northwest", "southeast",
               "southwest", "northern", "southern", "eastern", "western", "outside"}
# Clauses that share the subject of the verb above them ("by scoring", "starting from").
_INHERIT = {"conj", "xcomp", "advcl", "pcomp", "prep"}
# The words of a gloss before a name: "(Portuguese: municípios or " -- a bracket, one or
# two capitalised words and a colon, with no bracket closed since.
_GLOSS = re.compile(r"\(\s*[A-Z][\w'-]*(?: [A-Z][\w'-]*)?:[^()]*$")
_RELATIVE = re.compile(r"\b(?:this|last|next|previous|following|recent|past|coming|later|"
                       r"earlier|same|today|yesterday|tomorrow|now|current|ago|straight|"
                       r"season|week|annual|every|daily|weekly|monthly|yearly)\b", re.I)
_WEEKDAY = re.compile(r"(?:(?:this|last|next|on|early|late)\s+)?(?:mon|tues|wednes|thurs|fri|"
                      r"satur|sun)day(?:\s+(?:morning|afternoon|evening|night))?", re.I)
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                     r"twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|"
                     r"dozen|half|several|a few)\b", re.I)


class _Parse:
    """One passage's tokens with their children, and the passage's entity spans."""

    def __init__(self, annotation: Annotation, text: str) -> None:
        self.tokens: list[Token] = annotation.tokens
        self.text = text
        self.children: list[list[int]] = [[] for _ in self.tokens]
        for i, t in enumerate(self.tokens):
            if t.head != i:
                self.children[t.head].append(i)
        self.sentence_start = 0  # set while one sentence is read
        self.people: set[int] = set()  # head tokens of the passage's PERSON names
        self.organisations: set[int] = set()  # ... and of its ORG names (often people)

    def word(self, i: int) -> str:
        t = self.tokens[i]
        return self.text[t.start:t.end]

    def span(self, start: int, end: int) -> list[int]:
        return [i for i, t in enumerate(self.tokens) if t.start >= start and t.end <= end]

    def head_of(self, indices: list[int]) -> int | None:
        """The token of a span whose head lies outside it (the span's syntactic head). A
        leading article may hang outside too when the name modifies a larger phrase ("The
        Super Bowl 50 Host Committee"): the content word is the head then."""
        inside = set(indices)
        outside = [i for i in indices
                   if self.tokens[i].head not in inside or self.tokens[i].head == i]
        content = [i for i in outside if self.tokens[i].dep not in ("det", "punct", "case")]
        return (content or outside or [None])[0]

    def dep(self, i: int) -> str:
        return self.tokens[i].dep

    def up(self, i: int) -> int:
        return self.tokens[i].head

    def kids(self, i: int, *deps: str) -> list[int]:
        return [c for c in self.children[i] if not deps or self.tokens[c].dep in deps]

    def subtree(self, i: int) -> set[int]:
        out, todo = set(), [i]
        while todo:
            j = todo.pop()
            if j not in out:
                out.add(j)
                todo.extend(self.children[j])
        return out


def _is_value(value: Entity, parse: _Parse, indices: list[int], names: list[Entity],
             resolves: Callable[[str], bool], params: LinkParams) -> bool:
    """False for words that only look like values (see the module docstring)."""
    if any(n.start < value.end and value.start < n.end for n in names):
        return False  # a number inside a name: "Super Bowl 50", "Westwood One"
    head = parse.head_of(indices)
    if head is None:
        return False
    text = value.text
    governor = parse.up(head)
    if value.label == "ORDINAL":
        if parse.text[value.end:value.end + 1] == "-":
            return False  # "first-hand", "second-class"
        if parse.dep(head) in ("advmod", "npadvmod", "conj") \
                and parse.tokens[governor].pos in ("VERB", "AUX") \
                and _verb_lemma(parse, head) not in params.rank_verbs:
            return False  # "must first end", "should stop first"; not "ranked first"
        if parse.tokens[governor].lemma.lower() in ROLE_WORDS or (
                text[:1].isupper() and parse.tokens[governor].pos == "PROPN"):
            return False  # "First Deputy Minister", "20th Century Fox"
        if parse.tokens[governor].lemma.lower() in ("time", "anniversary"):
            return False  # "for the first time"; "marked the first anniversary" (a name
            # for the day, not a rank)
    if value.label in ("CARDINAL", "ORDINAL") and governor != head \
            and parse.tokens[governor].pos == "PROPN" and text[:1].isdigit() \
            and abs(parse.tokens[governor].end - value.start) <= 1:
        return False  # "Apollo 13", "Convention No. 81"
    before = [i for i in range(indices[0]) if parse.tokens[i].end <= value.start]
    if text[:1].isupper() and before and parse.tokens[before[-1]].pos == "PROPN" \
            and parse.tokens[before[-1]].end >= value.start - 1:
        return False  # "Westwood One"
    after = [i for i in range(indices[-1] + 1, len(parse.tokens))
             if parse.tokens[i].start >= value.end]
    if value.label in ("CARDINAL", "ORDINAL") and text[:1].isupper() and before \
            and parse.tokens[before[-1]].start >= parse.sentence_start and after \
            and parse.tokens[after[0]].pos in ("PROPN", "NOUN") \
            and parse.word(after[0])[:1].isupper() \
            and parse.tokens[after[0]].start <= value.end + 1:
        return False  # a number word opening a name inside a sentence: "The Three Towns"
    if value.label == "CARDINAL" and text.lower() == "one" \
            and (parse.text[value.end:value.end + 1] == "-"
                 or (parse.dep(head) == "nummod" and parse.tokens[governor].tag == "NN"
                     and parse.tokens[governor].lemma.lower() != "number")):
        return False  # a kind or an article, not a count: "the one-party state", "One
        # French investigation found ..." (but "ranked number one")
    if value.label == "CARDINAL" and text.lower() in ("one", "only one") \
            and any(parse.word(c).lower() == "of" for c in parse.kids(head, "prep")):
        return False  # "one of the poorest"
    if any(parse.word(i).lower() == "per" for i in (governor, parse.up(governor))
           if parse.tokens[i].end <= value.start) \
            or any(parse.word(c).lower() == "per" for c in parse.kids(head)
                   if parse.tokens[c].end <= value.start):
        return False  # the base of a rate: "graduates per 1000 people", "30 per 100,000"
    if parse.text[value.start - 1:value.start] in ('"', "\u201c") \
            and parse.text[value.end:value.end + 1] in ('"', "\u201d"):
        return False  # a number quoted is a thing's name: a gold-plated "50"
    if value.label == "CARDINAL" and (
            _LABEL_NUMBER.search(parse.text, parse.sentence_start, value.start)
            or (_CITED.search(parse.text, parse.sentence_start, value.start)
                and not _counts_noun(parse, head))
            or _address(parse, value)):
        return False  # a label, not a count: "room 3327", "46 E. Houston Street", a page
        # cited as ":43, 301", "articles 9 and 10"
    if value.label in ("DATE", "TIME") and text[:1].isupper() \
            and _WAR.match(text + parse.text[value.end:value.end + 5]):
        return False  # a war's name: "the Seven Years' War", "the Hundred Years' War"
    if value.label in ("DATE", "TIME") and _TITLED_UNIT.fullmatch(text) and before:
        return False  # a title: "told 60 Minutes", "a press event for The 6th Day"
    if value.label == "DATE" and _in_brackets(parse, head) \
            and "et al" in parse.text[parse.text.rfind("(", 0, value.start):value.start]:
        return False  # a citation's year: "(Kasmel et al., 2004)"
    if value.label in ("DATE", "TIME"):
        if _WEEKDAY.fullmatch(text.strip()):
            return resolves(text)  # "as early as Wednesday": which week is not written
        if DATE_ANCHOR.search(text):
            return True
        if _RELATIVE.search(text) or not _NUMBER.search(text):
            return resolves(text)  # "yesterday" against the document's date, else dropped
    return True


def _counts_noun(parse: _Parse, head: int) -> bool:
    """Whether a number counts the noun after it ("Under Chapter 11, 300 firms ...")."""
    governor = parse.up(head)
    return parse.dep(head) == "nummod" and governor > head \
        and parse.tokens[governor].pos in ("NOUN", "PROPN")


def _address(parse: _Parse, value: Entity) -> bool:
    """A number heading a street name ("46 E. Houston Street") -- not a count of things
    named after a street ("300 Wall Street analysts", where the street word modifies a
    noun)."""
    street = _STREET.match(parse.text, value.end)
    if street is None:
        return False
    word = parse.span(street.end() - len(street.group(1)), street.end())
    return bool(word) and parse.dep(word[-1]) != "compound"


def _verb_lemma(parse: _Parse, i: int) -> str:
    """The lemma of the verb a word hangs from (through coordination)."""
    for _ in range(3):
        i = parse.up(i)
        if parse.tokens[i].pos in ("VERB", "AUX"):
            return parse.tokens[i].lemma.lower()
    return ""


@dataclass
class PassageLinks:
    """What the rules read of one passage, kept so the learned linker (``linker.py``)
    scores its pairs without parsing the passage again."""

    parse: _Parse
    names: list[Entity]  # named mentions (not the descriptions standing for them)
    name_heads: dict[int, Entity]  # head token -> name or description
    # (sentence start, end, its values with their tokens) for values that pass _is_value
    sentences: list[tuple[int, int, list[tuple[Entity, list[int]]]]]
    links: list[ValueLink]


def link_values(annotation: Annotation, text: str, params: LinkParams,
                resolves: Callable[[str], bool] = lambda _: False) -> list[ValueLink]:
    """Every (value, entity mention) pair the parse supports in one passage."""
    read = read_links(annotation, text, params, resolves)
    return read.links if read else []


def _language(parse: _Parse, h: int, name: Entity) -> bool:
    """A nationality word naming a language owns nothing: "Portuguese speakers", "a
    native Portuguese speaker", "known in Portuguese as"."""
    if name.label not in ("NORP", "LANGUAGE"):
        return False
    up = parse.up(h)
    if parse.dep(h) in ("amod", "compound", "nmod") \
            and parse.tokens[up].lemma.lower() in _LANGUAGE_NOUNS:
        return True
    return parse.dep(h) == "pobj" and parse.word(up).lower() == "in" \
        and parse.tokens[parse.up(up)].lemma.lower() in _NAMING_VERBS


def _individual(parse: _Parse, h: int, name: Entity) -> bool:
    """A nationality word standing for one person owns nothing of its country's: "an
    American", "the first American to send a wireless message" (a group, "the Irish",
    "The British occupied Kenya", still does)."""
    if name.label != "NORP" or parse.tokens[h].tag not in ("NNP", "NN"):
        return False
    dets = {parse.word(d).lower() for d in parse.kids(h, "det")}
    ranked = any(parse.tokens[m].tag == "JJS" or parse.word(m).lower() in _ONE_OF_A_KIND
                 or _ORDINAL_WORD.fullmatch(parse.word(m).lower())
                 for m in parse.kids(h, "amod"))
    return bool(dets & {"a", "an"}) or ("the" in dets and ranked)


def _region(text: str, name: Entity) -> bool:
    """A place named with a compass word is a region inside it, whose values are not the
    whole's: "southern California", "in eastern Ukraine", "east-central Poland"."""
    return name.label in ("GPE", "LOC") \
        and _COMPASS.search(text, max(0, name.start - 16), name.start) is not None


def read_links(annotation: Annotation, text: str, params: LinkParams,
               resolves: Callable[[str], bool] = lambda _: False) -> PassageLinks | None:
    """The rules' links of one passage with the parse they were read from (``None`` for
    a passage without tokens)."""
    if not annotation.tokens:
        return None
    parse = _Parse(annotation, text)
    # A language naming a gloss ("Russian: Респу́блика ...") owns nothing, nor does the
    # gloss ("(Portuguese: freguesia)").
    names = [e for e in annotation.entities + untagged_demonyms(annotation, text)
             if e.label not in VALUE_LABELS
             and not text[e.end:e.end + 2].lstrip().startswith(":")
             and not _GLOSS.search(text, max(0, e.start - 60), e.start)]
    name_heads: dict[int, Entity] = {}
    for n in names:
        h = parse.head_of(parse.span(n.start, n.end))
        if h is not None and not _unit(parse, h, n) and not _language(parse, h, n) \
                and not _individual(parse, h, n) and not _region(text, n):
            name_heads[h] = n
    # (a name the tagger calls a person anywhere in the passage is one everywhere in it:
    # "Schwarzenegger" is often tagged ORG)
    surnames = {n.text.split()[-1] for n in names if n.label == "PERSON" and n.text.split()}
    parse.people = {h for h, n in name_heads.items()
                    if n.label == "PERSON" or (n.text.split()[-1:] == [parse.word(h)]
                                               and parse.word(h) in surnames)}
    parse.organisations = {h for h, n in name_heads.items() if n.label == "ORG"}
    # "the country", "the central government", "in the same location": linked as the
    # name they stand for, cited as written.
    antecedents: dict[tuple[int, int], Entity] = {}
    for h, (anaphor, name) in _anaphors(parse, names, name_heads).items():
        name_heads[h] = anaphor
        antecedents[(anaphor.start, anaphor.end)] = name
    links: list[ValueLink] = []
    sentences = []
    for s, e in annotation.sentences:
        parse.sentence_start = s
        values = []
        for v in annotation.entities:
            if v.label in VALUE_LABELS and s <= v.start and v.end <= e:
                if v.label in ("MONEY", "CARDINAL") and (end := currency_after(text, v.end)) \
                        > v.end:  # "83 million" + " euros": spaCy left the currency out
                    v = Entity(text[v.start:end], "MONEY", v.start, end)
                indices = parse.span(v.start, v.end)
                if indices and _is_value(v, parse, indices, names, resolves, params):
                    values.append((v, indices))
        sentences.append((s, e, values))
        done = _respectively(parse, values, name_heads, s, e, links)
        own = {v.start: _own_links(parse, v, indices, name_heads, params)
               for v, indices in values if v.start not in done}
        stated = {}
        for v, indices in values:
            if v.start in own:
                host = _restated(parse, indices, values)
                shared = own.get(host.start, []) if host else []
                stated[v.start] = _unique(own[v.start] + [
                    ValueLink(v, link.mention, link.subject, link.relation)
                    for link in shared])
        _pair_places(parse, values, name_heads, stated)
        links.extend(link for found in stated.values() for link in found)
    if antecedents:
        links = _unique([ValueLink(link.value, (a.start, a.end), link.subject, link.relation)
                         if (a := antecedents.get(link.mention)) else link
                         for link in links])
    return PassageLinks(parse, names, name_heads, sentences, links)


def _anaphors(parse: _Parse, names: list[Entity],
              name_heads: dict[int, Entity]) -> dict[int, tuple[Entity, Entity]]:
    """Head token -> (the description as a mention, the name it stands for) for each
    definite description of the passage that stands for a name before it: "the country"
    and "the (central) government" for the last country the passage names (by name or
    demonym: "Chinese"), "the same location" for the last place. A description with any
    other modifier, an owner or a clause of its own is not one."""
    out: dict[int, tuple[Entity, Entity]] = {}
    spans = [(n.start, n.end) for n in names]
    for h, t in enumerate(parse.tokens):
        kind = _ANAPHOR_NOUNS.get(t.lemma.lower())
        if kind is None or t.pos != "NOUN" or t.tag != "NN" or h in name_heads \
                or parse.dep(h) == "compound" \
                or any(s <= t.start < e for s, e in spans):
            continue
        kids = parse.children[h]
        if not any(parse.dep(c) == "det" and parse.word(c).lower() == "the" for c in kids):
            continue
        mods = [parse.word(c).lower() for c in kids if parse.dep(c) not in ("det", "punct")]
        if any(m not in _ANAPHOR_MODIFIERS for m in mods) \
                or (kind == "place" and "same" not in mods):
            continue
        before = [n for n in names if n.end <= parse.tokens[min(parse.subtree(h))].start
                  and _stands_for(n, kind)]
        if not before:
            continue
        name = max(before, key=lambda n: n.start)
        first = min(parse.subtree(h))
        out[h] = (Entity(parse.text[parse.tokens[first].start:t.end], name.label,
                         parse.tokens[first].start, t.end), name)
    return out


def _stands_for(name: Entity, kind: str) -> bool:
    """Whether a name can be what a description of this kind stands for."""
    text = name.text.removeprefix("the ").removeprefix("The ")
    if kind == "country":
        return name.label != "PERSON" and (text.lower() in _COUNTRY_NAMES or (
            DEMONYMS.get(text, "").lower() in _COUNTRY_NAMES))
    if kind == "team":
        return name.label in ("ORG", "NORP", "PRODUCT")
    return name.label in ("GPE", "LOC", "FAC")


def _restated(parse: _Parse, indices: list[int],
              values: list[tuple[Entity, list[int]]]) -> Entity | None:
    """The value a bracketed one restates in other units, whose links it shares: "10.7
    billion yuan (approximately US$1.5 billion)", "a 6.1 Ms (6.2 Mw) aftershock"."""
    u = parse.head_of(indices)
    while u is not None and parse.dep(u) in ("nummod", "compound", "quantmod") \
            and parse.up(u) != u:
        u = parse.up(u)  # "6.2" -> "Mw"
    if u is None or parse.up(u) == u or not _bracketed(parse, u):
        return None
    above = parse.up(u)
    for other, ix in values:
        unit = 0 <= parse.tokens[above].start - other.end <= 1  # "6.1 Ms": Ms is its unit
        if u not in ix and (above in ix or unit):
            return other
    return None


def _place(name: Entity, demonym: bool = False) -> bool:
    """Whether a name can be where something happens; a country the tagger called a
    nationality ("visit Tajikistan" as NORP) is one, and with ``demonym`` so is a
    demonym modifying a place ("along the Tajik-Afghan border")."""
    text = name.text.removeprefix("the ").lower()
    return name.label in _PLACE_LABELS or text in _COUNTRIES or (demonym and text in _DEMONYMS)


def _unit(parse: _Parse, head: int, name: Entity) -> bool:
    """Whether a "name" is the unit, era or time zone of the number right before it, as
    the tagger often takes short capitalised words: "23:30 CST", "6.0 Mw", "500 BCE"."""
    return len(name.text) <= 3 and parse.tokens[head].start == name.start \
        and any(parse.dep(c) == "nummod" and name.start - parse.tokens[c].end <= 1
                for c in parse.kids(head))


def _respectively(parse: _Parse, values, name_heads: dict[int, Entity], s: int, e: int,
                  links: list[ValueLink]) -> set[int]:
    """'lowered ... Kazakhstan and Uzbekistan ... to 1.8% and 3.6% respectively'."""
    marker = [i for i, t in enumerate(parse.tokens)
              if s <= t.start < e and t.lemma.lower() == "respectively"]
    if not marker:
        return set()
    scope = parse.subtree(parse.up(marker[0]))
    heads = {parse.head_of(ix): v for v, ix in values}
    chains = _chains(parse, {h for h in heads if h in scope})
    names = _chains(parse, {h for h in name_heads if s <= parse.tokens[h].start < e})
    done: set[int] = set()
    for chain in chains:
        first = parse.tokens[chain[0]].start
        fits = [c for c in names if len(c) == len(chain) and parse.tokens[c[-1]].end <= first]
        if len(chain) < 2 or not fits:
            continue
        verb = parse.up(marker[0])
        relation = (parse.tokens[verb].start, parse.tokens[verb].end)
        for value_head, name_head in zip(chain, fits[-1], strict=True):
            value, name = heads[value_head], name_heads[name_head]
            links.append(ValueLink(value, (name.start, name.end), (name.start, name.end),
                                   relation))
            done.add(value.start)
    return done


def _pair_places(parse: _Parse, values, name_heads: dict[int, Entity],
                 stated: dict[int, list[ValueLink]]) -> None:
    """"14.4% in Germany, 15.2% in Japan, 9.8% in the Euro area": where two or more values
    of a sentence are each followed by their own named place, each value is its place's
    alone, and no such value is another's place's (``stated``, value start -> links, is
    changed in place) -- as the values' shared clause would say."""
    followed: dict[int, list[Entity]] = {}  # value start -> its places ([]: unnamed)
    for v, indices in values:
        p = max(indices) + 1  # the phrase right after the value, wherever it hangs,
        if p < len(parse.tokens) and parse.tokens[p].pos == "NOUN" \
                and parse.up(parse.head_of(indices)) == p:
            p += 1  # or after the noun it counts ("1,200 people in Italy")
        if v.start not in stated or p >= len(parse.tokens) or parse.dep(p) != "prep" \
                or parse.word(p).lower() not in ("in", "for", "at"):
            continue
        followed[v.start] = [name_heads[h] for o in parse.kids(p, "pobj")
                             for c in _with_conjuncts(parse, o)  # "in Spain and Portugal"
                             for h in (c, *parse.kids(c, "compound"))
                             if h in name_heads and _place(name_heads[h])]
    named = {start: places for start, places in followed.items() if places}
    if len(named) < 2:
        return
    claimed = {(n.start, n.end) for places in named.values() for n in places}
    first = named[min(named)]
    relation = next((link.relation for link in stated[min(named)]
                     if link.mention == (first[0].start, first[0].end)), None)
    for start in followed:
        links = [link for link in stated[start] if link.mention not in claimed]
        value = next(v for v, _ in values if v.start == start)
        for place in reversed(named.get(start, [])):
            mine = (place.start, place.end)
            said = next((link.relation for link in stated[start] if link.mention == mine),
                        relation or mine)
            links.insert(0, _link(parse, value, place, mine, said))
        stated[start] = _unique(links)


def _chains(parse: _Parse, heads: set[int]) -> list[list[int]]:
    """Coordinated heads ('A, B and C'), each chain in text order."""
    chains = []
    for h in sorted(heads):
        if parse.dep(h) == "conj" and parse.up(h) in heads:
            continue
        chain, todo = [h], [h]
        while todo:
            for c in parse.kids(todo.pop(), "conj"):
                if c in heads:
                    chain.append(c)
                    todo.append(c)
        chains.append(sorted(chain))
    return chains


def _own_links(parse: _Parse, value: Entity, indices: list[int],
               name_heads: dict[int, Entity], params: LinkParams) -> list[ValueLink]:
    """``_links_of`` less two kinds of wrong owner: a comparison's baseline that names its
    own owner goes to that owner only ("won 56.0% compared with 38.9% for Angelides" is no
    fact of the winner; "grew 5.8% in 2014, compared with 5.7% in 2013" still is the
    subject's), and an age goes to no place or nationality ("moving to the United States
    at the age of 21"; a bracket, "under the age of 30", "aged 65 and over", still counts
    a place's people, and "a 900-year-old castle" is the castle's)."""
    links = _links_of(parse, value, indices, name_heads, params)
    head = parse.head_of(indices)
    if head is None:
        return links
    base = _baseline(parse, head)
    if base is not None:
        phrase = parse.subtree(base)
        own = {(n.start, n.end) for h, n in name_heads.items() if h in phrase}
        if own:
            links = [link for link in links if link.mention in own]
    dropped = _judged(parse, value, head, name_heads) | _members(parse, value, head, name_heads)
    if dropped:
        links = [link for link in links if link.mention not in dropped]
    if _an_age(parse, value, head, name_heads):
        places = {(n.start, n.end) for n in name_heads.values()
                  if n.label in _NOT_AGED and (n.label != "NORP"
                                               or n.text.lower() in _DEMONYMS)}
        links = [link for link in links if link.mention not in places]
    return links


def _served(parse: _Parse, verb: int) -> list[int]:
    """The bodies named by the office a clause gives its subject ("is the chair of the
    IPCC", "served as Governor of California", "was elected President of Kenya")."""
    if parse.tokens[verb].lemma.lower() not in _OFFICE_VERBS:
        return []
    offices = parse.kids(verb, "attr", "oprd") + [
        o for p in parse.kids(verb, "prep") if parse.word(p).lower() == "as"
        for o in parse.kids(p, "pobj")]
    return [o for office in offices if parse.tokens[office].lemma.lower() in _OFFICE_NOUNS
            and parse.tokens[office].tag in ("NN", "NNP")
            for p in parse.kids(office, "prep") if parse.word(p).lower() == "of"
            for o in parse.kids(p, "pobj")]


def _judged(parse: _Parse, value: Entity, head: int,
            name_heads: dict[int, Entity]) -> set[tuple[int, int]]:
    """The names in a judging verb's object when a value dates the judging: "In 2012 the
    Economist Intelligence Unit ranked Warsaw ...", "The Space Review estimated in 2010 the
    cost of Apollo" -- the date is the judge's (a report's date belongs to the reporter)."""
    if value.label not in ("DATE", "TIME"):
        return set()
    verb = _verb_above(parse, head)
    if verb is None or parse.tokens[verb].lemma.lower() not in _JUDGING_VERBS \
            or not parse.kids(verb, "nsubj"):
        return set()
    judged = set().union(*(parse.subtree(o) for o in parse.kids(verb, "dobj")))
    if head in judged:
        return set()  # "the cost of Apollo from 1959 to 1973" is inside the judged thing
    return {(n.start, n.end) for h, n in name_heads.items() if h in judged}


def _members(parse: _Parse, value: Entity, head: int,
             name_heads: dict[int, Entity]) -> set[tuple[int, int]]:
    """The names a count lists as its members, which the count is no fact of: "two major
    cities, Los Angeles and San Diego", "the seven counties of Los Angeles, San
    Bernardino, ..." (two or more names joined as a list in apposition to the counted noun
    or as its "of" phrase -- not "300,000 refugees from Syria and Iraq", who are theirs)."""
    counted = _measured(parse, head, value) if value.label == "CARDINAL" else None
    if counted is None or parse.tokens[counted].tag not in ("NNS", "NNPS"):
        return set()
    firsts = parse.kids(counted, "appos", "conj") + [  # (the parser reads some
        # appositions as conjuncts: "two major cities, Denver and Boulder")
        o for p in parse.kids(counted, "prep") if parse.word(p).lower() == "of"
        for o in parse.kids(p, "pobj")]
    listed = set()
    for first in firsts:
        items = _with_conjuncts(parse, first)
        if len([h for h in items if h in name_heads]) >= 2:
            listed.update(h for h in items if h in name_heads)
    return {(name_heads[h].start, name_heads[h].end) for h in listed}


def _an_age(parse: _Parse, value: Entity, head: int, name_heads: dict[int, Entity]) -> bool:
    """Whether a value is someone's age: "the age of 21", "aged 64", "the 64-year-old
    president" -- not a bracket of ages, nor the age of a thing ("a 900-year-old castle")."""
    before = parse.text[max(parse.sentence_start, value.start - 25):value.start]
    after = parse.text[value.end:value.end + 12]
    if _AGE_BRACKET.search(before + value.text) or _AGE_OVER.match(after):
        return False
    if _AGE.search(value.text) or _AGED.search(before):
        return True
    if not _YEAR_OLD.search(value.text):
        return False
    # "40-year-old Kalldahl Berdymukhamedov", "the 64-year-old president" -- not a thing's
    # age: "a 900-year-old castle", "Warsaw's 700-year-old Old Town"
    governor = parse.up(head)
    named = name_heads.get(governor)
    return parse.tokens[governor].lemma.lower() in ROLE_WORDS or (
        named is not None and named.label in ("PERSON", "NORP"))


def _baseline(parse: _Parse, t: int) -> int | None:
    """The object of "compared with/to" that holds ``t`` (a comparison's base), if any."""
    for _ in range(4):
        up = parse.up(t)
        if up == t:
            return None
        if parse.dep(t) == "pobj" and parse.word(up).lower() in ("with", "to") \
                and parse.tokens[parse.up(up)].lemma.lower() == "compare":
            return t
        t = up
    return None


def _links_of(parse: _Parse, value: Entity, indices: list[int],
              name_heads: dict[int, Entity], params: LinkParams) -> list[ValueLink]:
    """The mentions one value is stated of: through the phrase it measures first, then
    through the clause that states it (subject, recipient, place)."""
    inside = set(indices)
    t = parse.head_of(indices)
    # A unit after the number ("4 billion tenge", "83 million euros") is part of the value.
    while t is not None and parse.up(t) != t and parse.dep(t) in ("nummod", "quantmod",
                                                                  "compound", "appos") \
            and parse.tokens[parse.up(t)].start - value.end <= 1 \
            and parse.tokens[parse.up(t)].start >= value.start \
            and parse.tokens[parse.up(t)].pos in ("NOUN", "PROPN") \
            and not parse.kids(parse.up(t), "det", "poss", "amod", "compound") \
            and parse.up(t) not in name_heads:
        inside.add(parse.up(t))
        t = parse.up(t)
    if t is None:
        return []
    out: list[ValueLink] = []
    if parse.dep(t) == "pobj" and parse.tokens[parse.up(parse.up(t))].pos == "NUM" \
            and (parse.word(parse.up(t)).lower() == "of" or value.label == "CARDINAL"):
        return []  # "one of four teams": the count is the group's; "$83 million from 19
        # countries": the count qualifies the other amount (which, through "including",
        # is still the clause's)
    if parse.dep(t) == "appos" and parse.up(t) in name_heads and _bracketed(parse, t) \
            and not parse.kids(t, "prep") and name_heads[parse.up(t)].label != "NORP":
        # a value alone in brackets after a name is that name's: "the Dawes Act (1887)",
        # "Polson (15.7 percent)" -- not the clause's the name stands in (but a group's
        # share, "German (27.0 percent)", is also the place's it is counted in)
        name = name_heads[parse.up(t)]
        if not _stands_for(name, "country"):  # "Brest, France (1963)" notes Brest
            return [_link(parse, value, name, (name.start, name.end),
                          (name.start, name.end))]
    if any(parse.tokens[a].pos == "PROPN" and not _glossed(parse, a)
           and not any(parse.tokens[i].pos == "NUM" for i in parse.subtree(a))
           for a in parse.kids(t, "appos")):
        return []  # "the 4-11 San Diego Chargers": another name's record; not a note in
        # brackets ("7,349,145 (July 2009 est.)") or a date ("12:17 CST, May 14, 2008")
    # The value's own "of" phrase or apposition names what it measures: "30% of GDP in
    # Kyrgyzstan", "$5,000,000, a record high price for a Super Bowl ad".
    # A counted noun read with the number ("25 militants") is described by its other
    # phrases too: "the escape of 25 militants from a Tajik prison".
    preps = {"of"} | (_OWNER_PREPS | _ORIGIN_PREPS if t != parse.head_of(indices) else set())
    described = [(o, parse.word(p).lower() in _PLACE_PREPS) for p in parse.kids(t, "prep")
                 if parse.word(p).lower() in preps for o in parse.kids(p, "pobj")] + [
        (a, False) for a in parse.kids(t, "appos") if parse.tokens[a].pos == "NOUN"]
    for obj, located in described:
        for name in _owners(parse, obj, name_heads, inside, params, value):
            if not located or _place(name):  # "eight appearances in the Super Bowl"
                out.append(_link(parse, value, name, (name.start, name.end),
                                 _noun_relation(parse, value, obj, name)))
    # A value that names whose it is ("30% of GDP in Kyrgyzstan") is not also where the
    # subject comes from ("remittances from Russia account for ...").
    origin = not out
    if value.label in ("DATE", "TIME") and (since := _since(parse, t, name_heads)):
        # "the first Super Bowl held in the Bay Area since Super Bowl XIX in 1985": the
        # date right after the event a "since" measures from is that event's
        return _unique([*out, _link(parse, value, since, (since.start, since.end),
                                    (since.start, since.end))])
    if value.label in ("DATE", "TIME"):
        # A date with a "when" clause dates that clause's doing too: "on April 26, 1864,
        # when the U.S. passed the Organic Act"
        for clause in parse.kids(t, "relcl"):
            if any(parse.word(a).lower() == "when" for a in parse.kids(clause, "advmod")):
                for subject in parse.kids(clause, *_SUBJECTS):
                    for h in _with_conjuncts(parse, subject):
                        if h in name_heads and h not in inside:
                            name = name_heads[h]
                            out.append(_link(parse, value, name, (name.start, name.end),
                                             _verb_relation(parse, clause, value, params)))
    if value.label in ("DATE", "TIME") and _measured(parse, t, value) not in name_heads:
        # (not "the Russian Revolution of 1917": that date is the name's)
        out.extend(_dated_places(parse, t, value, name_heads, inside))
    if parse.dep(t) in _SUBJECTS:  # "3,000 people were killed in Beichuan County"
        out.extend(_places(parse, parse.up(t), value, name_heads, inside, params))
        # and whose share it is: "a population of 7,349,145, of which 70% are under 30"
        for name in _owners(parse, t, name_heads, inside, params, value):
            out.append(_link(parse, value, name, (name.start, name.end),
                             _verb_relation(parse, parse.up(t), value, params)))
    if parse.dep(t) == "nsubjpass":
        # an amount given or spent by someone: "10.7 billion yuan had been donated by the
        # Chinese public" is what the agent gave
        verb = parse.up(t)
        for agent in (o for a in parse.kids(verb, "agent") for o in parse.kids(a, "pobj")):
            for name in _owners(parse, agent, name_heads, inside, params, None):
                out.append(_link(parse, value, name, _phrase(parse, agent, params),
                                 _verb_relation(parse, verb, value, params)))
    measured = _measured(parse, t, value)
    predicated = _predicated_object(parse, t, measured, name_heads)
    if predicated is not None:
        # The object's predicate or apposition ranks or counts that object, not the
        # subject: "USA Today ranked Notre Dame 10th", "proclaimed Montana the forty-first
        # state" (an object that names nobody, "ranked it 10th", leaves the value to none).
        verb, objects = predicated
        for h in objects:
            name = name_heads[h]
            out.append(_link(parse, value, name, (name.start, name.end),
                             _verb_relation(parse, verb, value, params)))
        return _unique(out)
    anchor = t
    if measured is not None:
        for name in _owners(parse, measured, name_heads, inside, params, value):
            out.append(_link(parse, value, name, (name.start, name.end),
                             _noun_relation(parse, value, measured, name)))
        group = value.label == "CARDINAL" and parse.tokens[measured].tag in ("NNS", "NNPS")
        definite = any(parse.word(d).lower() == "the" for d in parse.kids(measured, "det"))
        item = _first_counted(parse, measured)
        if measured in name_heads or (group and (parse.dep(item) not in _OBJECTS
                                                 or definite)
                                      and not _described_with(parse, item)
                                      and not _parts(parse, item)):
            # "the five Central Asian countries", "Super Bowl XIX in 1985", "connect the
            # three countries": the value is that phrase's, not the clause's -- but where
            # the counted group is, is stated: "about 9,000 Europeans lived in Congo".
            if parse.dep(measured) in _SUBJECTS:
                out.extend(_places(parse, parse.up(measured), value, name_heads, inside,
                                   params))
            return _unique(out)
        if _noun_owner(parse, measured):
            return _unique(out)  # "Nortman's 28-yard punt": the possessor's value
        anchor = item
        if value.label == "ORDINAL" and parse.dep(measured) not in ("attr", "oprd", "appos") \
                and parse.tokens[measured].lemma.lower() not in _RANK_NOUNS:
            # "made his first plane trip", "his second term", "Warsaw's first stock
            # exchange": the ordinal ranks the thing, not whoever has or does it; a
            # predicate or apposition ranks the subject ("Uzbekistan is the first country
            # to ...", "..., the first country to"), as a place does ("holds third place")
            return _unique(out)
    verb, owned = _climb(parse, anchor, params, name_heads)
    holder = _subject_holding(parse, anchor, params)
    if verb is None and owned is None and holder not in (None, t):
        # A value inside the subject measures it where its clause happens: "an aftershock
        # of 6.0 Mw hit Qingchuan County, Sichuan"
        out.extend(_places(parse, parse.up(holder), value, name_heads, inside, params,
                           main=True))
    if owned is not None:  # "China's previous performance during the 1976 earthquake"
        for name in (n for p in parse.kids(owned, "poss")
                     for n in _owners(parse, p, name_heads, inside, params, None)):
            out.append(_link(parse, value, name, _phrase(parse, owned, params),
                             _noun_relation(parse, value, owned, name)))
    if verb is None:
        return _unique(out)
    subject, source = _subject(parse, verb)
    origins: set[tuple[int, int]] = set()  # names only the subject's "from" phrase gives
    if subject is not None:
        owners = _owners(parse, subject, name_heads, inside, params, None, origin)
        if origin:
            strict = _owners(parse, subject, name_heads, inside, params, None)
            origins = {(n.start, n.end) for n in owners if n not in strict}
        above = parse.up(subject)
        if parse.dep(subject) == "pobj":
            above = parse.up(above)
        if not owners and value.label != "ORDINAL" and parse.dep(subject) in ("dobj", "pobj") \
                and parse.dep(source) in ("acl", "relcl") \
                and parse.tokens[above].pos in ("VERB", "AUX"):
            # "Uzbekistan has resumed its work related to joining the WTO in November
            # 2017", "Kazakhstan abstained in the vote condemning ... on March 2": a
            # clause on the (prepositional) object tells of the subject's doing.
            verb = above
            subject, source = _subject(parse, verb)
            owners = [] if subject is None else _owners(parse, subject, name_heads, inside,
                                                        params, None)
        participle = parse.dep(verb) == "acl" and parse.tokens[verb].tag == "VBN"
        agents = _named_agents(parse, verb, name_heads, inside) \
            if value.label in ("DATE", "TIME") and (
                participle or (subject is not None and parse.dep(subject) == "nsubjpass")) \
            else []
        if agents and participle:
            # "a British programme produced by the BBC since 1963": the BBC's, and not the
            # label's ("Kenya, ruled by Britain until 1963" stays Kenya's too)
            owners = [n for n in owners if not _label_of(parse, n, subject)]
        doers = [(subject, owners)] if owners or value.label == "ORDINAL" else [
            # "an agreement was made between Tajikistan, Pakistan and Afghanistan to build
            # a 1,300 km highway": when the subject names nobody, the parties do it
            (o, _owners(parse, o, name_heads, inside, params, None))
            for p in parse.kids(source, "prep") if parse.word(p).lower() == "between"
            for o in parse.kids(p, "pobj")]
        for doer, names in doers:
            for name in names:
                out.append(_link(parse, value, name, _phrase(parse, doer, params),
                                 _verb_relation(parse, verb, value, params)))
        if not any(names for _, names in doers):
            out.extend(_reported(parse, verb, value, name_heads, inside, params))
        if value.label in ("DATE", "TIME"):
            # an office held then is an act of the body it serves: "served as the 38th
            # Governor of California from 2003 until 2011", "the chair of the IPCC since ..."
            for body in _served(parse, verb):
                for name in _owners(parse, body, name_heads, inside, params, None):
                    out.append(_link(parse, value, name, (name.start, name.end),
                                     _verb_relation(parse, verb, value, params)))
        # a passive's doer, when a name, acts when it happens: "Warsaw was occupied by
        # Germany from 4 August 1915" (not "by the work of British bacteriologist ..."),
        # as does a participle's: "a programme produced by the BBC since 1963"
        for name in agents:
            out.append(_link(parse, value, name, (name.start, name.end),
                             _verb_relation(parse, verb, value, params)))
    if parse.dep(anchor) == "pobj" and parse.up(parse.up(anchor)) == verb and (
            parse.word(parse.up(anchor)).lower() == "at"
            or (parse.word(parse.up(anchor)).lower() in ("by", "to")
                and parse.tokens[verb].lemma.lower() in _CHANGE_VERBS)):
        # the amount a verb sets its object at, or changes it by or to: "the census put
        # Montana's population at 989,415", "reduce California's emissions by 25 percent
        # by 2020" are the object's owner's
        for obj in parse.kids(verb, "dobj"):
            if parse.tokens[obj].pos == "NOUN":
                for name in _owners(parse, obj, name_heads, inside, params, value):
                    out.append(_link(parse, value, name, _phrase(parse, obj, params),
                                     _verb_relation(parse, verb, value, params)))
    if parse.dep(anchor) == "dobj" and parse.up(anchor) == verb:
        # The recipient of an amount: "gave the Broncos a 16-7 lead", "aid to Ukraine".
        recipients = parse.kids(verb, "dative") + [
            o for p in parse.kids(verb, "prep") if parse.word(p).lower() == "to"
            for o in parse.kids(p, "pobj")]
        for r in recipients:
            for h in _with_conjuncts(parse, r):
                if h in name_heads:
                    name = name_heads[h]
                    out.append(_link(parse, value, name, (name.start, name.end),
                                     _verb_relation(parse, verb, value, params)))
    places = _places(parse, verb, value, name_heads, inside, params)
    if places:  # "income from Russia accounts for 30% of GDP in Kyrgyzstan": the place's
        out = [link for link in out if link.mention not in origins]
    return _unique(out + places)


def _places(parse: _Parse, verb: int, value: Entity, name_heads: dict[int, Entity],
            inside: set[int], params: LinkParams, main: bool = False) -> list[ValueLink]:
    """The places where the clause of ``verb`` happens ("broke out in Kazakhstan", "in
    Beichuan County, Sichuan", "in the Sichuan province"), and for a date where a visit
    goes or what is given goes ("visited Kenya", "aid to Ukraine in 2021"). A participle
    or purpose clause with no place of its own happens where its main clause does, and
    there the main verb's object place counts too: "hit Qingchuan, Sichuan, causing 1
    death", "visit Tajikistan to conduct missions of up to several weeks" (``main``)."""
    if value.label == "ORDINAL" or parse.tokens[verb].pos not in ("VERB", "AUX"):
        return []
    # A bracketed note ("registered in Tajikistan (2000)") may sit inside the place.
    note = min(inside) > 0 and parse.word(min(inside) - 1) == "("
    # A place in brackets is a note of its own unless the value is in them too: "enrolls
    # 25,895 students (22nd largest in the UK)".
    aside = _in_brackets(parse, min(inside))
    places = [o for p in parse.kids(verb, "prep") if parse.word(p).lower() in _PLACE_PREPS
              and (note or not parse.subtree(p) & inside)
              and (aside or not _in_brackets(parse, p)) for o in parse.kids(p, "pobj")]
    located = set(places)  # reached through "in", "along" ...: modifiers may name the place
    if main:
        places += [o for o in parse.kids(verb, "dobj") if not parse.subtree(o) & inside]
    elif value.label in ("DATE", "TIME"):  # where a dated visit goes: "visited Kenya", "a
        # visit to ...", "reached the seat of Wenchuan at 23:30"
        objects = [o for o in parse.kids(verb, "dobj") if not parse.subtree(o) & inside]
        # and where what is given goes: "provide 83 million euros of aid to Ukraine in 2021"
        objects += [n for o in objects for p in parse.kids(o, "prep")
                    if parse.word(p).lower() == "of" for n in parse.kids(p, "pobj")]
        places += objects + [o for x in [verb, *objects] for p in parse.kids(x, "prep")
                             if parse.word(p).lower() == "to" for o in parse.kids(p, "pobj")]
        # and where the object is: "surrounded Sassou's compound in Brazzaville on June 5"
        places += [o for x in objects for p in parse.kids(x, "prep")
                   if parse.word(p).lower() in _PLACE_PREPS for o in parse.kids(p, "pobj")]
    out = []
    for obj in places:
        for h in _with_conjuncts(parse, obj):
            # the place itself, or the larger place that names it: "Beichuan County,
            # Sichuan", "the Sichuan province", "the seat of Wenchuan"
            # ("along the Tajik-Afghan border", not "both sides of the Russian-Ukrainian
            # conflict")
            modifiers = ("compound", "appos") + (("nmod", "amod") if obj in located else ())
            around = [h] + [c for c in parse.kids(h, *modifiers)] + [
                o for p in parse.kids(h, "prep") if parse.word(p).lower() == "of"
                for o in parse.kids(p, "pobj")]
            for a in around:
                if a in name_heads and _place(name_heads[a], obj in located):
                    name = name_heads[a]
                    out.append(_link(parse, value, name, (name.start, name.end),
                                     _verb_relation(parse, verb, value, params)))
    clause = verb
    while parse.dep(clause) == "conj" and parse.tokens[parse.up(clause)].pos == "VERB":
        clause = parse.up(clause)  # "causing 8 deaths and destroying thousands of ..."
    if not out and not main and parse.dep(clause) == "advcl" \
            and parse.tokens[clause].tag in ("VBG", "VB"):
        out = [ValueLink(link.value, link.mention, link.subject,
                         _verb_relation(parse, verb, value, params))
               for link in _places(parse, parse.up(clause), value, name_heads, inside,
                                   params, main=True)]
    if not out and not main and clause != verb:
        # Coordinated clauses share a place put before them all: "in the same location,
        # 10,000 people were injured and 80% of the buildings were destroyed".
        subjects = parse.kids(clause, *_SUBJECTS)
        first = min(parse.subtree(subjects[0])) if subjects else clause
        out = [_link(parse, value, link_name, (link_name.start, link_name.end),
                     _verb_relation(parse, verb, value, params))
               for link_name in _fronted_places(parse, clause, first, name_heads)]
    return out


def _fronted_places(parse: _Parse, clause: int, first: int,
                    name_heads: dict[int, Entity]) -> list[Entity]:
    """Places of the "in"/"at" phrases that open a clause, before its other words."""
    out = []
    for p in parse.kids(clause, "prep"):
        if p < first and parse.word(p).lower() in _PLACE_PREPS:
            for o in parse.kids(p, "pobj"):
                for h in _with_conjuncts(parse, o):
                    around = [h, *parse.kids(h, "compound", "appos")]
                    out += [name_heads[a] for a in around
                            if a in name_heads and _place(name_heads[a])]
    return out


def _since(parse: _Parse, t: int, name_heads: dict[int, Entity]) -> Entity | None:
    """The name a "since" phrase ends on, when the date's phrase follows it at once."""
    prep = parse.up(t)
    if parse.dep(t) != "pobj" or parse.tokens[prep].pos != "ADP":
        return None
    for p in parse.kids(parse.up(prep), "prep"):
        if parse.word(p).lower() == "since" and p < prep \
                and max(parse.subtree(p)) == prep - 1:
            for o in parse.kids(p, "pobj"):
                if o in name_heads:
                    return name_heads[o]
    return None


def _described_with(parse: _Parse, noun: int) -> bool:
    """Whether a noun is what the subject is described as having: "Tajikistan is a
    country with an estimated 8 million people"."""
    prep = parse.up(noun)
    if parse.dep(noun) != "pobj" or parse.word(prep).lower() != "with":
        return False
    verb = parse.up(prep)
    if parse.dep(verb) == "attr":
        verb = parse.up(verb)  # "a country with ..."
    return parse.tokens[verb].lemma.lower() == "be"


def _dated_places(parse: _Parse, t: int, value: Entity, name_heads: dict[int, Entity],
                  inside: set[int]) -> list[ValueLink]:
    """Places a date's own phrase names: "the earthquake on August 30, 2008 in southern
    Sichuan", "as of July 17, 2008 across Sichuan"."""
    holders, above = [t], parse.up(t)
    while parse.tokens[above].pos == "ADP" and above not in holders:
        holders.append(above)  # "as of July 17": "of", then "as"
        above = parse.up(above)
    out = []
    for p in (p for h in holders for p in parse.kids(h, "prep")
              if parse.word(p).lower() in _PLACE_PREPS and not parse.subtree(p) & inside):
        for o in parse.kids(p, "pobj"):
            for h in _with_conjuncts(parse, o):
                if h in name_heads and _place(name_heads[h]):
                    name = name_heads[h]
                    out.append(_link(parse, value, name, (name.start, name.end),
                                     (parse.tokens[p].start, parse.tokens[p].end)))
    return out


def _reported(parse: _Parse, verb: int, value: Entity, name_heads: dict[int, Entity],
              inside: set[int], params: LinkParams) -> list[ValueLink]:
    """A value a country's official or organ reports, in a clause that names nobody
    else: "Kazakhstan's Defense Minister told the media that the cost of a parade was
    about 4 billion tenge" is Kazakhstan's cost."""
    if parse.dep(verb) != "ccomp" or value.label == "ORDINAL":
        return []
    clause = parse.subtree(verb).difference(*(parse.subtree(c)
                                              for c in parse.kids(verb, "conj")))
    if any(h in clause for h in name_heads):
        return []
    speaker, _ = _subject(parse, parse.up(verb))
    if speaker is None or (speaker in name_heads and name_heads[speaker].label != "PERSON"):
        return []
    return [_link(parse, value, name, _phrase(parse, speaker, params),
                  _verb_relation(parse, verb, value, params))
            for name in _owners(parse, speaker, name_heads, inside, params, None)
            if name.label == "GPE"]


def _which(parse: _Parse, pronoun: int) -> list[int]:
    """The noun a relative "which" stands for: the head of its relative clause, else the
    nearest noun before its phrase ("26 airports, 18 of which had paved runways")."""
    clause = _verb_above(parse, pronoun)
    if clause is not None and parse.dep(clause) == "relcl":
        head = parse.up(clause)
        units = {parse.tokens[s].lemma.lower() for s in parse.kids(clause, *_SUBJECTS)
                 if parse.kids(s, "nummod")}
        if parse.tokens[head].pos == "NUM" and units:
            # hung on a number by the parser: a share "of which 76 million euros ..." is
            # of the last amount before it in the same unit ("83 million euros of aid")
            for j in range(pronoun - 1, -1, -1):
                if parse.tokens[j].start < parse.sentence_start:
                    break
                if parse.tokens[j].lemma.lower() in units and parse.kids(j, "nummod"):
                    return [j]
        return [head]
    phrase = parse.up(parse.up(pronoun))  # "18" in "18 of which"
    for j in range(min(parse.subtree(phrase)) - 1, -1, -1):
        if parse.tokens[j].start < parse.sentence_start:
            break
        if parse.tokens[j].pos in ("NOUN", "PROPN"):
            return [j]
        if parse.tokens[j].pos != "PUNCT":
            break
    return []


def _bracketed(parse: _Parse, i: int) -> bool:
    """Whether the phrase headed by ``i`` opens with a bracket."""
    first = min(parse.subtree(i))
    return first > 0 and parse.word(first - 1) in ("(", "[")


def _glossed(parse: _Parse, i: int) -> bool:
    """Whether the phrase headed by ``i`` is a bracket the parser hung on it whole: a gloss
    such as "(Portuguese: municípios or concelhos)"."""
    return parse.word(min(parse.subtree(i))) in ("(", "[") or _bracketed(parse, i)


def _in_brackets(parse: _Parse, i: int) -> bool:
    """Whether token ``i`` sits inside brackets opened in its sentence."""
    before = parse.text[parse.sentence_start:parse.tokens[i].start]
    return before.count("(") > before.count(")")


def _noun_owner(parse: _Parse, noun: int) -> bool:
    """Whether a noun has a possessor other than a pronoun ('Nortman's punt')."""
    return any(parse.tokens[c].pos != "PRON" for c in parse.kids(noun, "poss"))


def _first_counted(parse: _Parse, noun: int) -> int:
    """The first item of a list of counted nouns the parser chained by coordination or
    apposition ("has 71 primary schools, 13 secondary schools, eight special schools"):
    the list stands where its first item does."""
    for _ in range(8):
        head = parse.up(noun)
        if parse.dep(noun) not in ("conj", "appos") or head == noun \
                or parse.tokens[head].pos not in ("NOUN", "PROPN", "ADJ") \
                or not parse.kids(head, "nummod") or not parse.kids(noun, "nummod"):
            break
        noun = head
    return noun


def _parts(parse: _Parse, noun: int) -> bool:
    """``noun`` names the parts its clause's subject is made of: "Portugal is divided into
    308 municipalities", "the council consists of 12 members"."""
    if parse.dep(noun) != "pobj":
        return False
    prep = parse.up(noun)
    verb = parse.up(prep)
    return (parse.word(prep).lower(), parse.tokens[verb].lemma.lower()) in _PART_PHRASES


def _predicated_object(parse: _Parse, t: int, measured: int | None,
                       name_heads: dict[int, Entity]) -> tuple[int, list[int]] | None:
    """(verb, the object's name heads) when the value (its head ``t``, or the noun it
    ``measured``) is what a verb predicates of its direct object: the object predicate
    ("ranked Notre Dame 10th", "named him the first ...") or an apposition to the object
    that the value modifies ("proclaimed Montana the forty-first state").
    The small parser sometimes reads the object into the predicate as a compound
    ("Notre Dame" compound of "10th"); those names are the object too; so is an "as"
    phrase of a verb with a named object ("ranked Warsaw as the 32nd most liveable city").
    A bare value in apposition ("beat the Panthers, 24-10") is no predicate."""
    noun = t if measured is None else measured
    if parse.dep(noun) == "oprd":
        verb = parse.up(noun)
        objects = parse.kids(verb, "dobj")
        if not objects and not any(k in name_heads for k in parse.kids(noun, "compound")):
            return None  # "was ranked 10th": the subject's
        heads = [o for o in objects if o in name_heads] + [
            k for k in parse.kids(noun, "compound") if k in name_heads]
        return verb, heads
    held = parse.up(noun) if parse.dep(noun) in ("amod", "nummod") else noun
    if parse.dep(held) == "pobj" and parse.word(parse.up(held)).lower() == "as":
        verb = parse.up(parse.up(held))
        heads = [o for o in parse.kids(verb, "dobj") if o in name_heads]
        if heads and parse.tokens[verb].pos == "VERB":
            return verb, heads  # "ranked Notre Dame as the ninth highest"
    if measured is not None and parse.up(t) == noun and parse.dep(noun) == "appos" \
            and parse.dep(parse.up(noun)) == "dobj" and parse.up(noun) in name_heads \
            and not _glossed(parse, noun):
        return parse.up(parse.up(noun)), [parse.up(noun)]
    return None


def _measured(parse: _Parse, t: int, value: Entity) -> int | None:
    """The noun a value measures or counts: '80,000 settlers', 'an HDI of 0.519'."""
    head = parse.up(t)
    if head == t:
        return None
    if parse.dep(t) in ("nummod", "amod", "compound", "quantmod", "nmod") \
            and parse.tokens[head].pos in ("NOUN", "PROPN"):
        return head
    if parse.dep(t) == "advmod" and parse.dep(head) == "amod":
        return parse.up(head)  # "the third dedicated broadcast"
    if parse.dep(t) == "pobj" and parse.tokens[head].pos == "ADP":
        noun = parse.up(head)
        if parse.tokens[noun].pos in ("NOUN", "PROPN") and noun != head \
                and parse.tokens[noun].end <= value.start:
            return noun  # "an HDI of 0.519", "the Victory Day on May 9"
    return None


def _climb(parse: _Parse, t: int, params: LinkParams,
           name_heads: dict[int, Entity]) -> tuple[int | None, int | None]:
    """(verb, None) for the verb whose clause states the value; (None, noun) when the
    value hangs in a phrase of a possessed noun, whose possessor it then concerns ("China's
    performance during the 1976 earthquake"); (None, None) when it sits inside a subject
    or a coordination of names (it is then about that phrase, not the clause). A list of
    common nouns is one phrase ("caused 2 deaths, 345 injuries and collapse of 707
    homes"): its later items climb from the first without spending a step."""
    for _ in range(params.max_climb):
        while parse.dep(t) == "conj" and t not in name_heads \
                and parse.up(t) not in name_heads \
                and parse.tokens[parse.up(t)].pos in ("NOUN", "PROPN", "NUM"):
            t = parse.up(t)
        if parse.tokens[t].pos in ("VERB", "AUX"):
            return t, None
        if parse.dep(t) == "conj" and parse.tokens[parse.up(t)].pos in ("VERB", "AUX"):
            return parse.up(t), None  # a clause without its verb: "ranked 4th in size,
            # but 44th in population"
        if parse.dep(t) in _SUBJECTS or parse.dep(t) == "conj" or parse.up(t) == t:
            return None, None
        if parse.dep(t) == "pobj" and parse.word(parse.up(t)).lower() == "with" \
                and parse.tokens[parse.up(parse.up(t))].pos in ("NOUN", "PROPN") \
                and not _described_with(parse, t):
            return None, None  # what a noun is "with" is that noun's: "one city with a
            # population over 100,000"
        t = parse.up(t)
        if parse.tokens[t].pos in ("NOUN", "PROPN") and _noun_owner(parse, t):
            return None, t
    return (t if parse.tokens[t].pos in ("VERB", "AUX") else None), None


def _subject_holding(parse: _Parse, t: int, params: LinkParams) -> int | None:
    """The subject whose phrase (of nouns and prepositions, not clauses) holds ``t``."""
    for _ in range(params.max_climb):
        if parse.dep(t) in _SUBJECTS:
            return t
        if parse.tokens[t].pos in ("VERB", "AUX") or parse.up(t) == t:
            return None
        t = parse.up(t)
    return None


def _subject(parse: _Parse, verb: int) -> tuple[int | None, int]:
    """The verb's subject, or the one it shares, with the verb it was found on: a
    conjoined, open or prepositional clause takes that of the nearest verb above it, a
    relative clause ('which', or none) the noun it modifies; "it" in a conjoined clause is
    the first clause's subject."""
    for _ in range(4):
        found = parse.kids(verb, *_SUBJECTS) or [
            # a verb the tokenizer split ("it was re - admitted") can leave the subject
            # on its auxiliary
            s for a in parse.kids(verb, "aux", "auxpass") for s in parse.kids(a, *_SUBJECTS)]
        if not found and parse.kids(verb, "expl"):
            found = parse.kids(verb, "attr")  # "there were concerns among Tajik officials"
        if found:
            # A title the tokenizer split ("the vice - president of ...") can leave the
            # verb two subjects; the word with the phrase hanging from it is the subject.
            subject = max(found, key=lambda i: (parse.word(i)[:1].isalnum(),
                                                len(parse.subtree(i)), -i))
            if parse.tokens[subject].pos in ("NOUN", "PROPN"):
                # A noun with a subject of its own is a broken parse of "Tajikistan
                # (glosses ...), officially ..., is a country ...": that one is the subject.
                subject = next(iter(parse.kids(subject, "nsubj")), subject)
            if parse.tokens[subject].tag in ("WDT", "WP") and parse.dep(verb) == "relcl":
                return parse.up(verb), verb
            if parse.tokens[subject].tag != "PRP":
                return subject, verb
            return _antecedent(parse, subject), verb
        elif parse.dep(verb) in ("relcl", "acl"):
            return parse.up(verb), verb
        elif parse.dep(verb) not in _INHERIT:
            return None, verb
        above = _verb_above(parse, verb)
        if above is None:
            return None, verb
        verb = above
    return None, verb


def _antecedent(parse: _Parse, pronoun: int) -> int | None:
    """'it' or 'they' as a subject stands for the nearest subject before it in the
    sentence ("Although Kenya is ..., it has ..."), 'he' or 'she' for the one person named
    before it, when a subject ("Luther wrote a German Mass, which he published in 1526");
    other pronouns stand for nobody here."""
    word = parse.word(pronoun).lower()
    before = [i for i in range(pronoun - 1, -1, -1)
              if parse.tokens[i].start >= parse.sentence_start]
    if word in _PERSONAL:
        people = [i for i in before if i in parse.people or i in parse.organisations]
        # with two people before it, "he" may be either ("Marie Curie worked with Pierre
        # Curie, and he died in 1906"; "lost to Nadal, who said he ..."; spaCy tags many
        # people ORG): nobody's
        return people[0] if len(people) == 1 and people[0] in parse.people \
            and parse.dep(people[0]) in _SUBJECTS else None
    if word in _IMPERSONAL:
        return next((i for i in before if parse.dep(i) in _SUBJECTS
                     and parse.tokens[i].pos in ("PROPN", "NOUN")), None)
    return None


def _verb_above(parse: _Parse, i: int) -> int | None:
    for _ in range(4):
        if parse.up(i) == i:
            return None
        i = parse.up(i)
        if parse.tokens[i].pos in ("VERB", "AUX"):
            return i
    return None


def _label_of(parse: _Parse, name: Entity, noun: int | None) -> bool:
    """Whether a name is only an adjective on the noun ("a British programme")."""
    h = parse.head_of(parse.span(name.start, name.end))
    return noun is not None and h is not None and parse.dep(h) == "amod" \
        and parse.up(h) == noun


def _named_agents(parse: _Parse, verb: int, name_heads: dict[int, Entity],
                  inside: set[int]) -> list[Entity]:
    """The names a passive verb's "by" phrase gives as its doers (with their conjuncts)."""
    return [name_heads[h] for a in parse.kids(verb, "agent") for o in parse.kids(a, "pobj")
            for h in _with_conjuncts(parse, o) if h in name_heads and h not in inside]


def _with_conjuncts(parse: _Parse, h: int) -> list[int]:
    out, todo = [], [h]
    while todo:
        j = todo.pop()
        out.append(j)
        todo.extend(parse.kids(j, "conj"))
    return out


def _owners(parse: _Parse, noun: int, name_heads: dict[int, Entity], inside: set[int],
            params: LinkParams, measure: Entity | None, origin: bool = False) -> list[Entity]:
    """Names that are the noun or own it: itself, its possessor, compound or demonym,
    its 'of'/'in' phrase, appositions and conjuncts -- never a clause hanging off it;
    with ``origin``, also the noun's own 'from' phrase (a subject's: "remittances from
    Tajik migrants totaled ...").
    For a noun a value ``measure``s, also where a participle puts it ('settlers living
    in Kenya'); a possessor then outranks the modifiers ('the country's GDP'), and a
    rank ('the first Central Asian country') is not its adjective's, nor one of a
    possessed thing its possessor's ('Warsaw's first stock exchange')."""
    found, seen = [], set()
    todo = [(noun, 0, False)]  # (token, depth, reached through "in"/"at")
    places = measure is not None and measure.label != "ORDINAL"
    skip: set[str] = set()
    ranked_thing = _possessed_rank(parse, noun, measure)
    if ranked_thing:
        skip = {"poss", "compound", "amod", "nmod"}  # the owner's; its apposition's still
    elif measure is not None and parse.kids(noun, "poss"):
        skip = {"compound", "amod", "nmod"}
    elif measure is not None and measure.label == "ORDINAL":
        # "the first Huguenot church", "the first NASA scientist astronaut": a rank of a
        # thing a name only labels is the thing's
        skip = {"amod", "compound", "nmod"} if parse.tokens[noun].pos == "NOUN" else {"amod"}
    if measure is not None and measure.label == "CARDINAL" \
            and parse.tokens[noun].tag in ("NNS", "NNPS"):
        # "four selective schools, Melbourne High School, ...", "two airports (Maya-Maya
        # Airport and Pointe Noire Airport)": the members a counted group lists do not
        # own its count
        skip = skip | {"appos"}
    while todo:
        i, depth, located = todo.pop()
        if i in seen or (i in inside and i != noun):
            continue
        seen.add(i)
        # "the tenge in Kazakhstan" is Kazakhstan's; "the team in the Super Bowl" is no
        # event's: "in" and "at" lead to places and organisations only.
        if i in name_heads and (not located or _place(name_heads[i])):
            found.append(name_heads[i])
        if depth >= params.max_modifier_depth:
            continue
        sibling = i != noun and parse.dep(i) == "conj" and i not in name_heads \
            and parse.tokens[i].pos == "NOUN"  # another thing, counted beside it
        if parse.tokens[i].tag in ("WDT", "WP") and parse.dep(i) == "pobj":
            # "a population of 7,349,145, of which 70% are ...": what "which" stands for
            todo.extend((a, depth, located) for a in _which(parse, i))  # it stands for it
        if parse.dep(i) in _SUBJECTS:  # "70% are under 30" with "of which" on the verb
            todo.extend((o, depth + 1, located) for p in parse.kids(parse.up(i), "prep")
                        if parse.word(p).lower() == "of" for o in parse.kids(p, "pobj")
                        if parse.tokens[o].tag in ("WDT", "WP"))
        if not (ranked_thing and i == noun):  # (whoever owns a ranked thing: not its rank)
            todo.extend((o, depth + 1, located) for o in _home_of(parse, i))
            if parse.dep(i) == "dobj" and parse.tokens[parse.up(i)].lemma.lower() in _HAVE:
                # "Tajikistan has a population of ...": the subject of "have" owns its object
                todo.extend((o, depth + 1, located)
                            for o in parse.kids(parse.up(i), *_SUBJECTS))
        for c in parse.children[i]:
            dep = parse.dep(c)
            word = parse.word(c).lower()
            if dep in _OWNERS and not (i == noun and dep in skip) \
                    and not (measure is not None and dep in ("compound", "amod", "nmod")
                             and _currency(parse, i)):
                # (not the country naming a currency: "trillions of U.S. dollars"; its
                # possessor still owns it: "Russia's 300 billion dollars")
                todo.append((c, depth + 1, located))
            elif dep == "prep" and word == "of" and (
                    parse.tokens[i].lemma.lower() in _KIN_NOUNS or (ranked_thing and i == noun)
                    or sibling):
                continue  # "Batu Khan, a grandson of Genghis Khan, launched ...": the
                # grandson's doing, not the grandfather's; "23 countries and the 50 states
                # of the US" counts no state of the US
            elif dep == "prep" and (word in _OWNER_PREPS or (
                    (places or (origin and i == noun)) and word in _ORIGIN_PREPS)):
                if word == "of" and parse.word(i).lower() in _DIRECTIONS:
                    continue  # "northeast of Wenchuan" is not Wenchuan's
                if i == noun and measure is not None and measure.label == "ORDINAL" \
                        and word == "to" and parse.tokens[noun].pos == "NOUN":
                    continue  # "the first reference to Warsaw" ranks references
                if i == noun and word in _PLACE_PREPS and measure is not None \
                        and (measure.label == "ORDINAL" or _ranked(parse, noun)):
                    continue  # a rank's place is what it ranks among: "the fourth
                    # largest state in the United States" is the state's rank, and "the
                    # top twenty universities in the United States" count universities
                todo.extend((o, depth + 1, word in _PLACE_PREPS)
                            for o in parse.kids(c, "pobj"))
            elif places and dep == "acl" and not (i == noun and parse.kids(noun, "poss")):
                # "its population living in Brazzaville" stays its own
                for prep in parse.kids(c, "prep"):
                    if parse.word(prep).lower() in _PLACE_PREPS:
                        todo.extend((o, depth + 1, True) for o in parse.kids(prep, "pobj"))
    return sorted(found, key=lambda n: n.start)


def _possessed_rank(parse: _Parse, noun: int, measure: Entity | None) -> bool:
    """An ordinal before a possessed noun ranks the thing, not its owner: "Warsaw's first
    stock exchange", "Florida's third largest seaport" (but a birthday's ordinal is an
    age: "Tesla's 75th birthday")."""
    owned = bool(parse.kids(noun, "poss")) or any(
        parse.word(p).lower() == "of" for p in parse.kids(noun, "prep"))
    return measure is not None and measure.label == "ORDINAL" and owned \
        and measure.end <= parse.tokens[noun].start \
        and parse.tokens[noun].lemma.lower() != "birthday"


def _ranked(parse: _Parse, noun: int) -> bool:
    """Whether a counted noun is a ranking's: "the top twenty universities", "11 worst
    governors" (its "in" phrase is then the ranking's scope; "the five largest cities in
    Sichuan" are still Sichuan's)."""
    return any(parse.word(c).lower() in _RANK_WORDS
               for c in parse.kids(noun, "amod", "compound", "nmod"))


def _currency(parse: _Parse, noun: int) -> bool:
    """Whether a noun is a currency ("dollars"), whose country modifier owns nothing."""
    return parse.tokens[noun].lemma.lower() in _CURRENCY_NOUNS


def _home_of(parse: _Parse, noun: int) -> list[int]:
    """The subjects of "X is home to <noun>" (through "a diverse array of <noun>"): X
    holds what it is home to."""
    for _ in range(3):
        prep = parse.up(noun)
        if parse.dep(noun) != "pobj" or prep == noun:
            return []
        word, above = parse.word(prep).lower(), parse.up(prep)
        if word == "to" and parse.tokens[above].lemma.lower() == "home" \
                and parse.dep(above) == "attr":
            return parse.kids(parse.up(above), *_SUBJECTS)
        if word != "of" or parse.tokens[above].pos != "NOUN":
            return []
        noun = above
    return []


def _phrase(parse: _Parse, head: int, params: LinkParams) -> tuple[int, int]:
    """The subject as written, without its relative clauses: 'the tenge in Kazakhstan';
    a bracket after the head ends it ("Tajikistan (pronunciations; Persian: ...)")."""
    keep, todo = set(), [(head, 0)]
    while todo:
        i, depth = todo.pop()
        keep.add(i)
        for c in parse.children[i]:
            if parse.dep(c) in ("det", "poss", "compound", "amod", "nmod", "case", "nummod",
                                "prep", "pobj", "conj", "cc", "appos") \
                    and depth < params.max_modifier_depth + 1:
                todo.append((c, depth + 1))
    lo = min(parse.tokens[i].start for i in keep)
    hi = max(parse.tokens[i].end for i in keep)
    bracket = parse.text.find("(", parse.tokens[head].end, hi)
    return lo, hi if bracket < 0 else lo + len(parse.text[lo:bracket].rstrip())


def _verb_relation(parse: _Parse, verb: int, value: Entity,
                   params: LinkParams) -> tuple[int, int]:
    """'has fallen by': auxiliaries, the verb and, when close, the words up to the value."""
    first = min([verb] + [a for a in parse.kids(verb, "aux", "auxpass", "neg")
                          if a < verb])
    start, end = parse.tokens[first].start, parse.tokens[verb].end
    particle = [p for p in parse.kids(verb, "prt") if p > verb]
    if particle:
        end = parse.tokens[particle[-1]].end
    if value.start >= end:
        between = [i for i, t in enumerate(parse.tokens) if end <= t.start and t.end <= value.start]
        gap = parse.text[end:value.start]
        while between and parse.tokens[between[-1]].pos in ("DET", "PRON", "ADJ", "NUM"):
            between.pop()  # "is the first ...": the relation is "is"
        if len(between) <= params.max_relation_tokens and not re.search(r"[,;:()\"]", gap):
            end = parse.tokens[between[-1]].end if between else end
    return start, end


def _noun_relation(parse: _Parse, value: Entity, noun: int,
                   name: Entity) -> tuple[int, int]:
    """'white settlers living in' for '80,000 white settlers living in Kenya'; the noun
    itself ('HDI of') when the value follows it."""
    t = parse.tokens[noun]
    if t.start >= value.end:
        end = name.start if name.start > t.end else t.end
        words = parse.text[value.end:end]
        if end - value.end <= 60 and not re.search(r"[,;:()]", words):
            return value.end + len(words) - len(words.lstrip()), value.end + len(words.rstrip())
        return t.start, t.end
    return t.start, value.start if value.start - t.end <= 4 else t.end


def _link(parse: _Parse, value: Entity, name: Entity, subject: tuple[int, int],
          relation: tuple[int, int]) -> ValueLink:
    lo, hi = relation
    text = parse.text[lo:hi]
    lo += len(text) - len(text.lstrip())
    hi -= len(text) - len(text.rstrip())
    return ValueLink(value, (name.start, name.end), subject, (lo, max(lo, hi)))


def _unique(links: list[ValueLink]) -> list[ValueLink]:
    seen, out = set(), []
    for link in links:
        key = (link.value.start, link.mention)
        if key not in seen:
            seen.add(key)
            out.append(link)
    return out
