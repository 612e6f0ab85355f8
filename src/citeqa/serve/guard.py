"""A check on untrusted request bodies that the JSON parser lacks."""

from __future__ import annotations

import re

# An unterminated string runs to the end: every match attempt then consumes the rest,
# which keeps the scan linear however the quotes and backslashes are arranged.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.?)*(?:"|\Z)', re.S)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


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

