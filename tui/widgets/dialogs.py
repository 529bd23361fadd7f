"""Modal dialogs: help, top-k, and the conversation history."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from tui.commands import help_markdown
from tui.history import Summary
from tui.widgets.text import plain


class HelpScreen(ModalScreen[None]):
    """Keys and commands."""

    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("f1", "dismiss", "Close", show=False)]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help"):
            yield Markdown(help_markdown())
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
