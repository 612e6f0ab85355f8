"""Every English word list citeqa uses, in one place: extend a row here, not in a stage.

Stages import what they need; nothing here depends on spaCy or on any other module. The
tables are small and explicit on purpose: add a word when a corpus needs one.
"""

from __future__ import annotations

# --- Entity labels -------------------------------------------------------------------
# spaCy labels that measure or count rather than name something.
VALUE_LABELS = frozenset({"DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL",
                          "CARDINAL"})
# Labels of things with names, and of places.
NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})
# spaCy's small model confuses these; a near-miss label still counts, for less.
LABEL_CONFUSIONS: dict[str, frozenset[str]] = {
    "PERSON": frozenset({"ORG", "NORP"}), "GPE": frozenset({"ORG", "NORP", "LOC", "PERSON"}),
    "LOC": frozenset({"GPE", "FAC", "ORG"}), "ORG": frozenset({"GPE", "NORP", "PERSON", "FAC"}),
    "DATE": frozenset({"TIME", "CARDINAL"}), "TIME": frozenset({"DATE"}),
    "CARDINAL": frozenset({"QUANTITY", "MONEY"}), "QUANTITY": frozenset({"CARDINAL"}),
    "MONEY": frozenset({"CARDINAL", "QUANTITY"}), "PERCENT": frozenset({"CARDINAL"}),
}
# What each answer or entity label means to a reader (the page shows these).
LABEL_NAMES: dict[str, str] = {
    "PERSON": "person", "NORP": "nationality or group", "FAC": "facility",
    "ORG": "organisation", "GPE": "country, city or state", "LOC": "location",
    "PRODUCT": "product", "EVENT": "event", "WORK_OF_ART": "work of art", "LAW": "law",
    "LANGUAGE": "language", "DATE": "date", "TIME": "time", "PERCENT": "percentage",
    "MONEY": "money", "QUANTITY": "quantity", "ORDINAL": "ordinal", "CARDINAL": "number",
    "NOUN_PHRASE": "phrase", "SENTENCE": "sentence", "CLAUSE": "clause", "NAME": "name",
    "SPAN": "words from the text",
}

# --- Places: demonyms and abbreviations ---------------------------------------------
# News text names countries through their adjectives ("the Kyrgyz som", "Uzbek Foreign
# Minister"), so questions and passages must meet across the two forms. Keys and values
# are surface forms; callers analyze them with their own analyzer.
DEMONYMS: dict[str, str] = {
    # Central Asia and neighbours
    "Kazakh": "Kazakhstan", "Kazakhstani": "Kazakhstan",
    "Kyrgyz": "Kyrgyzstan", "Kirghiz": "Kyrgyzstan",
    "Uzbek": "Uzbekistan", "Uzbekistani": "Uzbekistan",
    "Tajik": "Tajikistan", "Tajikistani": "Tajikistan",
    "Turkmen": "Turkmenistan", "Turkmenistani": "Turkmenistan",
    "Afghan": "Afghanistan", "Mongolian": "Mongolia",
    "Russian": "Russia", "Ukrainian": "Ukraine", "Belarusian": "Belarus",
    "Georgian": "Georgia", "Armenian": "Armenia", "Azerbaijani": "Azerbaijan",
    "Moldovan": "Moldova", "Soviet": "Soviet Union",
    # Other countries frequent in international news
    "American": "United States", "Chinese": "China", "Japanese": "Japan",
    "Korean": "Korea", "South Korean": "South Korea", "North Korean": "North Korea",
    "Indian": "India", "Pakistani": "Pakistan", "Iranian": "Iran", "Turkish": "Turkey",
    "Israeli": "Israel", "Palestinian": "Palestine", "Syrian": "Syria", "Iraqi": "Iraq",
    "Saudi": "Saudi Arabia", "Egyptian": "Egypt", "British": "United Kingdom",
    "English": "England", "Scottish": "Scotland", "Irish": "Ireland", "French": "France",
    "German": "Germany", "Italian": "Italy", "Spanish": "Spain", "Portuguese": "Portugal",
    "Dutch": "Netherlands", "Belgian": "Belgium", "Swiss": "Switzerland",
    "Austrian": "Austria", "Polish": "Poland", "Czech": "Czech Republic",
    "Hungarian": "Hungary", "Romanian": "Romania", "Bulgarian": "Bulgaria",
    "Greek": "Greece", "Swedish": "Sweden", "Norwegian": "Norway", "Danish": "Denmark",
    "Finnish": "Finland", "Canadian": "Canada", "Mexican": "Mexico",
    "Brazilian": "Brazil", "Argentine": "Argentina", "Australian": "Australia",
    "Nigerian": "Nigeria", "Kenyan": "Kenya", "South African": "South Africa",
    "European": "Europe", "Asian": "Asia", "African": "Africa",
    "Central Asian": "Central Asia",
}

