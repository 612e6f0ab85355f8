"""A learned linker beside the rules: a logistic regression over parse features scores
every (named mention, value) pair of a sentence, so that values the hand-written rules
(``links.py``) miss on new text -- a passive subject's date, the main subject dated by a
fronted date, census shares, values in lists -- still reach the entity's sheet.

The rules were grown on a few articles and are precise there, but each new article brings
sentence shapes they do not know. A linear model over the dependency path between the
mention and the value (hashed), the verb the value hangs from, whether the mention is that
verb's subject, whether another name sits closer to the value, and whether the rules link
the pair generalises from the same judged tuning sentences without one rule per shape.
It is fitted by ``train/linker.py`` on the tuning part of ``bench/facts/judged.jsonl``
only; its weights ship as ``models/linker.json.gz`` (plain JSON, read without
scikit-learn). A value is linked when the rules link it or the model scores the pair at or
above the threshold chosen by cross-validation over the tuning documents.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import gzip
import hashlib
import importlib.metadata
import json
import math
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..ingest.annotate import Annotation, Entity
from .links import (
    LinkParams,
    PassageLinks,
    ValueLink,
    _in_brackets,
    _link,
    _Parse,
    _phrase,
    _subject,
    _verb_relation,
    read_links,
)

MODELS = Path(__file__).resolve().parent / "models"
FORMAT = "linker-weights-1"
# The named (unhashed) features, in the order of the model file's ``dense`` weights.
DENSE_FEATURES = (
    "rule",  # the rules link this pair
    "rule_other",  # the rules link the value to another name
    "path_len", "up_len", "down_len",  # dependency path from the mention to the value
    "subject", "passive_subject",  # the mention is (inside) the value's clause's subject
    "main_subject",  # ... or the subject of the sentence's main verb
    "closer_same", "closer_other",  # another name (same label / any) is nearer the value
    "value_bracketed", "mention_bracketed",
    "in_other_phrase",  # the value hangs in another name's phrase below its verb
    "value_before_verb",  # a fronted value, before the sentence's main verb
    "value_before_mention", "distance", "value_position",
    "names", "same_label", "values", "first_name",
    "salience", "topic",  # share of the passage's names that are this one; the commonest
)


@dataclass(frozen=True)
class FeatureParams:
    """How pairs are described; fixed by the model file, since weights depend on them."""

    hash_bits: int = 14
    max_path: int = 4  # dependency labels kept per side of the path
    max_tokens: int = 30  # token distance is scaled by this


@dataclass(frozen=True)
class Pair:
    """One (mention, value) pair of a sentence and its features."""

    value: Entity
    mention: Entity
    mention_head: int
    value_head: int
    lca: int
    below_lca: int  # the mention-side token just under the meeting point (or the mention)
    rule: bool
    dense: tuple[float, ...]
    hashed: tuple[int, ...]


@dataclass(frozen=True)
class LinkerModel:
    version: str
    features: FeatureParams
    bias: float
    dense: tuple[float, ...]
    hashed: dict[int, float]
    threshold: float

    def score(self, pair: Pair) -> float:
        """The probability that the value is stated of the mention."""
        z = self.bias + sum(w * x for w, x in zip(self.dense, pair.dense, strict=True))
        z += sum(self.hashed.get(i, 0.0) for i in pair.hashed)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


class LinkerError(RuntimeError):
    """The learned linker's weights are missing, damaged or for other features."""


@functools.lru_cache(maxsize=4)
def load_model(name: str) -> LinkerModel:
    """The shipped weights (``models/<name>``), checked against this code's features;
    ``serve`` loads them at start-up, so a bad file stops it there, not at a sheet."""
    try:
        with gzip.open(MODELS / name, "rt", encoding="utf-8") as fh:
            raw = json.load(fh)
        if raw["format"] != FORMAT or tuple(raw["dense_features"]) != DENSE_FEATURES:
            raise LinkerError(f"the value linker {MODELS / name} has weights for other "
                              f"features than this code computes: run make train-linker")
        return LinkerModel(raw["version"], FeatureParams(**raw["feature_params"]),
                           raw["bias"], tuple(raw["dense"]),
                           {int(k): v for k, v in raw["hashed"].items()}, raw["threshold"])
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise LinkerError(f"cannot read the value linker {MODELS / name}: {exc}") from None


# What a passage's links depend on besides its annotation and its document's date.
_LINK_SOURCES = ("links.py", "linker.py", "normalize.py", "entities.py", "../lexicon.py")
_LINK_PACKAGES = ("babel", "dateparser")


