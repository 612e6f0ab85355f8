import json
import shutil

import pytest
from click.testing import CliRunner
from conftest import SEED, make_corpus

from citeqa.cli import main


def run(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env or {}, catch_exceptions=False)


def test_index_then_ask_json(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus)
    (corpus / "junk.txt").write_bytes(b"\x00\xff")
    result = run("index", "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    assert result.exit_code == 0, result.output
    assert "indexed 1 documents" in result.stderr
    assert "skipped junk.txt: binary file (contains NUL bytes)" in result.stderr
    result = run("ask", "Who is the mayor of Moscow?", "--json", "-k", "2",
                 "--corpus", str(corpus), "--index", str(tmp_path / "index"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["passages"]) == 2
    assert "Sobyanin" in data["passages"][0]["text"]


def test_ask_builds_a_missing_index_and_prints_citations(tmp_path):
    corpus = make_corpus(tmp_path / "c", {"n.txt": "News\n" + "The mayor Sobyanin spoke. " * 20})
    result = run("ask", "What did the mayor do?", "--corpus", str(corpus),
                 "--index", str(tmp_path / "i"))
    assert result.exit_code == 0, result.output
    assert "building the index: no index has been built" in result.stderr
    assert "[1] n#0" in result.stdout


def test_errors_name_the_problem_without_a_traceback(tmp_path):
    result = run("index", "--corpus", str(tmp_path / "missing"), "--index", str(tmp_path / "i"))
    assert result.exit_code == 1
    assert result.stderr.startswith("citeqa: error: ")
    assert "missing does not exist" in result.stderr
    assert "Traceback" not in result.output

    empty = make_corpus(tmp_path / "bad", {"a.txt": "", "b.bin": b"\x00"})
    result = run("index", "--corpus", str(empty), "--index", str(tmp_path / "i"))
    assert result.exit_code == 1
    assert "a.txt: empty file" in result.stderr

    result = run("index", env={"CITEQA_PORT": "x"})
    assert result.exit_code == 1
    assert "CITEQA_PORT" in result.stderr


def test_missing_model_is_explained(tmp_path):
    corpus = make_corpus(tmp_path / "c", {"n.txt": "News\nBody text here."})
    result = run("index", "--corpus", str(corpus), "--index", str(tmp_path / "i"),
                 "--model", "no_such_model_pkg")
    assert result.exit_code == 1
    assert "spaCy model 'no_such_model_pkg' is not installed" in result.stderr


def test_ask_prints_answer_sentence_and_refusal(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus)
    common = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    out = run("ask", "By how much did the Kyrgyz som fall?", *common).stdout
    assert out.startswith("Answer: 15%\n")
    assert "\u201cSince the escalation" in out and "has fallen by 15%" in out
    assert "Entities: Kyrgyzstan (GPE" in out
    refused = run("ask", "Who is the prime minister of Canada?", *common).stdout
    assert refused.startswith("No answer: the documents do not cover this question.\n")
    assert "Why: the documents never mention" in refused and "Canada" in refused


@pytest.mark.parametrize(("args", "message"), [
    (["ask", "-k", "0", "q"], "Invalid value for '-k': 0 is not in the range 1<=x<=50; "
                              "see 'citeqa ask --help'"),
    (["ask"], "Missing argument 'QUESTION'; see 'citeqa ask --help'"),
    (["frobnicate"], "No such command 'frobnicate'; see 'citeqa --help'"),
    (["index", "--fast"], "No such option '--fast'"),
])
def test_a_usage_mistake_is_one_error_line(args, message):
    result = run(*args)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("citeqa: error: ")
    assert message in line


def test_a_folder_setting_naming_a_file_is_one_error_line(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("not a folder")
    for args, said in [(["index", "--index", str(note)], f"{note} is a file, not a folder"),
                       (["ask", "q", "--index", str(note / "sub")],
                        f"{note / 'sub'} is below the file {note}, not a folder"),
                       (["index", "--corpus", str(note)], f"{note} is a file, not a folder")]:
        result = run(*args)
        assert result.exit_code == 1
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("citeqa: error: CITEQA_") and line.endswith(said)


def test_ask_applies_the_api_question_limits(tmp_path):
    result = run("ask", "Who? " * 101, "--index", str(tmp_path / "i"))
    assert result.exit_code == 1
    assert result.stderr.strip() == ("citeqa: error: the question has more than 100 words "
                                     "and symbols")
    assert not (tmp_path / "i").exists()  # refused before any index is built
