"""Resolve spaCy's entity mentions into canonical entities, over the whole corpus.

The small model mislabels and the corpus misspells, so a span cut on a function word is
finished or trimmed ("State of" + "the Union", "Agra and"), a span never capitalised is
dropped, each mention's surface is cleaned ("the", possessives, glued captions like
"WTO.Mirziyoyev"), titles are peeled off into
roles ("Kazakh President Tokayev" -> Tokayev, President, Kazakhstan), demonyms are linked
to their places (table in ``lexicon.py``; also those the tagger missed: "Tajiks", the
"Tajik" of an untagged name), each surface gets the majority label of its
mentions, and spelling variants and short forms are merged:

- PERSON names merge at rapidfuzz ratio >= 85 (Mirziyoyev ~ Mirziyoev ~ Milziyoev) and a
  one-word name joins the single longer name ending with it (Kamilov -> Abdulaziz Kamilov),
  or, among relatives, the one each text writing it names first and far more often
  (Luther -> Martin Luther, not his father Hans Luther);
- other labels merge only at >= 95 (typos), never across places of the table
  (Kazakhstan ~ Kyrgyzstan is 60, Austria ~ Australia 87.5: both stay apart);
- a rarely seen ORG/NORP surface that matches a PERSON name joins it (spaCy's ORG/PERSON
  confusion: "Milziyoev's" tagged ORG);
- a short form does not join a full name when their ages or offices disagree (a father,
  "64-year-old former President Berdymukhamedov", is not his son "Serdar
  Berdymukhamedov"), and a name cut short ("Lin Fang") joins the one it begins;
- a PERSON that the parse never shows as a person -- never a subject, object or
  possessor, and never titled -- is not one: "his personal Twitter", "on the Moon",
  "the independence of Donbass";
- a role written without its place elsewhere is dropped when the same role is known with
  it ("President" beside "President (Kazakhstan)").
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from ..ingest.annotate import Annotation, Entity
from ..ingest.corpus import PassageStore
from ..lexicon import (
    ABBREVIATIONS,
    ADJECTIVE_TITLES,
    DEMONYMS,
    HONORIFICS,
    INSTITUTION_HEADS,
    ROLE_WORDS,
    TITLE_NOUNS,
    TITLE_PREFIXES,
    VALUE_LABELS,
)


@dataclass(frozen=True)
class ResolutionParams:
    """How alike two names must be to merge; ``version`` changes whenever a number does."""

    version: str = "resolution-12"
    person_similarity: float = 85.0
    other_similarity: float = 95.0
    min_fuzzy_chars: int = 5
    rare_mentions: int = 2  # an ORG/NORP surface seen this rarely may be a mis-tagged PERSON
    min_prefix_chars: int = 3  # "Lin Fang" joins "Lin Fangzheng" when the cut word is this long
    # A one-word name spaCy calls a person in at least this share of its mentions may be
    # one ("Odinga": 2 of 5); "Montana" (3 of 115) is the state, not "Joe Montana".
    min_person_share: float = 0.2
    # A surname shared by relatives ("Luther": Martin Luther 7 times, his father Hans
    # once) joins the full name written at least this many times as often as any other.
    surname_dominance: float = 3.0

_PLACES = {p.lower(): p for p in DEMONYMS.values()}
_DEMONYMS = {d.lower(): p for d, p in DEMONYMS.items()}
_DEMONYMS.update({d.lower() + "s": p for d, p in DEMONYMS.items()})  # "Russians"
DEMONYM_LABELS = frozenset({"NORP", "GPE", "ORG", "PERSON", "LOC"})
_TIE_ORDER = {"PERSON": 0, "GPE": 1, "LOC": 2, "ORG": 3, "FAC": 4, "NORP": 5}
_POSSESSIVE = re.compile(r"(?:'s|\u2019s|'|\u2019)$")
# A caption or abbreviation glued to the next name: "WTO.Mirziyoyev".
GLUED = re.compile(r"^[A-Z][A-Za-z]*\.(?=[A-Z][a-z]{2,})")
_QUOTES = "\"'\u201c\u201d\u2018\u2019()"
# Lower-case words a name cannot start with: a span that does was cut from a phrase.
_FUNCTION_WORDS = frozenset({"of", "and", "in", "by", "for", "to", "from", "with", "at", "on",
                             "a", "an"})
_AGE = re.compile(r"\b(\d{1,3})-year-old\b[^.,;]{0,60}$")
# A span ending in one of these was cut short ("State of", "Agra and"); after "of"/"the"
# the capitalised words that follow finish it ("the Republic of the" + "Congo").
_CUT_ENDS = _FUNCTION_WORDS | {"the"}
_CUT = re.compile(r"[\s,;:(]+$|(?<=\s)([a-z]+)$")
_FIRST_FINISHING = re.compile(r"\s+(?:the\s+)?([A-Z][\w'\u2019.-]*)")
_FINISHING = re.compile(r"\s+([A-Z][\w'\u2019.-]*)")
_MAX_FINISHING_WORDS = 2
_TITLE_WORDS = ROLE_WORDS | TITLE_NOUNS
# Person-like dependency roles: a name so used somewhere is a person's.
_PERSON_DEPS = frozenset({"nsubj", "nsubjpass", "poss", "dobj", "dative", "agent",
                          "appos"})


@dataclass(frozen=True, order=True)
class Mention:
    passage: int  # index into the passage list
    start: int
    end: int
    label: str  # spaCy's label for this mention


@dataclass(frozen=True)
class Role:
    role: str
    affiliation: str | None
    passage: int  # position in the passage store


@dataclass
class CanonicalEntity:
    id: str
    name: str
    label: str
    aliases: list[str]
    mentions: list[Mention]
    roles: list[Role] = field(default_factory=list)
    related: list[tuple[str, int]] = field(default_factory=list)  # (entity id, count)


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def clean_surface(text: str) -> str:
    """'the "Moscow Times's' -> 'Moscow Times'; 'WTO.Mirziyoyev' -> 'Mirziyoyev'."""
    text = " ".join(text.split()).strip(_QUOTES + " ")
    text = GLUED.sub("", text)
    text = re.sub(r"^(?:the|The|THE)\s+", "", text).strip(_QUOTES + " ")
    return _POSSESSIVE.sub("", text).strip(_QUOTES + " ")


