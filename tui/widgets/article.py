"""The article view: the whole article, scrolled to the cited passage, the answer marked."""

from __future__ import annotations

import itertools

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from qa import present
from qa.models import Answer, Citation
from tui.widgets.text import literal, plain

PASSAGE_STYLE = "on $primary 20%"
ANSWER_STYLE = "bold reverse"


class ArticleScreen(Screen[None]):
    """One article, shown literally; Escape returns to the chat."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
    ]

    def __init__(self, text: str, citation: Citation, answer: Answer | None) -> None:
        super().__init__()
        self.text = text
        self.citation = citation
        self.answer = answer if answer is not None and answer.source == citation.source else None

    def compose(self) -> ComposeResult:
        c = self.citation
        head = f"[{c.n}] " + " — ".join(present.citation(c))
        if c.text_of == "extracted":
            head += " (the text extracted from it)"
        if c.url:
            head += f"\n{c.url}"
        yield Static(plain(head), id="article-title")
        with VerticalScroll(id="article-body"):
            for start, end, last in _blocks(self.text, c.start, c.end):
                marks = []
                if c.start < end and start < c.end:
                    marks.append((max(c.start, start) - start, min(c.end, end) - start, PASSAGE_STYLE))
                if self.answer is not None and self.answer.start < end and start < self.answer.end:
                    a = self.answer
                    marks.append((max(a.start, start) - start, min(a.end, end) - start, ANSWER_STYLE))
                classes = "paragraph" + (" cited" if start == c.start else "") + ("" if last else " joined")
                yield Static(literal(self.text[start:end], marks), classes=classes, markup=False)
        yield Static(Content("Esc: back to the chat"), id="article-hint")
        yield Footer()

    def on_mount(self) -> None:
        cited = self.query(".cited")
        if cited:
            self.call_after_refresh(
                self.query_one("#article-body").scroll_to_widget, cited.first(), top=True, animate=False
            )
        self.query_one("#article-body").focus()


def _blocks(text: str, cut_start: int, cut_end: int) -> list[tuple[int, int, bool]]:
    """(start, end, ends a paragraph) of every non-blank line, lines split where the passage
    ``cut_start:cut_end`` begins and ends, so that it is a block of its own to scroll to."""
    blocks, pos = [], 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            continue
        cuts = sorted({start, end} | {x for x in (cut_start, cut_end) if start < x < end})
        for i, (a, b) in enumerate(itertools.pairwise(cuts)):
            blocks.append((a, b, i == len(cuts) - 2))
    return blocks or [(0, len(text), True)]
