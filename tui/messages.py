"""Messages the chat's workers post to the app (thread-safe): the UI reacts on its own thread."""

from __future__ import annotations

from textual.message import Message

from qa.service import Evidence, Trace


class IndexProgress(Message):
    """Indexing progress from the loading worker."""

    def __init__(self, stage: str, done: int, total: int) -> None:
        super().__init__()
        self.stage, self.done, self.total = stage, done, total


class IndexReady(Message):
    """The index is loaded."""

    def __init__(self, articles: int, passages: int, titles: list[str]) -> None:
        super().__init__()
        self.articles, self.passages, self.titles = articles, passages, titles


class Answered(Message):
    """An answer arrived."""

    def __init__(self, question: str, trace: Trace) -> None:
        super().__init__()
        self.question, self.trace = question, trace


class Explained(Message):
    """The evidence of a reopened turn, for /why."""

    def __init__(self, index: int, evidence: list[Evidence]) -> None:
        super().__init__()
        self.index, self.evidence = index, evidence


class Failed(Message):
    """A worker failed; ``message`` is one line for the user."""

    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__()
        self.message, self.fatal = message, fatal
