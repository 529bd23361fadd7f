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


def correct_span(span: str | None, answers: Iterable[str]) -> bool:
    """Whether a span answers: it contains a gold answer or overlaps one by token F1 >= 0.5."""
    answers = list(answers)
    return bool(answers) and (contains_any(span, answers) or token_f1(span, answers) >= 0.5)


@dataclass
class CalibrationSet:
    """One question set's outcomes (run with threshold 0, every passage read), for calibration."""

    name: str
    outcomes: list[Outcome]
    official: bool = False
    """An answered answerable question earns SQuAD's token F1 of its span against the gold
    answers (else 1 when the span is right, ``correct_span``)."""

    def credit(self, o: Outcome, answered: bool) -> float:
        """What one question earns: an abstention on an unanswerable question 1, an answer to an
        answerable one its span's credit, anything else 0."""
        if not o.answerable:
            return 0.0 if answered else 1.0
        if not answered:
            return 0.0
        if self.official:
            from qa import squad

            return squad.scores(o.question, o.best_span or "")[1]  # type: ignore[arg-type] - has .answers
        return 1.0 if correct_span(o.best_span, o.question.answers) else 0.0


def _design(sets: list[CalibrationSet]):  # noqa: ANN202 - numpy arrays
    """Every candidate as a row (features, then 1 for the bias), whether it is a right answer,
    its weight (each set weighs as much as every other, whatever its size) and its question."""
    import numpy as np

    xs, ys, ws, groups = [], [], [], []
    for s in sets:
        rows = [(feats, span, o) for o in s.outcomes for feats, span, *_ in o.candidates]
        for feats, span, o in rows:
            xs.append([*feats, 1.0])
            ys.append(1.0 if correct_span(span, o.question.answers) else 0.0)
            ws.append(1.0 / (len(sets) * len(rows)))
            groups.append(id(o))
    x, y, w = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64), np.asarray(ws)
    return x, y, w * len(y), np.asarray(groups)


def _logistic(x, y, sample, l2: float = 0.01, steps: int = 200, offset=None, bias: bool = True):  # noqa: ANN001, ANN202
    """Weighted logistic regression by Newton's method, a little L2 on every weight but the bias
    (the last column, when ``bias``); ``offset`` is added to every row's logit as it is."""
    import numpy as np

    w = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], l2 * sample.sum())
    if bias:
        reg[-1] = 0.0  # the bias is not shrunk
    off = np.zeros(len(y)) if offset is None else offset
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(off + x @ w, -50, 50)))
        grad = x.T @ (sample * (p - y)) + reg * w
        hess = (x * (sample * p * (1 - p))[:, None]).T @ x + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def fit_weights(sets: list[CalibrationSet], keep: list[int] | None = None, l2: float = 0.01) -> tuple[float, ...]:
    """Fit the confidence model (logistic regression, a little L2) to whether each candidate of
    each question is a right answer, each question set weighing the same; returns the feature
    weights then the bias. Features not in ``keep`` (their numbers) weigh 0."""
    import numpy as np

    x, y, sample, _ = _design(sets)
    if not len(y) or len(set(y.tolist())) < 2:
        raise QuestionFileError("calibration needs both right and wrong candidates; use a larger question set")
    cols = [*(keep if keep is not None else range(x.shape[1] - 1)), x.shape[1] - 1]
    w = np.zeros(x.shape[1])
    w[cols] = _logistic(x[:, cols], y, sample, l2)
    return tuple(round(float(v), 4) + 0.0 for v in w)


def feature_ablation(sets: list[CalibrationSet], names: list[str], keep: list[int] | None = None,
                     folds: int = 5) -> dict[str, float]:
    """How much each feature in ``keep`` (default: all) earns: the cross-validated (by question)
    weighted log loss of the confidence model without it, minus that of the model with all of
    ``keep`` (above 0: the feature helps). The key "" holds the latter's log loss."""
    import numpy as np

    x, y, sample, groups = _design(sets)
    uniq = {g: i for i, g in enumerate(dict.fromkeys(groups.tolist()))}
    fold = np.asarray([uniq[g] % folds for g in groups.tolist()])
    keep = list(range(len(names))) if keep is None else keep
    bias = x.shape[1] - 1

    def loss(cols: list[int]) -> float:
        cols = [*cols, bias]
        total = 0.0
        for f in range(folds):
            train, test = fold != f, fold == f
            w = _logistic(x[train][:, cols], y[train], sample[train])
            p = np.clip(1.0 / (1.0 + np.exp(-np.clip(x[test][:, cols] @ w, -50, 50))), 1e-9, 1 - 1e-9)
            total += float(-(sample[test] * (y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p))).sum())
        return total / float(sample.sum())

    whole = loss(keep)
    out = {"": whole}
    for i in keep:
        out[names[i]] = loss([c for c in keep if c != i]) - whole
    return out


