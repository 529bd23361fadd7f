"""Question set -> retrieval and answer metrics, per-question results and failure labels.

A question file is JSON Lines: ``{"id", "question", "answers": [...], "sources": [...]}``; an
unanswerable question has empty ``answers`` and ``sources``. Retrieval metrics count answerable
questions only; a question with no results scores 0 (it is never dropped).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from qa.errors import QuestionFileError
from qa.models import EvalLabel, EvalQuestion, EvalResult

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
    best = 0.0
    for gold in answers:
        ref = _tokens(gold)
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            p, r = common / len(pred), common / len(ref)
            best = max(best, 2 * p * r / (p + r))
    return best


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
    threshold: float | None = None,
    read_all: bool = False,
    since: str | None = None,
    until: str | None = None,
) -> list[Outcome]:
    """Ask every question through ``service.trace`` and collect outcomes; ``read_all`` reads
    every passage the reader may read (calibration fits on all of them); ``since``/``until``
    keep only articles dated within them."""
    outcomes = []
    for q in questions:
        trace = service.trace(q.question, k=k, retriever=retriever, threshold=threshold,  # type: ignore[attr-defined]
                              read_all=read_all, since=since, until=until)
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
        m[f"article_recall@{cut}"] = sum(any(s in o.question.sources for s in o.ranked_sources[:cut]) for o in answerable) / n
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
        m[f"passage_recall@{cut}"] = sum(any(contains_any(t, o.question.answers) for t in o.ranked_texts[:cut])
                                         for o in answerable) / n
    answered = [o for o in answerable if not o.result.abstained]
    m["span_contains_gold"] = sum(contains_any(o.result.answer.text, o.question.answers) for o in answered) / n
    m["sentence_contains_gold"] = sum(contains_any(o.result.answer.sentence.text, o.question.answers) for o in answered) / n
    m["span_f1"] = sum(token_f1(o.result.answer.text, o.question.answers) for o in answered) / n
    m["abstention_accuracy"] = sum(o.result.abstained for o in unanswerable) / max(1, len(unanswerable))
    m["wrong_abstentions"] = float(len(answerable) - len(answered))
    m["wrong_abstention_rate"] = m["wrong_abstentions"] / n
    return m


# --------------------------------------------------------------------------- calibration


@dataclass
class SweepRow:
    """What one abstention threshold would do on the question set."""

    threshold: float
    answered: float
    """Share of answerable questions answered."""
    correct: float
    """Share of answerable questions answered with a sentence containing the gold answer."""
    abstained_unanswerable: float
    """Share of unanswerable questions abstained on."""
    wrong_abstentions: int
    """Answerable questions abstained on."""


def sweep(outcomes: list[Outcome], steps: int = 100) -> list[SweepRow]:
    """Coverage and accuracy at every threshold from 0 to 1 (outcomes run with threshold 0)."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    rows = []
    for i in range(steps + 1):
        t = i / steps
        kept = [o for o in answerable if o.confidence >= t]
        correct = [o for o in kept if contains_any(o.best_sentence, o.question.answers)]
        rows.append(
            SweepRow(
                threshold=t,
                answered=len(kept) / max(1, len(answerable)),
                correct=len(correct) / max(1, len(answerable)),
                abstained_unanswerable=sum(o.confidence < t for o in unanswerable) / max(1, len(unanswerable)),
                wrong_abstentions=len(answerable) - len(kept),
            )
        )
    return rows


def choose_threshold(rows: list[SweepRow], answerable: int, max_wrong_rate: float = 0.05) -> SweepRow:
    """The threshold that abstains on the most unanswerable questions while wrongly abstaining on
    at most ``max_wrong_rate`` of the answerable ones. Among equally good thresholds (a contiguous
    run, since both counts grow with the threshold) it takes the middle one, so that small shifts
    in confidence on new questions do not flip decisions."""
    allowed = [r for r in rows if r.wrong_abstentions <= max_wrong_rate * answerable]
    best = max(allowed, key=lambda r: (r.abstained_unanswerable, r.correct, -r.threshold))
    same = [r for r in allowed if (r.abstained_unanswerable, r.correct, r.wrong_abstentions)
            == (best.abstained_unanswerable, best.correct, best.wrong_abstentions)]
    return same[len(same) // 2]


def correct_span(span: str | None, answers: Iterable[str]) -> bool:
    """Whether a span answers: it contains a gold answer or overlaps one by token F1 >= 0.5."""
    answers = list(answers)
    return bool(answers) and (contains_any(span, answers) or token_f1(span, answers) >= 0.5)


def fit_weights(outcomes: list[Outcome], l2: float = 0.01, steps: int = 200) -> tuple[float, ...]:
    """Fit the confidence model (logistic regression, Newton's method, a little L2) to whether
    each candidate of each question is a correct answer; returns feature weights then the bias."""
    import numpy as np

    xs, ys = [], []
    for o in outcomes:
        for feats, span, *_ in o.candidates:
            xs.append([*feats, 1.0])
            ys.append(1.0 if correct_span(span, o.question.answers) else 0.0)
    if not xs or len(set(ys)) < 2:
        raise QuestionFileError("calibration needs both right and wrong candidates; use a larger question set")
    x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], l2 * len(y))
    reg[-1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50, 50)))
        grad = x.T @ (p - y) + reg * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return tuple(round(float(v), 4) for v in w)


def fit_agreement(outcomes: list[Outcome], weights: tuple[float, ...], l2: float = 0.01,
                  steps: int = 100) -> tuple[float, float]:
    """Fit how much each agreeing and each differing article moves the confidence (on the
    logistic scale, the confidence model's value as a fixed offset), to whether each article's
    best candidate is a correct answer."""
    import numpy as np

    from qa.answerer import confidence, logit

    rows, ys, offsets = [], [], []
    for o in outcomes:
        for feats, span, _, agreeing, differing, grouped in o.candidates:
            if grouped:
                offsets.append(logit(confidence(feats, weights)))
                rows.append([agreeing, differing])
                ys.append(1.0 if correct_span(span, o.question.answers) else 0.0)
    if not rows:
        return (0.0, 0.0)
    x, y, off = np.asarray(rows, dtype=np.float64), np.asarray(ys), np.asarray(offsets)
    w = np.zeros(2)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(off + x @ w, -50, 50)))
        grad = x.T @ (p - y) + l2 * len(y) * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.eye(2) * (l2 * len(y) + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return (round(float(w[0]), 4), round(float(w[1]), 4))


def final_confidence(candidate: tuple, weights: tuple[float, ...], agreement: tuple[float, float]) -> float:
    """A calibration candidate's confidence: the model's, moved by agreement when it is its
    article's best."""
    from qa.answerer import agreed, confidence

    feats, _, _, agreeing, differing, grouped = candidate
    p = confidence(feats, weights)
    return agreed(p, agreeing, differing, agreement) if grouped else p


def rescore(outcomes: list[Outcome], weights: tuple[float, ...], agreement: tuple[float, float] = (0.0, 0.0)) -> None:
    """Recompute each outcome's best candidate and confidence under new confidence weights."""
    for o in outcomes:
        if not o.candidates:
            continue
        scored = sorted(o.candidates, key=lambda c: -final_confidence(c, weights, agreement))
        o.confidence = final_confidence(scored[0], weights, agreement)
        o.best_span, o.best_sentence = scored[0][1], scored[0][2]
