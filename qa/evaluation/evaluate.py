"""Question set -> retrieval and answer metrics, per-question results and failure labels.

A question file is JSON Lines: ``{"id", "question", "answers": [...], "sources": [...]}``; an
unanswerable question has empty ``answers`` and ``sources``. Retrieval metrics count answerable
questions only; a question with no results scores 0 (it is never dropped).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from qa.errors import QuestionFileError
from qa.models import EvalLabel, EvalQuestion, EvalResult
from qa.text.overlap import overlap_f1

DEPTH = 10
"""Retrieval metrics look at the top 10 passages."""


def load_questions(path: Path, known_sources: set[str] | None = None) -> list[EvalQuestion]:
    """Read and validate a question file; errors name the line and the field."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise QuestionFileError(f"question file {path} does not exist; pass --questions FILE") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionFileError(f"cannot read question file {path}: {exc}") from None
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionFileError(f"{path}, line {number}: invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(raw, dict):
            raise QuestionFileError(f"{path}, line {number}: expected a JSON object, got {type(raw).__name__}")
        try:
            item = EvalQuestion.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or "?"
            what = "missing" if err["type"] == "missing" else err["msg"].lower()
            raise QuestionFileError(f"{path}, line {number}: field {where!r}: {what}") from None
        if not item.question.strip():
            raise QuestionFileError(f"{path}, line {number}: field 'question': empty")
        if item.id in seen:
            raise QuestionFileError(f"{path}, line {number}: field 'id': {item.id!r} is used twice")
        seen.add(item.id)
        if bool(item.answers) != bool(item.sources):
            field_ = "sources" if item.answers else "answers"
            raise QuestionFileError(
                f"{path}, line {number}: field {field_!r}: an answerable question needs both answers and sources, "
                "an unanswerable one neither"
            )
        if known_sources is not None:
            unknown = [s for s in item.sources if s not in known_sources]
            if unknown:
                raise QuestionFileError(
                    f"{path}, line {number}: field 'sources': unknown source {unknown[0]!r} (not in the corpus)"
                )
        questions.append(item)
    if not questions:
        raise QuestionFileError(f"question file {path} holds no questions")
    return questions


# --------------------------------------------------------------------------- matching

_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


def normalise(text: str) -> str:
    """Case-folded text with typographic quotes and dashes made plain and spaces collapsed."""
    return " ".join(text.translate(_QUOTES).casefold().split())


def contains_any(text: str | None, answers: Iterable[str]) -> bool:
    """Whether ``text`` contains one of ``answers`` (after normalising both)."""
    if not text:
        return False
    haystack = normalise(text)
    return any(normalise(a) in haystack for a in answers)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", normalise(text))


def token_f1(prediction: str | None, answers: Iterable[str]) -> float:
    """Best token-overlap F1 of ``prediction`` against any gold answer."""
    pred = _tokens(prediction or "")
    return max((overlap_f1(pred, _tokens(gold)) for gold in answers), default=0.0)


# --------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """One question's run."""

    question: EvalQuestion
    result: EvalResult
    ranked_sources: list[str]
    ranked_texts: list[str]
    confidence: float
    """The answerer's confidence in its best answer, even when it abstained."""
    best_sentence: str | None
    """The sentence of the answerer's best candidate, even when it abstained."""
    best_span: str | None = None
    """The answerer's best candidate span, even when it abstained."""
    candidates: list[tuple[tuple[float, ...], str, str, int, int, bool]] = field(default_factory=list)
    """Every candidate the reader gave: (confidence features, span, sentence, agreeing articles,
    differing articles, whether it is its article's best), for calibration."""

    @property
    def answerable(self) -> bool:
        """Whether the question has gold answers."""
        return bool(self.question.answers)


def label(q: EvalQuestion, result: EvalResult, ranked_sources: list[str], k: int) -> list[EvalLabel]:
    """The failure labels of one question."""
    labels: list[EvalLabel] = []
    if not q.answers:
        if not result.abstained:
            labels.append("answered unanswerable")
        return labels
    if not any(s in q.sources for s in ranked_sources[:k]):
        labels.append("retrieval miss")
    if result.abstained:
        labels.append("wrong abstention")
        return labels
    answer = result.answer
    assert answer is not None
    if not contains_any(answer.sentence.text, q.answers):
        labels.append("wrong sentence")
    elif not contains_any(answer.text, q.answers):
        labels.append("span miss")
    return labels


def run(
    service: object,
    questions: list[EvalQuestion],
    k: int,
    retriever: str,
    since: str | None = None,
    until: str | None = None,
) -> list[Outcome]:
    """Ask every question through ``service.trace`` and collect outcomes (calibration passes a
    service ``with_policy`` that reads every passage and never abstains); ``since``/``until``
    keep only articles dated within them."""
    outcomes = []
    for q in questions:
        trace = service.trace(q.question, k=k, retriever=retriever, since=since, until=until)  # type: ignore[attr-defined]
        r = trace.result
        result = EvalResult(
            id=q.id, question=q.question, abstained=r.abstained, answer=r.answer, citations=r.citations,
            alternatives=r.alternatives, labels=[]
        )
        sources = trace.ranked_sources(DEPTH)
        result = result.model_copy(update={"labels": label(q, result, sources, k)})
        outcomes.append(outcome_of(q, result, trace))
    return outcomes


def outcome_of(q: EvalQuestion, result: EvalResult, trace: object) -> Outcome:
    """An outcome with what calibration needs from the trace."""
    data, decision = trace.data, trace.decision  # type: ignore[attr-defined]
    cands = [(c.features(), data.text(c.article)[c.start : c.end],
              data.text(c.article)[c.sentence_start : c.sentence_end], c.agreeing, c.differing, c.grouped)
             for c in decision.candidates]
    return Outcome(
        question=q, result=result, ranked_sources=trace.ranked_sources(DEPTH),  # type: ignore[attr-defined]
        ranked_texts=trace.ranked_texts(DEPTH), confidence=decision.confidence,  # type: ignore[attr-defined]
        best_sentence=cands[0][2] if cands else None, best_span=cands[0][1] if cands else None, candidates=cands,
    )


def metrics(outcomes: list[Outcome], k: int, relevant: Callable[[EvalQuestion], int] | None = None) -> dict[str, float]:
    """Retrieval and answer metrics; ``relevant`` gives how many passages of a question's gold
    sources exist (for nDCG's ideal ranking)."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    n = max(1, len(answerable))
    m: dict[str, float] = {"questions": len(outcomes), "answerable": len(answerable), "unanswerable": len(unanswerable)}
    for cut in (1, 3, 5, 10):
        found = sum(any(s in o.question.sources for s in o.ranked_sources[:cut]) for o in answerable)
        m[f"article_recall@{cut}"] = found / n
    mrr = ndcg = 0.0
    for o in answerable:
        hits = [s in o.question.sources for s in o.ranked_sources[:DEPTH]]
        first = next((i for i, h in enumerate(hits) if h), None)
        mrr += 0.0 if first is None else 1.0 / (first + 1)
        dcg = sum(1.0 / math.log2(i + 2) for i, h in enumerate(hits) if h)
        ideal_hits = min(DEPTH, relevant(o.question) if relevant else DEPTH)
        idcg = sum(1.0 / math.log2(i + 2) for i in range(ideal_hits))
        ndcg += dcg / idcg if idcg else 0.0
    m["mrr@10"] = mrr / n
    m["ndcg@10"] = ndcg / n
    for cut in (1, 5, 10):
        m[f"passage_recall@{cut}"] = (
            sum(any(contains_any(t, o.question.answers) for t in o.ranked_texts[:cut]) for o in answerable) / n
        )
    answered = [(o, o.result.answer) for o in answerable if o.result.answer is not None]
    m["span_contains_gold"] = sum(contains_any(a.text, o.question.answers) for o, a in answered) / n
    m["sentence_contains_gold"] = (
        sum(contains_any(a.sentence.text, o.question.answers) for o, a in answered) / n
    )
    m["span_f1"] = sum(token_f1(a.text, o.question.answers) for o, a in answered) / n
    m["abstention_accuracy"] = sum(o.result.abstained for o in unanswerable) / max(1, len(unanswerable))
    m["wrong_abstentions"] = float(len(answerable) - len(answered))
    m["wrong_abstention_rate"] = m["wrong_abstentions"] / n
    return m


# --------------------------------------------------------------------------- calibration


def correct_span(span: str | None, answers: Iterable[str]) -> bool:
    """Whether a span answers: it contains a gold answer or overlaps one by token F1 >= 0.5."""
    answers = list(answers)
    return bool(answers) and (contains_any(span, answers) or token_f1(span, answers) >= 0.5)
