"""The README's examples are executed: if the docs drift from the code, this fails."""

import json
import re
from dataclasses import fields
from pathlib import Path

from citeqa.cli import main
from citeqa.config import ENV_PREFIX, Config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(title)
    following = README.find("\n## ", start + 1)
    return README[start:following if following != -1 else None]


def fits(example, real, path="$"):
    """``example`` is ``real`` with lists shortened and long strings cut with '...'."""
    if isinstance(example, dict):
        assert isinstance(real, dict) and set(example) == set(real), (path, set(real))
        for key, value in example.items():
            if key != "took_ms":
                fits(value, real[key], f"{path}.{key}")
    elif isinstance(example, list):
        assert isinstance(real, list), path
        for item in example:
            assert any(_fits(item, r) for r in real), (path, item)
    elif isinstance(example, str) and ("..." in example or "\u2026" in example):
        head = re.split(r"\.\.\.|\u2026", example)[0]
        assert real.startswith(head), (path, real[:80])
    else:
        assert example == real, (path, example, real)


def _fits(example, real) -> bool:
    try:
        fits(example, real)
    except AssertionError:
        return False
    return True


def test_ask_example_is_what_the_api_returns(client):
    block = section("### `POST /ask`")
    example = json.loads(re.search(r"```json\n(.*?)```", block, re.S).group(1))
    k = int(re.search(r'"k": (\d+)', section("## Quick start")).group(1))
    real = client.post("/ask", json={"question": example["question"], "k": k}).get_json()
    fits(example, real)


def test_documented_cli_options_exist():
    usage = re.search(r"```\n(citeqa index.*?)```", section("## Command line"), re.S).group(1)
    for line in usage.strip().splitlines():
        name = line.split()[1]
        command = main.commands[name]
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for option in re.findall(r"(--?[a-z][a-z-]*)", line):
            assert option in options, (name, option)


def test_configuration_table_matches_the_config():
    documented = set(re.findall(rf"`{ENV_PREFIX}([A-Z_]+)`", section("### Configuration")))
    assert documented == {f.name.upper() for f in fields(Config)}


def test_error_codes_are_documented(client):
    codes = set(re.findall(r"`([a-z_]+)`", section("### `POST /ask`").split("Error codes:")[1]
                           .split("###")[0]))
    seen = {client.post("/ask", data="x").get_json()["error"]["code"],
            client.get("/nope").get_json()["error"]["code"],
            client.get("/entities/x").get_json()["error"]["code"],
            client.get("/documents/x").get_json()["error"]["code"],
            client.delete("/ask").get_json()["error"]["code"]}
    assert seen <= codes