@functools.cache
def links_key(params: LinkParams) -> str:
    """Names the links ``params`` make: the version names, then a digest of every setting,
    the weights, the code that links and the parsers it calls, so that no edit can leave
    an index serving links this code would not make. An index stores its passages' links
    under this key; links stored under another are never read."""
    learned = load_model(params.learned).version if params.learned else "rules"
    digest = hashlib.sha256(repr(dataclasses.asdict(params)).encode())
    if params.learned:
        digest.update((MODELS / params.learned).read_bytes())
    here = Path(__file__).resolve().parent
    for name in _LINK_SOURCES:
        digest.update((here / name).read_bytes())
    for package in _LINK_PACKAGES:
        digest.update(importlib.metadata.version(package).encode())
    return f"{params.version}+{learned}-{digest.hexdigest()[:12]}"


def link_values(annotation: Annotation, text: str, params: LinkParams,
                resolves: Callable[[str], bool] = lambda _: False) -> list[ValueLink]:
    """The rules' links of one passage and the pairs the model adds."""
    read = read_links(annotation, text, params, resolves)
    if read is None:
        return []
    if params.learned is None:
        return read.links
    model = load_model(params.learned)
    if model.threshold >= 1.0:  # cross-validation found no score that keeps precision
        return read.links
    added = [_model_link(read, pair, params)
             for pair in pairs(read, model.features, ruled_too=False)
             if model.score(pair) >= model.threshold]
    return read.links + added


def _model_link(read: PassageLinks, pair: Pair, params: LinkParams) -> ValueLink:
    """Cite the verb on the path (or the noun the path meets at) and the mention's phrase."""
    parse = read.parse
    verb = next((i for i in _chain(parse, pair.value_head)
                 if parse.tokens[i].pos in ("VERB", "AUX")), None)
    if verb is not None and _reaches(parse, verb, pair.lca):
        relation = _verb_relation(parse, verb, pair.value, params)
    else:
        t = parse.tokens[pair.lca]
        relation = (t.start, t.end)
    node = pair.below_lca
    if parse.tokens[node].pos not in ("NOUN", "PROPN"):
        node = pair.mention_head
    return _link(parse, pair.value, pair.mention, _phrase(parse, node, params), relation)


def _reaches(parse: _Parse, low: int, high: int) -> bool:
    """Whether ``high`` is ``low`` or one of its ancestors."""
    return high in _chain(parse, low)


def _chain(parse: _Parse, i: int, limit: int = 64) -> list[int]:
    """``i`` and its ancestors up to the root."""
    out = [i]
    while parse.up(i) != i and len(out) < limit:
        i = parse.up(i)
        out.append(i)
    return out


@functools.lru_cache(maxsize=1 << 16)
def _hash(feature: str, bits: int) -> int:
    return zlib.crc32(feature.encode("utf-8")) & ((1 << bits) - 1)


