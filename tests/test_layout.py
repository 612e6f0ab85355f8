"""The package is shaped like the pipeline: one folder per stage, no upward imports."""

import ast
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "citeqa"
# Bottom to top: a module may import its own stage and the stages below it, never above.
LAYERS = [("config", "lexicon"), ("ingest",), ("search",), ("kb",), ("store",), ("qa",),
          ("serve",), ("cli",)]
LEVEL = {name: i for i, names in enumerate(LAYERS) for name in names}


def stage_of(module: str) -> str:
    """'citeqa.qa.extract' -> 'qa'; 'citeqa.config' -> 'config'."""
    return module.split(".")[1]


def citeqa_imports(path: Path) -> set[str]:
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            found.update(n for n in names if n.startswith("citeqa."))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("citeqa."))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_later_stage(path):
    stage = stage_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    if stage == "__init__":
        return
    for target in citeqa_imports(path):
        assert LEVEL[stage_of(target)] <= LEVEL[stage], f"{stage} imports {target}"


def test_every_stage_folder_is_a_layer_and_an_installed_package():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders == {name for names in LAYERS for name in names} - {"config", "lexicon",
                                                                        "cli"}
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {".".join(p.parent.relative_to(PACKAGE.parent).parts)
                for p in PACKAGE.rglob("__init__.py")}
    assert set(setuptools["packages"]) == {"citeqa.web", *packages}


def test_the_import_checker_sees_relative_and_absolute_imports():
    module = PACKAGE / "qa" / "extract.py"
    assert "citeqa.search.retrieval" in citeqa_imports(module)
    assert "citeqa.qa.policy" in citeqa_imports(module)
