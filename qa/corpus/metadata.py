"""An article's title, date, outlet and byline, read from its kept text when the file's format
gave none: a "Published ..." stamp, a date line, a byline, the dateline, a copyright line."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from qa.text.dates import MONTH_NAMES, WEEKDAY_NAMES, iso_date, parse_date
from qa.text.sentences import split_sentences

_MONTH = r"(?P<month>" + MONTH_NAMES + r")\.?"
_WEEKDAY = r"(?:" + WEEKDAY_NAMES + r")"

_DATE_LINE = re.compile(
    r"^(?:(?:published|updated|posted|veröffentlicht|pubblicato)(?:\s+on)?:?\s*)?(?:" + _WEEKDAY + r",?\s+)?"
    r"(?P<date>.{6,40}?)(?:\s*[,|-]?\s*\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*[A-Z]{2,4})?)?\s*$",
    re.IGNORECASE,
)
_DATELINE = re.compile(
    r"^[A-Z][\w .'’-]{1,40},\s+"
    + _MONTH
    + r"\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?\s*(?:\((?P<outlet>[^)\n]{2,40})\))?",
    re.IGNORECASE,
)
_OUTLET_DATELINE = re.compile(r"^[A-Z][\w .,'’-]{1,60}\((?P<outlet>[A-Z][^)\n]{1,40})\)\s*[–—-]")
_COPYRIGHT_OUTLET = re.compile(
    r"(?:copyright|©)\s*(?:©\s*)?(?:\d{4}\s+)?(?:the\s+)?(?P<outlet>[A-Z][\w&.'’ -]{1,60}?)"
    r"(?:,?\s+(?:ltd|inc|llc|co|corp|gmbh|s\.p\.a|plc)\.?)*\s*(?:\]|\.|$|all rights)",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")


def _kept_lines(text: str, kept: list[tuple[int, int]]) -> list[str]:
    lines: list[str] = []
    for start, end in kept:
        lines.extend(line.strip() for line in text[start:end].splitlines() if line.strip())
    return lines


def _is_date_line(line: str) -> str | None:
    m = _DATE_LINE.match(line)
    if not m:
        return None
    date = parse_date(m.group("date"))
    # the whole line must be the date, not a sentence that happens to contain one
    return date if date and len(line) <= 60 else None


_STAMP = re.compile(
    r"(?:^|[|·•—–,;]\s*|\s)(?P<label>(?:first\s+)?published|posted|updated|last\s+updated|modified"
    r"|veröffentlicht|aktualisiert|pubblicato|aggiornato)(?:\s+on)?\s*:?\s*(?P<rest>[^|·•]{6,60})",
    re.IGNORECASE,
)
_BYLINE = re.compile(r"^by\s+(?P<rest>[A-Z].{2,150})$", re.IGNORECASE)


def _stamps(line: str) -> list[tuple[str, str]]:
    """("published" | "updated", ISO date) for each publication stamp in a short line."""
    if len(line) > 160:
        return []
    found = []
    for m in _STAMP.finditer(line):
        date = parse_date(m.group("rest"))
        if date:
            label = m.group("label").lower()
            found.append(
                ("updated" if any(w in label for w in ("updat", "modif", "aktual", "aggiorn")) else "published", date)
            )
    return found


def _byline(line: str) -> tuple[str | None, str | None]:
    """(ISO date, outlet) of a byline ("By Tom Reyes | The Daily Ledger | January 6, 2026")."""
    m = _BYLINE.match(line)
    if not m or len(line) > 160:
        return None, None
    parts = [p.strip() for p in re.split(r"\s[|·•—–]\s|\s-\s", m.group("rest")) if p.strip()]
    date = next((d for d in map(parse_date, parts) if d), None) or parse_date(m.group("rest"))
    outlet = next(
        (
            p
            for p in parts[1:]
            if parse_date(p) is None and p[:1].isupper() and len(p.split()) <= 5 and not _STAMP.search(" " + p)
        ),
        None,
    )
    return date, outlet


def publication(text: str, lines: list[str]) -> tuple[str | None, str | None, str | None, str | None]:
    """(date, where the date was read, updated date, byline outlet) of an article.

    In order of trust: a "Published ..." stamp, a line that is only a date near the top, a byline
    with a date, the dateline ("Tokyo, Jan. 3 (Jiji Press)–", the year taken from the text when
    the dateline has none); an "Updated ..." stamp is the date only when nothing else gives one.
    Stamps are looked for at the top and at the bottom of the page, where sites print them."""
    edges = lines[:12] + lines[-10:] if len(lines) > 22 else lines
    published: str | None = None
    updated: str | None = None
    for line in edges:
        for label, date in _stamps(line):
            if label == "published":
                published = published or date
            else:
                updated = updated or date
    byline_date = byline_outlet = None
    for line in lines[:12]:
        said, outlet = _byline(line)
        if said or outlet:
            byline_date, byline_outlet = said, outlet
            break
    if published:
        return published, "published line", updated, byline_outlet
    plain = next((d for line in lines[:6] if not _stamps(line) and (d := _is_date_line(line))), None)
    if plain:
        return plain, "date line", updated, byline_outlet
    if byline_date:
        return byline_date, "byline", updated, byline_outlet
    years = [int(y) for y in _YEAR.findall(text) if int(y) <= _dt.date.today().year]
    for line in lines[:12]:
        m = _DATELINE.match(line)
        if m:
            year = int(m.group("year")) if m.group("year") else (max(years) if years else None)
            dated = iso_date(year, m.group("month"), m.group("day")) if year else None
            if dated:
                return dated, "dateline" if m.group("year") else "dateline (year from the text)", updated, byline_outlet
            break
    if updated:
        return updated, "updated line", updated, byline_outlet
    return None, None, None, byline_outlet


def _is_headline(line: str) -> bool:
    words = line.split()
    return (
        3 <= len(words) <= 30
        and len(line) <= 200
        and not line.endswith((".", ",", ";", ":"))
        and line[0].isupper()
        and _is_date_line(line) is None
    )


_LEADING_DATELINE = re.compile(r"^[A-Z][A-Za-z .'’-]{1,30}(?:,\s[^–—\n]{1,30})?\s*[–—-]{1,2}\s*(?=[A-Z])")


def _title_from_first_sentence(paragraph: str) -> str:
    body = _LEADING_DATELINE.sub("", paragraph, count=1)
    spans = split_sentences(body, 0, len(body))
    first = body[spans[0][0] : spans[0][1]] if spans else body
    first = first.strip().rstrip(".")
    if len(first) > 120:
        first = first[:120].rsplit(" ", 1)[0] + "…"
    return first


@dataclass(frozen=True)
class Metadata:
    """What an article's text says about itself; each None when the text does not state it."""

    title: str | None
    date: str | None
    date_from: str | None
    """Where the date was read ("published line", "date line", "byline", "dateline", ...)."""
    updated: str | None
    outlet: str | None


