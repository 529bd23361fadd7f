"""Time in articles and questions: relative dates resolved against the article's date, the dates a
sentence mentions, and the date bounds a question or an option sets.

Values are ISO strings as precise as the text: "2026" (a year), "2026-03" (a month),
"2026-03-03" (a day). Such strings compare correctly as text within one precision, and
``within`` compares across precisions ("2026-03-03" is within "2026-03").

Resolution is date arithmetic, never a guess: without the article's date nothing relative is
resolved. A month named without a year ("in March") is the one nearest the article's date, or the
next/last one when the text says so; a weekday ("on Tuesday") is the one of the article's week
before it (news reports what happened), or after it when the sentence speaks of the future.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any

# --------------------------------------------------------------------------- names
# The one table of month and weekday names. The foreign names are CLDR's (checked against babel
# in the tests); babel itself is not imported at run time, as its locale data costs 0.2 s of a
# cold start.

MONTHS: dict[str, int] = {
    # month name (or abbreviation) -> month number, in the languages the corpus is likely to use
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
    # Italian
    "gennaio": 1, "febbraio": 2, "marzo": 3, "aprile": 4, "maggio": 5, "giugno": 6, "luglio": 7,
    "agosto": 8, "settembre": 9, "ottobre": 10, "novembre": 11, "dicembre": 12,
    # German
    "januar": 1, "februar": 2, "märz": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
    # French
    "janvier": 1, "février": 2, "mars": 3, "avril": 4, "juin": 6, "juillet": 7, "août": 8,
    "septembre": 9, "octobre": 10, "décembre": 12,
    # Spanish
    "enero": 1, "febrero": 2, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "septiembre": 9,
    "octubre": 10, "noviembre": 11, "diciembre": 12,
}
MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
"""A regex alternation of every month name and abbreviation in ``MONTHS``, longest first."""
WEEKDAY_NAMES = (
    r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|lunedì|martedì|mercoledì|giovedì|venerdì|sabato|domenica|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag)"
)
"""A case-insensitive regex alternation of weekday names in the same languages."""
ENGLISH_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
ENGLISH_MONTH_ABBREVIATIONS = "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
ENGLISH_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
"""Capitalised English names, for text where case tells a month from a verb ("May", "march")."""
_WEEKDAYS = {d.lower(): i for i, d in enumerate(ENGLISH_WEEKDAYS.split("|"))}

_MONTH = r"(?P<month>" + ENGLISH_MONTHS + "|" + ENGLISH_MONTH_ABBREVIATIONS + r")\.?"
_DAY = r"(?P<day>[12]?\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"

# absolute dates, most precise first (month names are capitalised: "may" is a verb)
_ABSOLUTE = [
    re.compile(r"\b(?P<iso>(?:19|20)\d\d-[01]\d-[0-3]\d)\b"),
    re.compile(r"\b" + _DAY + r"\s+" + _MONTH + r",?\s+" + _YEAR + r"\b"),
    re.compile(r"\b" + _MONTH + r"\s+" + _DAY + r",?\s+" + _YEAR + r"\b"),
    re.compile(r"\b" + _MONTH + r",?\s+(?:of\s+)?" + _YEAR + r"\b"),
    re.compile(r"(?<![\d$€£¥.,-])\b(?i:in|since|by|until|before|after|of|from|during|early|late|mid-?)\s+" + _YEAR
               + r"\b(?![-–]?\d)"),
]
_RELATIVE = [
    ("day", re.compile(r"\b(?P<word>today|yesterday|tomorrow)\b", re.I)),
    ("unit", re.compile(r"\b(?P<which>this|next|last|past|coming)\s+(?P<unit>month|year)\b", re.I)),
    (
        "month_day",
        re.compile(r"\b(?:(?P<which>last|next|this|coming)\s+)?" + _MONTH + r"\s+" + _DAY + r"\b(?!,?\s+\d)"),
    ),
    ("day_month", re.compile(r"\b" + _DAY + r"\s+" + _MONTH + r"\b(?!,?\s+\d)")),
    # a month alone needs a word that makes it a time ("in March", "last November"): "May" is a verb
    (
        "month",
        re.compile(
            r"\b(?:(?P<which>[Ll]ast|[Nn]ext|[Tt]his|[Cc]oming)|(?i:in|by|until|since|from|of|"
            r"early|late|mid|before|after|during|through|till))\s+" + _MONTH + r"\b(?!\.?,?\s+\d)"
        ),
    ),
    ("weekday", re.compile(r"\b(?:(?P<which>last|next|this|coming)\s+)?(?P<weekday>" + ENGLISH_WEEKDAYS + r")\b")),
]
_DATELINE_AFTER = re.compile(r"\s*\([^)\n]{2,40}\)\s*[–—-]")
_FUTURE = re.compile(
    r"\b(?:will|shall|'ll|plans?|planned|planning|expected|expects?|scheduled|due|"
    r"set to|is to|are to|going to|would|hopes?|intends?|aims?)\b",
    re.I,
)


@dataclass(frozen=True)
class DateMention:
    """A piece of text naming a time, with the ISO value it stands for."""

    start: int
    end: int
    value: str
    relative: bool
    """True when the value came from the article's date ("next month"), False when the text
    states it fully ("3 March 2026")."""


def parse_iso(value: str) -> str | None:
    """``value`` when it is an ISO year, month or day that exists ("2026", "2026-03", "2026-03-03")."""
    m = re.fullmatch(r"((?:19|20)\d\d)(?:-([01]\d)(?:-([0-3]\d))?)?", value.strip())
    if not m:
        return None
    year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
    try:
        _dt.date(year, month, day)
    except ValueError:
        return None
    return value.strip()


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    try:
        _dt.date(year, month or 1, day or 1)
    except ValueError:
        return None
    return f"{year:04d}" + (f"-{month:02d}" if month else "") + (f"-{day:02d}" if month and day else "")


def _month_year(month: int, anchor: _dt.date, which: str | None) -> int:
    which = (which or "").lower()
    if which == "last":
        return anchor.year if month < anchor.month else anchor.year - 1
    if which in ("next", "coming"):
        return anchor.year if month > anchor.month else anchor.year + 1
    if which == "this":
        return anchor.year
    # the nearest: within six months either side of the article's month
    diff = month - anchor.month
    if diff > 6:
        return anchor.year - 1
    if diff < -6:
        return anchor.year + 1
    return anchor.year


def _shift_month(d: _dt.date, months: int) -> tuple[int, int]:
    total = d.year * 12 + d.month - 1 + months
    return total // 12, total % 12 + 1


def mentions(text: str, start: int, end: int, anchor: str | None) -> list[DateMention]:
    """Every time ``text[start:end]`` names, in text order; relative ones only with an ``anchor``
    (the article's ISO date)."""
    piece = text[start:end]
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= s or e <= a for s, e in taken)

    for pattern in _ABSOLUTE:
        for m in pattern.finditer(piece):
            groups = m.groupdict()
            if groups.get("iso"):
                value = parse_iso(groups["iso"])
            else:
                month = MONTHS.get((groups.get("month") or "").lower().rstrip("."))
                day = int(groups["day"]) if groups.get("day") else None
                value = _iso(int(groups["year"]), month, day)
            a, b = (
                m.span("iso") if groups.get("iso") else (m.start() if groups.get("month") else m.start("year"), m.end())
            )
            if value and free(a, b):
                taken.append((a, b))
                found.append(DateMention(start + a, start + b, value, relative=False))
    day0 = _dt.date.fromisoformat(anchor) if anchor and parse_iso(anchor) and len(anchor) == 10 else None
    if day0 is not None:
        future = bool(_FUTURE.search(piece))
        for kind, pattern in _RELATIVE:
            for m in pattern.finditer(piece):
                a, b = m.span()
                if kind == "month" and not m.group("which"):
                    a = m.start("month")  # "in March": the time is "March"
                if not free(a, b) or _DATELINE_AFTER.match(piece, b):
                    continue  # the dateline ("Turin, Jan. 5 (Harbour Wire)–") is the article's own date
                value = _relative(kind, m, day0, future)
                if value:
                    taken.append((a, b))
                    found.append(DateMention(start + a, start + b, value, relative=True))
    return sorted(found, key=lambda d: d.start)


