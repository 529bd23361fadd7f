"""Ranked passages -> an answer copied verbatim from an article, or an abstention.

retrieval -> reader -> decision:

1. The reader (``qa.reader``) reads the top passages with the question (two, and two more when
   those do not answer confidently) and gives, for each, its best span and its no-answer score.
2. Each passage's span is a candidate; its confidence is a logistic model of the span's margin
   over the no-answer score, the span's own score, the passage's retrieval score, the question's
   terms in the sentence and the passage, and the sentence's similarity to the question, with
   weights that ``qa eval --calibrate`` fits (stored in the config as ``confidence_weights``).
3. The most confident candidate is the answer, and the sentence(s) holding it its sentence;
   below the calibrated ``abstain_threshold``, the answerer abstains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from qa import spans
from qa.index import IndexData, TermAnalyzer
from qa.models import Answer, Span
from qa.retriever import PassageRetriever, Retrieval

PASSAGES_READ = 4
"""How many of the top passages the reader reads at most (measured with `qa eval`; see the README)."""
FIRST_READ = 2
"""The reader reads the top two passages first ..."""
READ_MORE_BELOW = 0.3
"""... and the rest only when its best candidate there is less confident than this: measured on
both question sets, the answers and abstentions are the same as when reading all four (SQuAD dev
exactly, the own set one more right sentence), with a third fewer passages read."""


@dataclass(frozen=True)
class Candidate:
    """The reader's best span in one passage, and what the decision made of it."""

    passage: int
    """Passage number."""
    article: int
    rank: int
    """The passage's retrieval rank (0 = first)."""
    start: int
    """Offset of the span in the article's text."""
    end: int
    sentence_start: int
    """Offsets of the sentence(s) holding the span."""
    sentence_end: int
    span_score: float
    """The reader's start + end logit of the span."""
    null_score: float
    """The reader's start + end logit at [CLS]: how strongly it says the passage does not answer."""
    retrieval: float
    """The passage's retrieval score."""
    sentence_coverage: float = 0.0
    """IDF-weighted share of the question's terms in the answer's sentence."""
    passage_coverage: float = 0.0
    """IDF-weighted share of the question's terms in the passage."""
    similarity: float = 0.0
    """Cosine similarity of the question and the answer's sentence (their embeddings)."""
    confidence: float = 0.0

    def features(self) -> tuple[float, ...]:
        """What the confidence model weighs: the span's margin over no-answer, the span's score,
        the retrieval score, how much of the question the sentence and the passage cover, and how
        similar the sentence is to the question."""
        return (self.span_score - self.null_score, self.span_score, self.retrieval, self.sentence_coverage,
                self.passage_coverage, self.similarity)


def confidence(features: Sequence[float], weights: Sequence[float]) -> float:
    """The logistic confidence model: a weight for each feature, then the bias."""
    z = sum(w * x for w, x in zip(weights[:-1], features, strict=True)) + weights[-1]
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass
class Decision:
    """What the answerer concluded."""

    answer: Answer | None
    """The answer, or None to abstain."""
    passage: int | None
    """The passage number the answer (or the best candidate) comes from."""
    confidence: float
    """Confidence of the best candidate, even when it was withheld."""
    reason: str | None = None
    """Why the answerer abstained."""
    candidates: list[Candidate] = field(default_factory=list)
    """One candidate per passage read, most confident first."""
    ranking: list[int] = field(default_factory=list)
    """Passage numbers, best first: the best candidate's passage, then the rest in retrieval order."""

    @property
    def best(self) -> Candidate | None:
        """The most confident candidate."""
        return self.candidates[0] if self.candidates else None