def mend_span(text: str, ent: Entity, others: frozenset[int] = frozenset()) -> Entity | None:
    """A name span spaCy cut short, finished or trimmed; ``None`` when nothing is left or
    the words that would finish it are another span (``others``: their start offsets).

    "State of" + "the Union" -> "State of the Union"; "Agra and" -> "Agra";
    "Coypool (Plympton" -> "Coypool"; "The Brazzaville Conference of" + "1944" ->
    "The Brazzaville Conference". At most two capitalised words finish a name ("of North
    Carolina"), one after "the" ("of the Congo", not "of the Congo Health Minister"), and
    never a title word."""
    start, end = ent.start, ent.end
    if (bracket := text.rfind("(", start, end)) >= 0 and text.find(")", bracket, end) < 0:
        end = bracket
    while end > start:
        cut = _CUT.search(text, start, end)
        if cut is None or (cut.group(1) is not None and cut.group(1) not in _CUT_ENDS):
            break
        if cut.group(1) in ("of", "the"):
            finished, at, most = end, end, _MAX_FINISHING_WORDS
            for n in range(_MAX_FINISHING_WORDS):
                word = (_FIRST_FINISHING if n == 0 else _FINISHING).match(text, at)
                if n >= most or word is None \
                        or word.group(1).rstrip(".").lower() in _TITLE_WORDS:
                    break
                if n == 0 and (cut.group(1) == "the"
                               or word.group(0).lstrip().startswith("the")):
                    most = 1  # "of the Congo", not "of the Congo Health (Minister)"
                if word.start(1) in others:
                    if n == 0:
                        return None  # "the Democratic Republic of the" + "Congo" (tagged)
                    break
                at = finished = word.end()
                if text[at - 1] == "." and len(word.group(1)) > 4:
                    finished = at - 1  # the sentence's full stop, not an abbreviation's
            if finished > end:
                end = finished
                break
        end = cut.start()
    if end <= start:
        return None
    return ent if end == ent.end else Entity(text[start:end], ent.label, start, end)


