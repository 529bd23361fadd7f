"""Ranked passages -> an answer copied verbatim from an article, or an abstention.

retrieval -> reader -> decision:

1. The reader (``qa.neural.reader``) reads the top passages with the question (two, and two more when
   those do not answer confidently) and gives, for each, its best span and its no-answer score.
2. Each passage's span is a candidate; its confidence is a logistic model of the span's margin
   over the no-answer score, the span's own score, the passage's retrieval score, the question's
   terms in the sentence and the passage, and the sentence's similarity to the question, with
   weights that ``qa eval --calibrate`` fits (stored in the config as ``confidence_weights``).
3. The best candidate of each article is compared with the other articles' (``qa.answer.agreement``):
   its confidence rises with each independent article that says the same and falls with each
   that gives another value of the same kind (weights fitted by ``qa eval --calibrate``; wire
   copies of one text count once).
4. The most confident candidate is the answer (a question about the latest news prefers the
   newest article among the answers good enough to give), and the sentence(s) holding it its
   sentence; below the calibrated ``abstain_threshold``, the answerer abstains. The other
   articles' answers that agree or differ go with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from qa.answer import agreement as agreement_
from qa.answer import spans
from qa.answer.retriever import PassageRetriever, Retrieval
from qa.config import CONFIDENCE_FEATURES as FEATURES
from qa.models import Answer, ResolvedDate, Span
from qa.search.terms import TermAnalyzer
from qa.store.generations import IndexData
from qa.text import dates

PASSAGES_READ = 4
"""How many of the top passages the reader reads at most (measured with `qa eval`; see the README)."""
FIRST_READ = 2
"""The reader reads the top two passages first ..."""
READ_MORE_BELOW = 0.5
"""... and the rest only while its best candidate is more likely wrong than right (the confidence
is calibrated); with reader v2 this beats v1's 0.3 on the own set and ties on SQuAD (README)."""


OTHER_RANKS = 8
"""Besides those passages, the best-ranked passage of each other article among the top
``OTHER_RANKS`` is read, for up to ``OTHER_ARTICLES`` articles, to see what other sources say."""
OTHER_ARTICLES = 3
MAX_COUNTED = 3
"""Agreeing or differing articles count up to this many."""
COPY_SHARE = 0.6
"""Two passages are copies when this share of the shorter one's text (whole sentences) is in the
other: a wire copy under another headline and byline shares its body."""
SHOWN_SHARE = 0.5
"""Another article's answer counts (and is shown) when its confidence reaches the threshold and
this share of the answer's."""


@dataclass(frozen=True)
class Policy:
    """How the decision decides: the calibrated confidence model and the threshold to answer.

    The question path takes it from the settings (``Policy.of``); calibration alone changes it
    (threshold 0 and every passage read, to see each question's best candidate)."""

    threshold: float
    """Answer when the confidence reaches this; abstain below."""
    weights: tuple[float, ...]
    """The confidence model: a weight per feature (``FEATURES``), then the bias."""
    agreement: tuple[float, float] = (0.0, 0.0)
    """Logistic weights of each agreeing and each differing article."""
    credible: float | None = None
    """Other articles' answers count from this confidence (the threshold when None)."""
    read_all: bool = False
    """Read every passage up to ``passages_read`` instead of stopping when the first are sure."""
    every_feature: bool = False
    """Measure every confidence feature, those the model weighs 0 too (calibration fits them)."""

    def measured(self) -> frozenset[str]:
        """The confidence features worth computing: those the model weighs (all when
        ``every_feature``)."""
        return frozenset(f for f, w in zip(FEATURES, self.weights, strict=False) if w or self.every_feature)

    @classmethod
    def of(cls, settings: Any) -> Policy:
        """The policy the settings store."""
        return cls(threshold=settings.abstain_threshold, weights=tuple(settings.confidence_weights),
                   agreement=tuple(settings.agreement_weights), credible=settings.abstain_threshold)


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
    kind: str = "phrase"
    """What sort of thing the span is (``spans.kind_of``), or "sentence"."""
    base_confidence: float = 0.0
    """The confidence model's value for this candidate alone."""
    agreeing: int = 0
    """How many other independent articles say the same (counted up to ``MAX_COUNTED``)."""
    differing: int = 0
    """How many other independent articles give a different value of the same kind."""
    grouped: bool = False
    """True for its article's best candidate, the one compared with other articles'."""
    confidence: float = 0.0
    """The base confidence moved by agreement and disagreement (``agreement_weights``)."""

    @property
    def margin(self) -> float:
        """The span's score over the no-answer score."""
        return self.span_score - self.null_score

    def features(self) -> tuple[float, ...]:
        """What the confidence model weighs (``FEATURES``)."""
        return tuple(getattr(self, name) for name in FEATURES)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def logit(p: float) -> float:
    """The logistic scale of a probability (the inverse of the sigmoid)."""
    p = min(max(p, 1e-12), 1 - 1e-12)
    return math.log(p / (1 - p))


