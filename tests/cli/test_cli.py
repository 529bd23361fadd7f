"""The qa command line as a user runs it: output, the JSON contract, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEEDS, run_qa

HEAVY = ("torch", "sentence_transformers", "faiss", "onnxruntime", "transformers", "textual", "numpy")


def heavy_modules_after(argv: list[str], env: dict[str, str]) -> tuple[list[str], str, int]:
    """Run qa's main() with ``argv`` in a fresh interpreter; return the heavy modules it imported,
    its stderr and its exit status."""
    code = (
        "import sys, io, contextlib\n"
        "from qa.cli.main import main\n"
        "err = io.StringIO()\n"
        "with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try:\n        status = main({argv!r})\n    except SystemExit as e:\n        status = e.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "print(repr(err.getvalue()))\nprint(status)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    modules, stderr, status = out.strip().splitlines()
    return eval(modules), eval(stderr), int(status)  # our own repr output


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--help"], None),
        (["ask", "--help"], None),
        (["ask", ""], "the question is empty"),
        (["ask", "   \n\t "], "the question is empty"),
        (["ask"], "required: question"),
        (["ask", "x", "-k", "0"], "-k: must be at least 1"),
        (["ask", "x", "-k", "many"], "-k: expected a whole number"),
        (["ask", "x", "--retriever", "psychic"], "invalid choice: 'psychic'"),
        (["ask", "x", "--colour"], "unrecognized arguments: --colour"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_help_and_argument_errors_load_nothing_heavy(
    argv: list[str], message: str | None, qa_env: dict[str, str]
) -> None:
    modules, stderr, status = heavy_modules_after(argv, qa_env)
    assert modules == []
    if message is None:
        assert status == 0 and stderr == ""
    else:
        assert status == 2
        assert stderr.count("\n") == 1 and stderr.startswith("qa: error: ") and message in stderr


def test_asking_imports_no_torch_sentence_transformers_or_textual(seed_index: Path, qa_env: dict[str, str]) -> None:
    """Once the models are assembled (the very first question of a fresh cache needs torch for
    that, whichever test runs first), a question imports none of the heavy libraries."""
    argv = ["ask", "Who is Ian Chong?", "--index", str(seed_index)]
    assert heavy_modules_after(argv, qa_env)[2] == 0
    modules, stderr, status = heavy_modules_after(argv, qa_env)
    assert status == 0, stderr
    assert not {"torch", "sentence_transformers", "transformers", "textual"} & set(modules)
    assert {"faiss", "onnxruntime"} <= set(modules)  # the question path itself


def test_python_dash_m_qa_works(qa_env: dict[str, str]) -> None:
    result = run_qa(["--version"], qa_env)
    assert result.returncode == 0 and result.stdout.startswith("qa ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "Who?", "--corpus", "/nonexistent/folder"], "corpus folder /nonexistent/folder does not exist"),
        (["sources", "--corpus", str(ROOT / "pyproject.toml")], "is not a folder"),
    ],
)
def test_corpus_errors_are_one_line_with_exit_2(
    args: list[str], message: str, qa_env: dict[str, str], tmp_path: Path
) -> None:
    result = run_qa(args + ["--index", str(tmp_path)], qa_env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_corpus_folder_is_named(qa_env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_qa(["ask", "Who?", "--corpus", str(empty), "--index", str(tmp_path / "i")], qa_env)
    assert result.returncode == 2 and f"corpus folder {empty} holds no article files" in result.stderr


def test_bad_environment_setting_is_reported(qa_env: dict[str, str]) -> None:
    result = run_qa(["ask", "Who?"], {**qa_env, "QA_TOP_K": "lots"})
    assert result.returncode == 2 and "QA_TOP_K" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def ask_json(seed_index: Path, qa_env: dict[str, str]):
    def ask(question: str, *extra: str) -> dict:
        result = run_qa(["ask", question, "--json", "--index", str(seed_index), *extra], qa_env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return ask


def file_text(source: str) -> str:
    return (SEEDS / source).read_bytes().decode("utf-8")


def test_json_contract_of_an_answer(ask_json) -> None:
    question = "When does the host-nation support accord for U.S. troops expire?"
    out = ask_json(question)
    assert set(out) >= {"question", "abstained", "answer", "citations"}
    assert out["question"] == question and out["abstained"] is False
    answer = out["answer"]
    assert set(answer) >= {"text", "source", "start", "end", "confidence", "sentence"}
    assert isinstance(answer["confidence"], float) and 0 <= answer["confidence"] <= 1
    text = file_text(answer["source"])
    assert text[answer["start"] : answer["end"]] == answer["text"]
    sentence = answer["sentence"]
    assert text[sentence["start"] : sentence["end"]] == sentence["text"]
    assert sentence["start"] <= answer["start"] and answer["end"] <= sentence["end"]
    assert "March" in answer["text"]
    citations = out["citations"]
    assert [c["n"] for c in citations] == list(range(1, len(citations) + 1)) and len(citations) == 5
    for c in citations:
        assert set(c) >= {"n", "source", "title", "date", "outlet", "passage_id", "start", "end", "text", "score"}
        assert file_text(c["source"])[c["start"] : c["end"]] == c["text"]
        assert "/" not in c["source"] and (SEEDS / c["source"]).is_file()
    first = citations[0]
    assert first["source"] == answer["source"] and first["start"] <= answer["start"] and answer["end"] <= first["end"]
    assert first["title"] == "Japan to Seek Thaw with China as Key Diplomatic Theme in 2026"
    assert (first["date"], first["outlet"]) == ("2026-01-03", "Jiji Press")


def test_json_contract_of_an_abstention(ask_json) -> None:
    out = ask_json("What is the best recipe for a chocolate cake?", "-k", "3")
    assert out["abstained"] is True and out["answer"] is None
    assert len(out["citations"]) == 3  # the closest passages are still shown


def test_text_output_quotes_and_cites(seed_index: Path, qa_env: dict[str, str]) -> None:
    result = run_qa(
        ["ask", "When does the host-nation support accord for U.S. troops expire?", "--index", str(seed_index)], qa_env
    )
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert "March" in lines[0]
    assert "expire at the end of March" in lines[1] and lines[1].rstrip().endswith("[1]")
    assert any(
        line.startswith("[1] Japan to Seek Thaw with China")
        and "Jiji Press, 2026-01-03" in line
        and "000_50d2cdad97c7c4d1.txt:" in line
        for line in lines
    )
    assert "\x1b" not in result.stdout  # not a terminal: no colour codes


def test_text_output_of_an_abstention_says_so(seed_index: Path, qa_env: dict[str, str]) -> None:
    result = run_qa(["ask", "What is the best recipe for a chocolate cake?", "--index", str(seed_index)], qa_env)
    assert result.returncode == 0
    assert result.stdout.startswith("Not found in the articles.")
    assert "[1] " in result.stdout


def test_sources_lists_every_article(seed_index: Path, qa_env: dict[str, str]) -> None:
    result = run_qa(["sources", "--index", str(seed_index)], qa_env)
    assert result.returncode == 0
    for path in SEEDS.glob("*.txt"):
        assert path.name in result.stdout
    assert "Jiji Press" in result.stdout and "2025-10-21" in result.stdout
    items = json.loads(run_qa(["sources", "--json", "--index", str(seed_index)], qa_env).stdout)
    assert len(items) == 5 and all(item["passages"] > 0 for item in items)


def test_index_command_builds_then_reports_up_to_date(
    corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    args = ["index", "--corpus", str(corpus_copy), "--index", str(tmp_path / "i")]
    first = run_qa(args, qa_env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("rebuilt index (5 added): 5 articles,") and " s → " in first.stdout
    second = run_qa(args, qa_env)
    assert second.stdout.startswith("index is up to date: 5 articles")
    report = json.loads(run_qa(args + ["--rebuild", "--json"], qa_env).stdout)
    assert report["rebuilt"] and report["articles"] == 5 and report["seconds"] > 0


def test_first_ask_builds_the_index_with_progress_then_reuses_it(
    corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    args = ["ask", "Who is Stephen Nagy?", "--corpus", str(corpus_copy), "--index", str(tmp_path / "i")]
    first = run_qa(args, qa_env)
    assert first.returncode == 0 and "embedding" in first.stderr
    second = run_qa(args, qa_env)
    assert second.returncode == 0 and second.stderr == ""
    assert first.stdout == second.stdout


def test_qa_index_environment_variable_places_the_index(
    corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    env = {**qa_env, "QA_INDEX": str(tmp_path / "from-env"), "QA_CORPUS": str(corpus_copy)}
    assert run_qa(["index"], env).returncode == 0
    assert any((tmp_path / "from-env").iterdir())
