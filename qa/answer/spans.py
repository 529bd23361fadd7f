"""Spans of a text that are a date, a number, a person, a place, an organisation or a quote.

The reader picks answers; these recognisers only say what sort of thing an answer or a name is,
which follow-up questions need ("When will she visit?" takes the person an answer named). Every
span is a pair of offsets into the text it was found in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text.dates import ENGLISH_MONTH_ABBREVIATIONS, ENGLISH_MONTHS, ENGLISH_WEEKDAYS, MONTH_NAMES

# --------------------------------------------------------------------------- kinds

DATE, NUMBER, PERSON, PLACE, ORG, QUOTE = "date", "number", "person", "place", "organisation", "quote"

_MONTHS = r"(?:(?:" + ENGLISH_MONTHS + r")\b|(?:" + ENGLISH_MONTH_ABBREVIATIONS + r")\b\.?)"
_WEEKDAYS = r"(?:" + ENGLISH_WEEKDAYS + ")"

# --------------------------------------------------------------------------- candidate spans


@dataclass(frozen=True)
class Candidate:
    """A span of a sentence that could answer, with its kind."""

    start: int
    end: int
    kind: str


_DATE_SPAN = re.compile(
    r"(?:(?:early|mid|late|the end of|the start of|the beginning of|the middle of|later in|earlier in)[\s-]+)?"
    r"(?:" + _WEEKDAYS + r",?\s+)?"
    r"(?:(?:[Ll]ast|[Nn]ext|[Tt]his)\s+(?:week|month|year|spring|summer|autumn|fall|winter|" + _MONTHS + r")"
    r"|\d{1,2}\.?\s+(?i:" + MONTH_NAMES + r")\b\.?(?:,?\s+\d{4})?"  # day first, any language: "28. Oktober"
    r"|" + _MONTHS + r"\s+\d{1,2}(?:st|nd|rd|th)?\b(?:,\s+\d{4})?"
    r"|" + _MONTHS + r"(?:\s+\d{4})?"
    r"|(?:the\s+)?(?:early|mid|late)?[\s-]?(?:19|20)\d0s"
    r"|(?:19|20)\d\d(?:\s+(?:to|and|-|–)\s+(?:19|20)\d\d)?"
    r"|" + _WEEKDAYS + r"|(?:in\s+)?(?:the\s+)?(?:spring|summer|autumn|fall|winter)(?:\s+(?:of\s+)?(?:19|20)\d\d)?"
    r")",
)

_NUMBER_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"hundred|dozens?|hundreds|thousands|millions|billions|first|second|third|fourth|fifth|sixth|seventh|"
    r"eighth|ninth|tenth|50th|\d+(?:st|nd|rd|th))"
)
_NUMBER_SPAN = re.compile(
    r"(?:(?:about|around|roughly|nearly|almost|approximately|more than|less than|over|under|some|at least|"
    r"up to|a record)\s+)?"
    r"(?:(?:[$€£¥]\s?)?\d+(?:,\d{3})*(?:\.\d+)?(?:\s?(?:%|percent|per cent))?"
    r"(?:\s+(?:trillion|billion|million|thousand|hundred))?"
    r"(?:\s+(?:yen|dollars|euros|yuan|won|people|troops|years|months|days|weeks|points|units|ships|"
    r"visitors|tourists|members|countries|nations|times|percent))?"
    r"(?:-(?:point|year|month|day|week))?"
    r"(?:\s*\((?:[$€£¥]\s?)?\d[^)]{0,30}\))?"
    r"|\b(?:once|twice|thrice|\w+ times)(?:\s+(?:a|an|per|every)\s+(?:day|week|month|year|decade))?\b"
    r"|\b(?:annually|yearly|monthly|weekly|daily|every (?:day|week|month|year))\b"
    r"|\b" + _NUMBER_WORDS + r"(?:[\s-]+(?:point|years?|months?|days?|weeks?|times|meeting|session|"
    r"anniversary|term))?\b)",
    re.I,
)

_CAP = r"[A-Z][\w’'.-]*[\w]"
# a name may open with initials: "S. Jaishankar", "J. R. R. Tolkien"
_INITIALS = r"(?:[A-Z]\.\s?)*"
_NAME_SPAN = re.compile(
    r"\b" + _INITIALS + _CAP
    + r"(?:\s+(?:(?:bin|al|de|van|von|der|da|di|of the|of|on|for|and)\s+)?" + _INITIALS + _CAP + r")*"
)
_DATE_WORD = re.compile(r"^(?:" + _MONTHS + r"|" + _WEEKDAYS + r")$")
_CONNECTOR = re.compile(r"^(?:bin|al|de|van|von|der|da|di|of|the|on|for|and)$")
_QUOTE_SPAN = re.compile(r"[“\"]([^”\"\n]{2,240})[”\"]|‘([^’\n]{2,120})’")
_NOT_NAMES = re.compile(
    r"^(?:" + _MONTHS + r"|" + _WEEKDAYS + r"|The|A|An|In|On|At|But|And|Or|As|Still|Also|However|Even|"
    r"Under|While|During|Since|After|Before|Despite|Although|Some|Many|Last|This|That|These|Those|It|He|She|"
    r"They|We|I|His|Her|Their|Our|Its|END|Which|What|Who|Whom|Whose|When|Where|Why|How|Is|Are|Was|Were|Do|Does|"
    r"Did|Has|Have|Had|Will|Would|Can|Could|Should)$"
)
# Generic words that mark a capitalised phrase as a place or an organisation; no gazetteer.
_PLACE_HINT = re.compile(
    r"\b(?:Islands?|Sea|Strait|House|Office|Palace|Hall|Base|Prefecture|City|Province|Peninsula|Ocean|Bay|"
    r"River|Mountains?|Square|Airport|Port|Harbou?r|Street|Avenue|County|State|Republic|Kingdom)\b"
)
_ORG_HINT = re.compile(
    r"\b(?:Party|Ministry|Council|Foundation|Center|Centre|University|Association|Federation|Institute|"
    r"Agency|Press|Times|Post|News|Forum|Bank|Fund|Committee|Group|Alliance|Mechanism|Organi[sz]ation|"
    r"Dialogue|Summit|Conference|Initiative|Partnership|Agreement|Accord|Treaty|Pact|Cooperation|"
    r"Corporation|Company|Inc|Ltd|Union|Commission|Assembly|Parliament|Congress|Senate|Diet|Court)\b"
    r"|\b[A-Z]{2,}\d*\b"
)


_JOB_TITLE = re.compile(
    r"\b(?:Prime Minister|Foreign Minister|Defen[cs]e Minister|Finance Minister|Minister|Vice President|President|"
    r"Premier|Chairman|Chairwoman|Chair|Secretary|Spokesperson|Spokesman|Spokeswoman|Ambassador|Professor|Prof\.|"
    r"Governor|Senator|Chancellor|General|Gen\.|Director|CEO|Mayor|Leader|Speaker)\b"
)


def _trim_title(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop everything up to a job title from a name ("Japanese Prime Minister Sanae Takaichi" ->
    "Sanae Takaichi", "United Arab Emirates President Sheikh X" -> "Sheikh X")."""
    last = None
    for m in _JOB_TITLE.finditer(text, start, end):
        last = m
    if last is not None and last.end() < end:
        s = last.end()
        while s < end and text[s].isspace():
            s += 1
        if s < end:
            return s, end
    return start, end


