"""Modal dialogs: help, top-k, and the conversation history."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from qa.history import Summary
from tui.widgets.text import plain

HELP = """\
# qa chat

Ask anything about the articles. Every answer is quoted from an article, with its sources.

| keys | |
|---|---|
| Enter | ask the question |
| Up / Down | earlier questions |
| a number, then Enter | open that citation of the last answer |
| Ctrl+B | show or hide the sources panel |
| Ctrl+Y | copy the last answer with its citation |
| Ctrl+E | export the conversation to Markdown |
| Ctrl+N | start a new conversation |
| Ctrl+R | reopen a saved conversation |
| Ctrl+K | how many passages to retrieve (top-k) |
| Ctrl+P | command palette |
| Esc | leave the article view, close a dialog |
| Ctrl+Q | quit |

**Commands:** `/why` shows the retrieved passages and their scores for the last answer;
`/since DATE` and `/until DATE` keep only articles dated within them (`/since off` removes it);
`/timeline QUESTION` lists the relevant sentences of several articles in date order (questions
like "How did X change?" get one by themselves);
`/new`, `/export`, `/sources`, `/history`, `/k N`, `/help`.

**Follow-ups** such as "When did she say that?" or "And what about South Korea?" are answered
against the previous question; the answer shows the question it was answered as.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and commands."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("f1", "dismiss", "Close", show=False)]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help"):
            yield Markdown(HELP)
            yield Static(Content("Esc to close"), classes="hint")


class TopKScreen(ModalScreen[int | None]):
    """Ask how many passages to retrieve."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: int) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="top-k"):
            yield Static(Content(f"Passages to retrieve per question (1–20, now {self.current}):"))
            yield Input(str(self.current), type="integer", id="top-k-input")
            yield Static(Content("Enter to set, Esc to cancel"), classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            value = int(event.value)
        except ValueError:
            value = 0
        if 1 <= value <= 20:
            self.dismiss(value)
        else:
            self.app.notify("Top-k must be a whole number from 1 to 20.", severity="error", markup=False)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HistoryScreen(ModalScreen[str | None]):
    """Pick a saved conversation to reopen."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, conversations: list[Summary]) -> None:
        super().__init__()
        self.conversations = conversations

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="history"):
            yield Static(Content("Saved conversations").stylize("bold"))
            if not self.conversations:
                yield Static(Content("No saved conversations yet."), classes="hint")
            options = [
                Option(plain(f"{c.created.replace('T', ' ')} · {c.turns} question(s) · {c.title}"), id=c.id)
                for c in self.conversations
            ]
            yield OptionList(*options, id="history-list")
            yield Static(Content("Enter to open, Esc to cancel"), classes="hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
