"""Question + passage -> model inputs, and model outputs -> the best span; torch-free.

Training and question time share this module, so that the reader sees at question time exactly
the inputs it was trained on: ``[CLS] question [SEP] passage [SEP]`` in windows of at most
``max_length`` word pieces, consecutive windows sharing ``stride`` word pieces of the passage, the
question cut to ``MAX_QUESTION_TOKENS``. The answer to a window is a start and an end word piece
of its passage part, or the [CLS] position for "this window does not answer".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_QUESTION_TOKENS = 64
MAX_ANSWER_TOKENS = 30
"""Longest span considered, in word pieces (SQuAD answers are almost all shorter)."""


@dataclass(frozen=True)
class Window:
    """One model input: the question and a window of one passage."""

    ids: list[int]
    type_ids: list[int]
    offsets: list[tuple[int, int] | None]
    """For each word piece of the passage part, its (start, end) offsets into the passage text;
    None for the question, [CLS], [SEP] and padding."""
    passage: int
    """Which of the passages given to ``windows`` this window comes from."""

    @property
    def context(self) -> tuple[int, int]:
        """First and last position of the passage part."""
        inside = [i for i, o in enumerate(self.offsets) if o is not None]
        return inside[0], inside[-1]

    def offset(self, i: int) -> tuple[int, int]:
        """The passage offsets of word piece ``i`` of the passage part."""
        o = self.offsets[i]
        if o is None:
            raise IndexError(f"word piece {i} is not part of the passage")
        return o


class ReaderTokenizer:
    """The model's tokenizer twice: for question + passage windows, and plain (to measure and cut
    the question; the windowing one refuses a first sequence longer than a window)."""

    def __init__(self, path: str, max_length: int, stride: int) -> None:
        from tokenizers import Tokenizer

        # the bundled file fixes 128 tokens and padding: both are set here explicitly
        self.pairs = Tokenizer.from_file(path)
        self.pairs.no_padding()
        self.pairs.enable_truncation(max_length=max_length, stride=stride, strategy="only_second")
        self.plain = Tokenizer.from_file(path)
        self.plain.no_padding()
        self.plain.no_truncation()

    def cut_question(self, question: str) -> str:
        """The question cut to MAX_QUESTION_TOKENS word pieces (very long questions are rare)."""
        enc = self.plain.encode(question, add_special_tokens=False)
        if len(enc.ids) <= MAX_QUESTION_TOKENS:
            return question
        return question[: enc.offsets[MAX_QUESTION_TOKENS - 1][1]]


def load_reader_tokenizer(path: str, max_length: int, stride: int) -> ReaderTokenizer:
    """The tokenizer set for question + passage windows of ``max_length`` word pieces."""
    return ReaderTokenizer(path, max_length, stride)


def windows(tok: ReaderTokenizer, question: str, passages: list[str]) -> list[Window]:
    """Every window of every passage, paired with the question."""
    q = tok.cut_question(question)
    encodings = tok.pairs.encode_batch([(q, p) for p in passages])
    out: list[Window] = []
    for n, enc in enumerate(encodings):
        for e in [enc, *enc.overflowing]:
            seq = e.sequence_ids
            offsets: list[tuple[int, int] | None] = [
                (o[0], o[1]) if s == 1 else None for o, s in zip(e.offsets, seq, strict=True)
            ]
            if not any(o is not None for o in offsets):
                continue  # an empty passage
            out.append(Window(list(e.ids), list(e.type_ids), offsets, n))
    return out


def batch_arrays(batch: list[Window]) -> dict[str, np.ndarray]:
    """Padded int64 arrays for a batch of windows."""
    width = max(len(w.ids) for w in batch)
    ids = np.zeros((len(batch), width), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for i, w in enumerate(batch):
        ids[i, : len(w.ids)] = w.ids
        types[i, : len(w.ids)] = w.type_ids
        mask[i, : len(w.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def token_targets(w: Window, start: int, end: int) -> tuple[int, int]:
    """The (start, end) positions of the answer ``passage[start:end]`` in window ``w``; (0, 0),
    the [CLS] position, when the answer is not wholly inside the window."""
    first = last = None
    for i, o in enumerate(w.offsets):
        if o is None:
            continue
        if first is None and o[1] > start:
            first = i
        if o[0] < end:
            last = i
    lo, hi = w.context
    if first is None or last is None or w.offset(lo)[0] > start or w.offset(hi)[1] < end or last < first:
        return 0, 0
    return first, last


@dataclass(frozen=True)
class SpanScore:
    """The best span of one window and the window's no-answer score."""

    passage: int
    start: int
    """Character offset into the passage text."""
    end: int
    score: float
    """start logit + end logit of the span."""
    null: float
    """start logit + end logit at [CLS]: how strongly the window says it holds no answer."""


def best_span(w: Window, start_logits: np.ndarray, end_logits: np.ndarray) -> SpanScore:
    """The highest-scoring span of the passage part (end >= start, at most MAX_ANSWER_TOKENS)."""
    lo, hi = w.context
    s = np.asarray(start_logits[lo : hi + 1], dtype=np.float32)
    e = np.asarray(end_logits[lo : hi + 1], dtype=np.float32)
    n = len(s)
    grid = s[:, None] + e[None, :]
    i, j = np.indices((n, n))
    grid[(j < i) | (j - i >= MAX_ANSWER_TOKENS)] = -np.inf
    flat = int(np.argmax(grid))
    a, b = divmod(flat, n)
    return SpanScore(
        passage=w.passage,
        start=w.offset(lo + a)[0],
        end=w.offset(lo + b)[1],
        score=float(grid[a, b]),
        null=float(start_logits[0] + end_logits[0]),
    )


def merge(old: SpanScore | None, new: SpanScore) -> SpanScore:
    """Two windows of one passage as one: the better span, and the lower no-answer score (a
    window that does not see the answer says "none", so the one that does decides)."""
    if old is None:
        return new
    keep = new if new.score > old.score else old
    return SpanScore(keep.passage, keep.start, keep.end, keep.score, min(old.null, new.null))
