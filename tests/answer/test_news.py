"""News across articles, through the real model, reader and index: one answer per article grouped
(agreeing, differing), dates on answers, relative dates resolved, time in questions, timelines
and wire copies. The dated corpus in tests/fixtures/dated/ is one invented story told by five
articles: a first report and its wire copy (2026-01-05), a second outlet (2026-01-06) with
another figure, a revised figure when the sale closed (2026-02-20) and an undated analysis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.answer import agreement
from qa.config import load_settings
from qa.models import AskResult
from qa.service import QAService
from qa.text import dates
from tests.conftest import ROOT, run_qa

DATED = ROOT / "tests" / "fixtures" / "dated"
FIRST, COPY, LEDGER, CLOSES, ANALYSTS = ("lumen_agrees_sale.txt", "lumen_coast_gazette_copy.txt",
                                         "corvo_buys_lumen_unit.txt", "lumen_sale_closes.txt", "analysts_on_lumen.txt")
PRICE = "For how much was Lumen's satellite unit sold?"


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dated-index")


@pytest.fixture(scope="module")
def news(dated_index: Path, qa_env: dict[str, str]) -> QAService:
    svc = QAService(load_settings({"corpus": DATED, "index": dated_index}, env=qa_env))
    svc.ensure_index()
    return svc


def _verbatim(result: AskResult) -> None:
    """Every offset the result gives points at its text in the file."""
    for a in [result.answer, *result.alternatives]:
        if a is None:
            continue
        text = (DATED / a.source).read_text(encoding="utf-8")
        assert text[a.start : a.end] == a.text
        assert text[a.sentence.start : a.sentence.end] == a.sentence.text
        for d in a.resolved_dates:
            assert text[d.start : d.end] == d.text


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("$9.4bn", "$9.4 billion", True), ("$9.4bn", "9.4bn dollars", True), ("$9.37bn", "$9.4bn", False),
     ("5.2%", "5.2 percent", True), ("$9.4bn", "€9.4bn", False)],
)
def test_amounts_agree_only_when_they_are_the_same_figure(a: str, b: str, same: bool) -> None:
    assert agreement.agree(agreement.value_of(a, "number", None), agreement.value_of(b, "number", None)) is same


def test_a_shorter_name_is_the_same_person() -> None:
    full, short = agreement.value_of("Prime Minister Sanae Takaichi", "person", None), agreement.value_of(
        "Takaichi", "person", None)
    assert agreement.agree(full, short)
    assert not agreement.agree(full, agreement.value_of("Xi Jinping", "person", None))


@pytest.mark.parametrize(
    ("sentence", "anchor", "expected"),
    [
        ("Ferrante will visit the plant in March.", "2026-01-05", [("March", "2026-03")]),
        ("She spoke about Taiwan last November.", "2026-01-03", [("last November", "2025-11")]),
        ("The deal will close next month.", "2026-01-31", [("next month", "2026-02")]),
        ("The sale was completed on Thursday.", "2026-02-20", [("Thursday", "2026-02-19")]),
        ("She will fly to Rome on Thursday.", "2026-02-20", [("Thursday", "2026-02-26")]),
        ("Talks resume in March.", "2025-11-10", [("March", "2026-03")]),
        (
            "Exports fell this year, they said yesterday.",
            "2025-10-21",
            [("this year", "2025"), ("yesterday", "2025-10-20")],
        ),
        # stated in full: nothing to resolve; "May" the verb is no month; the dateline is the article's own date
        ("On 1 January 2026 she said it may rain.", "2026-01-03", []),
        ("Turin, Jan. 5 (Harbour Wire)–It was sold.", "2026-01-05", []),
        # never guessed without the article's date
        ("Ferrante will visit the plant in March.", None, []),
    ],
)
def test_relative_dates_are_resolved_against_the_article_date(
    sentence: str, anchor: str | None, expected: list[tuple[str, str]]
) -> None:
    found = dates.resolve(sentence, 0, len(sentence), anchor)
    assert [(sentence[d.start : d.end], d.value) for d in found] == expected


@pytest.mark.parametrize(
    ("question", "since", "until", "latest", "year"),
    [
        ("What is the latest price?", None, None, True, None),
        ("Who led the talks as of October 2025?", None, "2025-10", False, None),
        ("What did they say before March 3, 2026?", None, "2026-03-02", False, None),
        ("What happened after January 2026?", "2026-02-01", None, False, None),
        ("How much did exports fall in 2025?", None, None, False, "2025"),
        ("Who is Takaichi?", None, None, False, None),
    ],
)
def test_time_in_questions(question: str, since: str | None, until: str | None, latest: bool, year: str | None) -> None:
    assert dates.question_time(question) == dates.TimeIntent(since=since, until=until, latest=latest, year=year)


# --------------------------------------------------------------------------- through the real thing


def test_differing_figures_are_each_shown_with_their_source(news: QAService) -> None:
    r = news.ask(PRICE)
    assert r.answer is not None
    shown = {a.source: a for a in r.alternatives}
    values = {r.answer.source: r.answer.text} | {s: a.text for s, a in shown.items()}
    # three figures from four independent sources; the wire copy is not one of them
    assert COPY not in values or FIRST not in values
    assert {values.get(FIRST, values.get(COPY)), values[LEDGER], values[CLOSES]} == {
        "$9.37bn",
        "$9.4 billion",
        "$9.3bn",
    }
    assert all(not a.agrees for a in r.alternatives if a.text != r.answer.text)
    by_source = {a.source: a for a in r.alternatives}
    assert by_source[CLOSES].date == "2026-02-20" and by_source[CLOSES].outlet == "Northline News"
    _verbatim(r)


def test_a_strong_disagreement_weight_does_not_hide_the_figures_that_differ(
        dated_index: Path, qa_env: dict[str, str], news: QAService) -> None:
    harsh = QAService(load_settings({"corpus": DATED, "index": dated_index, "agreement_weights": [0.6, -0.8]},
                                    env=qa_env))
    shown = {a.source: a.text for a in harsh.ask(PRICE).alternatives}
    assert shown == {a.source: a.text for a in news.ask(PRICE).alternatives}
    assert "$9.3bn" in shown.values()


def test_agreeing_articles_are_grouped_and_the_copy_is_one_citation(news: QAService) -> None:
    r = news.ask("When will Ferrante visit the Nagoya plant?")
    assert r.answer is not None and r.answer.text == "March"
    assert [(d.text, d.value) for d in r.answer.resolved_dates] == [("March", "2026-03")]
    agreeing = [a for a in r.alternatives if a.agrees]
    assert LEDGER in {a.source for a in agreeing}
    # the first report and its wire copy: one citation that names the other
    lead = r.citations[0]
    assert {lead.source, *lead.also_in} == {FIRST, COPY}
    assert not any(c.source in lead.also_in for c in r.citations)
    _verbatim(r)


def test_agreement_and_disagreement_move_the_confidence(news: QAService) -> None:
    trace = news.trace(PRICE)
    weights = news.settings.agreement_weights
    assert weights[0] > 0 > weights[1]  # as calibrated: agreeing articles raise it, differing ones lower it
    tops = [c for c in trace.decision.candidates if c.grouped]
    assert any(c.differing for c in tops)
    for c in tops:
        moved = c.confidence - c.base_confidence
        expected = weights[0] * c.agreeing + weights[1] * c.differing
        assert moved == pytest.approx(0.0, abs=1e-9) if expected == 0 else (moved > 0) == (expected > 0)


def test_latest_prefers_the_newest_article(news: QAService) -> None:
    r = news.ask("What is the latest price of the satellite unit?")
    assert r.answer is not None and r.answer.source == CLOSES and r.answer.text == "$9.3bn"


def test_since_and_until_keep_only_articles_dated_within(news: QAService) -> None:
    r = news.ask(PRICE, since="2026-02")
    assert {c.source for c in r.citations} == {CLOSES}
    assert any("1 undated article left out" in n for n in r.notices)
    r = news.ask(PRICE, until="2026-01-06")
    assert {c.source for c in r.citations} <= {FIRST, COPY, LEDGER}


def test_an_undated_article_is_said_to_be_undated_and_nothing_is_resolved(news: QAService) -> None:
    r = news.ask("What did analysts call the price?")
    assert r.answer is not None and r.answer.source == ANALYSTS
    assert r.citations[0].date is None and r.answer.resolved_dates == []


def test_a_timeline_lists_sentences_of_several_articles_in_date_order(news: QAService) -> None:
    r = news.ask("How did the sale of Lumen's satellite unit develop?")
    assert r.timeline is not None and len({e.source for e in r.timeline}) >= 3
    dated = [e.when for e in r.timeline if e.when]
    assert dated == sorted(dated)
    assert r.timeline[-1].when is not None or r.timeline[-1].source == ANALYSTS  # undated ones last
    for e in r.timeline:
        text = (DATED / e.source).read_text(encoding="utf-8")
        assert text[e.start : e.end] == e.text
    assert sum(e.source in (FIRST, COPY) for e in r.timeline) <= 2  # the copy adds nothing
    assert news.ask(PRICE).timeline is None
    assert news.ask(PRICE, timeline=True).timeline


def test_ask_json_has_alternatives_dates_and_copies(dated_index: Path, qa_env: dict[str, str]) -> None:
    out = json.loads(
        run_qa(["ask", PRICE, "--json", "--corpus", str(DATED), "--index", str(dated_index)], qa_env).stdout
    )
    assert out["alternatives"] and all(
        {"text", "source", "start", "end", "sentence", "agrees", "resolved_dates"} <= set(a)
        for a in out["alternatives"]
    )
    assert "resolved_dates" in out["answer"]
    assert any(c["also_in"] for c in out["citations"])
    plain = run_qa(["ask", PRICE, "--corpus", str(DATED), "--index", str(dated_index)], qa_env).stdout
    assert "Sources differ:" in plain and "Northline News, 2026-02-20" in plain
    lines = plain.splitlines()
    for i, line in enumerate(lines):  # each differing value is in view in the sentence quoted under it
        if line.startswith("  ") and " — " in line and not line.startswith("   "):
            assert line.strip().split(" — ")[0] in lines[i + 1]


def test_timeline_and_date_options_on_the_command_line(dated_index: Path, qa_env: dict[str, str]) -> None:
    base = ["--corpus", str(DATED), "--index", str(dated_index)]
    out = run_qa(["ask", "Lumen satellite unit sale", "--timeline", *base], qa_env).stdout
    assert out.startswith("Timeline (")
    bad = run_qa(["ask", PRICE, "--since", "2026-13", *base], qa_env)
    assert bad.returncode == 2 and "expected a date" in bad.stderr and "Traceback" not in bad.stderr
    crossed = run_qa(["ask", PRICE, "--since", "2026", "--until", "2025", *base], qa_env)
    assert crossed.returncode == 2 and "is after --until" in crossed.stderr


def test_sources_say_where_each_date_came_from(dated_index: Path, qa_env: dict[str, str]) -> None:
    items = json.loads(
        run_qa(["sources", "--json", "--corpus", str(DATED), "--index", str(dated_index)], qa_env).stdout
    )
    found = {i["source"]: (i["date"], i["date_from"]) for i in items}
    assert found[FIRST] == ("2026-01-05", "published line")
    assert found[LEDGER] == ("2026-01-06", "byline")
    assert found[CLOSES][0] == "2026-02-20" and found[CLOSES][1].startswith("dateline")
    assert found[ANALYSTS] == (None, None)


def test_seed_sources_that_differ_on_when_takaichi_visits(service: QAService) -> None:
    r = service.ask("When does Takaichi hope to visit the United States?")
    assert r.answer is not None
    said = {r.answer.text.lower(), *(a.text.lower() for a in r.alternatives)}
    assert any("march" in s for s in said) and any("spring" in s for s in said)