def demonym_place(surface: str) -> str | None:
    """'Uzbek' / 'Uzbeks' -> 'Uzbekistan'; ``None`` when it is not a known demonym."""
    return _DEMONYMS.get(surface.lower())


def untagged_demonyms(annotation: Annotation, text: str) -> list[Entity]:
    """Demonyms the tagger left out, as NORP mentions: a plural it read as a common noun
    ("Tajiks began to be conscripted in 1939") or a word of a longer name it did not tag
    ("the Tajik Autonomous Soviet Socialist Republic was created in 1924")."""
    found = []
    for t in annotation.tokens:
        word = text[t.start:t.end]
        if word[:1].isupper() and t.pos in ("PROPN", "NOUN", "ADJ") and demonym_place(word) \
                and not any(e.start < t.end and t.start < e.end for e in annotation.entities):
            found.append(Entity(word, "NORP", t.start, t.end))
    return found


def peel_roles(words: list[str]) -> tuple[list[str], list[str], str | None]:
    """Split leading '[place/demonym] [role words]' off a name: (name, role, affiliation)."""
    affiliation, i = None, 0
    if words:
        first = _POSSESSIVE.sub("", words[0]).lower()
        if first in _DEMONYMS or (first in _PLACES and len(words) > 1):
            affiliation = _DEMONYMS.get(first) or _PLACES[first]
            i = 1
    j = i
    while j < len(words) - 1 and words[j].lower() in ROLE_WORDS:
        j += 1
    if j == i or words[j - 1].lower() not in TITLE_NOUNS:
        return words, [], None
    return words[j:], words[i:j], affiliation


# The title must end its phrase: "Norris, the chief financial correspondent" has none.
_AFTER = re.compile(r",\s+(?:(?:then|now|the|a|former)\s+)*((?:[A-Za-z-]+\s+){0,3}?[A-Za-z-]+)"
                    r"(?:\s+of\s+(?:the\s+)?((?:[A-Z][\w.\u2019'-]*\s?){1,3}"
                    r"(?:of\s+(?:the\s+)?(?:[A-Z][\w.\u2019'-]*\s?){1,2})?)"
                    r"|(?=\s*(?:[,.;:!?)\"\u201d\u2019]|$)))")


def _role_after(text: str, end: int) -> tuple[list[str], str | None]:
    """Title words written just after a name: Trump, 'then president of the United States'."""
    match = _AFTER.match(text, end, min(len(text), end + 120))
    if not match:
        return [], None
    words = match.group(1).split()
    if not words or not all(w.lower() in ROLE_WORDS for w in words) \
            or words[-1].lower() not in TITLE_NOUNS:
        return [], None
    place = (match.group(2) or "").strip()
    place = ABBREVIATIONS.get(place, place)
    return words, (_PLACES.get(place.lower()) or demonym_place(place) or place or None)


_THEN = re.compile(r"^(?:then|now|ex)-(?=[A-Z])")
# Words that alone, or only together, name nobody: "Fr", "Emeritus", "General".
_NOT_NAMES = HONORIFICS | ROLE_WORDS
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "its", "his", "her", "their",
                          "our"})


def _affiliation(word: str) -> str | None:
    """The country a word written before a title names ("Kazakh", "Russia's"), if any."""
    last = _POSSESSIVE.sub("", word).lower()
    return _DEMONYMS.get(last) or _PLACES.get(last)


def _role_before(text: str, start: int, sentence_start: int) -> tuple[list[str], str | None]:
    """Title words written just before a name: 'Uzbek Foreign Minister' Abdulaziz Kamilov.
    A title that starts with an adjective title takes the capitalised noun before it
    ("Attorney General", not "General"); "then-Vice President" is a Vice President."""
    words = [_THEN.sub("", w) for w in text[sentence_start:start].split()[-5:]]
    role: list[str] = []
    while words and words[-1].lower() in ROLE_WORDS:
        role.insert(0, words.pop())
    if not role or role[-1].lower() not in TITLE_NOUNS:
        return [], None
    if words and (words[-1].lower() in TITLE_PREFIXES  # "Vice President Lyndon B. Johnson"
                  or (role[0].lower() in ADJECTIVE_TITLES and words[-1].isalpha()
                      and words[-1][0].isupper() and words[-1].lower() not in _DETERMINERS
                      and not _affiliation(words[-1]))):
        role.insert(0, words.pop())
    affiliation = None
    if words:
        affiliation = _affiliation(words[-1])
        if affiliation and len(words) > 1 and words[-2].lower() == "former":
            role.insert(0, words[-2])  # "former Turkish President Berdymukhamedov"
    return role, affiliation


