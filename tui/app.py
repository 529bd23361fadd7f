"""The chat: a Textual app over a QAService.

Slow work (loading the model, building or checking the index, answering) runs in thread workers
that never touch widgets: they post messages, which the app handles on its own thread. Errors
become notifications; the app keeps running.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from qa import present
from qa.answer.followup import PreviousTurn
from qa.errors import QAError
from qa.models import AskResult
from qa.service import Evidence, QAService
from qa.text.safe import counted
from tui.commands import COMMANDS, find
from tui.history import Conversation, HistoryStore, Turn, new_conversation, to_markdown
from tui.messages import Answered, Explained, Failed, IndexProgress, IndexReady
from tui.widgets.article import ArticleScreen
from tui.widgets.dialogs import HelpScreen, HistoryScreen, TopKScreen
from tui.widgets.question_input import QuestionInput
from tui.widgets.sources import SourcesPanel
from tui.widgets.text import plain
from tui.widgets.transcript import (
    AnswerCard,
    IndexingCard,
    OpenCitation,
    PendingCard,
    QuestionBubble,
    SelectTurn,
    Transcript,
    WelcomeCard,
    WhyTable,
)

PLACEHOLDER = "Ask a question about the articles (Enter to ask, F1 for help)"


# --------------------------------------------------------------------------- the app


@dataclass
class TurnView:
    """A turn of the conversation and what the UI keeps about it."""

    turn: Turn
    evidence: list[Evidence] | None = None


class QAApp(App[None]):
    """Chat with the articles."""

    CSS_PATH = "app.tcss"
    TITLE = "qa"
    BINDINGS = [
        *[Binding(c.key, c.action, c.footer or c.title, show=c.footer is not None, priority=c.priority)
          for c in COMMANDS if c.key],
        # a citation number opens it when the question box is not focused (it takes digits)
        *[Binding(str(n), f"open_citation({n})", f"Open [{n}]", show=False) for n in range(1, 10)],
    ]

    def __init__(self, service: QAService, history: HistoryStore, resume: bool = False,
                 export_dir: Path | None = None) -> None:
        super().__init__()
        self.service = service
        self.store = history
        self.resume = resume
        self.export_dir = export_dir or Path.cwd()
        self.top_k = service.settings.top_k
        self.conversation: Conversation = new_conversation(service.settings.corpus)
        self.views: list[TurnView] = []
        self.selected: int | None = None
        self.titles: list[str] = []
        self.ready = False
        self.pending = False
        self.since: str | None = None
        self.until: str | None = None
        """Only articles dated within these (``/since``, ``/until``)."""
        self.articles: int | None = None
        self.passages: int | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Static(self._status(), id="status")
        with Horizontal(id="main"):
            yield Transcript(id="transcript")
            yield SourcesPanel(id="sources", classes="hidden")
        yield QuestionInput(placeholder="Loading the model and the index…", id="question", disabled=True)
        yield Footer()

    def _status(self) -> Content:
        corpus = self.service.settings.corpus.name or str(self.service.settings.corpus)
        parts = ["qa", f"corpus {corpus}"]
        if self.articles is not None:
            parts.append(f"{counted(self.articles, 'article')}, {counted(self.passages or 0, 'passage')}")
        parts.append(f"top-k {self.top_k}")
        if self.since or self.until:
            parts.append("dated " + " to ".join((self.since or "…", self.until or "…")))
        return plain(" · ".join(parts))

    def on_mount(self) -> None:
        self.query_one(Transcript).mount(IndexingCard(id="indexing"))
        if self.resume:
            latest = self.store.latest(self.service.settings.corpus)
            if latest is None:
                self.notify("No saved conversation to resume; starting a new one.", markup=False)
            else:
                self._show_conversation(latest)
        self.load_index()

    # ------------------------------------------------------------------ workers

    @work(thread=True, exclusive=True, group="index")
    def load_index(self) -> None:
        """Load the model and the index (building or refreshing it first if needed)."""
        try:
            def progress(stage: str, done: int, total: int) -> None:
                self.post_message(IndexProgress(stage, done, total))

            data = self.service.ensure_index(progress=progress)
            self.service.embedder.warm()
            titles = [a.article.title for a in data.manifest.articles]
            self.post_message(IndexReady(len(titles), data.manifest.passages, titles))
        except QAError as exc:
            self.post_message(Failed(str(exc), fatal=True))
        except Exception as exc:  # a bug must not kill the UI
            self.post_message(Failed(f"could not load the index: {exc}", fatal=True))

    @work(thread=True, exclusive=True, group="ask")
    def answer(self, question: str, previous: PreviousTurn | None, timeline: bool | None = None) -> None:
        """Answer one question."""
        try:
            trace = self.service.trace(question, k=self.top_k, previous=previous, check=False, since=self.since,
                                       until=self.until, timeline=timeline)
            self.post_message(Answered(question, trace))
        except QAError as exc:
            self.post_message(Failed(str(exc)))
        except Exception as exc:  # a bug must not kill the UI
            self.post_message(Failed(f"unexpected error while answering: {exc}"))

    # ------------------------------------------------------------------ worker messages

    def on_index_progress(self, message: IndexProgress) -> None:
        for card in self.query(IndexingCard):
            card.progress(message.stage, message.done, message.total)

    def on_index_ready(self, message: IndexReady) -> None:
        self.ready = True
        self.query(IndexingCard).remove()
        self.titles = message.titles
        if not self.views:
            self.query_one(Transcript).mount(WelcomeCard(self.titles))
        self.articles, self.passages = message.articles, message.passages
        self.query_one("#status", Static).update(self._status())
        self._unlock()
        for note in self.service.notices:
            self.notify(note, severity="warning", markup=False)
        self.service.notices.clear()

    def on_answered(self, message: Answered) -> None:
        trace = message.trace
        turn = Turn(question=message.question, result=trace.result,
                    asked=_dt.datetime.now().isoformat(timespec="seconds"))
        self.query(PendingCard).remove()
        self._add_turn(TurnView(turn, trace.explain()))
        self.conversation.turns.append(turn)
        try:
            self.store.save(self.conversation)
        except OSError as exc:
            self.notify(f"Could not save the conversation: {exc.strerror or exc}", severity="warning", markup=False)
        self.pending = False
        self._unlock()

    def on_failed(self, message: Failed) -> None:
        self.query(PendingCard).remove()
        self.pending = False
        self.notify(message.message, title="Error", severity="error", timeout=10, markup=False)
        if message.fatal:
            self.query(IndexingCard).remove()
            self.query_one(QuestionInput).placeholder = "The index could not be loaded; see the error above."
            return
        self._unlock()

    def _unlock(self) -> None:
        box = self.query_one(QuestionInput)
        box.disabled = False
        box.placeholder = PLACEHOLDER
        box.focus()

    # ------------------------------------------------------------------ asking

    @on(Input.Submitted, "#question")
    def submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        box = self.query_one(QuestionInput)
        if not text:
            return
        if not self.ready or self.pending:
            self.notify("Still working on the previous request…", markup=False)
            return
        box.remember(text)
        box.value = ""
        if text.startswith("/"):
            self.run_command(text)
            return
        if text.isdigit() and self.views:
            self._open_citation(len(self.views) - 1, int(text))
            return
        self.ask(text)

    def ask(self, question: str, timeline: bool | None = None) -> None:
        """Ask a question (follow-ups are resolved against the last turn); ``timeline`` lists the
        relevant sentences in date order."""
        transcript = self.query_one(Transcript)
        transcript.query(WelcomeCard).remove()
        transcript.mount(QuestionBubble(question))
        transcript.mount(PendingCard())
        self.pending = True
        box = self.query_one(QuestionInput)
        box.disabled = True
        box.placeholder = "Searching the articles…"
        self.answer(question, self._previous(len(self.views)), timeline)

    def _previous(self, index: int) -> PreviousTurn | None:
        """What a follow-up asked as turn ``index`` can refer to: the turn before it."""
        if index == 0:
            return None
        prior = self.views[index - 1].turn
        return PreviousTurn(prior.result.resolved_question or prior.question, prior.result)

    @property
    def _current(self) -> int:
        """The selected turn, else the last one (there must be one)."""
        return self.selected if self.selected is not None else len(self.views) - 1

    def _add_turn(self, view: TurnView) -> None:
        index = len(self.views)
        self.views.append(view)
        self.query_one(Transcript).mount(AnswerCard(index, view.turn.question, view.turn.result))
        self._select(index)

    def _select(self, index: int) -> None:
        self.selected = index
        view = self.views[index]
        self.query_one(SourcesPanel).show(index, view.turn.question, view.turn.result, view.evidence)

    def _show_conversation(self, conversation: Conversation) -> None:
        """Replace the transcript with a saved conversation."""
        self.conversation = conversation
        self.views = []
        transcript = self.query_one(Transcript)
        transcript.query(QuestionBubble).remove()
        transcript.query(AnswerCard).remove()
        transcript.query(WhyTable).remove()
        transcript.query(WelcomeCard).remove()
        box = self.query_one(QuestionInput)
        for turn in conversation.turns:
            transcript.mount(QuestionBubble(turn.question))
            self._add_turn(TurnView(turn))
            box.remember(turn.question)
        if not conversation.turns:
            self.query_one(SourcesPanel).clear()
            if self.ready:
                transcript.mount(WelcomeCard(self.titles))

    # ------------------------------------------------------------------ citations

    @on(OpenCitation)
    def open_citation(self, message: OpenCitation) -> None:
        self._open_citation(message.turn, message.n)

    @on(SelectTurn)
    def select_turn(self, message: SelectTurn) -> None:
        self._select(message.turn)

    def action_open_citation(self, n: int) -> None:
        """Open citation ``n`` of the selected answer."""
        if self.views:
            self._open_citation(self._current, n)

    def _open_citation(self, turn: int, n: int) -> None:
        result: AskResult = self.views[turn].turn.result
        citation = next((c for c in result.citations if c.n == n), None)
        if citation is None:
            self.notify(f"There is no citation [{n}] in that answer.", severity="warning", markup=False)
            return
        try:
            text = self.service.article_text(citation.source)
        except QAError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.push_screen(ArticleScreen(text, citation, result.answer if n == 1 else None))

    # ------------------------------------------------------------------ commands

    def run_command(self, text: str) -> None:
        """Run a /command typed in the question box."""
        name, _, arg = text[1:].partition(" ")
        command = find(name)
        if command is None:
            self.notify(f"Unknown command /{name.lower()}; F1 lists the commands.", severity="error", markup=False)
        elif command.argument:
            getattr(self, f"command_{command.name}")(arg.strip())
        else:
            getattr(self, f"action_{command.action}")()

    def command_since(self, arg: str) -> None:
        """``/since DATE``."""
        self._set_bound("since", arg)

    def command_until(self, arg: str) -> None:
        """``/until DATE``."""
        self._set_bound("until", arg)

    def command_timeline(self, arg: str) -> None:
        """``/timeline QUESTION`` (the last question when none is given)."""
        question = arg or (self.views[-1].turn.question if self.views else "")
        if not question:
            self.notify("Usage: /timeline QUESTION (or ask a question first).", severity="error", markup=False)
        else:
            self.ask(question, timeline=True)

    def command_k(self, arg: str) -> None:
        """``/k N``; ``/k`` alone asks."""
        if not arg:
            self.action_set_top_k()
        elif arg.isdigit() and 1 <= int(arg) <= 20:
            self._set_top_k(int(arg))
        else:
            self.notify("Usage: /k N, with N from 1 to 20.", severity="error", markup=False)

    def _set_bound(self, name: str, arg: str) -> None:
        """``/since DATE``, ``/until DATE``; ``off`` (or nothing) removes the bound."""
        from qa.text.dates import crossed, parse_iso

        value = None if arg.lower() in ("", "off", "none", "clear") else parse_iso(arg)
        if arg.lower() not in ("", "off", "none", "clear") and value is None:
            self.notify(f"Usage: /{name} DATE (YYYY, YYYY-MM or YYYY-MM-DD), or /{name} off.", severity="error",
                        markup=False)
            return
        since, until = (value, self.until) if name == "since" else (self.since, value)
        if crossed(since, until):
            self.notify(f"/since {since} is after /until {until}: nothing could match.", severity="error", markup=False)
            return
        self.since, self.until = since, until
        self.query_one("#status", Static).update(self._status())
        self.notify(f"Only articles dated {name} {value}." if value else f"/{name} removed.", markup=False)

    def action_why(self) -> None:
        """Show the retrieved passages and their scores for the selected answer."""
        if not self.views:
            self.notify("Ask a question first.", markup=False)
            return
        index = self._current
        view = self.views[index]
        if view.evidence is None:  # a turn reopened from history: rerun it for its scores, off the UI thread
            self.notify("Looking up the passages and scores…", markup=False)
            self.explain(index, view.turn.question, self._previous(index))
            return
        self.query_one(Transcript).mount(WhyTable(view.turn.question, view.evidence))

    @work(thread=True, exclusive=True, group="why")
    def explain(self, index: int, question: str, previous: PreviousTurn | None) -> None:
        """Rerun a reopened turn for its evidence (a worker: this reads the articles again)."""
        try:
            evidence = self.service.trace(question, k=self.top_k, previous=previous, check=False).explain()
        except QAError as exc:
            self.post_message(Failed(str(exc)))
            return
        self.post_message(Explained(index, evidence))

    @on(Explained)
    def explained(self, message: Explained) -> None:
        if message.index < len(self.views):
            view = self.views[message.index]
            view.evidence = message.evidence
            self.query_one(Transcript).mount(WhyTable(view.turn.question, view.evidence))

    def action_new_chat(self) -> None:
        """Start a new, empty conversation."""
        if self.pending:
            self.notify("Wait for the answer before starting a new conversation.", markup=False)
            return
        self._show_conversation(new_conversation(self.service.settings.corpus))
        self.notify("New conversation.", markup=False)

    def action_copy_answer(self) -> None:
        """Copy the selected answer, its sentence and its source."""
        if not self.views:
            self.notify("No answer to copy yet.", markup=False)
            return
        result = self.views[self._current].turn.result
        if result.answer is None:
            self.notify("That question was not answered by the articles.", markup=False)
            return
        c, a = result.citations[0], result.answer
        source = " — ".join(present.citation(c, f"{a.source}:{a.start}-{a.end}"))
        text = f"{a.text}\n“{a.sentence.text}”\n— {source}" + (f"\n{c.url}" if c.url else "")
        self.copy_to_clipboard(text)
        self.notify("Answer copied to the clipboard.", markup=False)

    def action_export(self) -> Path | None:
        """Write the conversation to a Markdown file."""
        if not self.conversation.turns:
            self.notify("Nothing to export yet.", markup=False)
            return None
        name = f"qa-conversation-{self.conversation.id}.md"
        for folder in (self.export_dir, self.service.settings.data_path()):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / name
                path.write_text(to_markdown(self.conversation), encoding="utf-8")
            except OSError:
                continue
            self.notify(f"Exported to {path}", markup=False)
            return path
        self.notify("Could not write the export anywhere.", severity="error", markup=False)
        return None

    def action_toggle_sources(self) -> None:
        """Show or hide the sources panel."""
        panel = self.query_one(SourcesPanel)
        panel.toggle_class("hidden")
        if not panel.has_class("hidden"):
            panel.query_one("#sources-list").focus()
        else:
            self.query_one(QuestionInput).focus()

    def action_history(self) -> None:
        """Pick a saved conversation to reopen."""

        def opened(conversation_id: str | None) -> None:
            if conversation_id is None:
                return
            try:
                self._show_conversation(self.store.load(conversation_id))
            except ValueError as exc:
                self.notify(str(exc), severity="error", markup=False)

        self.push_screen(HistoryScreen(self.store.list()), opened)

    def action_set_top_k(self) -> None:
        """Ask how many passages to retrieve."""
        self.push_screen(TopKScreen(self.top_k), lambda k: self._set_top_k(k) if k else None)

    def _set_top_k(self, k: int) -> None:
        self.top_k = k
        self.query_one("#status", Static).update(self._status())
        self.notify(f"Top-k is now {k}.", markup=False)

    def action_help(self) -> None:
        """Show keys and commands."""
        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for command in COMMANDS:
            if command.title and command.name != "quit":
                yield SystemCommand(
                    command.title,
                    command.help[:1].upper() + command.help[1:],
                    getattr(self, f"action_{command.action}"),
                )


def create_app(
    service: QAService, resume: bool = False, data_dir: Path | None = None, export_dir: Path | None = None
) -> QAApp:
    """The chat app over ``service``; conversations are saved under ``data_dir`` (default: the
    service's data folder)."""
    store = HistoryStore(data_dir or service.settings.data_path())
    return QAApp(service, store, resume=resume, export_dir=export_dir)
