"""The question box: an Input that recalls earlier questions with up and down."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class QuestionInput(Input):
    """Where questions are typed; up/down walk through the questions asked before."""

    BINDINGS = [
        Binding("up", "history_back", "Earlier question", show=False),
        Binding("down", "history_forward", "Later question", show=False),
    ]

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.history: list[str] = []
        self._cursor: int | None = None
        self._draft = ""

    def remember(self, question: str) -> None:
        """Add a question to the recall list (no immediate duplicates)."""
        if question and (not self.history or self.history[-1] != question):
            self.history.append(question)
        self._cursor = None

    def action_history_back(self) -> None:
        """Show the previous question."""
        if not self.history:
            return
        if self._cursor is None:
            self._draft = self.value
            self._cursor = len(self.history)
        self._cursor = max(0, self._cursor - 1)
        self.value = self.history[self._cursor]
        self.cursor_position = len(self.value)

    def action_history_forward(self) -> None:
        """Show the next question, or what was being typed."""
        if self._cursor is None:
            return
        self._cursor += 1
        if self._cursor >= len(self.history):
            self._cursor = None
            self.value = self._draft
        else:
            self.value = self.history[self._cursor]
        self.cursor_position = len(self.value)
