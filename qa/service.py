"""QAService: the one object the CLI and the chat UI talk to (ask, index, sources).

It loads the index lazily, refreshes it when the corpus changed (re-embedding only what changed),
and keeps the model and index warm between questions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from qa import followup
from qa.answerer import Answerer, Decision
from qa.config import Retriever, Settings, load_settings
from qa.embedding import MAX_TOKENS, Embedder
from qa.errors import IndexReadOnlyError, IndexStoreError, UsageError
from qa.followup import PreviousTurn
from qa.index import IndexData, TermAnalyzer
from qa.indexer import (
    IndexReport,
    Progress,
    index_root,
    index_settings,
    load_current,
    plan,
    refresh,
)
from qa.models import AskResult, Citation, ReaderScores
from qa.questions import clean_question
from qa.reader.model import WEIGHTS, OnnxReader
from qa.retriever import PassageRetriever, Retrieval


@dataclass(frozen=True)
class SourceInfo:
    """An indexed article as listed by ``qa sources``."""

    source: str
    title: str
    date: str | None
    outlet: str | None
    passages: int
    sentences: int
    chars: int
    warnings: list[str]


@dataclass(frozen=True)
class Evidence:
    """Why one cited passage ranked where it did."""

    n: int
    passage_id: str
    title: str
    fused: float
    """The hybrid retrieval score."""
    dense: float
    """Cosine similarity of question and passage."""
    sentence: float
    """Best cosine similarity of one of its sentences."""
    lexical: float
    """BM25 score."""
    reader: float | None
    """The reader's score of its best span in the passage, if it read the passage."""
    no_answer: float | None
    """The reader's no-answer score for the passage, if it read it."""
    confidence: float | None
    """The decision's confidence in that span, if the reader read the passage."""
    best_sentence: str | None
    """The sentence holding that span."""
    best_span: str | None
    """The span itself."""


@dataclass
class Trace:
    """An answer with everything that produced it."""

    result: AskResult
    """What ``ask`` returns."""
    retrieval: Retrieval
    """The full ranking of candidate passages with their dense, lexical and fused scores."""
    decision: Decision
    """The answerer's scored sentences, confidence and reason."""
    data: IndexData
    """The index generation that answered."""
    cited: list[int]
    """Passage numbers of the citations, in order."""

    def explain(self) -> list[Evidence]:
        """For every citation, the scores behind its rank."""
        position = {int(p): i for i, p in enumerate(self.retrieval.order)}
        read = {c.passage: c for c in self.decision.candidates}
        rows = []
        for cite, p in zip(self.result.citations, self.cited, strict=True):
            i = position[p]
            c = read.get(p)
            text = self.data.text(c.article) if c is not None else ""
            rows.append(Evidence(
                n=cite.n, passage_id=cite.passage_id, title=cite.title, fused=float(self.retrieval.scores[i]),
                dense=float(self.retrieval.dense[i]), sentence=float(self.retrieval.best_sentence[i]),
                lexical=float(self.retrieval.lexical[i]),
                reader=None if c is None else c.span_score, no_answer=None if c is None else c.null_score,
                confidence=None if c is None else c.confidence,
                best_sentence=None if c is None else text[c.sentence_start : c.sentence_end],
                best_span=None if c is None else text[c.start : c.end],
            ))
        return rows

    def ranked_sources(self, depth: int = 10) -> list[str]:
        """The article of each of the top ``depth`` passages, in the order the user sees them."""
        return [self.data.passage(p).source for p in self.decision.ranking[:depth]]

    def ranked_texts(self, depth: int = 10) -> list[str]:
        """The text of each of the top ``depth`` passages, in the order the user sees them."""
        return [self.data.passage(p).text for p in self.decision.ranking[:depth]]