def pairs(read: PassageLinks, features: FeatureParams, ruled_too: bool = True) -> list[Pair]:
    """Every (named mention, value) pair in each sentence (without ``ruled_too``, not those
    the rules already link, which need no score), with features computed from chains of
    ancestors read once per sentence."""
    parse = read.parse
    spans = {(n.start, n.end) for n in read.names}
    heads = {h: n for h, n in read.name_heads.items() if (n.start, n.end) in spans}
    ruled = {(link.value.start, link.mention) for link in read.links}
    ruled_values: dict[int, set[str]] = {}
    for link in read.links:
        ruled_values.setdefault(link.value.start, set()).add(
            parse.text[link.mention[0]:link.mention[1]])
    starts = [t.start for t in parse.tokens]
    counts = Counter(n.text for n in read.names)
    top = max(counts.values(), default=0)
    out: list[Pair] = []
    for s, e, values in read.sentences:
        names = sorted((h, n) for h, n in heads.items() if s <= n.start < e)
        if not names or not values:
            continue
        parse.sentence_start = s
        first = bisect.bisect_left(starts, s)
        size = max(1, bisect.bisect_left(starts, e) - first)
        chains = {h: _chain(parse, h) for h, _ in names}
        root = chains[names[0][0]][-1]
        main_subject, _ = _subject(parse, root) if parse.tokens[root].pos in (
            "VERB", "AUX") else (None, root)
        for value, indices in values:
            v = parse.head_of(indices)
            if v is None:
                continue
            vchain = _chain(parse, v)
            verb = next((i for i in vchain if parse.tokens[i].pos in ("VERB", "AUX")), None)
            subject = _subject(parse, verb)[0] if verb is not None else None
            below_verb = set(vchain[:vchain.index(verb)] if verb is not None else vchain)
            paths = {h: _path(parse, chains[h], vchain) for h, _ in names}
            own = _value_hashes(parse, value, v, verb, features.hash_bits)
            for h, name in names:
                path = paths[h]
                rule = (value.start, (name.start, name.end)) in ruled
                if path is None or (rule and not ruled_too):
                    continue
                up, down, lca = path
                others = [(len(p[0]) + len(p[1]), n) for g, n in names
                          if n.text != name.text and (p := paths[g]) is not None]
                length = len(up) + len(down)
                label_count = sum(n.label == name.label for _, n in names
                                  if n.text != name.text)
                dense = (
                    float(rule),
                    float(bool(ruled_values.get(value.start, set()) - {name.text})),
                    min(length, 10) / 10, min(len(up), 5) / 5, min(len(down), 5) / 5,
                    float(subject is not None and subject in chains[h]),
                    float(subject is not None and subject in chains[h]
                          and parse.dep(subject) == "nsubjpass"),
                    float(main_subject is not None and main_subject in chains[h]),
                    float(any(d < length and n.label == name.label for d, n in others)),
                    float(any(d < length for d, _ in others)),
                    float(_in_brackets(parse, v)), float(_in_brackets(parse, h)),
                    float(any(g in below_verb and g != v for g, n in names
                              if n.text != name.text)),
                    float(v < root), float(v < h),
                    min(abs(v - h), features.max_tokens) / features.max_tokens,
                    (v - first) / size,
                    min(len(names), 10) / 10, min(label_count, 5) / 5,
                    min(len(values), 10) / 10, float(h == names[0][0]),
                    counts[name.text] / len(read.names), float(counts[name.text] == top),
                )
                out.append(Pair(value, name, h, v, lca, up[-1][0] if up else h,
                                rule, dense,
                                own + _pair_hashes(parse, name, value, h, v, path, features)))
    return out


def _path(parse: _Parse, mchain: list[int],
          vchain: list[int]) -> tuple[list[tuple[int, str]], list[tuple[int, str]], int] | None:
    """(edges up from the mention, edges up from the value, the token they meet at)."""
    where = {t: k for k, t in enumerate(mchain)}
    for k, t in enumerate(vchain):
        if t in where:
            up = [(i, parse.dep(i)) for i in mchain[:where[t]]]
            down = [(i, parse.dep(i)) for i in vchain[:k]]
            return up, down, t
    return None


def _value_hashes(parse: _Parse, value: Entity, v: int, verb: int | None,
                  bits: int) -> tuple[int, ...]:
    """Indices of the value's own categorical features (read once per value)."""
    vt, gov = parse.tokens[v], parse.tokens[parse.up(v)].lemma.lower()
    verb_lemma = parse.tokens[verb].lemma.lower() if verb is not None else "-"
    return tuple(_hash(f, bits) for f in (
        f"vlabel={value.label}", f"vdep={vt.dep}", f"vgov={gov}", f"vdep_gov={vt.dep}/{gov}",
        f"verb={verb_lemma}", f"verb_vlabel={verb_lemma}/{value.label}"))


def _pair_hashes(parse: _Parse, name: Entity, value: Entity, h: int, v: int,
                 path: tuple[list[tuple[int, str]], list[tuple[int, str]], int],
                 features: FeatureParams) -> tuple[int, ...]:
    """Indices of the pair's categorical features (label pairs, path shapes, lemmas)."""
    up, down, lca = path
    k = features.max_path
    ups = "^".join(d for _, d in up[:k]) + ("+" if len(up) > k else "")
    downs = "v".join(d for _, d in reversed(down[:k])) + ("+" if len(down) > k else "")
    meet = parse.tokens[lca]
    shape = f"{ups}|{meet.pos}|{downs}"
    return tuple(_hash(f, features.hash_bits) for f in (
        f"path={shape}", f"path_lemma={ups}|{meet.lemma.lower()}|{downs}",
        f"up={ups}", f"down={downs}", f"meet={meet.pos}", f"meet_lemma={meet.lemma.lower()}",
        f"vlabel_path={value.label}/{shape}", f"mlabel={name.label}",
        f"labels={name.label}/{value.label}", f"mlabel_path={name.label}/{shape}",
        f"mdep={parse.dep(h)}", f"deps={parse.dep(h)}/{parse.dep(v)}"))
