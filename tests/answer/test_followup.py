"""Follow-up resolution: the rewriting rules on hand-made previous turns (the real model and index
are exercised by the chat's follow-up test and by the service)."""

from __future__ import annotations

import pytest

from qa.answer.followup import PreviousTurn, resolve
from qa.models import Answer, AskResult, Span


def turn(question: str, answer: str | None = None, kind: str = "sentence", sentence: str | None = None) -> PreviousTurn:
    result = AskResult(
        question=question,
        abstained=answer is None,
        citations=[],
        answer=None
        if answer is None
        else Answer(
            text=answer,
            source="a.txt",
            start=0,
            end=len(answer),
            confidence=0.9,
            kind=kind,
            sentence=Span(text=sentence or answer, start=0, end=len(sentence or answer)),
        ),
    )
    return PreviousTurn(question, result)


@pytest.mark.parametrize(
    ("previous", "question", "expected"),
    [
        # a pronoun takes the person the previous question named ...
        (
            turn("Who did Ishiba host at the Prime Minister's Office in September 2024?", "Hiroshi Moriyama", "person"),
            "What did he say he wanted to do?",
            "What did Ishiba say Ishiba wanted to do?",
        ),
        # ... or, when it named none, the person it was answered with
        (
            turn("Which Italian leader will visit Japan in January?", "Giorgia Meloni", "person"),
            "When will she visit?",
            "When will Giorgia Meloni visit?",
        ),
        (
            turn("Who is Japan's prime minister?", "Sanae Takaichi", "person"),
            "What did she say about Taiwan?",
            "What did Sanae Takaichi say about Taiwan?",
        ),
        # "say that" takes the previous answer
        (
            turn("What did Takaichi say about dialogue with China?", "dialogue based on mutual respect", "quote"),
            "When did she say that?",
            "When did Takaichi say “dialogue based on mutual respect”?",
        ),
        # "what about X?" swaps X for a name of the same sort
        (
            turn("What is Japan's position on Taiwan?", "South Korea has backed Japan’s position"),
            "And what about South Korea?",
            "What is South Korea's position on Taiwan?",
        ),
        (
            turn("Which Italian leader will visit Japan in January?", "Giorgia Meloni", "person"),
            "And what about February?",
            "Which Italian leader will visit Japan in February?",
        ),
        # a bare "Why?" asks why of the previous question
        (
            turn("How did Japan's exports to China change in 2025?", "fell 5.2%"),
            "Why?",
            "Why did Japan's exports to China change in 2025?",
        ),
        # "then" and "there" take a previous date or place
        (
            turn("When does the accord expire?", "the end of March", "date"),
            "What happens then?",
            "What happens in the end of March?",
        ),
    ],
)
def test_follow_ups_are_rewritten_against_the_previous_turn(
    previous: PreviousTurn, question: str, expected: str
) -> None:
    assert resolve(question, previous) == expected


@pytest.mark.parametrize(
    "question",
    ["Who is Stephen Nagy?", "When does the host-nation support accord expire?", "What did Wang Yi say to Iwaya?"],
)
def test_self_contained_questions_are_left_alone(question: str) -> None:
    assert resolve(question, turn("Who is Japan's prime minister?", "Sanae Takaichi", "person")) is None


def test_nothing_to_lean_on_without_a_previous_turn() -> None:
    assert resolve("When did she say that?", None) is None


def test_a_pronoun_with_only_a_long_sentence_behind_it_carries_the_question_along() -> None:
    previous = turn(
        "What does Beijing oppose about the Fukushima plant?",
        "One of the main disputes between China and Japan is Tokyo’s discharge of treated water.",
    )
    resolved = resolve("Which paper reported it?", previous)
    assert resolved is not None and "Fukushima" in resolved
