"""Calibration: fit the decision's confidence model on question sets, choose one operating point
and say how reliable the confidence is (``qa eval --calibrate``).

The question sets are run with a service that never abstains and reads every passage it may
(``QAService.with_policy``), so that each question's candidates and their features are seen; the
fits then need no further reading. Each set weighs the same in every fit, so a small own set
counts as much as a large SQuAD file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qa.errors import QuestionFileError
from qa.evaluation.evaluate import Outcome, correct_span, run


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
            from qa.evaluation import squad

            return squad.scores(o.question, o.best_span or "")[1]
        return 1.0 if correct_span(o.best_span, o.question.answers) else 0.0


def _design(sets: list[CalibrationSet]):  # numpy arrays
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


def _logistic(x, y, sample, l2: float = 0.01):
    """Weighted logistic regression (scikit-learn's), a little L2 on every weight but the bias:
    ``x``'s last column is the bias's 1s; returns the weights, the bias last."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    if x.shape[1] == 1 or len(np.unique(y)) < 2:
        # nothing to weigh (or nothing to tell apart): the bias alone, the weighted share of right
        # answers on the logistic scale
        p = float(np.clip((sample * y).sum() / sample.sum(), 1e-9, 1 - 1e-9))
        return np.append(np.zeros(x.shape[1] - 1), np.log(p / (1 - p)))
    # scikit-learn minimises C * sum(weight * log loss) + |w|^2 / 2: the same optimum as
    # sum(weight * log loss) + l2 * sum(weight) * |w|^2 / 2
    model = LogisticRegression(C=1.0 / (l2 * float(sample.sum())), tol=1e-10, max_iter=1000)
    model.fit(x[:, :-1], y, sample_weight=sample)
    return np.append(model.coef_[0], model.intercept_[0])


def _logistic_with_offset(x, y, offset, l2: float = 0.01):
    """Logistic regression without a bias whose logit is ``offset + x @ w`` (a little L2), fitted
    with scipy's L-BFGS: scikit-learn's LogisticRegression has no fixed offset."""
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import expit

    reg = l2 * len(y)

    def loss(w):
        z = offset + x @ w
        value = float((np.logaddexp(0.0, z) - y * z).sum() + 0.5 * reg * w @ w)
        return value, x.T @ (expit(z) - y) + reg * w

    return minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"gtol": 1e-10}).x


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

    from qa.answer.answerer import confidence, logit

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
    w = _logistic_with_offset(x, y, np.asarray(offsets), l2)
    return (round(float(w[0]), 4), round(float(w[1]), 4))


def final_confidence(candidate: tuple, weights: tuple[float, ...], agreement: tuple[float, float]) -> float:
    """A calibration candidate's confidence: the model's, moved by agreement when it is its
    article's best."""
    from qa.answer.answerer import agreed, confidence

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


def collect(service: Any, questions: list[Any], name: str, official: bool, k: int, retriever: str,
            since: str | None = None, until: str | None = None) -> CalibrationSet:
    """Run one question set for calibration: threshold 0, every passage read, every feature measured."""
    policy = service.with_policy(threshold=0.0, read_all=True, every_feature=True)
    outcomes = run(policy, questions, k, retriever, since=since, until=until)
    return CalibrationSet(name, outcomes, official=official)


@dataclass
class Calibration:
    """What ``calibrate`` found."""

    features: list[str]
    weights: tuple[float, ...]
    agreement: tuple[float, float]
    rounds: list[dict[str, float]]
    """Each round of backward elimination: the cross-validated log loss with the features kept
    (key ""), and how much it rises without each of them."""
    dropped: list[str]
    sweep: list[OperatingRow]
    chosen: OperatingRow
    reliability: dict[str, tuple[list[tuple[float, float, int, float, float]], float]] = field(default_factory=dict)


def calibrate(sets: list[CalibrationSet], features: Sequence[str]) -> Calibration:
    """Select the features that earn their weight, fit the confidence model and the agreement
    weights on all sets, choose one threshold by the best mean score, and measure reliability."""
    keep, rounds = select_features(sets, list(features))
    weights = fit_weights(sets, keep)
    agreement = fit_agreement([o for s in sets for o in s.outcomes], weights)
    for s in sets:
        rescore(s.outcomes, weights, agreement)
    rows = operating_sweep(sets)
    tables = {s.name: reliability(s.outcomes) for s in sets}
    if len(sets) > 1:
        tables["all"] = reliability([o for s in sets for o in s.outcomes])
    return Calibration(features=list(features), weights=weights, agreement=agreement, rounds=rounds,
                       dropped=[f for i, f in enumerate(features) if i not in keep], sweep=rows,
                       chosen=choose_operating_point(rows), reliability=tables)
