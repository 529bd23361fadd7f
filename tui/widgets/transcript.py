"""The conversation: questions, answer cards with numbered citations, and explanations."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, LoadingIndicator, ProgressBar, Static

from qa.models import AskResult, Citation
from qa.service import Evidence
from tui.widgets.text import literal, plain

SENTENCE_ELLIPSIS = 360


class OpenCitation(Message):
    """The user asked to open citation ``n`` of turn ``turn``."""

    def __init__(self, turn: int, n: int) -> None:
        super().__init__()
        self.turn = turn
        self.n = n


class SelectTurn(Message):
    """The user selected the answer of turn ``turn``."""

    def __init__(self, turn: int) -> None:
        super().__init__()
        self.turn = turn


def citation_line(c: Citation) -> Content:
    """One citation: number, title, outlet and date, file and offsets."""
    meta = c.byline
    parts = [c.title] + ([meta] if meta else []) + [f"{c.source}:{c.start}-{c.end}"]
    text = f"[{c.n}] " + " — ".join(parts)
    number = len(f"[{c.n}]")
    return literal(text, [(0, number, "bold $accent"), (len(text) - len(parts[-1]), len(text), "$text-muted")])


class CitationLine(Static):
    """A citation in an answer card; clicking it opens the article at the passage."""

    def __init__(self, turn: int, citation: Citation, full: bool = False) -> None:
        super().__init__(citation_line(citation), classes="citation" + (" full" if full else ""), markup=False)
        self.turn = turn
        self.n = citation.n

    def on_click(self) -> None:
        self.post_message(OpenCitation(self.turn, self.n))


def _sentence_view(result: AskResult) -> Content:
    answer = result.answer
    assert answer is not None
    sentence = answer.sentence.text
    s, e = answer.start - answer.sentence.start, answer.end - answer.sentence.start
    lo, hi, prefix, suffix = 0, len(sentence), "“", "” [1]"
    if len(sentence) > SENTENCE_ELLIPSIS:  # keep the answer in view
        room = max(0, SENTENCE_ELLIPSIS - (e - s)) // 2
        lo, hi = max(0, s - room), min(len(sentence), e + room)
        prefix, suffix = ("“…" if lo else "“"), ("…” [1]" if hi < len(sentence) else "” [1]")
    body = sentence[lo:hi]
    highlight = [] if answer.kind == "sentence" else [(s - lo, e - lo, "bold underline $accent")]
    return Content(prefix) + literal(body, highlight) + Content(suffix)


class AnswerCard(Vertical):
    """An answer: the short answer, its sentence with the answer marked, the confidence and the
    citations; or, for an abstention, "not found" and the closest passages."""

    def __init__(self, turn: int, question: str, result: AskResult) -> None:
        super().__init__(classes="answer-card" + (" abstained" if result.abstained else ""))
        self.turn = turn
        self.question = question
        self.result = result

    def compose(self) -> ComposeResult:
        r = self.result
        if r.resolved_question:
            if r.followup_of:
                yield Static(Content("follow-up to: ").stylize("italic") + plain(r.followup_of), classes="resolved")
            yield Static(Content("answered as: ").stylize("italic") + plain(r.resolved_question), classes="resolved")
        if r.abstained or r.answer is None:
            yield Static(Content("Not found in the articles."), classes="answer-text not-found")
            why = (r.reason or "nothing answers it confidently") + " — the closest passages:"
            yield Static(plain(why), classes="meta")
        else:
            if r.answer.kind == "sentence":  # the sentence is the answer: quote it once, with its source
                yield Static(plain(r.answer.text) + Content(" [1]").stylize("$text-muted"), classes="answer-text")
            else:
                yield Static(plain(r.answer.text), classes="answer-text")
                yield Static(_sentence_view(r), classes="sentence")
            yield Static(Content(f"confidence {r.answer.confidence:.2f} · {r.answer.kind}"), classes="meta")
        for c in r.citations:
            # the answer's own source in full; the other passages on one line each
            yield CitationLine(self.turn, c, full=c.n == 1 and not r.abstained)
        for notice in r.notices:
            yield Static(plain("note: " + notice), classes="meta")

    def on_click(self) -> None:
        self.post_message(SelectTurn(self.turn))


class QuestionBubble(Static):
    """A question as asked."""

    def __init__(self, question: str) -> None:
        super().__init__(Content("› ").stylize("bold $accent") + plain(question), classes="question", markup=False)


class WelcomeCard(Vertical):
    """Shown in an empty conversation: what can be asked, and how."""

    def __init__(self, titles: list[str]) -> None:
        super().__init__()
        self.titles = titles

    def compose(self) -> ComposeResult:
        yield Static(Content("Ask the articles").stylize("bold $accent"))
        yield Static(Content(f"{len(self.titles)} articles are indexed, among them:"), classes="meta")
        for title in self.titles[:5]:
            yield Static(Content("  • ") + plain(title), classes="welcome-title")
        yield Static(Content("Answers are quoted from the articles, with numbered sources: type a number to open "
                             "one. Follow-ups (\"When did she say that?\") work. F1 for keys and /commands."),
                     classes="meta")


class PendingCard(Horizontal):
    """Shown while an answer is being looked for."""

    def compose(self) -> ComposeResult:
        yield LoadingIndicator()
        yield Static("Searching the articles…", classes="meta")


class IndexingCard(Vertical):
    """Shown while the model loads and the index is built or checked."""

    def compose(self) -> ComposeResult:
        yield Static("Loading the model and the index…", id="indexing-label", classes="meta")
        yield ProgressBar(id="indexing-bar", show_eta=False)

    def progress(self, stage: str, done: int, total: int) -> None:
        """Show indexing progress."""
        self.query_one("#indexing-label", Static).update(Content(f"Indexing the articles: {stage} {done}/{total}"))
        self.query_one("#indexing-bar", ProgressBar).update(total=max(total, 1), progress=done)


class WhyTable(Vertical):
    """The retrieved passages and their scores for one answer (/why)."""

    def __init__(self, question: str, evidence: list[Evidence]) -> None:
        super().__init__(classes="why")
        self.question = question
        self.evidence = evidence

    def compose(self) -> ComposeResult:
        yield Static(Content("why: ").stylize("bold") + plain(self.question), classes="meta")
        table: DataTable[Content] = DataTable(show_cursor=False, zebra_stripes=True)
        for label, width in (("#", 2), ("passage", 12), ("hybrid", 6), ("dense", 5), ("best sent.", 10),
                             ("BM25", 5), ("span", 5), ("no ans.", 7), ("conf.", 5)):
            table.add_column(label, width=width)
        for e in self.evidence:
            table.add_row(
                Content(str(e.n)), plain(_short_id(e.passage_id)), Content(f"{e.fused:.2f}"), Content(f"{e.dense:.2f}"),
                Content(f"{e.sentence:.2f}"), Content(f"{e.lexical:.1f}"),
                Content("—" if e.reader is None else f"{e.reader:.1f}"),
                Content("—" if e.no_answer is None else f"{e.no_answer:.1f}"),
                Content("—" if e.confidence is None else f"{e.confidence:.2f}"),
            )
        yield table
        yield Static(Content("hybrid = dense + best sentence + scaled BM25; span / no ans. = the reader's score of "
                             "its best span in the passage and of \"no answer\"; conf. = the calibrated confidence"),
                     classes="meta")


def _short_id(passage_id: str) -> str:
    """ "000_50d2cdad97c7c4d1.txt#6" -> "000_50d2…#6" (the file stem cut to stay narrow)."""
    source, _, number = passage_id.rpartition("#")
    stem = source.rsplit(".", 1)[0]
    return (stem if len(stem) <= 10 else stem[:8] + "…") + "#" + number


class Transcript(VerticalScroll):
    """The conversation, kept scrolled to the newest entry."""

    def on_mount(self) -> None:
        self.anchor()