def _majority(votes: Counter) -> str:
    """The most voted label; ties go to the more specific label (PERSON over ORG)."""
    return min(votes, key=lambda lab: (-votes[lab], _TIE_ORDER.get(lab, 99), lab))


class _UnionFind:
    def __init__(self, items) -> None:
        self.parent = {x: x for x in items}

    def find(self, x):
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def resolve(store: PassageStore,
            params: ResolutionParams | None = None) -> list[CanonicalEntity]:
    """Canonical entities of a corpus, in a stable order (most mentioned first)."""
    params = params or ResolutionParams()
    surfaces: dict[str, list[Mention]] = defaultdict(list)
    votes: dict[str, Counter] = defaultdict(Counter)
    roles: dict[str, list[Role]] = defaultdict(list)
    forms: dict[str, Counter] = defaultdict(Counter)  # other written forms: "Uzbek", "US"
    ages: dict[str, set[str]] = defaultdict(set)  # "40-year-old Kalldahl Berdymukhamedov"
    persons: set[str] = set()  # surfaces some sentence's parse shows as a person
    named = _places_named(store)
    for i, (passage, annotation) in enumerate(zip(store.passages, store.annotations,
                                                  strict=True)):
        text = store.text_of(i)
        starts = [s for s, _ in annotation.sentences]
        determined: set[int] = set()  # tokens with a determiner or "his": filled on demand
        spans = annotation.entities + untagged_demonyms(annotation, text)
        starts_of_spans = frozenset(e.start for e in spans)  # (none starts inside another)
        for found in spans:
            if found.label in VALUE_LABELS \
                    or (ent := mend_span(text, found, starts_of_spans)) is None:
                continue
            words = clean_surface(ent.text).split()
            if not words or all(w.lower().rstrip(".") in _NOT_NAMES for w in words):
                continue  # "Fr", "Emeritus": a form of address or a title, no one's name
            label = ent.label
            name, role, affiliation = words, [], None
            # titles only ever precede people's names, and a span cut from a phrase ("of
            # Portugal") names nobody's title
            titled = label in ("PERSON", "ORG") and words[0] not in _FUNCTION_WORDS
            if titled:
                name, role, affiliation = peel_roles(words)
                if name[0] in _FUNCTION_WORDS:
                    continue  # "King of Portugal": an office, not a person's name
                if label == "ORG" and role and (
                        _POSSESSIVE.sub("", name[-1]).lower() in INSTITUTION_HEADS
                        or (affiliation is None
                            and {w.lower() for w in role} <= ADJECTIVE_TITLES)):
                    # "General Electric" is a company, "King George's War" a war (spaCy
                    # tags a surname such as "Senator Frank Church" PERSON)
                    name, role, affiliation = words, [], None
            if not role and titled:
                k = bisect.bisect_right(starts, ent.start) - 1
                if label == "PERSON":
                    role, affiliation = _role_before(text, ent.start,
                                                     starts[k] if k >= 0 else passage.start)
                if not role and len(name) <= 3:  # "Trump, then president of ..." (ORG-tagged)
                    role, affiliation = _role_after(text, ent.end)
            if role:
                label = "PERSON"
            surface = " ".join(name)
            if not surface or not any(c.isalpha() for c in surface) \
                    or surface.islower():
                # (a name is written with a capital somewhere: "the national security
                # department", "bush" are descriptions and words)
                continue
            written = surface
            # "English" the LANGUAGE is not England; only national labels are demonyms.
            place = demonym_place(surface) if label in DEMONYM_LABELS else None
            if place and place not in named[passage.doc_id]:
                place, label = None, "NORP"  # "Indians" in a text never naming India
            if place:  # "Uzbek" is a mention of Uzbekistan
                surface, label = place, "GPE"
            elif surface.lower() in _PLACES:
                surface = _PLACES[surface.lower()]
                label = "GPE" if label in ("NORP", "ORG", "PERSON", "GPE") else label
            surface = ABBREVIATIONS.get(surface, surface)
            if written != surface:
                forms[surface][written] += 1
            surfaces[surface].append(Mention(i, ent.start, ent.end, label))
            votes[surface][label] += 2 if role else 1  # a title is strong evidence
            k = bisect.bisect_right(starts, ent.start) - 1
            before = text[starts[k] if k >= 0 else passage.start:ent.start]
            if (age := _AGE.search(before)) is not None:
                ages[surface].add(age.group(1))
            if role or (label == "PERSON" and " " not in surface
                         and _person_syntax(annotation, ent.start, ent.end, determined)):
                persons.add(surface)
            if role:
                roles[surface].append(Role(" ".join(w.capitalize() if w.islower() else w
                                                    for w in role), affiliation, i))
    label_of = {s: _majority(v) for s, v in votes.items()}
    known_places = set(_PLACES.values())
    for surface, label in label_of.items():
        if label == "PERSON" and surface not in persons and " " not in surface:
            label_of[surface] = _not_a_person(store, surfaces[surface], votes[surface])
        elif roles.get(surface) and surface not in known_places:
            label_of[surface] = "PERSON"  # "President Kibaki", whatever spaCy said
    docs = {name: {store.passages[m.passage].doc_id for m in found}
            for name, found in surfaces.items()}
    clusters = _cluster(surfaces, label_of, params, roles, ages, votes, docs,
                        [p.doc_id for p in store.passages])
    return _canonical(clusters, surfaces, label_of, roles, forms, store)