def _relative(kind: str, m: re.Match[str], day0: _dt.date, future: bool) -> str | None:
    g = m.groupdict()
    which = (g.get("which") or "").lower() or None
    if kind == "day":
        offset = {"today": 0, "yesterday": -1, "tomorrow": 1}[g["word"].lower()]
        return (day0 + _dt.timedelta(days=offset)).isoformat()
    if kind == "unit":
        step = {"this": 0, "next": 1, "coming": 1, "last": -1, "past": -1}[which or "this"]
        if g["unit"].lower() == "year":
            return f"{day0.year + step:04d}"
        year, month = _shift_month(day0, step)
        return f"{year:04d}-{month:02d}"
    if kind == "weekday":
        target = _WEEKDAYS[g["weekday"].lower()]
        if which in ("next", "coming") or (which is None and future):
            delta = (target - day0.weekday()) % 7 or 7
        elif which == "this":
            delta = target - day0.weekday()
        else:
            delta = -((day0.weekday() - target) % 7 or (7 if which == "last" else 0))
        return (day0 + _dt.timedelta(days=delta)).isoformat()
    named = MONTHS.get(g["month"].lower().rstrip("."))
    if not named:
        return None
    year = _month_year(named, day0, which)
    if kind in ("month_day", "day_month"):
        return _iso(year, named, int(g["day"]))
    return _iso(year, named)


