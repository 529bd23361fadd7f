"""The sources panel: the retrieved passages of the selected answer, with their scores."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from qa import present
from qa.models import AskResult
from qa.service import Evidence
from tui.widgets.text import literal, plain
from tui.widgets.transcript import OpenCitation

SNIPPET = 160


class SourcesPanel(Vertical):
    """Lists the passages behind one answer; Enter or a click opens one."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.turn: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("Sources", id="sources-title")
        yield OptionList(id="sources-list")

    def show(self, turn: int, question: str, result: AskResult, evidence: list[Evidence] | None) -> None:
        """Show the citations of turn ``turn``."""
        self.turn = turn
        self.query_one("#sources-title", Static).update(Content("Sources for: ").stylize("bold") + plain(question))
        scores = {e.n: e for e in evidence or []}
        options = []
        for c in result.citations:
            head = f"[{c.n}] " + " — ".join(present.citation(c)[:-1])
            e = scores.get(c.n)
            score = f"score {c.score:.2f}" + (f" · dense {e.dense:.2f} · BM25 {e.lexical:.1f}" if e else "")
            snippet = " ".join(((e.best_sentence if e and e.best_sentence else None) or c.text).split())
            snippet = snippet[:SNIPPET] + ("…" if len(snippet) > SNIPPET else "")
            text = f"{head}\n{score}\n{snippet}"
            prompt = literal(
                text, [(0, len(f"[{c.n}]"), "bold $accent"), (len(head) + 1, len(head) + 1 + len(score), "$text-muted")]
            )
            options.append(Option(prompt, id=str(c.n)))
        listing = self.query_one("#sources-list", OptionList)
        listing.clear_options()
        listing.add_options(options)
        if options:
            listing.highlighted = 0

    def clear(self) -> None:
        """Show nothing."""
        self.turn = None
        self.query_one("#sources-title", Static).update("Sources")
        self.query_one("#sources-list", OptionList).clear_options()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.turn is not None and event.option.id:
            self.post_message(OpenCitation(self.turn, int(event.option.id)))
