"""One snapshot per visible state of the chat, at 80x24 (update with --snapshot-update, then
look at the SVGs under tests/__snapshots__/ before committing them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import load_settings
from qa.service import QAService
from tests.tui.test_app import MARKUP_ARTICLE
from tui.app import create_app
from tui.widgets.question_input import QuestionInput

ANSWERABLE = "When does the host-nation support accord for U.S. troops expire?"
UNANSWERABLE = "What is the best recipe for a chocolate cake?"


def make(service: QAService, tmp_path: Path):
    return create_app(service, data_dir=tmp_path / "data", export_dir=tmp_path)


def steps(*questions: str, keys: tuple[str, ...] = (), theme: str | None = None):
    async def run(pilot) -> None:
        app = pilot.app
        app.query_one(QuestionInput).cursor_blink = False  # a blinking cursor makes snapshots flaky
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if theme:
            app.theme = theme
        for question in questions:
            app.query_one(QuestionInput).value = question
            await pilot.press("enter")
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        app.clear_notifications()
        await pilot.pause()

    return run


def test_snapshot_empty(snap_compare, service: QAService, tmp_path: Path) -> None:
    assert snap_compare(make(service, tmp_path), run_before=steps())


def test_snapshot_answered(snap_compare, service: QAService, tmp_path: Path) -> None:
    assert snap_compare(make(service, tmp_path), run_before=steps(ANSWERABLE))


def test_snapshot_answered_light_theme(snap_compare, service: QAService, tmp_path: Path) -> None:
    assert snap_compare(make(service, tmp_path), run_before=steps(ANSWERABLE, theme="textual-light"))


ONE_PASSAGE_ARTICLE = (
    "Port of Kobe Reopens Its Eastern Pier\n\n"
    "Kobe, Feb. 2 (Test Wire)–The eastern pier of the Port of Kobe reopened on Monday after a year of repairs, "
    "the city said. Container traffic is expected to return to its former level by the summer.\n"
)


def test_snapshot_abstained(snap_compare, tmp_path: Path, qa_env: dict[str, str]) -> None:
    # one passage: which passages are "closest" to a question nothing answers is a near-tie on
    # the seeds, and near-ties may order differently on another CPU
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "port.txt").write_text(ONE_PASSAGE_ARTICLE, encoding="utf-8")
    service = QAService(load_settings({"corpus": corpus, "index": tmp_path / "index"}, env=qa_env))
    assert snap_compare(make(service, tmp_path), run_before=steps(UNANSWERABLE))


def test_snapshot_sources_open(snap_compare, service: QAService, tmp_path: Path) -> None:
    assert snap_compare(make(service, tmp_path), run_before=steps(ANSWERABLE, keys=("ctrl+b",)))


def test_snapshot_article_view(snap_compare, service: QAService, tmp_path: Path) -> None:
    assert snap_compare(make(service, tmp_path), run_before=steps(ANSWERABLE, "1"))


@pytest.fixture
def markup_service(tmp_path: Path, qa_env: dict[str, str]) -> QAService:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "markup.txt").write_text(MARKUP_ARTICLE, encoding="utf-8")
    return QAService(load_settings({"corpus": corpus, "index": tmp_path / "index"}, env=qa_env))


def test_snapshot_markup_article_is_literal(snap_compare, markup_service: QAService, tmp_path: Path) -> None:
    app = make(markup_service, tmp_path)
    assert snap_compare(app, run_before=steps("When would the treaty be signed?", "1"))


@pytest.fixture
def news_service(tmp_path: Path, qa_env: dict[str, str]) -> QAService:
    from tests.answer.test_news import DATED

    return QAService(load_settings({"corpus": DATED, "index": tmp_path / "index"}, env=qa_env))


def test_snapshot_sources_differ(snap_compare, news_service: QAService, tmp_path: Path) -> None:
    app = make(news_service, tmp_path)
    assert snap_compare(app, run_before=steps("For how much was Lumen's satellite unit sold?"))


def test_snapshot_timeline(snap_compare, news_service: QAService, tmp_path: Path) -> None:
    app = make(news_service, tmp_path)
    assert snap_compare(app, run_before=steps("How did the sale of Lumen's satellite unit develop?"))


@pytest.fixture
def page_service(tmp_path: Path, qa_env: dict[str, str]) -> QAService:
    """One saved web page (with its chrome) as the whole corpus, so that what is cited is certain."""
    from tests.corpus.test_formats import FORMATS, PAGE

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / PAGE).write_bytes((FORMATS / PAGE).read_bytes())
    return QAService(load_settings({"corpus": corpus, "index": tmp_path / "index"}, env=qa_env))


def test_snapshot_web_page_article_view(snap_compare, page_service: QAService, tmp_path: Path) -> None:
    app = make(page_service, tmp_path)
    assert snap_compare(app, run_before=steps("How much will the European Investment Bank lend?", "1"))