class QAService:
    """Answers questions about a corpus of articles."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.embedder = Embedder(self.settings.cache_path())
        self._reader: OnnxReader | None = None
        self.analyze = TermAnalyzer()
        self._data: IndexData | None = None
        self._lock = threading.RLock()
        self._max_bytes = int(self.settings.max_article_mb * 2**20)
        self.notices: list[str] = []

    # ------------------------------------------------------------------ index

    def index(
        self,
        rebuild: bool = False,
        progress: Progress | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> IndexReport:
        """Bring the index up to date (or rebuild it) and report what was done."""
        with self._lock:
            report = refresh(self.settings, self.embedder, rebuild=rebuild, progress=progress, on_wait=on_wait)
            self._data = None
            return report

    def ensure_index(
        self,
        progress: Progress | None = None,
        on_wait: Callable[[], None] | None = None,
        check: bool = True,
    ) -> IndexData:
        """The loaded index, built or refreshed first when it is missing or out of date."""
        with self._lock:
            if self._data is not None and not check:
                return self._data
            root = index_root(self.settings)
            wanted = index_settings(self.settings, self.embedder.model)
            current, why = self._data, None
            if current is None:
                current, why = load_current(root, wanted, self.settings.corpus)
            if current is not None and plan(self.settings.corpus, current, self._max_bytes).up_to_date:
                self._set(current)
                return current
            if not self.settings.rebuild:
                state = why or ("there is no index yet" if current is None else "the corpus has changed since it was built")
                raise IndexStoreError(
                    f"the index in {root} cannot be used as it is ({state}); run `qa index`, or drop --no-rebuild"
                )
            try:
                report = refresh(self.settings, self.embedder, progress=progress, on_wait=on_wait)
                self.notices.extend(report.warnings)
            except IndexReadOnlyError as exc:
                if current is None:
                    raise
                self.notices.append(f"the index is out of date and cannot be refreshed: {exc}")
                self._set(current)
                return current
            fresh, why = load_current(root, wanted, self.settings.corpus)
            if fresh is None:
                raise IndexStoreError(f"the index in {root} could not be loaded after building it: {why}")
            self._set(fresh)
            return fresh

    def _set(self, data: IndexData) -> None:
        if data is not self._data:
            self._data = data
            self._retriever = PassageRetriever(data, self.analyze)
            self._answerer = Answerer(data, self.reader(), self._retriever, self.analyze, self.settings.passages_read)

    def reader(self) -> OnnxReader:
        """The reading model, loaded (and on the very first run assembled) once."""
        with self._lock:
            if self._reader is None:
                self._reader = OnnxReader(self.settings.cache_path(), self.settings.reader_weights or WEIGHTS)
            return self._reader

    def sources(self, progress: Progress | None = None) -> list[SourceInfo]:
        """Every indexed article with its metadata and passage count."""
        data = self.ensure_index(progress=progress)
        return [
            SourceInfo(
                source=a.article.source, title=a.article.title, date=a.article.date, outlet=a.article.outlet,
                passages=a.passages, sentences=a.sentences, chars=a.article.chars, warnings=a.article.warnings,
            )
            for a in data.manifest.articles
        ]

    def article_text(self, source: str) -> str:
        """The indexed text of the article ``source``."""
        data = self.ensure_index(check=False)
        for i, a in enumerate(data.manifest.articles):
            if a.article.source == source:
                return data.text(i)
        raise UsageError(f"no article {source!r} in the index; `qa sources` lists them")

    # ------------------------------------------------------------------ ask

    def ask(
        self,
        question: str,
        k: int | None = None,
        retriever: Retriever | None = None,
        progress: Progress | None = None,
        check: bool = True,
        previous: PreviousTurn | None = None,
    ) -> AskResult:
        """Answer ``question`` from the articles (or abstain), citing the top ``k`` passages; with
        ``previous``, a follow-up ("When did she say that?") is first rewritten against it."""
        return self.trace(question, k=k, retriever=retriever, progress=progress, check=check, previous=previous).result

    def trace(
        self,
        question: str,
        k: int | None = None,
        retriever: Retriever | None = None,
        progress: Progress | None = None,
        check: bool = True,
        threshold: float | None = None,
        previous: PreviousTurn | None = None,
        weights: tuple[float, ...] | None = None,
        read_all: bool = False,
    ) -> Trace:
        """``ask`` with everything behind the answer: the full ranking and the scored sentences."""
        cleaned, notices = clean_question(question)
        resolved = followup.resolve(cleaned, previous)
        if resolved:
            cleaned = resolved
        k = k or self.settings.top_k
        if k < 1:
            raise UsageError(f"-k must be at least 1 (got {k})")
        mode = retriever or self.settings.retriever
        self.reader()  # a missing or damaged reader is reported before any indexing work
        data = self.ensure_index(progress=progress, check=check)
        with self._lock:
            retriever_, answerer = self._retriever, self._answerer
            notices.extend(self.notices)
            self.notices = []
        tokens = self.embedder.count_query_tokens(cleaned)
        if tokens > MAX_TOKENS - 2:
            notices.append(f"the question has {tokens} word pieces; the model read only its first {MAX_TOKENS - 2}")
        vectors = self.embedder.encode_queries([cleaned])
        retrieval = retriever_.search(vectors[0], cleaned, mode)
        limit = self.settings.abstain_threshold if threshold is None else threshold
        decision = answerer.answer(cleaned, retrieval, limit, weights or self.settings.confidence_weights, read_all)
        order = decision.ranking[:k]
        lead = decision.passage
        if decision.answer is not None and lead is not None and order[0] != lead:
            order = [lead] + [p for p in order if p != lead][: k - 1]
        scores = {int(p): float(s) for p, s in zip(retrieval.order, retrieval.scores)}
        citations = [self._citation(data, n, p, scores[p]) for n, p in enumerate(order, start=1)]
        result = AskResult(
            question=question,
            abstained=decision.answer is None,
            answer=decision.answer,
            citations=citations,
            reason=decision.reason,
            notices=notices,
            resolved_question=resolved,
            followup_of=previous.question if resolved and previous else None,
            reader=None if decision.best is None else ReaderScores(
                span_score=round(decision.best.span_score, 4), no_answer_score=round(decision.best.null_score, 4),
                retrieval_score=round(decision.best.retrieval, 4), passages_read=len(decision.candidates)),
        )
        return Trace(result=result, retrieval=retrieval, decision=decision, data=data, cited=order)

    @staticmethod
    def _citation(data: IndexData, n: int, p: int, score: float) -> Citation:
        passage = data.passage(p)
        article = data.manifest.articles[int(data.passages[p, 0])].article
        return Citation(
            n=n, source=passage.source, title=article.title, date=article.date, outlet=article.outlet,
            passage_id=passage.id, start=passage.start, end=passage.end, text=passage.text, score=round(score, 4),
        )
