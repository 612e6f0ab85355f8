"""Checks on untrusted requests that the JSON parser and WSGI server lack."""

from __future__ import annotations

import re

import regex
from werkzeug.sansio.utils import host_is_trusted

from ..ingest.documents import invalid_unicode

# An unterminated string runs to the end: every match attempt then consumes the rest,
# which keeps the scan linear however the quotes and backslashes are arranged.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.?)*(?:"|\Z)', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
# What spaCy will make a token of, roughly: a run of word characters (with their combining
# marks), or any other character a reader sees as one (each emoji, flags and ZWJ sequences
# included, and each punctuation mark).
_TOKEN = regex.compile(r"[\w\p{M}]+|(?!\s)\X")


def json_depth(raw: bytes) -> int:
    """How deeply ``raw`` JSON nests arrays and objects, without parsing it.

    Python's parser recurses once per level and fails with ``RecursionError`` near a
    thousand, so depth is checked on the bytes before parsing; strings are cut out first
    so brackets inside them do not count."""
    depth = deepest = 0
    for bracket in _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b'""', raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest



def host_allowed(host: str, allowed: str) -> bool:
    """Whether the request's ``Host`` (port ignored) is one of ``allowed`` (a comma-separated
    setting). Any other Host would be echoed in redirects and absolute URLs, which lets a
    hostile page poison caches or links with a name this server does not own."""
    names = [name.strip().lower() for name in allowed.split(",") if name.strip()]
    if "*" in names:
        return True
    if host.startswith("["):  # an IPv6 literal, "[::1]:8000"
        return host[1:host.find("]")].lower() in names
    return host_is_trusted(host, names)


class BadQuestion(ValueError):
    """A question refused before any work: ``code`` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def checked_question(question: str, max_chars: int, max_tokens: int) -> str:
    """``question`` with its white space normalised, or ``BadQuestion``: the same limits
    for the API and the command line."""
    if why := invalid_unicode(question):
        raise BadQuestion("invalid_parameter", f"'question' is not valid Unicode text: {why}")
    question = " ".join(question.split())
    if not question:
        raise BadQuestion("empty_question", "the question is empty")
    if len(question) > max_chars:
        raise BadQuestion("question_too_long",
                          f"the question is longer than {max_chars} characters")
    if question_tokens(question) > max_tokens:
        raise BadQuestion("question_too_long",
                          f"the question has more than {max_tokens} words and symbols")
    return question


def question_tokens(text: str) -> int:
    """About how many tokens spaCy will make of ``text``. Answering costs roughly 0.3 ms
    a token on this machine, whatever the characters: 1,000 emoji in 1,000 characters
    cost ten normal questions, so the cap on a question is on tokens as well as length."""
    return sum(1 for _ in _TOKEN.finditer(text))
