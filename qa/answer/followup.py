"""Follow-up questions: rewrite one that leans on the previous turn into a question of its own.

    Q1: What did Takaichi say about dialogue with China?
    Q2: When did she say that?   ->  When did Takaichi say "The door (for dialogue) with China is not closed"?
    Q3: And what about South Korea?  (after "What is Japan's position on Taiwan?")
                                 ->  What is South Korea's position on Taiwan?

Rules, not a model: pronouns (she, he, they, it) take the most recent matching name or answer,
"that"/"this" after a verb of saying or doing takes the previous answer, and "what about X?"
swaps X into the previous question in place of a name of the same sort. A question that names
its own subject is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.answer import spans
from qa.models import AskResult
from qa.text import names

_PERSON_PRONOUN = re.compile(r"\b(?:she|he|her|him)\b", re.I)
_POSSESSIVE_PERSON = re.compile(r"\b(?:his|her)\b", re.I)
_THING_PRONOUN = re.compile(r"\b(?:it|they|them|its|their)\b", re.I)
_DEMONSTRATIVE = re.compile(
    r"\b(?P<verb>say|said|says|mean|meant|do|did|announce|announced|propose|proposed|claim|claimed|warn|warned|"
    r"argue|argued|write|wrote|stress|stressed|decide|decided|agree|agreed|happen|happened|about)\s+(?P<dem>that|this)\b",
    re.I,
)
_ELLIPSIS = re.compile(
    r"^\s*(?:and\s+|but\s+)?(?:(?:what|how)\s+about|and)\s+(?P<focus>[^?]+?)\s*\??\s*$", re.I
)
_THEN = re.compile(r"\b(?:then|at that time|at the time)\b", re.I)
_THERE = re.compile(r"\bthere\b(?!\s+(?:is|are|was|were|will|has|have|had)\b)", re.I)


@dataclass(frozen=True)
class PreviousTurn:
    """What a follow-up can refer to."""

    question: str
    """The previous question as it was answered (resolved, if it was itself a follow-up)."""
    result: AskResult
    """Its result."""


def _person_names(text: str) -> list[str]:
    return [text[c.start : c.end] for c in spans.candidates(text, 0, len(text), spans.PERSON)]


def _short(text: str, words: int = 14) -> str:
    parts = text.strip().rstrip(".").split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def _people(text: str) -> list[str]:
    """Names in ``text`` that may be people, in order: full names, and single names that are not
    countries, organisations, places or dates ("Takaichi", not "September" or "Prime Minister's Office")."""
    found = [n for n in _person_names(text) if not any(names.is_country(w) for w in n.split())]
    for name in names.question_names(text):
        if name in found or names.is_country(name) or spans.looks_like_organisation(name):
            continue
        if spans.looks_like_place(name) or spans.is_date_word(name):
            continue
        found.append(name)
    return sorted(found, key=text.find)


def _person(turn: PreviousTurn) -> str | None:
    """Who "he"/"she" is: the person the previous question named ("Who did Ishiba host?" -> Ishiba),
    else the person it was answered with ("Who is Japan's prime minister?" -> Sanae Takaichi)."""
    asked = _people(turn.question)
    if asked:
        return asked[0]
    answer = turn.result.answer
    if answer is not None and answer.kind == "person" and " and " not in answer.text:
        return answer.text
    if answer is not None:
        found = _person_names(answer.sentence.text)
        if found:
            return found[0]
    return None


def _thing(turn: PreviousTurn) -> str | None:
    """The short answer "it" points at (an organisation, a place, a quote); None otherwise, since
    guessing which name of the previous question "it" means goes wrong too often."""
    answer = turn.result.answer
    if (
        answer is not None
        and answer.kind in ("organisation", "place", "quote", "description")
        and len(answer.text.split()) <= 8
    ):
        return answer.text
    return None


_BARE_WH = re.compile(
    r"^\s*(?:and\s+|but\s+)?(?P<wh>why|when|where|who|how)(?:\s+(?:is|was)\s+that|\s+so)?\s*\??\s*$", re.I
)
_LEADING_WH = re.compile(
    r"^\s*(?:(?:what|which|who|whom|whose|when|where|why|how)(?:\s+(?:much|many|long|often|far|kind\s+of|\w+))?)\s+"
    r"(?=(?:do|does|did|is|are|was|were|has|have|had|will|would|can|could|should|might|may)\b)",
    re.I,
)


def _same_sort(a: str, b: str) -> bool:
    """Whether two names are of the same sort: both countries, both people, or neither."""
    country_a, country_b = names.is_country(a), names.is_country(b)
    if country_a or country_b:
        return country_a and country_b
    return bool(_person_names(a)) == bool(_person_names(b))


def resolve(question: str, previous: PreviousTurn | None) -> str | None:
    """The self-contained form of ``question`` given the previous turn, or None when the question
    does not lean on it."""
    if previous is None:
        return None
    q = question.strip()
    m = _ELLIPSIS.match(q)
    if m and len(m.group("focus").split()) <= 6:
        focus = m.group("focus").strip()
        base = previous.question.strip()
        present = names.question_names(base)
        target = next((n for n in present if _same_sort(n, focus)), present[-1] if present else None)
        if target:
            for suffix in ("’s", "'s"):
                if base.find(target + suffix) >= 0 or target.endswith(suffix):
                    target = target.removesuffix(suffix)
                    break
            return base.replace(target, focus, 1)
        return f"{base.rstrip('?')} — {focus}?"

    bare = _BARE_WH.match(q)
    if bare:
        # "Why?" after "How did exports change?" -> "Why did exports change?"
        base = previous.question.strip()
        wh = bare.group("wh").capitalize()
        m2 = _LEADING_WH.match(base)
        return wh + " " + base[m2.end() :] if m2 else f"{wh}: {base}"

    own_people = _people(q)
    resolved = q
    changed = False
    dem = _DEMONSTRATIVE.search(resolved)
    if dem and previous.result.answer is not None:
        what = _short(previous.result.answer.text)
        resolved = resolved[: dem.start("dem")] + f"“{what}”" + resolved[dem.end("dem") :]
        changed = True
    if not own_people and (_PERSON_PRONOUN.search(resolved) or _POSSESSIVE_PERSON.search(resolved)):
        person = _person(previous)
        if person:
            resolved = _PERSON_PRONOUN.sub(person, resolved)
            resolved = _POSSESSIVE_PERSON.sub(f"{person}’s", resolved)
            changed = True
    if _THING_PRONOUN.search(resolved) and not names.question_names(resolved):
        thing = _thing(previous)
        if thing:
            resolved = _THING_PRONOUN.sub(
                lambda t: thing + ("’s" if t.group(0).lower() in ("its", "their") else ""), resolved, count=1
            )
        else:  # nothing short to point at: carry the previous question along as context
            resolved = f"{resolved.rstrip('?')}? ({previous.question.strip()})"
        changed = True
    answer = previous.result.answer
    if answer is not None and answer.kind == "date" and _THEN.search(resolved):
        resolved = _THEN.sub(f"in {answer.text}", resolved, count=1)
        changed = True
    if answer is not None and answer.kind == "place" and _THERE.search(resolved):
        resolved = _THERE.sub(f"in {answer.text}", resolved, count=1)
        changed = True
    return resolved if changed else None