def _places_named(store: PassageStore) -> dict[str, set[str]]:
    """The countries each document names as places ("Uzbekistan", "the U.S."), not only
    through a nationality word: a demonym stands for its country only in a text that names
    it. "French and Indian War" names no India, and its "Indians" are Native Americans."""
    named: dict[str, set[str]] = defaultdict(set)
    for passage, annotation in zip(store.passages, store.annotations, strict=True):
        for ent in annotation.entities:
            surface = clean_surface(ent.text)
            if demonym_place(surface):
                continue  # "Tajik" names no place; "Tajikistan" does, however tagged
            place = _PLACES.get(surface.lower()) or ABBREVIATIONS.get(surface)
            if place or ent.label in ("GPE", "LOC"):
                named[passage.doc_id].add(place or surface)
    return named


def _cluster(surfaces: dict[str, list[Mention]], label_of: dict[str, str],
             params: ResolutionParams, roles: dict[str, list[Role]],
             ages: dict[str, set[str]], votes: dict[str, Counter],
             docs: dict[str, set[str]], doc_of: list[str]) -> list[list[str]]:
    names = sorted(surfaces)
    uf = _UnionFind(names)
    by_key: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_key[name.lower()].append(name)
    for same in by_key.values():  # case variants: "ruslan" / "Ruslan"
        for other in same[1:]:
            uf.union(same[0], other)
    known_places = set(_PLACES.values())
    # Variants share their first two letters (Mirziyoyev/Milziyoev): compare within blocks.
    blocks: dict[str, list[str]] = defaultdict(list)
    for name in names:
        if len(name) >= params.min_fuzzy_chars:
            blocks[name[:2].lower()].append(name)
    for block in blocks.values():
        lowered = [n.lower() for n in block]
        for i, a in enumerate(block):
            for _, score, j in process.extract(lowered[i], lowered[i + 1:], scorer=fuzz.ratio,
                                               score_cutoff=params.person_similarity,
                                               limit=None):
                _maybe_merge(uf, surfaces, label_of, known_places, a, block[i + 1 + j], score,
                             params)
    # Short forms: a one-word PERSON (or a name spaCy often calls a person, or a rarely
    # seen ORG/NORP: its confusions) joins the only longer PERSON name that ends with it,
    # written in a document it is written in (a text calls a person by the surname after
    # naming them in full: the Normans' "Norman" is not the footballer Josh Norman).
    endings: dict[str, list[str]] = defaultdict(list)
    for n in names:
        if label_of[n] == "PERSON" and " " in n:
            endings[n.split()[-1].lower()].append(n)
    known_places = set(_PLACES.values())
    for name in names:
        if " " not in name and name not in known_places and (
                label_of[name] == "PERSON"
                or votes[name]["PERSON"] >= params.min_person_share * votes[name].total()
                or (label_of[name] in ("ORG", "NORP")
                    and len(surfaces[name]) <= params.rare_mentions)):
            full = [n for n in endings.get(name.lower(), []) if docs[n] & docs[name]]
            owner = _dominant(name, {n: uf.find(n) for n in full}, surfaces, docs, doc_of,
                              roles, params.surname_dominance) if full else None
            if owner and all(_compatible(name, n, roles, ages)
                             for n in full if uf.find(n) == owner):
                uf.union(name, owner)
                label_of[name] = "PERSON"  # "Odinga", once tagged GPE, is Raila Odinga
    # A name cut short: "Lin Fang" is the beginning of "Lin Fangzheng".
    people = sorted((n for n in names if label_of[n] == "PERSON" and " " in n), key=len)
    for i, short in enumerate(people):
        head, _, last = short.rpartition(" ")
        longer = [n for n in people[i + 1:] if n.startswith(short) and n != short
                  and n.rpartition(" ")[0] == head and len(last) >= params.min_prefix_chars]
        if len({uf.find(n) for n in longer}) == 1:
            uf.union(short, longer[0])
    groups: dict[str, list[str]] = defaultdict(list)
    for name in names:
        groups[uf.find(name)].append(name)
    return list(groups.values())


