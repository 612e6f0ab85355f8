"""The one analyzer BM25 sees, for passages and questions alike.

Lower-case, accents folded, spaCy's English stop words removed, Snowball stems
(stemming measured better than surface forms on the dev and SQuAD-train questions; see
BENCHMARKS.md). It is deliberately cheap and spaCy-model-free: it runs on every question.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import snowballstemmer
from spacy.lang.en.stop_words import STOP_WORDS

from ..lexicon import COUNTRY_TOKENS

# "U.S." is one token.
_TOKEN = re.compile(r"U\.S\.(?:A\.)?|[^\W_]+")
_STOP = frozenset(w.replace("\u2019", "'") for w in STOP_WORDS)


@functools.lru_cache(maxsize=200_000)
def _fold(token: str) -> str:
    if token.isascii():
        return token
    return "".join(c for c in unicodedata.normalize("NFKD", token)
                   if not unicodedata.combining(c))


@dataclass(frozen=True)
class Analyzer:
    stem: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "_stem_word", snowballstemmer.stemmer("english").stemWord)
        # indexing and answering ask for the terms of the same words again and again
        object.__setattr__(self, "_cached_term", functools.lru_cache(maxsize=200_000)(
            self._term))

    def term(self, word: str) -> str | None:
        """The index term of one word, or ``None`` for a stop word."""
        return self._cached_term(word)

    def _term(self, word: str) -> str | None:
        if word in COUNTRY_TOKENS:
            return COUNTRY_TOKENS[word]
        token = _fold(word.lower())
        if token in _STOP or (len(token) == 1 and not token.isdigit()):
            return None
        return self._stem_word(token) if self.stem else token

    def terms(self, text: str) -> list[str]:
        return [t for t in map(self.term, _TOKEN.findall(text)) if t is not None]

    def spans(self, text: str, offset: int = 0) -> list[tuple[int, int, str | None]]:
        """Every word's (start, end, term) with ``offset`` added; stop words get ``None``."""
        return [(offset + m.start(), offset + m.end(), self.term(m.group()))
                for m in _TOKEN.finditer(text)]

    def settings(self) -> dict[str, object]:
        return {"stem": "snowball-english" if self.stem else None, "stopwords": "spacy-en",
                "lowercase": True, "fold_accents": True}

    @classmethod
    def from_settings(cls, settings: dict[str, object]) -> Analyzer:
        return cls(stem=bool(settings.get("stem")))
