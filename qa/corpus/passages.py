"""Article -> sentences -> passages: windows of whole sentences that fit the model.

Every sentence and passage is a pair of offsets into the article's decoded text, so that
``text[start:end]`` is exactly the sentence or passage. Passages never cross a region of removed
page debris, never cut a sentence, and with their title fit the model's 256 word pieces (a longer
input would be silently truncated by the model).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.text.sentences import split_sentences

TokenCounter = Callable[[Sequence[str]], list[int]]
"""Counts the model's word pieces of each text (without the [CLS]/[SEP] tokens)."""

SPECIAL_TOKENS = 2
"""[CLS] and [SEP] added by the model around every input."""


def embedding_text(title: str, passage: str) -> str:
    """What is embedded for a passage: its article's title, then the passage."""
    return f"{title}\n{passage}"


_CLAUSE_BREAK = re.compile(r"(?<=[;:,])\s+|\s+(?=[–—-]\s)|\s+")


def _split_long(text: str, span: tuple[int, int], limit: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces of at most ``limit`` word pieces, at clause
    breaks where possible, else between words (a sentence of 250+ word pieces is rare)."""
    s, e = span
    pieces: list[tuple[int, int]] = []
    while s < e:
        if count([text[s:e]])[0] <= limit:
            pieces.append((s, e))
            break
        # candidate cut points inside the span, preferring clause punctuation
        cuts = [s + m.start() for m in _CLAUSE_BREAK.finditer(text, s, e) if m.start() > 0]
        best = None
        lo, hi = 0, len(cuts) - 1
        while lo <= hi:  # the furthest cut that still fits
            mid = (lo + hi) // 2
            if count([text[s : cuts[mid]]])[0] <= limit:
                best = cuts[mid]
                lo = mid + 1
            else:
                hi = mid - 1
        if best is None or best <= s:
            # a single word longer than the limit: cut by characters
            best = s + max(1, len(text[s:e]) // 2)
            while best > s + 1 and count([text[s:best]])[0] > limit:
                best = s + (best - s) // 2
        pieces.append((s, best))
        s = best
        while s < e and text[s].isspace():
            s += 1
    return pieces


@dataclass(frozen=True)
class Chunked:
    """An article's sentences and passages, as offsets into its text."""

    sentences: list[tuple[int, int]]
    """(start, end) of every sentence, in order."""
    passages: list[tuple[int, int, int, int]]
    """(start, end, first sentence, one past last sentence) of every passage, in order."""


def chunk(
    text: str,
    kept: Sequence[tuple[int, int]],
    title: str,
    count: TokenCounter,
    *,
    max_tokens: int,
    passage_tokens: int,
    overlap_sentences: int,
) -> Chunked:
    """Split an article's kept regions into sentences and overlapping sentence windows."""
    title_tokens = count([title + "\n"])[0] if title else 0
    hard_limit = max_tokens - SPECIAL_TOKENS - title_tokens
    if hard_limit < 16:  # an absurdly long title: embed the passage without it
        hard_limit = max_tokens - SPECIAL_TOKENS
    budget = min(passage_tokens, hard_limit)

    sentences: list[tuple[int, int]] = []
    passages: list[tuple[int, int, int, int]] = []
    for region_start, region_end in kept:
        spans = split_sentences(text, region_start, region_end)
        if not spans:
            continue
        sizes = count([text[s:e] for s, e in spans])
        block: list[tuple[int, int]] = []
        block_sizes: list[int] = []
        for span, size in zip(spans, sizes, strict=True):
            if size > hard_limit:
                pieces = _split_long(text, span, hard_limit, count)
                block.extend(pieces)
                block_sizes.extend(count([text[s:e] for s, e in pieces]))
            else:
                block.append(span)
                block_sizes.append(size)
        offset = len(sentences)
        sentences.extend(block)

        def fits(first: int, last: int, block: list[tuple[int, int]] = block) -> bool:
            # a window's real word-piece count can differ slightly from the sum of its sentences
            return count([text[block[first][0] : block[last - 1][1]]])[0] <= hard_limit

        for first, last in _windows(block_sizes, budget, overlap_sentences, fits):
            passages.append((block[first][0], block[last - 1][1], offset + first, offset + last))
    return Chunked(sentences, _dedupe(passages))


def _windows(
    sizes: Sequence[int], budget: int, overlap: int, fits: Callable[[int, int], bool]
) -> list[tuple[int, int]]:
    """Greedy windows of consecutive sentences within ``budget`` word pieces (and passing the
    exact ``fits`` check), consecutive windows sharing ``overlap`` sentences; every sentence
    lands in at least one window."""
    windows: list[tuple[int, int]] = []
    n = len(sizes)
    i = 0
    while i < n:
        j, total = i, 0
        while j < n and (j == i or total + sizes[j] <= budget):
            total += sizes[j]
            j += 1
        while j - i > 1 and not fits(i, j):
            j -= 1
        windows.append((i, j))
        if j >= n:
            break
        i = max(i + 1, j - overlap)
    return windows


def _dedupe(passages: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Drop a window that another window of the same region contains entirely."""
    out: list[tuple[int, int, int, int]] = []
    for p in passages:
        if out and out[-1][2] <= p[2] and p[3] <= out[-1][3]:
            continue
        out.append(p)
    return out
