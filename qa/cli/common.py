"""What the commands share: the service from the arguments, progress and warnings on stderr,
colour, and the text form of an answer."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.models import AskResult
    from qa.service import QAService


def colour_on(stream: Any) -> bool:
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def style(text: str, code: str, on: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if on else text


def display_path(settings: Settings, source: str) -> str:
    path = settings.corpus / source
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


class ProgressPrinter:
    """Indexing progress on stderr: a bar with the rate and the time left on a terminal; else a line
    when a stage starts and about every tenth of a long one."""

    def __init__(self) -> None:
        from qa.text.progress import Rate

        self._bar: Any = None
        self._task: Any = None
        self._stage = ""
        self._tty = sys.stderr.isatty()
        self._rate = Rate()
        self._shown = -1

    def __call__(self, stage: str, done: int, total: int) -> None:
        words = self._rate.update(stage, done, total)
        if not self._tty:
            tenth = (10 * done) // max(total, 1)
            if stage != self._stage:
                self._stage, self._shown = stage, tenth
                from qa.text.progress import counted

                sys.stderr.write(f"qa: {' '.join(filter(None, (stage, counted(stage, total))))}…\n")
            elif total >= 100 and tenth > self._shown:
                self._shown = tenth
                sys.stderr.write(f"qa: {words}\n")
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("[bold]indexing[/]"),
                BarColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
        if stage != self._stage:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(words, total=max(total, 1))
            self._stage = stage
        self._bar.update(self._task, completed=done, total=max(total, 1), description=words)

    def __enter__(self) -> ProgressPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def waiting() -> None:
    sys.stderr.write("qa: another qa process is writing the index; waiting for it to finish…\n")


def warn(lines: list[str]) -> None:
    from qa.text.safe import printable

    for line in lines:
        sys.stderr.write(f"qa: warning: {printable(line)}\n")


# --------------------------------------------------------------------------- commands


def settings_for(args: argparse.Namespace, **extra: Any) -> Settings:
    """The settings a command runs with: defaults, config file, ``QA_*`` variables, then its options."""
    from qa.config import load_settings

    overrides = {
        "corpus": getattr(args, "corpus", None),
        "index": getattr(args, "index", None),
        "store": getattr(args, "store", None),
        "rebuild": getattr(args, "rebuild", None),
        **extra,
    }
    return load_settings(overrides)


def service_for(args: argparse.Namespace, **extra: Any) -> QAService:
    from qa.service import QAService

    return QAService(settings_for(args, **extra))


def elide(text: str, start: int, end: int, width: int = 320) -> tuple[str, int, int, bool, bool]:
    """Cut a long sentence around [start, end) to about ``width`` characters."""
    if len(text) <= width:
        return text, start, end, False, False
    room = max(0, width - (end - start)) // 2
    lo = max(0, start - room)
    hi = min(len(text), end + room)
    if lo > 0:
        lo = text.find(" ", lo) + 1 or lo
    if hi < len(text):
        space = text.rfind(" ", 0, hi)
        hi = space if space > end else hi
    return text[lo:hi], start - lo, end - lo, lo > 0, hi < len(text)


def render_answer(result: AskResult, settings: Settings, colour: bool) -> str:
    """The text form of an answer: the answer, its sentence, its date, what other articles say,
    the timeline when asked for, and the citations."""
    from qa.text.safe import printable

    lines: list[str] = []
    if result.timeline is not None:
        lines += _timeline_lines(result, colour)
    elif result.abstained:
        lines.append(style("Not found in the articles.", "1;33", colour))
        if result.reason:
            lines.append(f"  ({printable(result.reason)}; the closest passages are below)")
    else:
        lines += _answer_lines(result, colour)
    lines += _citation_lines(result, settings, colour)
    for notice in result.notices:
        lines.append(style(f"note: {printable(notice)}", "2", colour))
    return "\n".join(lines)


def _timeline_lines(result: AskResult, colour: bool) -> list[str]:
    from qa import present
    from qa.text.safe import printable

    timeline = result.timeline or []
    lines = [
        style(
            f"Timeline ({len(timeline)} sentences, in date order):"
            if timeline
            else "Timeline: no dated sentences found for this question.",
            "1",
            colour,
        )
    ]
    for e in timeline:
        when = e.when or "undated"
        mark = "" if e.when_from != "sentence" else " (said in the text)"
        cite = f" [{e.n}]" if e.n else ""
        where = printable(present.byline(e.outlet, e.article_date))
        lines.append(f'  {when:<10}  "{printable(e.text.strip())}"{cite}')
        lines.append(style(f"{'':12}— {printable(e.title)}, {where}{mark}", "2", colour))
    return lines


def _answer_lines(result: AskResult, colour: bool) -> list[str]:
    """The answer, its sentence with the answer underlined, byline, dates, confidence, and what
    the other articles say."""
    from qa import present
    from qa.text.safe import counted, printable

    answer = result.answer
    assert answer is not None
    lines = [style(printable(answer.text), "1", colour)]
    sentence = answer.sentence
    rel_s, rel_e = answer.start - sentence.start, answer.end - sentence.start
    text, lo, hi, cut_left, cut_right = elide(sentence.text, rel_s, rel_e)
    shown = (
        printable(text[:lo]) + style(printable(text[lo:hi]), "1;4", colour) + printable(text[hi:])
        if answer.kind != "sentence"
        else printable(text)
    )
    lines.append(f'  "{"…" if cut_left else ""}{shown}{"…" if cut_right else ""}" [1]')
    date = present.answer_date(result)
    lines.append(f"  {printable(present.byline(present.answer_outlet(result), date))}")
    note = present.resolved(answer.resolved_dates, date)
    if note:
        lines.append(f"  dates: {printable(note)}")
    scores = (
        f" (reader: span {result.reader.span_score:.1f}, no answer {result.reader.no_answer_score:.1f})"
        if result.reader
        else ""
    )
    lines.append(style(f"  confidence {answer.confidence:.2f}{scores}", "2", colour))
    agreeing = [a for a in result.alternatives if a.agrees]
    if agreeing:
        refs = " ".join(f"[{n}]" for a in agreeing if (n := present.citation_number(result, a.source, a.start)))
        lines.append(f"Also in {counted(len(agreeing), 'other article')}: {refs}")
    return lines + _differing_lines(result, colour)


def _differing_lines(result: AskResult, colour: bool) -> list[str]:
    """When articles give different values: each value, where it is from, and its sentence."""
    from qa import present
    from qa.models import Alternative, Answer
    from qa.text.safe import printable

    answer = result.answer
    differing = [a for a in result.alternatives if not a.agrees]
    if answer is None or not differing:
        return []
    date = present.answer_date(result)
    lines = [style("Sources differ:", "1;33", colour)]
    shown_values: list[Answer | Alternative] = [answer, *differing]
    for a in shown_values:
        if isinstance(a, Alternative):
            where = present.byline(a.outlet, a.date)
        else:
            where = present.byline(present.answer_outlet(result), date)
        n = present.citation_number(result, a.source, a.start)
        ref = f" [{n}]" if n else ""
        lines.append(f"  {printable(a.text)} — {printable(where)}{ref}")
        at = a.start - a.sentence.start  # the sentence cut around the value, so that it stays in view
        cut, _, _, left, right = elide(a.sentence.text, at, at + len(a.text), 160)
        lines.append(style(f'      "{"…" if left else ""}{printable(cut)}{"…" if right else ""}"', "2", colour))
        if isinstance(a, Alternative):
            note = present.resolved(a.resolved_dates, a.date)
            if note:
                lines.append(style(f"      dates: {printable(note)}", "2", colour))
    return lines


def _citation_lines(result: AskResult, settings: Settings, colour: bool) -> list[str]:
    from qa import present
    from qa.text.safe import printable

    lines = []
    for c in result.citations:
        where = f"{display_path(settings, c.source)}:{c.start}-{c.end}"
        if c.text_of == "extracted":
            where += " (extracted text)"
        line = f"[{c.n}] " + " — ".join(printable(p) for p in present.citation(c, where))
        lines.append(line + style(f"  (score {c.score:.2f})", "2", colour))
        if c.url:
            lines.append(style(f"    {printable(c.url)}", "2", colour))
        if c.also_in:
            lines.append(style(f"    also in: {printable(', '.join(c.also_in))} (the same text)", "2", colour))
    return lines