class Answerer:
    """Answers from an index's passages with the reader."""

    def __init__(self, index: IndexData, reader: object, retriever: PassageRetriever, analyze: TermAnalyzer,
                 passages_read: int = PASSAGES_READ) -> None:
        self.index = index
        self.reader = reader
        self.retriever = retriever
        self.analyze = analyze
        self.passages_read = passages_read
        self._n = max(1, len(index.passages))

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term over passages (BM25's formula)."""
        df = self.retriever.document_frequency(term)
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    @staticmethod
    def coverage(weights: dict[str, float], present: set[str]) -> float:
        """IDF-weighted share of the question's terms among ``present``."""
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in present) / total if total else 0.0

    def answer(self, question: str, retrieval: Retrieval, threshold: float, weights: Sequence[float],
               read_all: bool = False) -> Decision:
        """Read the top passages and answer ``question``, or abstain below ``threshold``; with
        ``read_all`` (calibration), every passage up to ``passages_read`` is read."""
        if len(retrieval.order) == 0:
            return Decision(None, None, 0.0, "the index holds no passages")
        terms = {t: self.idf(t) for t in dict.fromkeys(retrieval.terms)}
        read = [int(p) for p in retrieval.order[: min(FIRST_READ, self.passages_read)]]
        candidates = self.read(question, read, retrieval, terms, weights)
        more = [int(p) for p in retrieval.order[len(read) : self.passages_read]]
        if more and (read_all or not candidates or candidates[0].confidence < READ_MORE_BELOW):
            candidates = sorted(candidates + self.read(question, more, retrieval, terms, weights, first_rank=len(read)),
                                key=lambda c: (-c.confidence, c.rank))
            read += more
        ranking = [int(p) for p in retrieval.order]
        if not candidates:
            return Decision(None, read[0], 0.0, "the passages read hold no text to answer from", [], ranking)
        best = candidates[0]
        # the passage holding the answer leads; the rest keep their retrieval order
        ranking = [best.passage] + [p for p in ranking if p != best.passage]
        if best.confidence < threshold:
            return Decision(None, best.passage, best.confidence, self.doubt(best), candidates, ranking)
        text = self.index.text(best.article)
        answer = Answer(
            text=text[best.start : best.end],
            source=self.index.manifest.articles[best.article].article.source,
            start=best.start,
            end=best.end,
            confidence=round(best.confidence, 4),
            sentence=Span(text=text[best.sentence_start : best.sentence_end], start=best.sentence_start,
                          end=best.sentence_end),
            kind="sentence" if (best.start, best.end) == (best.sentence_start, best.sentence_end)
            else spans.kind_of(text, best.start, best.end, best.sentence_start, best.sentence_end),
        )
        return Decision(answer, best.passage, best.confidence, None, candidates, ranking)

    def read(self, question: str, passages: list[int], retrieval: Retrieval, weights: dict[str, float],
             model: Sequence[float], first_rank: int = 0) -> list[Candidate]:
        """One candidate per passage (the passages at retrieval ranks ``first_rank``, ...), most
        confident first (ties: retrieval order); ``weights`` are the question's terms' IDFs."""
        index = self.index
        texts = [index.passage(p).text for p in passages]
        spans = self.reader.read(question, texts)  # type: ignore[attr-defined]
        found = []
        for i, (p, span) in enumerate(zip(passages, spans, strict=True)):
            rank = first_rank + i
            if span.end <= span.start:
                continue
            article, offset = int(index.passages[p, 0]), int(index.passages[p, 1])
            start, end = offset + span.start, offset + span.end
            s_start, s_end, numbers = self.sentence_around(p, start, end)
            vectors = np.asarray(index.sentence_vectors[numbers[0] : numbers[-1] + 1], dtype=np.float32)
            similarity = float((vectors @ retrieval.query_vector.astype(np.float32)).max())
            text = index.text(article)
            c = Candidate(passage=p, article=article, rank=rank, start=start, end=end, sentence_start=s_start,
                          sentence_end=s_end, span_score=span.score, null_score=span.null,
                          retrieval=float(retrieval.scores[rank]),
                          sentence_coverage=self.coverage(weights, set(self.analyze(text[s_start:s_end]))),
                          passage_coverage=self.coverage(weights, set(self.analyze(texts[i]))),
                          similarity=similarity)
            found.append(replace(c, confidence=confidence(c.features(), model)))
        return sorted(found, key=lambda c: (-c.confidence, c.rank))

    def sentence_around(self, p: int, start: int, end: int) -> tuple[int, int, list[int]]:
        """Offsets of the sentence holding ``[start, end)`` (of the sentences, when it spans
        several), and the sentences' numbers."""
        sents = self.index.sentence_spans(p)
        inside = [n for n, s, e in sents if s < end and start < e] or [sents[0][0]]
        first = next(s for n, s, _ in sents if n == inside[0])
        last = next(e for n, _, e in sents if n == inside[-1])
        return min(first, start), max(last, end), inside

    @staticmethod
    def doubt(best: Candidate) -> str:
        """Why the best candidate was not good enough, in a few words."""
        if best.null_score > best.span_score:
            return "the reader found no answer in the passages read"
        return "the reader's best answer is not certain enough"