def resolve(text: str, start: int, end: int, anchor: str | None) -> list[DateMention]:
    """The relative times in ``text[start:end]`` resolved against ``anchor`` (nothing without one)."""
    return [d for d in mentions(text, start, end, anchor) if d.relative]


def first_date(text: str, start: int, end: int, anchor: str | None) -> str | None:
    """The first time ``text[start:end]`` names, absolute or resolved."""
    found = mentions(text, start, end, anchor)
    return found[0].value if found else None


def within(value: str, since: str | None, until: str | None) -> bool:
    """Whether the ISO ``value`` lies in ``[since, until]``, each bound inclusive and as precise as
    written ("2025" until includes all of 2025)."""
    if since and value[: len(since)] < since[: len(value)]:
        return False
    return not (until and value[: len(until)] > until[: len(value)])


def crossed(since: str | None, until: str | None) -> bool:
    """Whether ``since`` lies after ``until``, so that no date is within both."""
    return bool(since and until and since[: len(until)] > until[: len(since)])


def describe(value: str) -> str:
    """A human form of an ISO value: "2026", "March 2026", "Tue 3 March 2026"."""
    parts = value.split("-")
    if len(parts) == 1:
        return value
    month = ENGLISH_MONTHS.split("|")[int(parts[1]) - 1]
    if len(parts) == 2:
        return f"{month} {parts[0]}"
    day = _dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    return f"{ENGLISH_WEEKDAYS.split('|')[day.weekday()][:3]} {day.day} {month} {parts[0]}"


def _before(value: str) -> str:
    """The last day before the ISO ``value``."""
    first = _dt.date(
        int(value[:4]), int(value[5:7]) if len(value) > 4 else 1, int(value[8:10]) if len(value) > 7 else 1
    )
    return (first - _dt.timedelta(days=1)).isoformat()


