"""The one table of month and weekday names, and the date helpers built on it (fast: no model)."""

from __future__ import annotations

import pytest

from qa.text import dates


@pytest.mark.parametrize("locale", ["en", "de", "fr", "it", "es"])
def test_month_names_are_cldrs(locale: str) -> None:
    """Every full month name of these languages in CLDR (babel's data) is in the table, with its
    number; the table is ours only so that a cold start does not pay for babel's locale data."""
    from babel.dates import get_month_names

    for number, name in get_month_names("wide", locale=locale).items():
        assert dates.MONTHS.get(name.lower()) == number, (locale, name)


def test_weekday_names_are_cldrs() -> None:
    import re

    from babel.dates import get_day_names

    pattern = re.compile(rf"^{dates.WEEKDAY_NAMES}$", re.IGNORECASE)
    for locale in ("en", "de", "it"):
        for name in get_day_names("wide", locale=locale).values():
            assert pattern.match(name), (locale, name)


@pytest.mark.parametrize(("text", "iso"), [
    ("Published 3 März 2026", "2026-03-03"),
    ("le 12 décembre 2025", "2025-12-12"),
    ("January 6, 2026", "2026-01-06"),
    ("2026-02-30", None),
    ("no date here", None),
])
def test_parse_date_reads_a_full_date_in_any_listed_language(text: str, iso: str | None) -> None:
    assert dates.parse_date(text) == iso


def test_describe_is_english_whatever_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    import locale

    try:
        locale.setlocale(locale.LC_TIME, "de_DE.UTF-8")
    except locale.Error:
        pass  # the machine has no German locale; the English result is still checked
    try:
        assert dates.describe("2026-03-03") == "Tue 3 March 2026"
        assert dates.describe("2026-03") == "March 2026"
    finally:
        locale.setlocale(locale.LC_TIME, "C")


def test_every_resolved_date_points_at_its_text() -> None:
    text = "Talks resumed on Tuesday, officials said on 2 March 2026; they end next month."
    found = dates.mentions(text, 0, len(text), "2026-03-05")  # a Thursday
    assert [text[d.start : d.end] for d in found] == ["Tuesday", "2 March 2026", "next month"]
    assert [(d.value, d.relative) for d in found] == [("2026-03-03", True), ("2026-03-02", False), ("2026-04", True)]
