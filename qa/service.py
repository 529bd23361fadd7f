"""QAService: the one object the CLI and the chat UI talk to (ask, index, sources).

It loads the index lazily, refreshes it when the corpus changed (re-embedding only what changed),
and keeps the model and index warm between questions.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer import citations, followup
from qa.answer import timeline as timeline_
from qa.answer.answerer import Answerer, Decision, Policy
from qa.answer.followup import PreviousTurn
from qa.answer.questions import clean_question
from qa.answer.retriever import PassageRetriever, Retrieval, date_mask
from qa.config import Retriever, Settings, load_settings
from qa.errors import IndexReadOnlyError, IndexStoreError, UsageError
from qa.models import Article, AskResult, Citation, ReaderScores
from qa.neural.embedder import MAX_TOKENS, Embedder
from qa.neural.reader.model import WEIGHTS, OnnxReader
from qa.search.terms import TermAnalyzer
from qa.store.generations import IndexData, current_generation
from qa.store.refresh import (
    IndexReport,
    Progress,
    index_root,
    index_settings,
    load_current,
    plan,
    refresh,
)
from qa.store.remote import milvus_for
from qa.text import dates
from qa.text.safe import counted


@dataclass(frozen=True)
class SourceInfo:
    """An indexed article as listed by ``qa sources``."""

    source: str
    title: str
    date: str | None
    date_from: str | None
    """Where the date was read ("published line", "byline", "dateline", ...)."""
    updated: str | None
    outlet: str | None
    url: str | None
    author: str | None
    format: str
    """text, markdown, html, jsonl or json."""
    text_of: str
    """What the offsets of its answers and citations point into: "file" (the file's decoded text)
    or "extracted" (the article text taken out of a page or a record, printed by ``qa show``)."""
    file: str
    """The file it comes from (its source without ``#ID`` for a record of an export)."""
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
        self.policy = Policy.of(self.settings)
        """How the decision decides; ``with_policy`` gives a service that decides otherwise."""

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
            milvus_for(self.settings.store, self.settings.milvus_token, self.settings.milvus_database)
            current, why = self._data, None
            if current is None or self._replaced(root, current):
                current, why = load_current(root, wanted, self.settings.corpus)
            if current is not None and plan(self.settings.corpus, current, self._max_bytes).up_to_date:
                self._set(current)
                return current
            if not self.settings.rebuild:
                stale = "there is no index yet" if current is None else "the corpus has changed since it was built"
                state = why or stale
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

    @staticmethod
    def _replaced(root: Path, data: IndexData) -> bool:
        """Whether another process published a newer generation than the one loaded (a rebuild
        elsewhere may drop the Milvus collection the loaded one searches)."""
        try:
            return data.path is not None and current_generation(root) != data.path
        except IndexStoreError:
            return True

    def _set(self, data: IndexData) -> None:
        if data is not self._data:
            self._data = data
            self._retriever = PassageRetriever(data, self.analyze)
            self._answerer = Answerer(data, self.reader(), self._retriever, self.analyze, self.settings.passages_read)

    def with_policy(self, **changes: Any) -> QAService:
        """The same service (index, models, caches shared) deciding with ``changes`` to the policy:
        what calibration and evaluation use, never the question path."""
        other = copy.copy(self)
        other.policy = dataclasses.replace(self.policy, **changes)
        return other

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
                source=a.article.source,
                title=a.article.title,
                date=a.article.date,
                date_from=a.article.date_from,
                updated=a.article.updated,
                outlet=a.article.outlet,
                url=a.article.url,
                author=a.article.author,
                format=a.article.format,
                text_of=a.article.text_of,
                file=a.article.file or a.article.source,
                passages=a.passages,
                sentences=a.sentences,
                chars=a.article.chars,
                warnings=a.article.warnings,
            )
            for a in data.manifest.articles
        ]

    def article_text(self, source: str) -> str:
        """The stored text of the article ``source`` (what its offsets point into)."""
        return self.article(source)[1]

    def article(self, source: str, check: bool = False, progress: Progress | None = None) -> tuple[Article, str]:
        """The indexed article ``source`` and its stored text. ``source`` may also be written as
        a path (``seeds/x.txt``, as citations print it) that lies in the corpus folder."""
        data = self.ensure_index(check=check, progress=progress)
        numbers = {a.article.source: i for i, a in enumerate(data.manifest.articles)}
        number = numbers.get(source)
        if number is None:
            try:
                relative = Path(os.path.relpath(Path(source).expanduser().resolve(), self.settings.corpus.resolve()))
                number = numbers.get(relative.as_posix())
            except ValueError:
                number = None
        if number is None:
            raise UsageError(f"no article {source!r} in the index; `qa sources` lists them")
        return data.manifest.articles[number].article, data.text(number)

    # ------------------------------------------------------------------ ask

    def ask(
        self,
        question: str,
        k: int | None = None,
        retriever: Retriever | None = None,
        progress: Progress | None = None,
        check: bool = True,
        previous: PreviousTurn | None = None,
        since: str | None = None,
        until: str | None = None,
        timeline: bool | None = None,
    ) -> AskResult:
        """Answer ``question`` from the articles (or abstain), citing the top ``k`` passages; with
        ``previous``, a follow-up ("When did she say that?") is first rewritten against it. See
        ``trace`` for ``since``, ``until`` and ``timeline``."""
        return self.trace(
            question,
            k=k,
            retriever=retriever,
            progress=progress,
            check=check,
            previous=previous,
            since=since,
            until=until,
            timeline=timeline,
        ).result

    def trace(
        self,
        question: str,
        k: int | None = None,
        retriever: Retriever | None = None,
        progress: Progress | None = None,
        check: bool = True,
        previous: PreviousTurn | None = None,
        since: str | None = None,
        until: str | None = None,
        timeline: bool | None = None,
    ) -> Trace:
        """``ask`` with everything behind the answer: the full ranking and the scored sentences.

        ``since``/``until`` (ISO, inclusive, as precise as written) keep only articles dated
        within them; a question's own "as of ...", "before ..." and "since ..." do the same, and
        "latest" or "in 2025" prefer such articles' answers. ``timeline`` lists the relevant
        sentences in date order (by default when the question asks how something developed)."""
        k = k or self.settings.top_k
        if k < 1:
            raise UsageError(f"-k must be at least 1 (got {k})")
        if dates.crossed(since, until):
            raise UsageError(f"--since {since} is after --until {until}: no article can be dated in between")
        cleaned, resolved, notices = self._question(question, previous)
        data, retriever_, answerer = self._loaded(progress, check, notices)
        intent = dates.question_time(cleaned)
        allowed = self._dated(data, since or intent.since, until or intent.until, notices)
        query = self.embedder.encode_queries([cleaned])[0]
        retrieval = retriever_.search(query, cleaned, retriever or self.settings.retriever, allowed=allowed)
        decision = answerer.answer(cleaned, retrieval, self.policy, intent=intent)
        order, cites = self._citations(data, answerer, retrieval, decision, k)
        wants_timeline = timeline or (timeline is None and dates.asks_for_timeline(cleaned))
        best = decision.best
        result = AskResult(
            question=question,
            abstained=decision.answer is None,
            answer=decision.answer,
            citations=cites,
            reason=decision.reason,
            notices=notices,
            resolved_question=resolved,
            followup_of=previous.question if resolved and previous else None,
            reader=None if best is None else ReaderScores(
                span_score=round(best.span_score, 4), no_answer_score=round(best.null_score, 4),
                retrieval_score=round(best.retrieval, 4), passages_read=len(decision.candidates)),
            alternatives=[citations.alternative(answerer, c, agrees) for c, agrees in decision.alternatives],
            timeline=timeline_.timeline(answerer, retrieval, order) if wants_timeline else None,
        )
        return Trace(result=result, retrieval=retrieval, decision=decision, data=data, cited=order)

    # ------------------------------------------------------------------ the steps of trace

    def _question(self, question: str, previous: PreviousTurn | None) -> tuple[str, str | None, list[str]]:
        """The question cleaned, rewritten against the previous turn when it is a follow-up (the
        rewritten form, or None), and the notices about it."""
        cleaned, notices = clean_question(question)
        resolved = followup.resolve(cleaned, previous)
        cleaned = resolved or cleaned
        tokens = self.embedder.count_query_tokens(cleaned)
        if tokens > MAX_TOKENS - 2:
            notices.append(f"the question has {tokens} word pieces; the model read only its first {MAX_TOKENS - 2}")
        return cleaned, resolved, notices

    def _loaded(self, progress: Progress | None, check: bool,
                notices: list[str]) -> tuple[IndexData, PassageRetriever, Answerer]:
        """The index (built or refreshed when needed), its retriever and answerer; the notices of
        indexing join the question's."""
        self.reader()  # a missing or damaged reader is reported before any indexing work
        data = self.ensure_index(progress=progress, check=check)
        with self._lock:
            notices.extend(self.notices)
            self.notices = []
            return data, self._retriever, self._answerer

    @staticmethod
    def _dated(data: IndexData, since: str | None, until: str | None, notices: list[str]) -> np.ndarray | None:
        """Which passages a date bound leaves in (None: all), with a notice saying so."""
        if not since and not until:
            return None
        allowed, left_out = date_mask(data, since, until)
        span = " to ".join(x for x in (since or "…", until or "…"))
        notices.append(f"only articles dated {span}"
                       + (f"; {counted(left_out, 'undated article')} left out" if left_out else ""))
        return allowed

    @staticmethod
    def _citations(data: IndexData, answerer: Answerer, retrieval: Retrieval, decision: Decision,
                   k: int) -> tuple[list[int], list[Citation]]:
        """The top ``k`` passages (and those of the other articles' answers shown), wire copies
        folded together, as citations."""
        shown = [c.passage for c, _ in decision.alternatives]
        order, copies = citations.cited(answerer, decision.ranking, k + len(shown), must=shown)
        scores = {int(p): float(s) for p, s in zip(retrieval.order, retrieval.scores, strict=True)}
        return order, [citations.citation(data, n, p, scores[p], [data.passage(q).source for q in copies.get(p, [])])
                       for n, p in enumerate(order, start=1)]