def _after(value: str) -> str:
    """The first day after the whole of the ISO ``value``."""
    year = int(value[:4])
    if len(value) == 4:
        return f"{year + 1:04d}-01-01"
    month = int(value[5:7])
    if len(value) == 7:
        y, m = (year + 1, 1) if month == 12 else (year, month + 1)
        return f"{y:04d}-{m:02d}-01"
    return (_dt.date.fromisoformat(value) + _dt.timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class TimeIntent:
    """What a question asks about time."""

    since: str | None = None
    until: str | None = None
    latest: bool = False
    """ "latest", "most recent", "newest", "currently", "now": prefer the newest article."""
    year: str | None = None
    """ "in 2025": prefer articles of that year."""


_LATEST = re.compile(r"\b(?:latest|most\s+recent(?:ly)?|newest|currently|current|now|as\s+of\s+now|so\s+far)\b", re.I)
_BOUND = re.compile(r"\b(?P<word>as\s+of|before|until|till|up\s+to|after|since)\s+(?P<when>[^?;]{4,30})", re.I)
_IN_YEAR = re.compile(r"\bin\s+" + _YEAR + r"\b(?!-)")


def question_time(question: str) -> TimeIntent:
    """The article-date preferences and bounds a question states."""
    since = until = None
    for m in _BOUND.finditer(question):
        found = mentions(m.group("when"), 0, len(m.group("when")), None)
        if not found or found[0].start > 0:
            continue
        value, word = found[0].value, m.group("word").lower().split()[0]
        if word in ("as", "until", "till", "up"):
            until = value
        elif word == "before":
            until = _before(value)
        elif word == "after":
            since = _after(value)
        else:
            since = value
    year = _IN_YEAR.search(question)
    return TimeIntent(
        since=since,
        until=until,
        latest=bool(_LATEST.search(question)),
        year=year.group("year") if year and not (since or until) else None,
    )


_TIMELINE = re.compile(
    r"^\s*(?:how\s+(?:did|has|have|had|does|do)\b.*\b(?:chang|develop|evolv|unfold|progress|shift|grow|grew)\w*"
    r"|(?:please\s+)?(?:give|show|make)\s+(?:me\s+)?(?:a\s+|the\s+)?timeline\b|(?:a\s+|the\s+)?timeline\b"
    r"|what\s+(?:has\s+|have\s+)?happened\s+(?:with|to|in|between)\b.*\bsince\b|(?:the\s+)?(?:history|chronology)\s+of\b)",
    re.IGNORECASE,
)


def asks_for_timeline(question: str) -> bool:
    """Whether a question asks how something developed over time ("How did X change?",
    "timeline of X", "What happened with X since ...?")."""
    return bool(_TIMELINE.search(question))


# --------------------------------------------------------------------------- full dates in metadata

_DATE_MONTH = r"(?P<month>" + MONTH_NAMES + r")\.?"
_DATE_PATTERNS = [
    re.compile(r"(?P<year>\d{4})-(?P<mnum>\d{2})-(?P<day>\d{2})", re.IGNORECASE),
    re.compile(r"(?P<day>\d{1,2})\.?\s+" + _DATE_MONTH + r",?\s+(?P<year>\d{4})", re.IGNORECASE),
    re.compile(_DATE_MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})", re.IGNORECASE),
]


def iso_date(year: int | str, month: int | str, day: int | str) -> str | None:
    """ISO date from a year, a month (number or name in one of the known languages) and a day."""
    number = int(month) if str(month).isdigit() else MONTHS.get(str(month).lower().rstrip("."), 0)
    try:
        return _dt.date(int(year), number, int(day)).isoformat()
    except ValueError:
        return None


def _date_from_match(m: re.Match[str]) -> str | None:
    groups = m.groupdict()
    return iso_date(groups["year"], groups.get("mnum") or groups["month"], groups["day"])


def parse_date(text: str) -> str | None:
    """The first full date (day, month, year) written in ``text``, as ISO ``YYYY-MM-DD``."""
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            date = _date_from_match(m)
            if date:
                return date
    return None


_ISO_PREFIX = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")
_DEFAULTS = (_dt.datetime(1900, 1, 1), _dt.datetime(1904, 2, 2))
"""Two fillers for what a written date leaves out: a date read the same with both is complete."""


def as_date(value: Any) -> str | None:
    """An ISO date from a metadata value: a date, an ISO timestamp ("2026-01-06T09:30:00Z"), any
    full date python-dateutil reads ("Tue, 06 Jan 2026 09:30:00 GMT", "January 6, 2026"), a full
    date with a month name in one of the known languages ("3 Gennaio 2026"), or epoch seconds or
    milliseconds. A partial date ("January 2026") is no date."""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        if 1e8 < seconds < 4e9:
            return _dt.datetime.fromtimestamp(seconds, _dt.UTC).date().isoformat()
        return None
    if not isinstance(value, str) or not value.strip():
        return None
    m = _ISO_PREFIX.match(value)
    if m:  # the common case, without the parser
        try:
            return _dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            return None
    from dateutil import parser

    try:
        first, second = (parser.parse(value, default=d).date() for d in _DEFAULTS)
    except (ValueError, OverflowError):
        return parse_date(value)
    return first.isoformat() if first == second else None
