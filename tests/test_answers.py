"""Answers through the real model and index: verbatim spans of the asked kind, abstention, offsets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.errors import UsageError
from qa.models import AskResult
from qa.service import QAService

from .conftest import SEEDS


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
    ("question", "kind", "expected"),
    [
        ("When is the host-nation support accord set to expire?", "date", "the end of March"),
        ("How much did Japan's exports to China fall in 2025?", "number", "5.2%"),
        ("Which spokesperson called Takaichi's comments irresponsible?", "person", "Wang Wenbin"),
        ("What did Wang Wenbin call the comments?", "quote", "irresponsible"),
        ("Which think tank is Bonji Ohara with?", "organisation", "Sasakawa Peace Foundation"),
        ("Who is Sheila Smith?", "description", "Council on Foreign Relations"),
    ],
)
def test_short_answers_of_the_asked_kind(service: QAService, question: str, kind: str, expected: str) -> None:
    result = service.ask(question)
    assert not result.abstained, result.reason
    assert result.answer is not None
    assert result.answer.kind == kind
    assert expected in result.answer.text
    assert len(result.answer.text) < len(result.answer.sentence.text)
    assert_verbatim(result)


def test_a_why_question_is_answered_with_the_sentence(service: QAService) -> None:
    result = service.ask("Why did Beijing treat Takaichi's Taiwan remarks as interference?")
    assert result.answer is not None and result.answer.kind == "sentence"
    assert result.answer.text == result.answer.sentence.text
    assert_verbatim(result)


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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(question=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=200))
def test_property_any_question_is_answered_or_refused_and_offsets_round_trip(service: QAService, question: str) -> None:
    try:
        result = service.ask(question)
    except UsageError:
        assert not question.strip() or not "".join(c for c in question if c.isprintable()).strip()
        return
    assert_verbatim(result)


def test_a_name_no_passage_mentions_makes_it_abstain(service: QAService) -> None:
    # the question is close to the articles' topic, but they never speak of Olaf Scholz
    result = service.ask("What did Olaf Scholz's envoy tell Takaichi about Taiwan?")
    assert result.abstained and result.reason is not None
    assert result.reason.startswith("no passage found mentions Olaf Scholz") and "Scholz's" not in result.reason
    assert_verbatim(result)


def test_a_name_given_earlier_in_the_article_counts_for_the_passage(service: QAService) -> None:
    # the passage quoting Wang Wenbin says "the comments" and "Her Taiwan remarks": Takaichi is
    # named in the passage before it, so she is not missing from it
    trace = service.trace("Which spokesperson called Takaichi's comments irresponsible?")
    best = trace.decision.sentences[0]
    assert "Wang Wenbin" in trace.data.sentence_text(best.number)
    passage = trace.data.passage(best.passage).text
    assert "Takaichi" not in passage
    answerer = service._answerer
    assert answerer.missing_names("Which spokesperson called Takaichi's comments irresponsible?", best) == []
    assert answerer.missing_names("Which spokesperson called Olaf Scholz's comments irresponsible?", best) == ["Olaf Scholz's"]


def test_hyphenated_words_mention_their_parts() -> None:
    from qa.names import Mentions

    mentions = Mentions.of("Später besuchten sie die US-Navy-Basis in Yokosuka.")
    assert mentions.mentions("US Navy") and mentions.mentions("Yokosuka")
    assert not mentions.mentions("Royal Navy")


def test_a_sentence_referring_back_covers_what_the_sentence_before_it_names(service: QAService) -> None:
    # "Japan's Defense Minister Shinjiro Koizumi ... meeting U.S. Defense Secretary Pete Hegseth."
    # "The two demonstrated alliance strength through a joint workout ...": the second sentence
    # is about Koizumi and Hegseth, though it does not name them
    question = "What did Koizumi and Hegseth do to demonstrate the strength of the alliance?"
    trace = service.trace(question)
    answerer = service._answerer
    weights = {t: answerer.idf(t) for t in trace.retrieval.terms}
    back = next(s for s in trace.decision.sentences if trace.data.sentence_text(s.number).startswith("The two "))
    own = answerer.coverage(weights, answerer.sentence_terms(back.number))
    before = answerer.sentence_terms(back.number - 1)
    assert "Hegseth" in trace.data.sentence_text(back.number - 1)
    assert back.coverage == answerer.coverage(weights, answerer.sentence_terms(back.number) | before) > own
    result = trace.result
    assert result.answer is not None and "joint workout" in result.answer.sentence.text
    assert_verbatim(result)


@pytest.mark.parametrize(
    ("question", "kind", "need"),
    [
        ("What was Toyota's revenue in China in 2025?", "number", None),
        ("What tariff rate has the US put on Japanese cars?", "number", "percent"),
        ("How many young people took part in the exchanges?", "number", "count:people"),
        ("How much seafood did Japan export to China before the ban?", "number", "count:seafood"),
        ("How much will the centre cost?", "number", None),
        ("At what level have contacts between the two governments stayed?", "other", None),
        ("Which places' human rights record does Japan criticise?", "place", None),
        ("Which regions did the drills cover?", "place", None),
    ],
)
def test_what_a_question_asks_for(question: str, kind: str, need: str | None) -> None:
    from qa import spans

    spec = spans.analyze(question)
    assert (spec.kind, spec.need) == (kind, need)


def test_words_opening_a_question_are_not_names() -> None:
    from qa.names import question_names

    assert question_names("Besides Wang Yi, which Chinese leader did Iwaya meet in Beijing?") == [
        "Wang Yi", "Chinese", "Iwaya", "Beijing",
    ]


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        # the closest sentence is about the anniversary but names no place at all
        ("In which city will the 50th anniversary of normalised ties be celebrated?", "gives no place"),
        # the closest sentence is about the vaccine centre but gives no figure, however similar it is
        ("How much money will the proposed joint vaccine research centre need?", "gives no number"),
    ],
)
def test_a_sentence_without_the_asked_kind_does_not_answer(service: QAService, question: str, reason: str) -> None:
    result = service.ask(question)
    assert result.abstained and result.reason is not None and reason in result.reason
    assert_verbatim(result)


def test_a_german_sentence_naming_the_asked_countries_answers_an_english_question(service: QAService) -> None:
    result = service.ask("What attack damaged India's relations with the United States in 2025?")
    assert result.answer is not None, result.reason
    assert "Pahalgam" in result.answer.sentence.text
    assert_verbatim(result)


def test_names_may_open_with_initials() -> None:
    from qa import spans

    text = "Foreign Minister S. Jaishankar had voiced optimism, and J. R. Smith agreed."
    found = [text[c.start : c.end] for c in spans.candidates(text, 0, len(text), spans.PERSON)]
    assert found == ["S. Jaishankar", "J. R. Smith"]


@pytest.mark.parametrize(
    ("sentence", "refers_back"),
    [
        ("The two demonstrated alliance strength through a joint workout.", True),
        ("During this meeting, he expressed his hopes for ongoing dialogues.", True),
        ("Despite these concerns, Iwaya and Wang agreed to hold a dialogue.", True),
        ("During a press conference on Tuesday, Ishiba said he wanted a stronger alliance.", False),
        ("Japanese Foreign Minister Takeshi Iwaya met with Wang Yi in Beijing.", False),
    ],
)
def test_which_sentences_open_by_referring_back(sentence: str, refers_back: bool) -> None:
    from qa.answerer import _REFERS_BACK

    assert bool(_REFERS_BACK.match(sentence)) is refers_back


def test_a_name_given_two_sentences_before_is_near(service: QAService) -> None:
    # "Upcoming Challenges ... However, Ishiba's ambitions are not without hurdles. The upcoming
    # elections ... A victory could solidify his government's approach to China, ..."
    data = service.ensure_index()
    number = next(n for n in range(len(data.sentences)) if data.sentence_text(n).startswith("A victory could"))
    assert "Ishiba" not in data.sentence_text(number) + data.sentence_text(number - 1)
    near = service._answerer.mentions_near(number, number - 2, number + 2)
    assert near.mentions("Ishiba")