# Short names written for a place or body: one entity, whichever form a document uses.
ABBREVIATIONS: dict[str, str] = {
    "US": "United States", "U.S.": "United States", "USA": "United States",
    "U.S.A.": "United States", "America": "United States", "UK": "United Kingdom",
    "U.K.": "United Kingdom", "Britain": "United Kingdom", "Great Britain": "United Kingdom",
    "EU": "European Union", "UN": "United Nations", "USSR": "Soviet Union",
    "PRC": "China", "ROK": "South Korea", "DPRK": "North Korea", "UAE": "United Arab Emirates",
}

# Written in capitals, US/U.S./USA is the country, not the pronoun "us" (a BM25 term).
COUNTRY_TOKENS: dict[str, str] = {"US": "usa", "U.S.": "usa", "USA": "usa", "U.S.A.": "usa"}

# --- Titles and roles -----------------------------------------------------------------
_ROLE_TEXT = """president vice-president minister foreign defense defence prime deputy first
secretary mayor governor ambassador chairman chairwoman director spokesman spokesperson leader
king queen chancellor senator commander chief general economy finance interior affairs envoy
premier speaker ceo former acting supreme"""
# Words that may make up a title ("First Deputy Foreign Minister").
ROLE_WORDS = frozenset(_ROLE_TEXT.split())
# Title words that are ordinary adjectives on an organisation's name ("General Electric").
ADJECTIVE_TITLES = frozenset({"general", "chief"})
# Words that extend the title after them ("Vice President").
TITLE_PREFIXES = frozenset({"vice"})
# A title ends in one of these ("Foreign Minister"); "Foreign" or "First" alone is none.
_TITLE_TEXT = """president vice-president minister secretary mayor governor ambassador chairman
chairwoman director spokesman spokesperson leader king queen chancellor senator commander chief
general envoy premier speaker ceo"""
TITLE_NOUNS = frozenset(_TITLE_TEXT.split())
# Nouns that end the name of an institution, an event or a work, never a person's: a
# title word opening such a name is part of it ("Premier League", "King George's War",
# "King James Bible", "Queen Margaret College").
_NAME_HEAD_TEXT = """league war wars bible college university school academy institute
church cathedral hospital cup prize award trophy football club company corporation bank
party council committee court act treaty bridge street road avenue station airport hotel
museum library stadium theatre theater festival"""
INSTITUTION_HEADS = frozenset(_NAME_HEAD_TEXT.split())
# Forms of address and title qualifiers spaCy sometimes tags as a whole name ("Fr." of
# "Fr. Matthew Walsh", "Emeritus" of "President Emeritus"): alone they name nobody.
HONORIFICS = frozenset({"mr", "mrs", "ms", "dr", "fr", "rev", "sr", "jr", "st", "sir",
                        "emeritus"})

# --- Questions ------------------------------------------------------------------------
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
# "How many/much/long ...?" -> expected labels.
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
WH_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how"})
# "By how much did X fall?" asks for a relative change first.
CHANGE_WORDS = frozenset({"fall", "rise", "drop", "increase", "decrease", "grow", "decline",
                          "shrink", "depreciate", "appreciate", "gain", "climb", "plunge",
                          "jump", "slump"})
SAY_VERBS = frozenset({"say", "tell", "state", "claim", "announce", "warn", "stress",
                       "emphasize", "argue", "report", "explain", "think", "believe",
                       "describe"})
# "What is X called?", "What is the name of X?": the answer is a name of any kind.
NAMING_VERBS = frozenset({"call", "name", "entitle", "title", "dub", "nickname"})
# "What did X lower the forecast to?" asks for the new value.
VALUE_PREPOSITIONS = frozenset({"to", "by", "from"})
URGING = frozenset({"on", "upon", "for"})  # "call on X to ...", "call for ..." urge; not name
NAME_TYPES = ("PERSON", "ORG", "GPE", "LOC", "FAC", "WORK_OF_ART", "EVENT", "LAW",
              "PRODUCT", "NORP", "LANGUAGE")

# --- Answers --------------------------------------------------------------------------
# Attributes the answer itself expresses; any other ("population") must be stated near it.
GENERIC_HEADS = frozenset({"year", "date", "day", "month", "time", "number", "amount", "name",
                           "kind", "type", "one", "thing", "part", "percentage", "percent",
                           "value", "figure", "total", "sum", "title"})
# Words a candidate phrase sheds at its start ("the", "its", "so-called").
LEADING_WORDS = ("the", "a", "an", "its", "their", "his", "her", "this", "that", "these",
                 "those", "our", "so-called")
# A comma before one of these starts a new clause ("..., while ...").
SUBORDINATORS = ("while", "whereas", "but", "although", "though", "because", "since", "as",
                 "which", "who", "when", "where", "after", "before", "so", "yet", "and then",
                 "thus", "hence")
# An introductory adjunct ends at its comma ("In addition to X, ...").
INTRODUCERS = ("In addition to", "According to", "Apart from", "After", "Before", "Since",
               "While", "Although", "Because", "In", "On", "At", "During", "Despite", "For")
