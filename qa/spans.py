"""What a question asks for, and the spans of a sentence that could be that answer.

Rule-based and language-light: the answer kinds are the ones news questions ask most (a date, a
number or amount, a person, a place, an organisation, a quoted phrase). Every span is a pair of
offsets into the text it was found in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from qa.ingest import MONTH_NAMES

# --------------------------------------------------------------------------- answer kinds

DATE, NUMBER, PERSON, PLACE, ORG, QUOTE, REASON, YESNO, DESCRIPTION, OTHER = (
    "date", "number", "person", "place", "organisation", "quote", "reason", "yes/no", "description", "other",
)

_MONTHS = r"(?:(?:January|February|March|April|May|June|July|August|September|October|November|December)\b|" \
          r"(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\b\.?)"
_WEEKDAYS = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"

# up to three words between "which"/"what" and the noun that names the answer's kind, none of
# them a verb of the question ("which Japanese defence minister", not "what do Japanese officials")
_ADJ = r"(?:(?!(?:do|does|did|is|are|was|were|has|have|had|will|would|can|could|should|may|might)\b)[\w’'-]+ ){0,3}"
_KIND_RULES: list[tuple[str, re.Pattern[str]]] = [
    # "Who is Sheila Smith?" asks what the named person is, not for a name
    (DESCRIPTION, re.compile(r"^\s*(?i:who|what)\s+(?i:is|was|are|were)\s+(?:[A-Z][\w.’'-]*(?:\s+|(?=\?))|of\s+|the\s+)+\?*\s*$")),
    (DATE, re.compile(r"^\s*(?:when|since when|until when|by when)\b|\bwhat (?:date|day|year|month|time)\b|"
                      r"\b(?:which|what) (?:year|month|day|date|week)\b|\bhow long ago\b|\bin what year\b", re.I)),
    (NUMBER, re.compile(r"\bhow (?:many|much|far|large|big|high|long|old|often)\b|\bwhat (?:percentage|share|"
                        r"proportion|fraction|number|amount|figure|sum|total|size|rate|rank|ranking|ordinal)\b|"
                        r"\bby how much\b|\bwhat (?:is|was|were|are) (?:the |its |her |his |their )?(?:[\w’'-]+ ){0,2}(?:value|size|"
                        r"figure|amount|number|rate|rating|level|total|share|percentage|budget|cost|price|growth|"
                        r"population|count|score|revenue|revenues|profit|profits|sales|income|spending|turnover|debt|"
                        r"deficit|surplus|salary|wage|toll)\b|"
                        r"\bwhat (?:[\w’'-]+ ){1,2}(?:rate|percentage|amount|sum|total|revenue|profit|sales|income|cost|"
                        r"price|budget|population|spending|turnover|deficit|surplus|toll)\b", re.I)),
    (QUOTE, re.compile(r"\bwhat (?:did|does|has|had|do)\b.{0,80}\b(?:call|term|describe|label|dub|brand|say|said|"
                       r"stress|warn|urge)\w*\b.{0,40}(?:as|\?)?", re.I)),
    (PERSON, re.compile(r"^\s*(?:who|whom|whose)\b|\b(?:which|what) {adj}(?:person|people|official|"
                        r"minister|leader|scholar|analyst|expert|professor|president|premier|politician|spokesperson|"
                        r"spokesman|spokeswoman|chairman|chairwoman|secretary|academic|researcher|diplomat|lawmaker|"
                        r"senator|ambassador|envoy|economist|scientist|journalist|reporter|head|chief|ceo|"
                        r"founder|governor|mayor|king|queen|emperor)s?\b(?!-)|"
                        r"\bname (?:of )?(?:the )?(?:[\w’'-]+ ){0,3}(?:person|official|minister|leader|scholar|analyst|"
                        r"expert|president|premier|ambassador|spokesperson|spokesman|chairman|secretary|head|chief)s?\b"
                        .replace("{adj}", _ADJ), re.I)),
    (PLACE, re.compile(r"^\s*where\b|\b(?:which|what) {adj}(?:city|cities|country|countries|places?|venues?|"
                       r"island|islands|regions?|seas?|waters|capitals?|prefectures?|provinces?|locations?|buildings?|"
                       r"bases?|ports?|states?|territory|territories)\b(?!-)|\bin what (?:city|country|place)\b".replace("{adj}", _ADJ), re.I)),
    (ORG, re.compile(r"\b(?:which|what) {adj}(?:organi[sz]ations?|groups?|party|parties|institutions?|"
                     r"outlets?|newspapers?|paper|agency|agencies|think tanks?|universit(?:y|ies)|compan(?:y|ies)|"
                     r"firms?|body|bodies|ministry|ministries|associations?|foundations?|federations?|coalitions?|"
                     r"broadcasters?|network|forums?|dialogues?|summits?|meetings?|conferences?|mechanisms?|agreements?|"
                     r"treat(?:y|ies)|pacts?|initiatives?|alliances?)\b(?!-)".replace("{adj}", _ADJ), re.I)),
    (REASON, re.compile(r"^\s*why\b|\bfor what reason\b|\bwhat (?:caused|prompted|triggered|led to)\b|"
                        r"\bhow come\b", re.I)),
    (YESNO, re.compile(r"^\s*(?:is|are|was|were|do|does|did|has|have|had|will|would|can|could|should|must)\b", re.I)),
]


def answer_kind(question: str) -> str:
    """The kind of answer a question asks for."""
    return _kind_match(question)[0]


def _kind_match(question: str) -> tuple[str, re.Match[str] | None]:
    for kind, rule in _KIND_RULES:
        m = rule.search(question)
        if m:
            return kind, m
    return OTHER, None


HARD_KINDS = frozenset({DATE, NUMBER, PERSON, DESCRIPTION})
"""Kinds an answer must show: a "when" question is not answered by a sentence without a date.
Places and organisations are recognised without a gazetteer, too unreliably to demand one."""

_DURATION = re.compile(r"\b(?:years?|months?|weeks?|days?|hours?|decades?|centuries|minutes?)\b", re.I)
_PERCENT = re.compile(r"%|\bper ?cent\b", re.I)
_YEAR_IN = re.compile(r"\b(?:1[5-9]|20)\d\d\b|\b\d0s\b")
_MONTH_IN = re.compile(_MONTHS + r"|(?i:" + r"\b(?:" + MONTH_NAMES + r")\b)")
_HOW_MUCH = re.compile(r"\bhow (?:many|much)\s+((?:\S+\s*){1,6})", re.I)
_VERBISH = re.compile(r"^(?:do|does|did|is|are|was|were|has|have|had|will|would|can|could|should|may|might|"
                      r"more|less|longer|\w+ed)$", re.I)


_PLURALS = frozenset("people men women children police staff personnel cattle feet teeth mice geese".split())


def _counted_noun(question: str) -> str | None:
    """What "how many"/"how much" counts: the first plural noun after it ("how many U.S. troops
    are ..." -> troops), else the word before its verb ("how much seafood did ..." -> seafood)."""
    m = _HOW_MUCH.search(question)
    if not m:
        return None
    words = [w.strip("?,.;:") for w in m.group(1).split()][:5]
    if not words or _VERBISH.match(words[0]):
        return None
    before = []
    for w in words:
        if _VERBISH.match(w):
            break
        if w.lower() in _PLURALS or (
            len(w) > 3 and w.lower().endswith("s") and "." not in w and not w.lower().endswith("ss")
        ):
            return w.lower()
        before.append(w)
    # "how much seafood did ..." -> seafood; without a verb within reach the noun is not known
    return before[-1].lower() if before and len(before) < len(words) else None


# Roles a "who"/"which <role>" question can ask for, each with the words that name it in text.
_ROLE_GROUPS: list[tuple[str, ...]] = [
    ("leader", "head", "president", "prime minister", "premier", "chairman", "chairwoman", "chair", "chief",
     "chancellor", "king", "queen", "emperor", "sheikh"),
    ("spokesperson", "spokesman", "spokeswoman", "spokespeople"),
    ("ambassador", "envoy"),
    ("minister", "secretary"),
    ("scholar", "academic", "professor", "expert", "analyst", "researcher", "scientist", "economist", "university",
     "institute", "think tank", "foundation", "center", "centre", "council"),
    ("official", "officer", "diplomat", "bureaucrat"),
    ("senator", "lawmaker", "legislator", "congressman", "congresswoman", "mp", "parliamentarian"),
    ("governor", "mayor"),
    ("journalist", "reporter", "editor", "columnist", "correspondent"),
]
_ROLE_WORD = re.compile(
    r"\b(" + "|".join(sorted({w for g in _ROLE_GROUPS for w in g}, key=len, reverse=True)) + r")s?\b", re.I
)


@dataclass(frozen=True)
class Spec:
    """What a question asks for: a kind and, for some, a narrower test of a candidate span."""

    kind: str
    need: str | None = None
    """"duration", "percent", "year", "month", "calendar", "count:<word>" for "how many <word>", or
    "role:<n>" for a person asked for by role ("Japan's ambassador": role group n)."""
    focus: tuple[str, ...] = ()
    """For names: the words of the question's phrase naming what is asked for ("Chinese leaders")."""

    def modifiers(self) -> list[str]:
        """Words of the asking phrase that narrow a role: not the role, not a country, not "name"."""
        from qa.names import is_country

        roles = {w for g in _ROLE_GROUPS for w in g}
        out = []
        for w in self.focus:
            bare = w.lower().removesuffix("’s").removesuffix("'s")
            if bare in roles or bare.rstrip("s") in roles or bare in ("name", "the", "of") or is_country(w):
                continue
            if len(bare) >= 3:
                out.append(bare)
        return out

    @property
    def hard(self) -> bool:
        """Whether a sentence without a span of this kind cannot answer ("how long" can be answered
        in words: "for an extended period")."""
        return self.kind in HARD_KINDS and self.need != "duration"

    def accepts(self, text: str, cand: Candidate, lo: int = 0, hi: int | None = None) -> bool:
        """Whether ``cand`` (in the sentence ``text[lo:hi]``) is the narrower thing the question asks for."""
        hi = len(text) if hi is None else hi
        span = text[cand.start : cand.end]
        if self.need is None:
            return True
        if self.need == "duration":
            return bool(_DURATION.search(span))
        if self.need == "percent":
            return bool(_PERCENT.search(span))
        if self.need == "year":
            return bool(_YEAR_IN.search(span))
        if self.need == "month":
            return bool(_MONTH_IN.search(span))
        if self.need == "calendar":  # a day of a month, not "Friday" or "last year"
            return bool(_MONTH_IN.search(span) and re.search(r"\d", span)) or bool(re.search(r"\d{4}-\d\d-\d\d", span))
        if self.need.startswith("role:"):
            # the role, and every other word of the asking phrase ("defence" in "China's defence
            # minister"; countries are checked against the name's own introduction elsewhere)
            group = _ROLE_GROUPS[int(self.need[5:])]
            sentence = text[lo:hi].lower()
            if not any(re.search(r"\b" + re.escape(w), sentence) for w in group):
                return False
            return all(re.search(r"\b" + re.escape(w[:4].lower()), sentence) for w in self.modifiers())
        if self.need.startswith("count:"):
            # the counted thing is named next to the number: "1,200 troops", "three key documents",
            # "trade has stayed above $300 billion"
            word = self.need[6:]
            near = text[max(lo, cand.start - 40) : min(hi, cand.end + 60)].lower()
            return bool(re.search(r"\b" + re.escape(word[:4]), near))
        return True


_WHO_FOCUS = re.compile(
    r"^\s*who\s+(?:is|was|are|were)\s+(?:the\s+)?(?P<who>[^?]{3,60}?)"
    r"(?=\s+(?:during|in|at|on|for|from|with|after|before|since|under|between|when|who|that)\b|\s*\??$)",
    re.IGNORECASE,
)
_NOT_FOCUS = frozenset("which what who whom whose where when in at of the a an".split())


def focus(question: str, match: re.Match[str] | None = None) -> list[str]:
    """The words of the phrase naming what is asked for: "Which Chinese leaders did ...?" ->
    ["Chinese", "leaders"]; "Who is Japan's prime minister?" -> ["Japan's", "prime", "minister"]."""
    if match is None:
        match = _kind_match(question)[1]
    words = [w for w in (match.group(0).split() if match else []) if w.lower() not in _NOT_FOCUS]
    if words:
        return words
    who = _WHO_FOCUS.search(question)
    return who.group("who").split() if who else []


def analyze(question: str) -> Spec:
    """The kind of answer ``question`` asks for and any narrower need."""
    kind, match = _kind_match(question)
    q = question.lower()
    need = None
    if kind == NUMBER:
        if re.search(r"\bhow long\b(?! ago)", q):
            need = "duration"
        elif re.search(r"\b(?:percentage|percent|proportion|share|rate)\b", q):
            need = "percent"
        else:
            noun = _counted_noun(question)
            if noun:
                need = "count:" + noun
    elif kind == PERSON:
        m = _ROLE_WORD.search(question)
        if m:
            word = m.group(1).lower()
            need = "role:" + str(next(i for i, g in enumerate(_ROLE_GROUPS) if word in g))
    elif kind == DATE:
        if re.search(r"\b(?:what|which|in which|in what) year\b", q):
            need = "year"
        elif re.search(r"\b(?:what|which|in which|in what) month\b", q):
            need = "month"
        elif re.search(r"\b(?:what|which|on which|on what) (?:date|day)\b", q):
            need = "calendar"
    return Spec(kind, need, tuple(focus(question, match)) if kind in (PERSON, PLACE, ORG) else ())


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
_REASON_SPAN = re.compile(r"\b(?:because|due to|since|as a result of|owing to|in response to|following|after|"
                          r"given|amid)\b[^.;]*", re.I)

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


_INTRO_WORD = re.compile(r"[\w’'.-]+")


def introduction(text: str, lo: int, start: int) -> list[str]:
    """The words that introduce a name: the run of capitalised or title words right before it
    ("welcome Italian Prime Minister | Giorgia Meloni" -> Italian, Prime, Minister)."""
    words = [(m.start(), m.group(0)) for m in _INTRO_WORD.finditer(text, lo, start)]
    intro: list[str] = []
    for pos, word in reversed(words):
        if text[pos + len(word) : start].strip():
            break  # punctuation between the word and the name
        if word[0].isupper() or word.lower() in ("spokesperson", "spokesman", "minister", "president", "scholar",
                                                  "analyst", "professor", "expert", "chairman", "secretary", "premier",
                                                  "official", "leader", "scientist", "economist", "ambassador"):
            intro.append(word)
            start = pos
            continue
        break
    return list(reversed(intro))


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
    elif kind == REASON:
        for m in _REASON_SPAN.finditer(text, lo, hi):
            found.append(Candidate(m.start(), m.end(), REASON))
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


_EDGE_CONNECTOR = re.compile(r"^(?:of|the|on|for|and|at|in|from|to|with|a|an|’s|'s|,)$", re.I)


def trim_known(text: str, cand: Candidate, known: Callable[[str], bool]) -> Candidate | None:
    """``cand`` without leading or trailing words the question already says (and the connectors
    left dangling): "Bonji Ohara of the Sasakawa Peace Foundation" asked about Ohara ->
    "Sasakawa Peace Foundation". None when nothing new is left."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[^\s,]+", text[cand.start : cand.end])]
    words = [(cand.start + a, cand.start + b) for a, b in words]

    def drop(i: int) -> bool:
        word = text[words[i][0] : words[i][1]]
        return known(word) or bool(_EDGE_CONNECTOR.match(word))

    changed = False
    while words and drop(0):
        words.pop(0)
        changed = True
    while words and drop(-1):
        words.pop()
        changed = True
    if not words:
        return None
    if not changed:
        return cand
    return Candidate(words[0][0], words[-1][1], cand.kind)


_APPOSITIVE_AFTER = re.compile(r"(?:’s|'s)?,\s+((?:a|an|the)\s+[^,;.“”\"]{3,160}?)(?=[,;.]|\s+(?:said|says|told)\b)")
_OF_ORG_AFTER = re.compile(r"\s+(?:of|at|from)\s+(?:the\s+)?([A-Z][^,;.“”\"]{2,100}?)(?=\s+(?:says?|said|argues?|argued|warns?|warned|"
                           r"has|have|is|are|was|who|wrote|writes|expects?|told|believes?|thinks?)\b|[,;.])")
_ROLE_BEFORE = re.compile(r"((?:[A-Z][\w.-]*\s+)*(?:[a-z][\w-]*\s+){0,3}[a-z][\w-]*)\s+$")


def describe(text: str, lo: int, hi: int, name: str) -> Candidate | None:
    """What the sentence ``text[lo:hi]`` says the named person or thing is: an appositive after the
    name (", a professor of politics at ..."), an affiliation ("of the Council on Foreign
    Relations"), or a role written before it ("spokesperson Wang Wenbin")."""
    parts = [w for w in name.split() if w[:1].isupper()]
    if not parts:
        return None
    at = text.find(parts[-1], lo, hi)
    if at < 0:
        return None
    after = at + len(parts[-1])
    for pattern in (_APPOSITIVE_AFTER, _OF_ORG_AFTER):
        m = pattern.match(text, after, hi)
        if m:
            return Candidate(m.start(1), m.end(1), DESCRIPTION)
    first = text.find(parts[0], lo, hi)
    m = _ROLE_BEFORE.search(text, lo, first if first >= 0 else at)
    if m and m.end(1) > m.start(1) and not re.search(
        r"\b(?:said|says|told|and|but|the|a|an|as|such|like|including|by|with|to|of|for|from|at|in|on)\b", m.group(1)
    ):
        return Candidate(m.start(1), m.end(1), DESCRIPTION)
    return None



def kind_of(text: str, start: int, end: int, lo: int, hi: int) -> str:
    """What sort of thing the answer ``text[start:end]`` of the sentence ``text[lo:hi]`` is, for
    follow-ups ("When will she visit?" takes a person, "What happened then?" a date): date,
    number, person, place, organisation, quote or phrase."""
    from qa import names

    width = max(1, end - start)

    def covered(kind: str) -> bool:
        # most of the span, or for a person the name closing it ("Italian Prime Minister Giorgia Meloni")
        return any(start <= c.start and c.end <= end and ((c.end - c.start) / width >= 0.6
                                                          or (kind == PERSON and c.end == end))
                   for c in candidates(text, lo, hi, kind))

    for kind in (DATE, PERSON, NUMBER, QUOTE):
        if covered(kind):
            return kind
    span = text[start:end]
    if covered(PLACE) or names.is_country(span) or looks_like_place(span):
        return PLACE
    if looks_like_organisation(span):
        return ORG
    return "phrase"
