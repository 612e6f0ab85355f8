"""A non-editable install (what `pip install .` or a wheel gives) serves the page."""

import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, SEED, free_port, wait_for


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """citeqa built from this checkout and installed as a regular package (no source tree);
    its dependencies come from the test environment."""
    source, target = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("site")
    for name in ("pyproject.toml", "README.md", "src", "web"):  # a build leaves no trace here
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def env_for(target: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env["PYTHONPATH"] = str(target)
    return env


def test_the_installed_package_is_the_one_imported(installed, tmp_path):
    out = subprocess.run([sys.executable, "-c", "import citeqa; print(citeqa.__file__)"],
                         env=env_for(installed), cwd=tmp_path, capture_output=True,
                         text=True, check=True)
    assert Path(out.stdout.strip()).is_relative_to(installed)


def test_a_non_editable_install_serves_the_page(installed, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED.name).write_bytes(SEED.read_bytes())
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "citeqa.cli", "serve", "--corpus", str(corpus),
         "--index", str(tmp_path / "index"), "--port", str(port), "--workers", "1"],
        env=env_for(installed), cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url + "/health", proc)
        for path, name in (("/", "index.html"), ("/static/app.js", "app.js"),
                           ("/static/style.css", "style.css")):
            with urllib.request.urlopen(url + path, timeout=10) as resp:
                assert resp.read() == (installed / "citeqa" / "web" / name).read_bytes()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + "/static/__init__.py", timeout=10)
        assert missing.value.code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=20)
