"""Words shared by the text answer (``qa ask``) and the chat's answer card."""

from __future__ import annotations

from qa.models import AskResult, Citation, ResolvedDate
from qa.text.dates import describe


def byline(outlet: str | None, date: str | None) -> str:
    """ "Jiji Press, 2026-01-03", "2026-01-03", "Jiji Press, undated" or "undated"."""
    return ", ".join(x for x in (outlet, date or "undated") if x)


def citation(c: Citation, location: str | None = None) -> list[str]:
    """The parts of a citation line, in the order every view shows them: the title, the outlet and
    date when known, and where the passage is (``source:start-end`` unless ``location`` says)."""
    return [c.title, *([c.byline] if c.byline else []), location or f"{c.source}:{c.start}-{c.end}"]


def resolved(dates: list[ResolvedDate], article_date: str | None) -> str | None:
    """ "March → March 2026, next month → February 2026 (article of 2026-01-03)", or None."""
    if not dates:
        return None
    return ", ".join(f"{d.text} → {describe(d.value)}" for d in dates) + f" (article of {article_date})"


def citation_number(result: AskResult, source: str, start: int) -> int | None:
    """The number of the citation whose passage holds offset ``start`` of ``source`` (or whose
    copies include ``source``)."""
    for c in result.citations:
        if c.source == source and c.start <= start < c.end:
            return c.n
    for c in result.citations:
        if source in c.also_in:
            return c.n
    return None


def answer_date(result: AskResult) -> str | None:
    """The date of the answer's article."""
    if result.answer is None:
        return None
    return next((c.date for c in result.citations if c.source == result.answer.source), None)


def answer_outlet(result: AskResult) -> str | None:
    """The outlet of the answer's article."""
    if result.answer is None:
        return None
    return next((c.outlet for c in result.citations if c.source == result.answer.source), None)
