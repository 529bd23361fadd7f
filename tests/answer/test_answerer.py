"""Answers through the real model, reader and index: verbatim spans, the decision, abstention, offsets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.errors import UsageError
from qa.models import AskResult
from qa.service import QAService
from tests.conftest import SEEDS


def assert_verbatim(result: AskResult) -> None:
    """Every offset of a result points at exactly its text in the article file."""
    texts: dict[str, str] = {}

    def text(source: str) -> str:
        if source not in texts:
            texts[source] = (SEEDS / source).read_bytes().decode("utf-8")
        return texts[source]

    assert (result.answer is None) == result.abstained
    if result.answer is not None:
        a = result.answer
        assert text(a.source)[a.start : a.end] == a.text
        assert text(a.source)[a.sentence.start : a.sentence.end] == a.sentence.text
        assert a.sentence.start <= a.start < a.end <= a.sentence.end
        assert 0.0 <= a.confidence <= 1.0
        first = result.citations[0]
        assert first.source == a.source and first.start <= a.start and a.end <= first.end
    for c in result.citations:
        assert text(c.source)[c.start : c.end] == c.text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When is the host-nation support accord set to expire?", "March"),
        ("Which Italian leader is due to visit Japan later in January?", "Giorgia Meloni"),
        ("How much did Japan's exports to China fall in 2025?", "5.2%"),
        ("What did Wang Wenbin call the comments?", "irresponsible"),
    ],
)
def test_the_reader_answers_with_a_short_span_of_its_sentence(service: QAService, question: str, expected: str) -> None:
    result = service.ask(question)
    assert not result.abstained, result.reason
    assert result.answer is not None
    assert expected in result.answer.text
    assert len(result.answer.text) < len(result.answer.sentence.text)
    assert result.reader is not None and result.reader.span_score > result.reader.no_answer_score
    assert 2 <= result.reader.passages_read <= service.settings.passages_read
    assert_verbatim(result)


def test_the_answer_is_the_most_confident_candidate_and_its_passage_leads(service: QAService) -> None:
    trace = service.trace("When is the host-nation support accord set to expire?")
    candidates = trace.decision.candidates
    assert 2 <= len(candidates) <= service.settings.passages_read
    confidences = [c.confidence for c in candidates if c.grouped]  # each article's best, most confident first
    assert confidences == sorted(confidences, reverse=True)
    assert [c.grouped for c in candidates] == sorted((c.grouped for c in candidates), reverse=True)
    best = candidates[0]
    assert trace.result.answer is not None and trace.result.answer.start == best.start
    assert trace.cited[0] == best.passage
    assert trace.result.answer.confidence == round(best.confidence, 4)


def test_the_reader_reads_further_only_when_the_first_passages_do_not_answer_confidently(service: QAService) -> None:
    from qa.answer.answerer import FIRST_READ, READ_MORE_BELOW

    sure = service.trace("When is the host-nation support accord set to expire?")
    first = {int(p) for p in sure.retrieval.order[:FIRST_READ]}
    assert max(c.base_confidence for c in sure.decision.candidates if c.passage in first) >= READ_MORE_BELOW
    # past the first two, only one passage of each other article (to compare what they say)
    later = [c for c in sure.decision.candidates if c.passage not in first]
    articles = {int(sure.data.passages[p, 0]) for p in first}
    assert len({c.article for c in later}) == len(later) and not {c.article for c in later} & articles
    unsure = service.trace("What is the best recipe for a chocolate cake?").decision
    assert {c.rank for c in unsure.candidates} >= set(range(service.settings.passages_read))
    assert max(c.confidence for c in unsure.candidates if c.rank < FIRST_READ) < READ_MORE_BELOW


def test_a_lower_threshold_answers_what_a_higher_one_withholds(service: QAService) -> None:
    question = "What is the best recipe for a chocolate cake?"
    low = service.with_policy(threshold=0.0).trace(question).result
    high = service.with_policy(threshold=1.0).trace(question).result
    assert not low.abstained and high.abstained
    assert low.answer is not None and high.answer is None and high.reason
    # the same reading behind both: only the decision differs
    assert low.reader == high.reader


def test_answer_kinds_for_follow_ups() -> None:
    from qa.answer.spans import kind_of

    text = 'Italian Prime Minister Giorgia Meloni will visit Tokyo at the end of March and called it "historic".'

    def kind(words: str) -> str:
        s = text.index(words)
        return kind_of(text, s, s + len(words), 0, len(text))

    assert kind("Italian Prime Minister Giorgia Meloni") == "person"
    assert kind("the end of March") == "date"
    assert kind("Tokyo") == "place"
    assert kind("historic") == "quote"
    assert kind("will visit") == "phrase"


@pytest.mark.parametrize(
    "question",
    [
        "What is the best recipe for a chocolate cake?",
        "Who won the football World Cup in 2022?",
        "How tall is Mount Everest?",
    ],
)
def test_off_topic_questions_abstain_and_still_show_passages(service: QAService, question: str) -> None:
    result = service.ask(question)
    assert result.abstained and result.answer is None
    assert result.reason
    assert len(result.citations) == service.settings.top_k
    assert_verbatim(result)


def test_empty_question_is_refused(service: QAService) -> None:
    with pytest.raises(UsageError, match="empty"):
        service.ask(" \x00\t ")


def test_very_long_question_is_answered_with_a_notice(service: QAService) -> None:
    result = service.ask("When does the host-nation support accord expire? " + "word " * 20_000)
    assert any("only its first" in n for n in result.notices)
    assert_verbatim(result)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(question=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=200))
def test_property_any_question_is_answered_or_refused_and_offsets_round_trip(service: QAService, question: str) -> None:
    try:
        result = service.ask(question)
    except UsageError:
        assert not question.strip() or not "".join(c for c in question if c.isprintable()).strip()
        return
    assert_verbatim(result)
