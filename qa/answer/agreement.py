"""Do two articles' answers say the same thing?

Each answer is reduced to a value: an amount ("$9.4bn", "$9.4 billion" and "9.4bn dollars" are
all 9.4e9 dollars), a date (resolved against its article's date: "March" in an article of
2026-01-03 is 2026-03), or normalised words (case, punctuation, articles and titles dropped, so
"Prime Minister Sanae Takaichi" is "sanae takaichi"). Two values agree when they are the same
amount, compatible dates ("2026-03" and "2026-03-03"), or when one name is part of the other
("Takaichi", "Sanae Takaichi"). Amounts agree only when equal: $9.37bn and $9.4bn are two
different figures, and a reader needs to see both.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from qa.text import dates
from qa.text.overlap import overlap_f1

VALUE_KINDS = frozenset({"date", "number", "person", "place", "organisation"})
"""Kinds of answer whose values can conflict; two phrases that differ may both be true."""

_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "mln": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9,
           "billion": 1e9, "t": 1e12, "tn": 1e12, "trillion": 1e12}
_CURRENCIES = {"$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "€": "EUR", "eur": "EUR",
               "euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP",
               "¥": "JPY", "jpy": "JPY", "yen": "JPY", "yuan": "CNY", "cny": "CNY", "rmb": "CNY"}
_AMOUNT = re.compile(
    r"(?P<cur>US\$|[$€£¥]|USD|EUR|GBP|JPY|CNY|RMB)?\s?(?P<num>\d[\d,]*(?:\.\d+)?)\s?"
    r"(?P<scale>thousand|million|billion|trillion|mln|mn|bn|tn|k|m|b|t)?\b\.?\s*"
    r"(?P<unit>%|per\s?cent|percent|dollars?|euros?|pounds?|yen|yuan|usd|eur)?",
    re.IGNORECASE,
)
_TITLES = frozenset("mr mrs ms dr prof sir president prime minister chief executive ceo chairman chairwoman "
                    "foreign finance secretary general premier chancellor king queen governor mayor senator "
                    "spokesman spokeswoman spokesperson".split())
_ARTICLES = frozenset({"a", "an", "the"})


@dataclass(frozen=True)
class Value:
    """What an answer says, reduced for comparison."""

    kind: str
    """ "amount", "date" or "words"."""
    amount: float | None = None
    unit: str | None = None
    """Currency code or "%" for amounts."""
    date: str | None = None
    words: tuple[str, ...] = ()


def _words(text: str) -> tuple[str, ...]:
    text = text.lower().replace("’", "'")
    text = "".join(" " if ch in string.punctuation or ch in "“”‘’–—" else ch for ch in text)
    return tuple(w for w in text.split() if w not in _ARTICLES)


def value_of(text: str, kind: str, anchor: str | None, context: tuple[str, int, int, int] | None = None) -> Value:
    """The value of an answer ``text`` of ``kind`` from an article dated ``anchor``; ``context``
    is (article text, sentence start, sentence end, answer start), so that a date is read with
    the words around it ("in March")."""
    if kind == "date":
        if context is not None:
            article, lo, hi, start = context
            end = start + len(text)
            found = [d for d in dates.mentions(article, lo, hi, anchor) if d.start < end and start < d.end]
        else:
            found = dates.mentions(text, 0, len(text), anchor)
        if found:
            return Value("date", date=found[0].value)
    if kind in ("number", "phrase"):
        m = _AMOUNT.search(text)
        if m and (kind == "number" or m.group("cur") or m.group("scale") or m.group("unit")):
            try:
                number = float(m.group("num").replace(",", ""))
            except ValueError:
                number = None
            if number is not None:
                scale = _SCALES.get((m.group("scale") or "").lower(), 1.0)
                unit_word = (m.group("unit") or "").lower().replace(" ", "")
                unit = "%" if unit_word in ("%", "percent", "percent") or unit_word.startswith("per") else None
                unit = unit or _CURRENCIES.get((m.group("cur") or "").lower()) or _CURRENCIES.get(unit_word)
                return Value("amount", amount=number * scale, unit=unit)
    words = _words(text)
    if kind == "person":
        words = tuple(w for w in words if w not in _TITLES) or words
    return Value("words", words=words)


def agree(a: Value, b: Value) -> bool:
    """Whether two values say the same thing."""
    if a.kind != b.kind:
        return False
    if a.kind == "amount":
        same_unit = a.unit is None or b.unit is None or a.unit == b.unit
        return same_unit and a.amount is not None and b.amount is not None and abs(a.amount - b.amount) <= 1e-9 * max(
            abs(a.amount), abs(b.amount), 1.0)
    if a.kind == "date":
        assert a.date is not None and b.date is not None
        n = min(len(a.date), len(b.date))
        return a.date[:n] == b.date[:n]
    if not a.words or not b.words:
        return False
    short, long_ = sorted((a.words, b.words), key=len)
    if len(short) <= 4 and all(w in long_ for w in short):
        return True
    return overlap_f1(a.words, b.words) >= 0.6


def conflict_possible(kind_a: str, kind_b: str) -> bool:
    """Whether answers of these kinds can contradict each other (same kind, one that has values)."""
    return kind_a == kind_b and kind_a in VALUE_KINDS