def names_in(text: str, lo: int, hi: int) -> list[tuple[int, int]]:
    """Runs of capitalised words in ``text[lo:hi]``, split at possessives, without leading
    function words ("The", "In", month names...)."""
    pieces = []
    for m in _NAME_SPAN.finditer(text, lo, hi):
        # a possessive inside a capitalised run ends one name: "Japan’s Prime Minister X"
        s = m.start()
        for p in re.finditer(r"[’']s\b\s*", text[m.start() : m.end()]):
            pieces.append((s, m.start() + p.start()))
            s = m.start() + p.end()
        pieces.append((s, m.end()))
    spans = []
    for s, e in pieces:
        words = [(s + w.start(), s + w.end()) for w in re.finditer(r"\S+", text[s:e])]
        for i, (ws, we) in enumerate(words):
            if i and _DATE_WORD.match(text[ws:we]):
                words = words[:i]
                break
        while words and _NOT_NAMES.match(text[words[0][0] : words[0][1]]):
            words.pop(0)
        while words and _CONNECTOR.match(text[words[-1][0] : words[-1][1]]):
            words.pop()
        if words:
            spans.append((words[0][0], words[-1][1]))
    return spans


def candidates(text: str, lo: int, hi: int, kind: str) -> list[Candidate]:
    """Spans within ``text[lo:hi]`` that could be an answer of ``kind``."""
    found: list[Candidate] = []
    if kind == DATE:
        for m in _DATE_SPAN.finditer(text, lo, hi):
            if m.end() > m.start() and text[m.start() : m.end()].strip():
                found.append(Candidate(m.start(), m.end(), DATE))
    elif kind == NUMBER:
        for m in _NUMBER_SPAN.finditer(text, lo, hi):
            span = text[m.start() : m.end()]
            if any(c.isdigit() for c in span) or re.search(_NUMBER_WORDS + r"|once|twice|thrice|times|annually|yearly|"
                                                           r"monthly|weekly|daily|every", span, re.I):
                found.append(Candidate(m.start(), m.end(), NUMBER))
    elif kind in (PERSON, PLACE, ORG):
        if _is_heading(text[lo:hi]):
            return found
        for s, e in names_in(text, lo, hi):
            span = text[s:e]
            if kind == PERSON:
                # "Akio Takahara of the University of Tokyo": the person is before the affiliation
                cut = re.search(r"\s(?:of|at|from|for|on)\s", span)
                if cut:
                    e = s + cut.start()
                # "President Lee Jae-myung and Prime Minister Giorgia Meloni" are two people
                people = [(s, e)]
                joined = re.search(r"\s+and\s+", text[s:e])
                if joined:
                    people = [(s, s + joined.start()), (s + joined.end(), e)]
                for ps, pe in people:
                    ps, pe = _trim_title(text, ps, pe)
                    name = text[ps:pe]
                    if len(name.split()) >= 2 and not _ORG_HINT.search(name) and not _PLACE_HINT.search(name):
                        found.append(Candidate(ps, pe, PERSON))
                continue
            if kind == PLACE and not (
                _PLACE_HINT.search(span)
                or _preceded_by(text, s, ("in", "at", "to", "near", "from"))
                or re.search(r"\b(?:city|prefecture|province|island|region|town|village|state|county|port) of\s*$",
                             text[max(0, s - 20) : s], re.I)
            ):
                continue
            elif kind == ORG and not _ORG_HINT.search(span):
                continue
            found.append(Candidate(s, e, kind))
    elif kind == QUOTE:
        for m in _QUOTE_SPAN.finditer(text, lo, hi):
            g = 1 if m.group(1) is not None else 2
            found.append(Candidate(m.start(g), m.end(g), QUOTE))
    return found