def _dominant(short: str, owner_of: dict[str, str], surfaces: dict[str, list[Mention]],
              docs: dict[str, set[str]], doc_of: list[str], roles: dict[str, list[Role]],
              dominance: float) -> str | None:
    """The one person the full names belong to; or, for an untitled short form, the person
    each document writing it with full names names first and at least ``dominance`` times
    as often as any other -- a biography names its subject first and most, a relative
    once ("Luther": Martin Luther 7 times, his father Hans Luther once) -- when those
    documents agree ("Johnson" is Boris in one text and Lyndon in another: nobody)."""
    if len(set(owner_of.values())) == 1:
        return next(iter(owner_of.values()))
    if roles.get(short):
        return None  # "President Kennedy": the title says which, not the counts
    chosen = set()
    for doc in docs[short]:
        written: Counter = Counter()
        first: dict[str, tuple[int, int]] = {}
        for name, owner in owner_of.items():
            for m in surfaces[name]:
                if doc_of[m.passage] == doc:
                    written[owner] += 1
                    first[owner] = min(first.get(owner, (m.passage, m.start)),
                                       (m.passage, m.start))
        if not written:
            continue
        ranked = written.most_common(2)
        top = ranked[0][0]
        if (len(ranked) > 1 and ranked[0][1] < dominance * ranked[1][1]) \
                or first[top] != min(first.values()):
            return None
        chosen.add(top)
    return chosen.pop() if len(chosen) == 1 else None


def _compatible(short: str, full: str, roles: dict[str, list[Role]],
                ages: dict[str, set[str]]) -> bool:
    """Whether a short form may be the full name's person: not when both state an age
    and the ages differ, nor when one holds an office as former and the other as current."""
    if ages.get(short) and ages.get(full) and not ages[short] & ages[full]:
        return False
    offices = {}
    for name in (short, full):
        offices[name] = {(r.role.lower().removeprefix("former ").strip(),
                          r.role.lower().startswith("former")) for r in roles.get(name, [])}
    return not any((title, not former) in offices[full] for title, former in offices[short])


def _person_syntax(annotation, start: int, end: int, determined: set[int]) -> bool:
    """Whether a mention is used as a person is: a subject, object or possessor, without
    a determiner or possessive pronoun of its own ("his Twitter", "the Moon").
    ``determined`` caches the passage's determined tokens (empty until first asked)."""
    tokens = annotation.tokens
    if not tokens:
        return True  # no parse stored: no evidence against spaCy's label
    if not determined:
        determined.update(t.head for t in tokens if t.tag in ("DT", "PRP$"))
        determined.add(-1)  # marks the cache as filled
    lo = bisect.bisect_left(tokens, start, key=lambda t: t.start)
    hi = bisect.bisect_left(tokens, end, key=lambda t: t.start)
    inside = range(lo, hi)
    head = next((i for i in inside if tokens[i].head not in inside or tokens[i].head == i),
                None)
    if head is None:
        return True
    return head not in determined and tokens[head].dep in _PERSON_DEPS


