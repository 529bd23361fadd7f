"""The conversation: questions, answer cards with numbered citations, and explanations."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, LoadingIndicator, ProgressBar, Static

from qa import present
from qa.models import AskResult, Citation
from qa.service import Evidence
from qa.text.progress import Rate
from qa.text.safe import counted
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
    """One citation: number, title, outlet and date, file and offsets, the wire copies and the URL."""
    parts = present.citation(c)
    if c.also_in:
        parts.append("also in " + ", ".join(c.also_in))
    if c.url:
        parts.append(c.url)
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
        if r.timeline is not None:
            yield from self._timeline(r)
        elif r.abstained or r.answer is None:
            yield Static(Content("Not found in the articles."), classes="answer-text not-found")
            why = (r.reason or "nothing answers it confidently") + " — the closest passages:"
            yield Static(plain(why), classes="meta")
        else:
            if r.answer.kind == "sentence":  # the sentence is the answer: quote it once, with its source
                yield Static(plain(r.answer.text) + Content(" [1]").stylize("$text-muted"), classes="answer-text")
            else:
                yield Static(plain(r.answer.text), classes="answer-text")
                yield Static(_sentence_view(r), classes="sentence")
            date = present.answer_date(r)
            yield Static(plain(present.byline(present.answer_outlet(r), date))
                         + Content(f" · confidence {r.answer.confidence:.2f} · {r.answer.kind}"), classes="meta")
            note = present.resolved(r.answer.resolved_dates, date)
            if note:
                yield Static(Content("dates: ").stylize("bold") + plain(note), classes="meta dates")
            yield from self._others(r)
        for c in r.citations:
            # the answer's own source in full; the other passages on one line each
            yield CitationLine(self.turn, c, full=c.n == 1 and not r.abstained)
        for notice in r.notices:
            yield Static(plain("note: " + notice), classes="meta")

    @staticmethod
    def _ref(r: AskResult, source: str, start: int) -> str:
        n = present.citation_number(r, source, start)
        return f" [{n}]" if n else ""

    def _others(self, r: AskResult) -> ComposeResult:
        """What the other articles say: "also in", and the values that differ."""
        assert r.answer is not None
        agreeing = [a for a in r.alternatives if a.agrees]
        differing = [a for a in r.alternatives if not a.agrees]
        if agreeing:
            refs = "".join(self._ref(r, a.source, a.start) for a in agreeing)
            yield Static(Content(f"also in {counted(len(agreeing), 'other article')}:{refs}"), classes="meta agree")
        if differing:
            yield Static(Content("Sources differ:").stylize("bold $warning"), classes="differ-title")
            rows = [(r.answer.text, present.byline(present.answer_outlet(r), present.answer_date(r)),
                     self._ref(r, r.answer.source, r.answer.start), r.answer.sentence.text)]
            rows += [(a.text, present.byline(a.outlet, a.date), self._ref(r, a.source, a.start), a.sentence.text)
                     for a in differing]
            for value, where, ref, sentence in rows:
                yield Static(Content("• ") + plain(value).stylize("bold") + plain(f" — {where}{ref}"), classes="differ")
                yield Static(plain("“" + _shorten(sentence.strip(), value, 110) + "”"), classes="differ-sentence")

    def _timeline(self, r: AskResult) -> ComposeResult:
        entries = r.timeline or []
        title = (
            f"Timeline: {counted(len(entries), 'sentence')} in date order"
            if entries
            else "Timeline: no sentences found for this question"
        )
        yield Static(Content(title).stylize("bold $accent"), classes="answer-text timeline-title")
        for e in entries:
            when = e.when or "undated"
            ref = f" [{e.n}]" if e.n else ""
            yield Static(
                plain(f"{when:<10} ").stylize("bold")
                + plain("“" + _shorten(e.text.strip(), "", 220) + "”")
                + Content(ref).stylize("$text-muted"),
                classes="timeline-entry",
            )
            said = " · date said in the text" if e.when_from == "sentence" else ""
            yield Static(
                plain(f"{'':11}{present.byline(e.outlet, e.article_date)}{said}"), classes="meta timeline-meta"
            )

    def on_click(self) -> None:
        self.post_message(SelectTurn(self.turn))


def _shorten(text: str, keep: str, width: int) -> str:
    """``text`` cut to about ``width`` characters, keeping ``keep`` in view."""
    if len(text) <= width:
        return text
    at = max(0, text.find(keep)) if keep else 0
    lo = max(0, min(at - width // 3, len(text) - width))
    hi = lo + width
    if lo:  # cut at word boundaries
        lo = text.find(" ", lo) + 1 or lo
    if hi < len(text):
        hi = max(text.rfind(" ", lo, hi), at + len(keep), lo + 1)
    return ("…" if lo else "") + text[lo:hi].strip() + ("…" if hi < len(text) else "")


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
        yield Static(
            Content(
                "Answers are quoted from the articles, with numbered sources: type a number to open "
                'one. Follow-ups ("When did she say that?") work. F1 for keys and /commands.'
            ),
            classes="meta",
        )


class PendingCard(Horizontal):
    """Shown while an answer is being looked for."""

    def compose(self) -> ComposeResult:
        yield LoadingIndicator()
        yield Static("Searching the articles…", classes="meta")


class IndexingCard(Vertical):
    """Shown while the model loads and the index is built or checked."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._rate = Rate()

    def compose(self) -> ComposeResult:
        yield Static("Loading the model and the index…", id="indexing-label", classes="meta")
        yield ProgressBar(id="indexing-bar", show_eta=False)

    def progress(self, stage: str, done: int, total: int) -> None:
        """Show indexing progress: done of total, the rate and the time left."""
        words = self._rate.update(stage, done, total)
        self.query_one("#indexing-label", Static).update(Content(f"Indexing the articles: {words}"))
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
        for label, width in (
            ("#", 2),
            ("passage", 12),
            ("hybrid", 6),
            ("dense", 5),
            ("best sent.", 10),
            ("BM25", 5),
            ("span", 5),
            ("no ans.", 7),
            ("conf.", 5),
        ):
            table.add_column(label, width=width)
        for e in self.evidence:
            table.add_row(
                Content(str(e.n)),
                plain(_short_id(e.passage_id)),
                Content(f"{e.fused:.2f}"),
                Content(f"{e.dense:.2f}"),
                Content(f"{e.sentence:.2f}"),
                Content(f"{e.lexical:.1f}"),
                Content("—" if e.reader is None else f"{e.reader:.1f}"),
                Content("—" if e.no_answer is None else f"{e.no_answer:.1f}"),
                Content("—" if e.confidence is None else f"{e.confidence:.2f}"),
            )
        yield table
        yield Static(
            Content(
                "hybrid = dense + best sentence + scaled BM25; span / no ans. = the reader's score of "
                'its best span in the passage and of "no answer"; conf. = the calibrated confidence'
            ),
            classes="meta",
        )


def _short_id(passage_id: str) -> str:
    """ "000_50d2cdad97c7c4d1.txt#6" -> "000_50d2…#6" (the file stem cut to stay narrow)."""
    source, _, number = passage_id.rpartition("#")
    stem = source.rsplit(".", 1)[0]
    return (stem if len(stem) <= 10 else stem[:8] + "…") + "#" + number


class Transcript(VerticalScroll):
    """The conversation, kept scrolled to the newest entry."""

    def on_mount(self) -> None:
        self.anchor()