def confidence(features: Sequence[float], weights: Sequence[float]) -> float:
    """The logistic confidence model: a weight for each feature, then the bias."""
    return _sigmoid(sum(w * x for w, x in zip(weights[:-1], features, strict=True)) + weights[-1])


def agreed(base: float, agreeing: int, differing: int, agreement: Sequence[float]) -> float:
    """A base confidence moved, on the logistic scale, by ``agreement``'s weight for each
    agreeing and each differing article."""
    return _sigmoid(logit(base) + agreement[0] * agreeing + agreement[1] * differing)


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
    """One candidate per passage read: each article's best, most confident first, then the rest."""
    ranking: list[int] = field(default_factory=list)
    """Passage numbers, best first: the best candidate's passage, then the rest in retrieval order."""
    alternatives: list[tuple[Candidate, bool]] = field(default_factory=list)
    """Other articles' answers that the card shows, each with whether it agrees with the answer."""

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
        self._sentence_keys: dict[int, frozenset[str]] = {}

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term over passages (BM25's formula)."""
        df = self.retriever.document_frequency(term)
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    @staticmethod
    def coverage(weights: dict[str, float], present: set[str]) -> float:
        """IDF-weighted share of the question's terms among ``present``."""
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in present) / total if total else 0.0

    def article_of(self, p: int) -> int:
        """The article number of passage ``p``."""
        return int(self.index.passages[p, 0])

    def date_of(self, article: int) -> str | None:
        """The article's date, when it states one."""
        return self.index.manifest.articles[article].article.date

    def copies(self, p: int, q: int) -> bool:
        """Whether passages ``p`` and ``q`` of two articles are the same text (a wire copy): most
        of the shorter one's sentences, compared without case and spacing, are in the other."""
        a, b = self._keys(p), self._keys(q)
        if not a or not b or self.article_of(p) == self.article_of(q):
            return False
        shared = sum(len(k) for k in a & b)
        return shared >= COPY_SHARE * min(sum(map(len, a)), sum(map(len, b)))

    def _keys(self, p: int) -> frozenset[str]:
        if p not in self._sentence_keys:
            text = self.index.text(self.article_of(p))
            keys = {" ".join(text[s:e].lower().split()) for _, s, e in self.index.sentence_spans(p)}
            self._sentence_keys[p] = frozenset(k for k in keys if len(k) >= 20)
        return self._sentence_keys[p]

    def answer(self, question: str, retrieval: Retrieval, policy: Policy,
               intent: dates.TimeIntent | None = None) -> Decision:
        """Read the top passages and answer ``question``, or abstain below the policy's threshold.

        ``intent`` says which articles' answers a question about time prefers."""
        threshold, weights, agreement = policy.threshold, policy.weights, policy.agreement
        credible = policy.credible
        if len(retrieval.order) == 0:
            return Decision(None, None, 0.0, "the index holds no passages")
        terms = {t: self.idf(t) for t in dict.fromkeys(retrieval.terms)}
        order = [int(p) for p in retrieval.order]
        read = order[: min(FIRST_READ, self.passages_read)]
        measured = policy.measured()
        candidates = self.read(question, read, retrieval, terms, weights, measured)
        more = order[len(read) : self.passages_read]
        if more and (policy.read_all or not candidates or candidates[0].confidence < READ_MORE_BELOW):
            candidates += self.read(question, more, retrieval, terms, weights, measured, first_rank=len(read))
            read += more
        # the best-ranked passage of a few more articles, to see what other sources say
        seen = {self.article_of(p) for p in read}
        others: list[int] = []
        for rank, p in enumerate(order[:OTHER_RANKS]):
            if p not in read and self.article_of(p) not in seen and len(others) < OTHER_ARTICLES:
                seen.add(self.article_of(p))
                others.append(rank)
        if others:
            candidates += self.read(question, [order[r] for r in others], retrieval, terms, weights, measured,
                                    ranks=others)
        candidates.sort(key=lambda c: (-c.confidence, c.rank))
        ranking = order
        if not candidates:
            return Decision(None, read[0], 0.0, "the passages read hold no text to answer from", [], ranking)
        candidates, best, alternatives = self.group(candidates, threshold if credible is None else credible,
                                                    agreement, intent, threshold)
        # the answer's passage leads; the rest keep their retrieval order (the service cites the
        # other articles' answers wherever they rank)
        ranking = [best.passage] + [p for p in ranking if p != best.passage]
        if best.confidence < threshold:
            return Decision(None, best.passage, best.confidence, self.doubt(best), candidates, ranking)
        return Decision(self.make_answer(best), best.passage, best.confidence, None, candidates, ranking, alternatives)

    def make_answer(self, best: Candidate) -> Answer:
        """The answer for a candidate, its sentence's relative dates resolved."""
        text = self.index.text(best.article)
        return Answer(
            text=text[best.start : best.end],
            source=self.index.manifest.articles[best.article].article.source,
            start=best.start,
            end=best.end,
            confidence=round(best.confidence, 4),
            sentence=Span(text=text[best.sentence_start : best.sentence_end], start=best.sentence_start,
                          end=best.sentence_end),
            kind=best.kind,
            resolved_dates=self.resolved_dates(best),
        )

    def resolved_dates(self, c: Candidate) -> list[ResolvedDate]:
        """The relative times in a candidate's sentence, resolved against its article's date."""
        text = self.index.text(c.article)
        return [ResolvedDate(text=text[d.start : d.end], start=d.start, end=d.end, value=d.value)
                for d in dates.resolve(text, c.sentence_start, c.sentence_end, self.date_of(c.article))]

    def group(self, candidates: list[Candidate], credible: float, agreement: Sequence[float],
              intent: dates.TimeIntent | None, threshold: float) -> tuple[list[Candidate], Candidate,
                                                                           list[tuple[Candidate, bool]]]:
        """Each article's best candidate, compared with the others: the confidence of each rises
        with the independent articles that say the same and falls with those that say otherwise;
        returns the candidates (rescored), the chosen one and the other articles' answers to show."""
        per_article: dict[int, Candidate] = {}
        for c in candidates:  # most confident first
            per_article.setdefault(c.article, c)
        tops = list(per_article.values())
        values = {c.passage: self.value(c) for c in tops}
        # wire copies are one source: a cluster per distinct text
        cluster: dict[int, int] = {}
        for i, c in enumerate(tops):
            cluster[c.passage] = next((cluster[o.passage] for o in tops[:i] if self.copies(o.passage, c.passage)), i)
        rescored: dict[int, Candidate] = {}
        for c in tops:
            agreeing, differing = set(), set()
            for o in tops:
                if cluster[o.passage] == cluster[c.passage] or o.base_confidence < max(
                        credible, SHOWN_SHARE * c.base_confidence):
                    continue
                if agreement_.agree(values[c.passage], values[o.passage]):
                    agreeing.add(cluster[o.passage])
                elif agreement_.conflict_possible(c.kind, o.kind):
                    differing.add(cluster[o.passage])
            n_agree, n_differ = min(len(agreeing), MAX_COUNTED), min(len(differing), MAX_COUNTED)
            rescored[c.passage] = replace(c, agreeing=n_agree, differing=n_differ, grouped=True,
                                          confidence=agreed(c.base_confidence, n_agree, n_differ, agreement))
        # each article's best comes first: another span of the same article is never the answer
        # in its place (it would escape the comparison)
        candidates = (sorted(rescored.values(), key=lambda c: (-c.confidence, c.rank))
                      + [c for c in candidates if c.passage not in rescored])
        best = candidates[0]
        if intent is not None and (intent.latest or intent.year):
            # among the answers good enough to give, a question about time prefers its articles
            fit = [c for c in candidates if c.passage in rescored and c.confidence >= max(threshold, credible)
                   and (agreement_.agree(values[c.passage], values[best.passage])
                        or agreement_.conflict_possible(c.kind, best.kind))]
            if intent.year:
                fit = [c for c in fit if (self.date_of(c.article) or "").startswith(intent.year)] or [best]
            if intent.latest:
                fit.sort(key=lambda c: (self.date_of(c.article) or "", c.confidence), reverse=True)
            if fit and fit[0] is not best:
                best = fit[0]
                candidates = [best] + [c for c in candidates if c is not best]
        # shown by the same rule that counts them: each article's own reading, before agreement
        # moved it (a disagreement must not hide the figures that disagree)
        alternatives: list[tuple[Candidate, bool]] = []
        for c in sorted(rescored.values(), key=lambda c: (-c.confidence, c.rank)):
            if (c is best or cluster[c.passage] == cluster[best.passage]
                    or c.base_confidence < max(credible, SHOWN_SHARE * best.base_confidence)):
                continue
            if any(cluster[a.passage] == cluster[c.passage] for a, _ in alternatives):
                continue
            if agreement_.agree(values[best.passage], values[c.passage]):
                alternatives.append((c, True))
            elif agreement_.conflict_possible(best.kind, c.kind):
                alternatives.append((c, False))
        alternatives.sort(key=lambda a: (not a[1], -a[0].confidence))
        return candidates, best, alternatives

    def value(self, c: Candidate) -> agreement_.Value:
        """What a candidate says, for comparison with other articles'."""
        text = self.index.text(c.article)
        return agreement_.value_of(text[c.start : c.end], c.kind, self.date_of(c.article),
                                   (text, c.sentence_start, c.sentence_end, c.start))

    def read(self, question: str, passages: list[int], retrieval: Retrieval, weights: dict[str, float],
             model: Sequence[float], measured: frozenset[str] = frozenset(FEATURES), first_rank: int = 0,
             ranks: list[int] | None = None) -> list[Candidate]:
        """One candidate per passage (the passages at retrieval ranks ``ranks``, by default
        ``first_rank``, ...), most confident first (ties: retrieval order); ``weights`` are the
        question's terms' IDFs; of the coverage and similarity features, only those in
        ``measured`` are computed (the others stay 0)."""
        index = self.index
        texts = [index.passage(p).text for p in passages]
        spans_ = self.reader.read(question, texts)  # type: ignore[attr-defined]
        found = []
        for i, (p, span) in enumerate(zip(passages, spans_, strict=True)):
            rank = ranks[i] if ranks is not None else first_rank + i
            if span.end <= span.start:
                continue
            article, offset = int(index.passages[p, 0]), int(index.passages[p, 1])
            start, end = offset + span.start, offset + span.end
            s_start, s_end, numbers = self.sentence_around(p, start, end)
            similarity = 0.0
            if "similarity" in measured:
                vectors = np.asarray(index.sentence_vectors[numbers[0] : numbers[-1] + 1], dtype=np.float32)
                similarity = float((vectors @ retrieval.query_vector.astype(np.float32)).max())
            text = index.text(article)
            kind = ("sentence" if (start, end) == (s_start, s_end)
                    else spans.kind_of(text, start, end, s_start, s_end))
            c = Candidate(passage=p, article=article, rank=rank, start=start, end=end, sentence_start=s_start,
                          sentence_end=s_end, span_score=span.score, null_score=span.null,
                          retrieval=float(retrieval.scores[rank]),
                          sentence_coverage=(self.coverage(weights, set(self.analyze(text[s_start:s_end])))
                                             if "sentence_coverage" in measured else 0.0),
                          passage_coverage=(self.coverage(weights, set(self.analyze(texts[i])))
                                            if "passage_coverage" in measured else 0.0),
                          similarity=similarity, kind=kind)
            base = confidence(c.features(), model)
            found.append(replace(c, confidence=base, base_confidence=base))
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