def looks_like_place(name: str) -> bool:
    """Whether a name reads like a place ("Prime Minister's Office", "Senkaku Islands")."""
    return bool(_PLACE_HINT.search(name))


def is_date_word(name: str) -> bool:
    """Whether a name is a month or a weekday ("September", "Tuesday")."""
    return all(_DATE_WORD.match(w) for w in name.split())


def looks_like_organisation(name: str) -> bool:
    """Whether a name reads like an organisation ("Foreign Ministry", "LDP", "Stimson Center")."""
    return bool(_ORG_HINT.search(name))


def _is_heading(text: str) -> bool:
    """A title-case line ("What Experts Expect Next for Japan and China") names no one."""
    words = [w for w in re.findall(r"[^\W\d_][\w’'-]*", text) if len(w) > 3]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) / len(words) > 0.8 and not text.rstrip().endswith(".")


def _preceded_by(text: str, start: int, words: tuple[str, ...]) -> bool:
    before = text[max(0, start - 8) : start].split()
    return bool(before) and before[-1].lower() in words


def kind_of(text: str, start: int, end: int, lo: int, hi: int) -> str:
    """What sort of thing the answer ``text[start:end]`` of the sentence ``text[lo:hi]`` is, for
    follow-ups ("When will she visit?" takes a person, "What happened then?" a date): date,
    number, person, place, organisation, quote or phrase."""
    from qa.text import names

    width = max(1, end - start)

    def covered(kind: str) -> bool:
        # most of the span lies in one such candidate ("March" of "the end of March"), or for a
        # person the name closes it ("Italian Prime Minister Giorgia Meloni")
        for c in candidates(text, lo, hi, kind):
            overlap = min(end, c.end) - max(start, c.start)
            if overlap / width >= 0.6 or (kind == PERSON and start <= c.start and c.end == end):
                return True
        return False

    for kind in (DATE, PERSON, NUMBER, QUOTE):
        if covered(kind):
            return kind
    span = text[start:end]
    if covered(PLACE) or names.is_country(span) or looks_like_place(span):
        return PLACE
    if looks_like_organisation(span):
        return ORG
    return "phrase"