def metadata(text: str, kept: list[tuple[int, int]]) -> Metadata:
    """Title, dates and outlet of an article."""
    lines = _kept_lines(text, kept)
    header = lines[:8]
    # the headline comes before the body: stop looking at the first paragraph of prose
    title = None
    for line in header[:5]:
        if _is_headline(line):
            title = line
            break
        if len(line.split()) > 30 or line.endswith((".", "”", '"')):
            break
    if title is None and lines:
        first_para = next((line for line in lines if len(line.split()) > 8), lines[0])
        title = _title_from_first_sentence(first_para)

    date, date_from, updated, byline_outlet = publication(text, lines)
    outlet = None
    for line in lines[:12]:
        m = _DATELINE.match(line)
        if m:
            outlet = (m.group("outlet") or "").strip() or None
            break
    outlet = outlet or byline_outlet
    if outlet is None:
        for line in lines[:12]:
            m = _OUTLET_DATELINE.match(line)
            if m:
                outlet = m.group("outlet").strip()
                break
    if outlet is None:
        # the copyright trailer is cut from the kept text, so look for it in the whole file
        for m in re.finditer(r"(?:\[\s*)?(?:copyright|©)[^\n\]]{2,100}", text, re.IGNORECASE):
            o = _COPYRIGHT_OUTLET.search(m.group(0) + "]")
            if o and not _YEAR.fullmatch(o.group("outlet").strip()):
                outlet = o.group("outlet").strip()
                break
    return Metadata(title, date, date_from, updated, outlet)
