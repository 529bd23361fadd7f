"""The chat UI driven with Textual's Pilot, through the real model and index."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import OptionList

from qa.config import load_settings
from qa.errors import QAError
from qa.service import QAService
from tui.app import QAApp, create_app
from tui.history import HistoryStore
from tui.widgets.article import ArticleScreen
from tui.widgets.question_input import QuestionInput
from tui.widgets.sources import SourcesPanel
from tui.widgets.transcript import AnswerCard, PendingCard, WelcomeCard, WhyTable

SIZE = (80, 24)


async def settle(app: QAApp, pilot) -> None:  # textual.pilot.Pilot
    """Wait for the workers and the screen to catch up."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def ask(app: QAApp, pilot, question: str) -> AnswerCard:
    box = app.query_one(QuestionInput)
    box.value = question
    await pilot.press("enter")
    await settle(app, pilot)
    return list(app.query(AnswerCard))[-1]


def shown(widget) -> str:
    """The plain text a widget shows, with its children."""
    texts = [str(w.render()) for w in widget.query("Static")]
    return "\n".join(texts)


@pytest.fixture
def app(service: QAService, tmp_path: Path) -> QAApp:
    return create_app(service, data_dir=tmp_path / "data", export_dir=tmp_path / "exports")


async def test_asking_shows_the_answer_with_its_sentence_and_citations(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.query(WelcomeCard)
        card = await ask(app, pilot, "When does the host-nation support accord for U.S. troops expire?")
        text = shown(card)
        assert "March" in text.splitlines()[0]
        assert "set to expire at the end of March" in text
        assert "[1] Japan to Seek Thaw with China" in text and "000_50d2cdad97c7c4d1.txt:" in text
        assert "confidence" in text
        assert not app.query(WelcomeCard) and not app.query(PendingCard)
        box = app.query_one(QuestionInput)
        assert app.focused is box and not box.disabled and box.value == ""
        # the sources panel follows the latest answer
        panel = app.query_one(SourcesPanel)
        assert panel.turn == 0 and panel.query_one(OptionList).option_count == 5


async def test_an_unanswerable_question_is_shown_as_not_found_with_passages(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        card = await ask(app, pilot, "What is the best recipe for a chocolate cake?")
        assert card.has_class("abstained")
        text = shown(card)
        assert text.startswith("Not found in the articles.")
        assert text.count("[") >= 5  # the closest passages are still cited


async def test_a_follow_up_is_answered_against_the_previous_question(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await ask(app, pilot, "Which Italian leader will visit Japan in January?")
        card = await ask(app, pilot, "When will she visit?")
        result = card.result
        assert result.resolved_question is not None and "Giorgia Meloni" in result.resolved_question
        assert result.followup_of == "Which Italian leader will visit Japan in January?"
        assert result.answer is not None and "January" in result.answer.text
        text = shown(card)
        assert "follow-up to: Which Italian leader" in text and "answered as: When will Giorgia Meloni" in text


async def test_opening_a_citation_shows_the_article_at_the_passage(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        card = await ask(app, pilot, "When does the host-nation support accord for U.S. troops expire?")
        citation = card.result.citations[0]
        app.query_one(QuestionInput).value = "1"  # typing a citation number opens it
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ArticleScreen)
        assert screen.citation.n == 1
        cited = screen.query_one(".cited")
        assert str(cited.render()).startswith(citation.text[:40])
        body = screen.query_one("#article-body")
        assert body.scroll_y > 0  # scrolled down to the passage
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ArticleScreen)
        # selecting a passage in the sources panel opens it too
        await pilot.press("ctrl+b")
        await pilot.pause()
        panel = app.query_one(SourcesPanel)
        assert not panel.has_class("hidden")
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ArticleScreen) and app.screen.citation.n == 2


async def test_pressing_a_number_opens_that_citation_when_the_question_box_is_not_focused(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await ask(app, pilot, "When does the host-nation support accord for U.S. troops expire?")
        await pilot.press("ctrl+b")  # focus moves to the sources panel
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        assert isinstance(app.screen, ArticleScreen) and app.screen.citation.n == 3
        await pilot.press("escape")
        await pilot.pause()
        # in the question box a digit is just typed
        await pilot.press("ctrl+b")
        await pilot.pause()
        await pilot.press("2")
        assert app.query_one(QuestionInput).value == "2" and not isinstance(app.screen, ArticleScreen)


async def test_clicking_a_citation_opens_it(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await ask(app, pilot, "Which Chinese state-run paper reported Wang's position on the Fukushima water?")
        await pilot.click(".citation")
        await pilot.pause()
        assert isinstance(app.screen, ArticleScreen)


async def test_export_writes_markdown_with_citations(app: QAApp, tmp_path: Path) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await ask(app, pilot, "When does the host-nation support accord for U.S. troops expire?")
        await ask(app, pilot, "What is the best recipe for a chocolate cake?")
        path = app.action_export()
        assert path is not None and path.parent == tmp_path / "exports"
        text = path.read_text()
        assert "## 1. When does the host-nation support accord" in text
        assert "**March**" in text and "000_50d2cdad97c7c4d1.txt:" in text
        assert "## 2. What is the best recipe" in text and "Not found in the articles" in text


async def test_history_is_saved_and_reopened(service: QAService, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = create_app(service, data_dir=data)
    async with first.run_test(size=SIZE) as pilot:
        await settle(first, pilot)
        await ask(first, pilot, "Who is Stephen Nagy?")
    saved = HistoryStore(data).list()
    assert len(saved) == 1 and saved[0].title == "Who is Stephen Nagy?" and saved[0].turns == 1

    resumed = create_app(service, resume=True, data_dir=data)
    async with resumed.run_test(size=SIZE) as pilot:
        await settle(resumed, pilot)
        cards = list(resumed.query(AnswerCard))
        assert len(cards) == 1 and cards[0].question == "Who is Stephen Nagy?"
        # questions of a resumed conversation are recalled with up
        await pilot.press("up")
        assert resumed.query_one(QuestionInput).value == "Who is Stephen Nagy?"
        # a new chat empties the transcript; the history list brings the old one back
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not resumed.query(AnswerCard) and resumed.query(WelcomeCard)
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert [c.question for c in resumed.query(AnswerCard)] == ["Who is Stephen Nagy?"]


class FailingService(QAService):
    """The real service, except that answering fails."""

    def trace(self, *args: object, **kwargs: object):
        raise QAError("the index is being rebuilt by another process; try again in a moment")


async def test_an_error_from_the_service_is_a_notification_and_the_app_goes_on(
    seed_index: Path, qa_env: dict[str, str], tmp_path: Path
) -> None:
    failing = FailingService(load_settings({"index": seed_index}, env=qa_env))
    app = create_app(failing, data_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.query_one(QuestionInput).value = "Who is Stephen Nagy?"
        await pilot.press("enter")
        await settle(app, pilot)
        notes = list(app._notifications)
        assert any("another process" in n.message and n.severity == "error" for n in notes)
        assert not app.query(AnswerCard) and not app.query(PendingCard)
        box = app.query_one(QuestionInput)
        assert not box.disabled and app.focused is box
        assert app.is_running


async def test_up_and_down_recall_earlier_questions(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await ask(app, pilot, "Who is Stephen Nagy?")
        await ask(app, pilot, "Who is Ian Chong?")
        box = app.query_one(QuestionInput)
        box.value = "draft"
        await pilot.press("up")
        assert box.value == "Who is Ian Chong?"
        await pilot.press("up")
        assert box.value == "Who is Stephen Nagy?"
        await pilot.press("down", "down")
        assert box.value == "draft"


async def test_why_and_top_k_commands(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.query_one(QuestionInput).value = "/k 3"
        await pilot.press("enter")
        card = await ask(app, pilot, "Which think tank is Yuki Tatsumi with?")
        assert len(card.result.citations) == 3
        app.query_one(QuestionInput).value = "/why"
        await pilot.press("enter")
        await pilot.pause()
        table = app.query_one(WhyTable)
        assert [e.n for e in table.evidence] == [1, 2, 3]
        first = table.evidence[0]
        assert first.reader is not None and first.passage_id == card.result.citations[0].passage_id
        app.query_one(QuestionInput).value = "/frobnicate"
        await pilot.press("enter")
        await pilot.pause()
        assert any("Unknown command /frobnicate" in n.message for n in app._notifications)


async def test_copy_puts_the_answer_and_its_source_on_the_clipboard(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        card = await ask(app, pilot, "When does the host-nation support accord for U.S. troops expire?")
        await pilot.press("ctrl+y")
        copied = app.clipboard
        assert copied.startswith(card.result.answer.text)
        assert card.result.answer.sentence.text in copied and "000_50d2cdad97c7c4d1.txt" in copied


async def test_submitting_is_refused_while_an_answer_is_pending(app: QAApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.pending = True
        app.query_one(QuestionInput).value = "Who is Ian Chong?"
        await pilot.press("enter")
        await pilot.pause()
        assert not app.query(AnswerCard) and not app.query(PendingCard)
        app.pending = False


async def test_first_start_builds_the_index_in_the_background(
    corpus_copy: Path, tmp_path: Path, qa_env: dict[str, str]
) -> None:
    service = QAService(load_settings({"corpus": corpus_copy, "index": tmp_path / "index"}, env=qa_env))
    app = create_app(service, data_dir=tmp_path / "data")
    async with app.run_test(size=SIZE) as pilot:
        # the UI is up and responsive while the index is built
        assert app.query_one(QuestionInput).disabled
        assert app.query("IndexingCard")
        await settle(app, pilot)
        assert app.ready and not app.query("IndexingCard")
        assert not app.query_one(QuestionInput).disabled
        card = await ask(app, pilot, "Who is Stephen Nagy?")
        assert card.result.citations


MARKUP_ARTICLE = (
    "Markup [bold]Inside[/] Articles Must Stay Literal\n\n"
    "Tokyo, Jan. 5 (Test Wire)–The spokesman [bold]Kenji Sato[/bold] said the [link=https://evil.example]treaty[/link] "
    "would be signed on March 3, 2026, in Osaka. A control sequence \x1b[31mred\x1b[0m and a bell \x07 follow. "
    "The closing tag [/] is harmless and [red on white]styled text[/] is not styled.\n"
)


async def test_article_text_that_looks_like_markup_is_shown_literally(tmp_path: Path, qa_env: dict[str, str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "markup.txt").write_text(MARKUP_ARTICLE, encoding="utf-8")
    service = QAService(load_settings({"corpus": corpus, "index": tmp_path / "index"}, env=qa_env))
    app = create_app(service, data_dir=tmp_path / "data")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        card = await ask(app, pilot, "When would the treaty be signed?")
        text = shown(card)
        assert "[link=https://evil.example]treaty[/link]" in text
        assert "\x1b" not in text and "\x07" not in text
        app.query_one(QuestionInput).value = "1"
        await pilot.press("enter")
        await pilot.pause()
        article = "\n".join(str(w.render()) for w in app.screen.query(".paragraph"))
        assert "[bold]Kenji Sato[/bold]" in article and "[red on white]styled text[/]" in article
        assert "␛[31mred␛[0m" in article and "␇" in article
        assert "\x1b" not in article


@pytest.fixture
def news_app(tmp_path: Path, qa_env: dict[str, str]) -> QAApp:
    from tests.answer.test_news import DATED

    service = QAService(load_settings({"corpus": DATED, "index": tmp_path / "index"}, env=qa_env))
    return create_app(service, data_dir=tmp_path / "data", export_dir=tmp_path / "exports")


async def test_differing_sources_dates_and_copies_are_shown(news_app: QAApp) -> None:
    async with news_app.run_test(size=SIZE) as pilot:
        await settle(news_app, pilot)
        text = shown(await ask(news_app, pilot, "For how much was Lumen's satellite unit sold?"))
        assert "Sources differ:" in text
        assert "$9.3bn — Northline News, 2026-02-20" in text and "$9.4 billion — The Daily Ledger, 2026-01-06" in text
        assert "also in lumen_" in text  # the wire copy is named on its original's citation
        text = shown(await ask(news_app, pilot, "When will Ferrante visit the Nagoya plant?"))
        assert "dates: March → March 2026 (article of 2026-01-05)" in text
        assert "also in 1 other article:" in text or "also in 2 other articles:" in text


async def command(app: QAApp, pilot, text: str) -> None:
    app.query_one(QuestionInput).value = text
    await pilot.press("enter")
    await settle(app, pilot)


async def test_since_until_and_timeline_commands(news_app: QAApp) -> None:
    async with news_app.run_test(size=SIZE) as pilot:
        await settle(news_app, pilot)
        await command(news_app, pilot, "/since 2026-02")
        assert "dated 2026-02 to …" in str(news_app.query_one("#status").render())
        card = await ask(news_app, pilot, "For how much was Lumen's satellite unit sold?")
        assert {c.source for c in card.result.citations} == {"lumen_sale_closes.txt"}
        await command(news_app, pilot, "/since 2026-99")  # refused, the bound stays
        assert news_app.since == "2026-02"
        await command(news_app, pilot, "/since off")
        assert news_app.since is None and "to …" not in str(news_app.query_one("#status").render())
        text = shown(await ask(news_app, pilot, "/timeline the sale of Lumen's satellite unit"))
        assert text.startswith("Timeline: ")
        entries = [line for line in text.splitlines() if line[:4].isdigit()]
        assert len(entries) >= 3 and entries == sorted(entries)
        assert "2026-02" in text and "2026-01-05" in text


async def test_a_web_page_citation_opens_its_extracted_text_with_its_url(
    tmp_path: Path, qa_env: dict[str, str]
) -> None:
    from tests.corpus.test_formats import FORMATS, PAGE, PAGE_CHROME

    service = QAService(load_settings({"corpus": FORMATS, "index": tmp_path / "index"}, env=qa_env))
    app = create_app(service, data_dir=tmp_path / "data")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        card = await ask(app, pilot, "How much of the Valmora port's cost will the European Investment Bank lend?")
        citation = next(c for c in card.result.citations if c.source == PAGE)
        url = "https://adriatic-courier.example/business/2026/03/12/valmora-port-expansion"
        assert url in shown(card)  # the citation line gives the page's address
        app.query_one(QuestionInput).value = str(citation.n)
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ArticleScreen)
        head = str(screen.query_one("#article-title").render())
        assert url in head and "(the text extracted from it)" in head
        article = "\n".join(str(w.render()) for w in screen.query(".paragraph"))
        _, stored = service.article(PAGE)
        assert " ".join(article.split()) == " ".join(stored.split())  # the same text `qa show` prints
        assert not any(piece in article for piece in PAGE_CHROME)
