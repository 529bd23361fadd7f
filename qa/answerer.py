"""Ranked passages -> an answer copied verbatim from an article, or an abstention.

1. Every sentence of the top passages is scored by its own similarity to the question, its
   passage's retrieval score, how much of the question's (IDF-weighted) terms it and its
   neighbours cover, and whether it holds an answer of the kind asked for.
2. In the best sentence, the span of the asked kind (a date for "when", a number for "how many",
   a name for "who", ...) nearest to the question's words is the short answer; when no span
   can be picked with confidence, the sentence itself is the answer.
3. The answer's confidence combines those signals. Below the threshold, or when the sentence does
   not cover the question's key terms or lacks an answer of the asked kind, the answerer abstains.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from qa import spans
from qa.index import IndexData, TermAnalyzer
from qa.models import Answer, Span
from qa.retriever import PassageRetriever, Retrieval

PASSAGES_READ = 4
"""How many of the top passages the answerer reads."""


@dataclass
class SentenceScore:
    """One candidate sentence and what was measured about it."""

    number: int
    article: int
    start: int
    end: int
    passage_rank: int
    similarity: float
    passage_score: float
    coverage: float
    context_coverage: float
    kind_found: bool
    span: tuple[int, int, str] | None = None
    score: float = 0.0


@dataclass
class Decision:
    """What the answerer concluded."""

    answer: Answer | None
    """The answer, or None to abstain."""
    passage: int | None
    """The passage number the answer (or the best sentence) comes from."""
    confidence: float
    """Confidence of the best answer, even when it was withheld."""
    reason: str | None = None
    """Why the answerer abstained, or what limited its confidence."""
    sentences: list[SentenceScore] = field(default_factory=list)
    """The scored candidate sentences, best first (for explanations)."""


class Answerer:
    """Extracts answers from an index's sentences."""

    def __init__(self, index: IndexData, retriever: PassageRetriever, analyze: TermAnalyzer) -> None:
        self.index = index
        self.retriever = retriever
        self.analyze = analyze
        self._n = max(1, len(index.passages))

    # ------------------------------------------------------------------ term weights

    def _idf(self, term: str) -> float:
        df = self.retriever.document_frequency(term)
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def _coverage(self, weights: dict[str, float], text: str) -> float:
        """IDF-weighted share of the question's terms present in ``text``."""
        if not weights:
            return 0.0
        present = set(self.analyze(text))
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in present) / total

    # ------------------------------------------------------------------ main

    def answer(self, question: str, retrieval: Retrieval, threshold: float) -> Decision:
        """Pick the answer to ``question`` from the retrieved passages."""
        if len(retrieval.order) == 0:
            return Decision(None, None, 0.0, "the index holds no passages")
        kind = spans.answer_kind(question)
        weights = {t: self._idf(t) for t in dict.fromkeys(retrieval.terms)}
        scored = self._score_sentences(retrieval, weights, kind, question)
        if not scored:
            return Decision(None, int(retrieval.order[0]), 0.0, "no sentence to answer from")
        best = scored[0]
        text = self.index.text(best.article)
        pick = best.span if kind != spans.REASON else None
        confidence = self._confidence(best, scored, kind, pick is not None)
        passage = self._passage_of(best, retrieval)
        reason = self._doubt(best, kind)
        sentence = Span(text=text[best.start : best.end], start=best.start, end=best.end)
        if pick is not None:
            s, e, span_kind = pick
        else:
            s, e, span_kind = best.start, best.end, "sentence"
        article = self.index.manifest.articles[best.article].article
        answer = Answer(
            text=text[s:e],
            source=article.source,
            start=s,
            end=e,
            confidence=round(confidence, 4),
            sentence=sentence,
            kind=span_kind,
        )
        if confidence < threshold or reason is not None and confidence < threshold + 0.15:
            return Decision(None, passage, confidence, reason or "no sentence answers it confidently", scored)
        return Decision(answer, passage, confidence, None, scored)

    # ------------------------------------------------------------------ sentences

    def _score_sentences(
        self, retrieval: Retrieval, weights: dict[str, float], kind: str, question: str
    ) -> list[SentenceScore]:
        index = self.index
        q = retrieval.query_vector.astype(np.float32)
        q_terms = set(weights)
        top = float(retrieval.scores[0]) if len(retrieval.scores) else 1.0
        seen: dict[int, SentenceScore] = {}
        for rank, (p, pscore) in enumerate(zip(retrieval.order[:PASSAGES_READ], retrieval.scores[:PASSAGES_READ])):
            p = int(p)
            article = int(index.passages[p, 0])
            text = index.text(article)
            sents = index.sentence_spans(p)
            numbers = [s for s, _, _ in sents]
            sims = np.asarray(index.sentence_vectors[numbers], dtype=np.float32) @ q
            for j, ((number, start, end), sim) in enumerate(zip(sents, sims)):
                if number in seen:
                    continue
                ctx_lo = sents[max(0, j - 1)][1]
                ctx_hi = sents[min(len(sents) - 1, j + 1)][2]
                cands = self._spans(text, start, end, kind, question, q_terms)
                seen[number] = SentenceScore(
                    number=number,
                    article=article,
                    start=start,
                    end=end,
                    passage_rank=rank,
                    similarity=float(sim),
                    passage_score=float(pscore) / top if top > 0 else 0.0,
                    coverage=self._coverage(weights, text[start:end]),
                    context_coverage=self._coverage(weights, text[ctx_lo:ctx_hi]),
                    kind_found=bool(cands),
                    span=(cands[0].start, cands[0].end, cands[0].kind) if cands else None,
                )
        for s in seen.values():
            kind_term = 0.0
            if kind not in (spans.OTHER, spans.YESNO, spans.REASON):
                kind_term = 0.08 if s.kind_found else -0.08
            s.score = 0.5 * s.similarity + 0.2 * s.passage_score + 0.3 * s.coverage + 0.1 * s.context_coverage + kind_term
        return sorted(seen.values(), key=lambda s: (-s.score, s.number))

    def _passage_of(self, best: SentenceScore, retrieval: Retrieval) -> int:
        for p in retrieval.order:
            p = int(p)
            if int(self.index.passages[p, 3]) <= best.number < int(self.index.passages[p, 4]):
                return p
        return int(retrieval.order[0])

    # ------------------------------------------------------------------ spans

    def _spans(self, text: str, lo: int, hi: int, kind: str, question: str, q_terms: set[str]) -> list[spans.Candidate]:
        """Candidate answers of ``kind`` in the sentence ``text[lo:hi]``, without what the question
        itself says, nearest to the question's words first."""
        if kind in (spans.OTHER, spans.YESNO):
            return []
        if kind == spans.DESCRIPTION:
            name = " ".join(w for w in re.findall(r"[\w.’'-]+", question)[2:] if w[:1].isupper())
            found = spans.describe(text, lo, hi, name)
            return [found] if found else []
        found = spans.candidates(text, lo, hi, kind)
        if kind == spans.NUMBER:
            dates = spans.candidates(text, lo, hi, spans.DATE)
            found = [c for c in found if not any(d.start < c.end and c.start < d.end for d in dates)]

        def known(word: str) -> bool:
            terms = self.analyze(word)
            return bool(terms) and all(t in q_terms for t in terms)

        trimmed = []
        for c in found:
            t = spans.trim_known(text, c, known) if kind in (spans.PERSON, spans.PLACE, spans.ORG) else c
            if t is not None and not _mostly_in(self.analyze(text[t.start : t.end]), q_terms):
                trimmed.append(t)
        anchors = [m.start() for m in _WORD.finditer(text, lo, hi) if known(m.group(0))]
        if anchors:
            trimmed.sort(key=lambda c: min(abs(c.start - a) for a in anchors))
        return trimmed

    # ------------------------------------------------------------------ confidence

    def _confidence(self, best: SentenceScore, scored: list[SentenceScore], kind: str, span_found: bool) -> float:
        margin = best.score - scored[1].score if len(scored) > 1 else 0.2
        z = (
            6.0 * (best.similarity - 0.35)
            + 3.0 * (max(best.coverage, 0.8 * best.context_coverage) - 0.5)
            + 4.0 * margin
            + (0.5 if span_found else 0.0)
        )
        if kind not in (spans.OTHER, spans.YESNO, spans.REASON) and not best.kind_found:
            z -= 1.5
        return 1.0 / (1.0 + math.exp(-z))

    def _doubt(self, best: SentenceScore, kind: str) -> str | None:
        if kind not in (spans.OTHER, spans.YESNO, spans.REASON) and not best.kind_found:
            return f"the best sentence gives no {kind}"
        if max(best.coverage, best.context_coverage) < 0.3:
            return "the best sentence does not mention what the question asks about"
        return None


def _mostly_in(terms: list[str], q_terms: set[str]) -> bool:
    return bool(terms) and sum(t in q_terms for t in terms) / len(terms) > 0.5


_WORD = re.compile(r"\w+")
