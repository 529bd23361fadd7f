"""Indexing progress as words: done of total, the rate and the time left, for the command line and
the chat alike."""

from __future__ import annotations

import time

UNITS = {"reading": ("file", "files"), "embedding": ("article", "articles")}
"""What each indexing stage counts."""


def counted(stage: str, n: int) -> str:
    """ "600 articles", "1 file": what a stage counts, or "" for a stage that counts nothing."""
    one, many = UNITS.get(stage, ("", ""))
    return f"{n:,} {one if n == 1 else many}" if one else ""


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class Rate:
    """Follows one indexing run's (stage, done, total) reports and says where it is. The rate is
    measured over this run only: work an interrupted run left done does not make it look faster."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._stage = ""
        self._start = 0.0
        self._first = 0

    def update(self, stage: str, done: int, total: int) -> str:
        """The words for this report: "embedding 1,200/10,000 articles · 38.5/s · about 4 min left"."""
        now = self._clock()
        if stage != self._stage:
            self._stage, self._start, self._first = stage, now, done
        if stage not in UNITS:
            return stage
        words = f"{stage} {done:,}/{counted(stage, total)}"
        elapsed = now - self._start
        moved = done - self._first
        if moved > 0 and elapsed >= 1.0:
            rate = moved / elapsed
            words += f" · {rate:.1f}/s"
            if done < total:
                words += f" · about {_duration((total - done) / rate)} left"
        return words
