"""The ``milvus`` store through the real engine (Milvus Lite), the real model and the real reader:
the same answers as the local store, a rebuild behind an alias, and errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.config import load_settings
from qa.errors import IndexStoreError
from qa.evaluation.evaluate import load_questions
from qa.search.milvus import collection_names
from qa.service import QAService
from qa.store.remote import milvus_for
from tests.conftest import ROOT, run_qa
from tests.tui.test_app import ask, settle, shown
from tui.app import create_app

pytest.importorskip("pymilvus", reason="the milvus extra is not installed: pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def lite(tmp_path_factory: pytest.TempPathFactory, qa_env: dict[str, str]) -> QAService:
    """A service over the seed articles whose search lives in a Milvus Lite file."""
    folder = tmp_path_factory.mktemp("milvus")
    store = f"milvus:{folder / 'qa.db'}"
    service = QAService(load_settings({"index": folder / "index", "store": store}, env=qa_env))
    service.index()
    service.ensure_index()
    return service


def _answers(service: QAService, questions: list[str]) -> list[tuple]:
    out = []
    for q in questions:
        r = service.ask(q)
        out.append(
            (r.abstained, r.answer.text if r.answer else None, [(c.source, c.start, c.end) for c in r.citations])
        )
    return out


def test_the_milvus_store_gives_the_local_stores_answers_and_citations(lite: QAService, service: QAService) -> None:
    sources = {a.article.source for a in service.ensure_index().manifest.articles}
    questions = [q.question for q in load_questions(ROOT / "tests" / "questions.jsonl", sources)][:30]
    assert lite.ensure_index().remote is not None and service.ensure_index().remote is None
    assert _answers(lite, questions) == _answers(service, questions)


def test_a_rebuild_writes_a_new_collection_and_switches_the_alias(lite: QAService) -> None:
    before = lite.ensure_index()
    assert before.path is not None and before.remote is not None
    milvus = milvus_for(lite.settings.store)
    assert milvus is not None
    alias, old = collection_names(before.path.parent.name, before.path.name)
    assert milvus.client.describe_alias(alias)["collection_name"] == old
    lite.index(rebuild=True)
    after = lite.ensure_index()
    assert after.path is not None and after.path != before.path and after.remote is not None
    new = collection_names(after.path.parent.name, after.path.name)[1]
    assert milvus.client.describe_alias(alias)["collection_name"] == new
    # the previous generation's collection stays for a reader that opened it; older ones go
    names = milvus.client.list_collections()
    assert new in names and old in names
    lite.index(rebuild=True)
    assert old not in milvus.client.list_collections()
    assert lite.ask("Who is Ian Chong?").answer is not None


def test_a_missing_collection_is_one_clear_error_and_a_rebuild_repairs_it(lite: QAService, qa_env) -> None:
    data = lite.ensure_index()
    assert data.path is not None and data.remote is not None
    milvus = milvus_for(lite.settings.store)
    assert milvus is not None
    milvus.client.drop_collection(data.remote.name)
    strict = QAService(
        load_settings({"index": lite.settings.index, "store": lite.settings.store, "rebuild": False}, env=qa_env)
    )
    with pytest.raises(IndexStoreError, match="is missing; run `qa index --rebuild`"):
        strict.ensure_index()
    repaired = QAService(load_settings({"index": lite.settings.index, "store": lite.settings.store}, env=qa_env))
    assert repaired.ensure_index().remote is not None
    assert repaired.ask("Who is Ian Chong?").answer is not None


def test_the_cli_indexes_and_answers_over_a_milvus_lite_file(tmp_path: Path, qa_env: dict[str, str]) -> None:
    store = ["--store", f"milvus:{tmp_path / 'qa.db'}", "--index", str(tmp_path / "index")]
    built = run_qa(["index", *store], qa_env)
    assert built.returncode == 0, built.stderr
    asked = run_qa(["ask", "Who is Ian Chong?", "--json", "--no-rebuild", *store], qa_env)
    assert asked.returncode == 0, asked.stderr
    result = json.loads(asked.stdout)
    assert not result["abstained"] and result["citations"]
    # switching the same index folder to the local store builds a local generation
    local = run_qa(["ask", "Who is Ian Chong?", "--json", "--index", str(tmp_path / "index")], qa_env)
    assert local.returncode == 0 and json.loads(local.stdout)["answer"]["text"] == result["answer"]["text"]


@pytest.mark.parametrize(
    ("store", "message"),
    [
        ("milvus://127.0.0.1:1", "cannot reach Milvus at http://127.0.0.1:1"),
        ("mongo://x", "--store: expected local, milvus:PATH.db"),
        ("milvus:x.sqlite", "a Milvus Lite file's name ends in .db"),
    ],
)
def test_store_errors_are_one_line(store: str, message: str, tmp_path: Path, qa_env: dict[str, str]) -> None:
    done = run_qa(["ask", "Who is Ian Chong?", "--store", store, "--index", str(tmp_path / "index")], qa_env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("qa: error: ") and message in done.stderr


def test_a_lite_file_held_by_another_process_is_one_line(lite: QAService, qa_env: dict[str, str]) -> None:
    # this test process holds the Lite file open (the fixture's service)
    args = ["ask", "Who is Ian Chong?", "--store", lite.settings.store, "--index", str(lite.settings.index)]
    done = run_qa(args, qa_env)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "cannot be opened" in done.stderr and "another qa process may hold it" in done.stderr


def test_without_the_milvus_extra_the_store_says_how_to_get_it(tmp_path: Path, qa_env: dict[str, str]) -> None:
    hidden = tmp_path / "hide"
    (hidden / "pymilvus").mkdir(parents=True)
    (hidden / "pymilvus" / "__init__.py").write_text("raise ImportError('hidden for the test')\n")
    env = {**qa_env, "PYTHONPATH": f"{hidden}:{qa_env['PYTHONPATH']}"}
    done = run_qa(["index", "--store", f"milvus:{tmp_path / 'qa.db'}", "--index", str(tmp_path / "i")], env)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "pip install 'qa[milvus]'" in done.stderr


async def test_the_chat_works_over_the_milvus_store(lite: QAService, tmp_path: Path) -> None:
    app = create_app(lite, data_dir=tmp_path / "data", export_dir=tmp_path / "exports")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        card = await ask(app, pilot, "When does the host-nation support accord for U.S. troops expire?")
        text = shown(card)
        assert "March" in text.splitlines()[0] and "[1] Japan to Seek Thaw with China" in text, text


def test_the_lite_file_is_kept_out_of_the_local_files(lite: QAService) -> None:
    data = lite.ensure_index()
    assert data.path is not None
    assert not (data.path / "passages.faiss").exists() and not (data.path / "bm25").exists()
    assert data.manifest.index_type == "milvus" and data.manifest.settings.store == lite.settings.store