def _not_a_person(store: PassageStore, mentions: list[Mention], votes: Counter) -> str:
    """The label of a name spaCy called PERSON that no sentence uses as one: its next most
    voted label, else an organisation when something is 'his' or 'her' ("his personal
    Twitter"), else a place ("in Majilis", "of Donbass", "on the Moon")."""
    others = Counter({k: v for k, v in votes.items() if k != "PERSON"})
    if others:
        return _majority(others)
    for m in mentions:
        tokens = store.annotation(m.passage).tokens
        heads = [i for i, t in enumerate(tokens) if m.start <= t.start < m.end]
        if any(t.head in heads and t.tag == "PRP$" for t in tokens):
            return "ORG"
    return "LOC"


def _maybe_merge(uf: _UnionFind, surfaces, label_of, known_places, a: str, b: str,
                 score: float, params: ResolutionParams) -> None:
    if a in known_places and b in known_places:
        return
    la, lb = label_of[a], label_of[b]
    if la == lb == "PERSON" or (la == lb and score >= params.other_similarity):
        uf.union(a, b)
    elif "PERSON" in (la, lb) and {la, lb} <= {"PERSON", "ORG", "NORP"}:
        rare = a if la != "PERSON" else b
        if len(surfaces[rare]) <= params.rare_mentions:
            uf.union(a, b)


def _canonical(clusters, surfaces, label_of, roles, forms, store: PassageStore):
    entities = []
    for names in clusters:
        mentions = sorted(m for n in names for m in surfaces[n])
        count = Counter({n: len(surfaces[n]) for n in names})
        label_votes = Counter()
        for n in names:
            label_votes[label_of[n]] += len(surfaces[n])
        label = _majority(label_votes)
        # The fullest frequent form names the entity: "Abdulaziz Kamilov" over "Kamilov".
        name = max(names, key=lambda n: (len(n.split()) if label == "PERSON" else 0,
                                         count[n], -len(n), n))
        seen_roles, entity_roles = set(), []
        for n in names:
            for role in roles.get(n, []):
                if (role.role, role.affiliation) not in seen_roles:
                    seen_roles.add((role.role, role.affiliation))
                    entity_roles.append(role)
        placed = {r.role for r in entity_roles if r.affiliation}
        entity_roles = [r for r in entity_roles if r.affiliation or r.role not in placed]
        entities.append(CanonicalEntity(
            id=f"{label.lower()}-{slug(name)}", name=name, label=label,
            aliases=sorted(names, key=lambda n: (-count[n], n)) + sorted(
                {f for n in names for f in forms.get(n, ())} - set(names)),
            mentions=mentions,
            roles=entity_roles))
    entities.sort(key=lambda e: (-len(e.mentions), e.id))
    _unique_ids(entities)
    _relate(entities, store)
    return entities


def _unique_ids(entities: list[CanonicalEntity]) -> None:
    seen: Counter = Counter()
    for entity in entities:
        seen[entity.id] += 1
        if seen[entity.id] > 1:
            entity.id = f"{entity.id}-{seen[entity.id]}"


def _relate(entities, store: PassageStore) -> None:
    """Entities mentioned in the same sentence, most frequent first."""
    sentence_members: dict[tuple[int, int], set[str]] = defaultdict(set)
    for entity in entities:
        for m in entity.mentions:
            for s, e in store.annotation(m.passage).sentences:
                if s <= m.start < e:
                    sentence_members[(m.passage, s)].add(entity.id)
                    break
    pairs: dict[str, Counter] = defaultdict(Counter)
    for members in sentence_members.values():
        for a in members:
            for b in members:
                if a != b:
                    pairs[a][b] += 1
    for entity in entities:
        entity.related = sorted(pairs[entity.id].items(), key=lambda x: (-x[1], x[0]))[:10]
