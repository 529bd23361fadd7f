"""The ``milvus`` store through the real engine (Milvus Lite), the real model and the real reader:
the same answers as the local store, a rebuild behind an alias, and errors in one line."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from qa.config import load_settings
from qa.errors import IndexStoreError
from qa.evaluation.evaluate import load_questions
from qa.search.milvus import collection_names
from qa.service import QAService
from qa.store.remote import milvus_for, store_key
from tests.conftest import ROOT, kill_when_paused, paused_qa, run_qa
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
    alias, old = collection_names(store_key(before.path.parent), before.path.name)
    assert old == before.manifest.collection
    assert milvus.client.describe_alias(alias)["collection_name"] == old
    lite.index(rebuild=True)
    after = lite.ensure_index()
    assert after.path is not None and after.path != before.path and after.remote is not None
    new = collection_names(store_key(after.path.parent), after.path.name)[1]
    assert milvus.client.describe_alias(alias)["collection_name"] == new
    # the previous generation's collection stays for a reader that opened it; older ones go
    names = milvus.client.list_collections()
    assert new in names and old in names
    lite.index(rebuild=True)
    assert old not in milvus.client.list_collections()
    assert lite.ask("Who is Ian Chong?").answer is not None


def test_a_long_lived_service_follows_rebuilds_made_by_another(lite: QAService, qa_env: dict[str, str]) -> None:
    chat = QAService(load_settings({"index": lite.settings.index, "store": lite.settings.store}, env=qa_env))
    first = chat.ensure_index()
    assert chat.ask("Who is Ian Chong?").answer is not None
    lite.index(rebuild=True)
    lite.index(rebuild=True)  # the collection the chat loaded is dropped now
    milvus = milvus_for(lite.settings.store)
    assert milvus is not None and first.manifest.collection not in milvus.client.list_collections()
    r = chat.ask("Who is Ian Chong?")
    assert r.answer is not None and chat.ensure_index().path == lite.ensure_index().path != first.path


def test_a_missing_collection_is_one_clear_error_and_a_rebuild_repairs_it(
    lite: QAService, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    # another index folder of the same corpus in the same Milvus: its own collections
    own = {"index": tmp_path / "index", "store": lite.settings.store}
    data = QAService(load_settings(own, env=qa_env)).ensure_index()
    assert data.remote is not None and data.remote.name != lite.ensure_index().manifest.collection
    milvus = milvus_for(lite.settings.store)
    assert milvus is not None
    milvus.client.drop_collection(data.remote.name)
    strict = QAService(load_settings({**own, "rebuild": False}, env=qa_env))
    with pytest.raises(IndexStoreError, match="is missing; run `qa index --rebuild`"):
        strict.ensure_index()
    assert lite.ask("Who is Ian Chong?").answer is not None  # the other folder's index is untouched
    repaired = QAService(load_settings(own, env=qa_env))
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


def test_a_server_that_answers_but_refuses_is_told_apart_from_one_that_is_down(
        tmp_path: Path, qa_env: dict[str, str]) -> None:
    # a port that accepts connections but does not speak Milvus' protocol as a client with a wrong
    # token sees it: pymilvus reports both as "Fail connecting", as it does a closed port
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        args = ["ask", "Who is Ian Chong?", "--store", f"milvus://127.0.0.1:{port}", "--index", str(tmp_path / "i")]
        done = run_qa(args, qa_env)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"Milvus at http://127.0.0.1:{port} answers but refused the connection" in done.stderr
    assert "QA_MILVUS_TOKEN" in done.stderr


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


NEW_ARTICLE = (
    "Zanzibar clove harvest\n\n2026-02-01\n\n"
    "The clove harvest of Zanzibar reached 9,000 tonnes in 2025, officials of the island said on Sunday.\n"
)


def _edit(corpus: Path) -> tuple[str, str, str]:
    """Remove one article, change another, add a new one; returns their sources."""
    files = sorted(p for p in corpus.iterdir() if p.suffix == ".txt")
    files[0].unlink()
    files[1].write_text(files[1].read_text() + "\n\nThe ferry to Sado Island resumed service on 3 May 2026.\n")
    (corpus / "zanzibar.txt").write_text(NEW_ARTICLE)
    return files[0].name, files[1].name, "zanzibar.txt"


def test_a_refresh_updates_the_collection_in_place(corpus_copy: Path, tmp_path: Path, qa_env) -> None:
    store = f"milvus:{tmp_path / 'qa.db'}"
    svc = QAService(load_settings({"corpus": corpus_copy, "index": tmp_path / "index", "store": store}, env=qa_env))
    svc.index()
    name = svc.ensure_index().manifest.collection
    milvus = milvus_for(store)
    assert name is not None and milvus is not None
    removed, changed, added = _edit(corpus_copy)
    report = svc.index()
    assert (report.added, report.changed, report.removed) == ([added], [changed], [removed])
    after = svc.ensure_index()
    assert after.manifest.collection == name  # written in place, not rebuilt
    assert milvus.rows(name) == after.manifest.passages
    result = svc.ask("How large was the clove harvest of Zanzibar in 2025?")
    assert result.answer is not None and result.citations[0].source == added
    assert "9,000 tonnes" in result.answer.sentence.text
    assert svc.ask("When did the ferry to Sado Island resume service?").citations[0].source == changed
    assert all(c.source != removed for c in svc.ask("Who is Ian Chong?").citations)


def test_a_refresh_killed_inside_the_collection_update_is_repaired(
    corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    store = ["--store", f"milvus:{tmp_path / 'qa.db'}", "--index", str(tmp_path / "index")]
    store += ["--corpus", str(corpus_copy)]
    assert run_qa(["index", *store], qa_env).returncode == 0
    _edit(corpus_copy)
    flag = tmp_path / "paused"
    proc = subprocess.Popen([*paused_qa("milvus-deleted", flag), "index", *store], env=qa_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_when_paused(proc, flag, "the refresh ended before it deleted rows")
    # the old generation is still current, but its collection lost rows: a reader that may not
    # rebuild says so in one line; one that may, rebuilds
    strict = run_qa(["ask", "Who is Ian Chong?", "--no-rebuild", *store], qa_env)
    assert strict.returncode == 2 and "run `qa index --rebuild`" in strict.stderr
    again = run_qa(["index", *store], qa_env)
    assert again.returncode == 0, again.stderr
    asked = run_qa(["ask", "How large was the clove harvest of Zanzibar in 2025?", "--json", "--no-rebuild", *store],
                   qa_env)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["citations"][0]["source"] == "zanzibar.txt"
