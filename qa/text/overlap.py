"""Token overlap: the F1 of two bags of words, the one measure that evaluation (SQuAD's official
score, the own set's span F1) and agreement across articles share."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence


def overlap_f1(prediction: Sequence[str], gold: Sequence[str]) -> float:
    """Harmonic mean of the share of ``prediction``'s tokens in ``gold`` and of ``gold``'s in
    ``prediction``, counting repeats (0 when nothing is shared, or either is empty)."""
    common = sum((Counter(prediction) & Counter(gold)).values())
    if not common:
        return 0.0
    precision, recall = common / len(prediction), common / len(gold)
    return 2 * precision * recall / (precision + recall)