EARNS = 0.001
"""A feature stays in the confidence model when leaving it out raises the cross-validated log
loss by at least this much."""


def select_features(sets: list[CalibrationSet], names: list[str]) -> tuple[list[int], list[dict[str, float]]]:
    """Backward elimination: while some feature earns less than ``EARNS`` (``feature_ablation``),
    leave out the one that earns least. Returns the numbers of the features kept and each round's
    ablation."""
    keep, rounds = list(range(len(names))), []
    while len(keep) > 1:
        ablation = feature_ablation(sets, names, keep)
        rounds.append(ablation)
        least = min(keep, key=lambda i: ablation[names[i]])
        if ablation[names[least]] >= EARNS:
            break
        keep.remove(least)
    return keep, rounds


@dataclass
class OperatingRow:
    """What one abstention threshold does on each question set."""

    threshold: float
    score: float
    """The sets' mean score: the share of questions handled right (see ``CalibrationSet.credit``)."""
    sets: dict[str, dict[str, float]]
    """Per set: score, answered (share of answerable), abstained_unanswerable, wrong_abstentions."""


def operating_sweep(sets: list[CalibrationSet], steps: int = 100) -> list[OperatingRow]:
    """Every threshold from 0 to 1 on every set (outcomes rescored with the fitted weights)."""
    rows = []
    for i in range(steps + 1):
        t = i / steps
        per = {}
        for s in sets:
            answerable = [o for o in s.outcomes if o.answerable]
            unanswerable = [o for o in s.outcomes if not o.answerable]
            kept = [o for o in answerable if o.confidence >= t]
            per[s.name] = {
                "score": sum(s.credit(o, o.confidence >= t) for o in s.outcomes) / max(1, len(s.outcomes)),
                "answered": len(kept) / max(1, len(answerable)),
                "abstained_unanswerable": sum(o.confidence < t for o in unanswerable) / max(1, len(unanswerable)),
                "wrong_abstentions": float(len(answerable) - len(kept)),
            }
        rows.append(OperatingRow(t, sum(p["score"] for p in per.values()) / len(per), per))
    return rows


def choose_operating_point(rows: list[OperatingRow]) -> OperatingRow:
    """The threshold with the best mean score over the sets; among equally good ones (a run of
    neighbours) the middle one, so that small shifts in confidence on new questions do not flip
    decisions."""
    best = max(r.score for r in rows)
    same = [r for r in rows if r.score >= best - 1e-12]
    return same[len(same) // 2]


def reliability(outcomes: list[Outcome], bins: int = 10) -> tuple[list[tuple[float, float, int, float, float]], float]:
    """Confidence against how often the answer is right: per bin of the best candidate's
    confidence, (low, high, questions, mean confidence, share right), and the expected
    calibration error (the questions' weighted mean gap between the two). An answer to an
    unanswerable question is never right."""
    rows, gap = [], 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [o for o in outcomes if lo <= o.confidence < hi or (b == bins - 1 and o.confidence == 1.0)]
        if not inside:
            rows.append((lo, hi, 0, 0.0, 0.0))
            continue
        conf = sum(o.confidence for o in inside) / len(inside)
        right = sum(o.answerable and correct_span(o.best_span, o.question.answers) for o in inside) / len(inside)
        rows.append((lo, hi, len(inside), conf, right))
        gap += len(inside) * abs(conf - right)
    return rows, gap / max(1, len(outcomes))


def fit_agreement(outcomes: list[Outcome], weights: tuple[float, ...], l2: float = 0.01) -> tuple[float, float]:
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
    x, y = np.asarray(rows, dtype=np.float64), np.asarray(ys)
    w = _logistic(x, y, np.ones(len(y)), l2, offset=np.asarray(offsets), bias=False)
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
