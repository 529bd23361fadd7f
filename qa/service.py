"""QAService: the one object the CLI and the chat UI talk to (ask, index, sources).

It loads the index lazily, refreshes it when the corpus changed (re-embedding only what changed),
and keeps the model and index warm between questions.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import dates, followup
from qa.answerer import Answerer, Candidate, Decision
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
from qa.models import Alternative, Article, AskResult, Citation, ReaderScores, Span, TimelineEntry
from qa.questions import clean_question
from qa.reader.model import WEIGHTS, OnnxReader
from qa.retriever import PassageRetriever, Retrieval
from qa.safe_text import counted

COPY_LOOKAHEAD = 10
"""How far past the cited passages to look for wire copies of them."""
TIMELINE_PASSAGES = 10
"""A timeline looks at this many of the top passages ..."""
TIMELINE_MIN_SIMILARITY = 0.3
TIMELINE_RELATIVE = 0.75
"""... and keeps their best sentences whose similarity to the question is at least 0.3 and at
least this share of the best one's ..."""
TIMELINE_PER_ARTICLE = 2
TIMELINE_ENTRIES = 8
"""... at most two per article and eight in all."""


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
                source=a.article.source, title=a.article.title, date=a.article.date, date_from=a.article.date_from,
                updated=a.article.updated, outlet=a.article.outlet, url=a.article.url, author=a.article.author,
                format=a.article.format, text_of=a.article.text_of, file=a.article.file or a.article.source,
                passages=a.passages, sentences=a.sentences, chars=a.article.chars, warnings=a.article.warnings,
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
        return self.trace(question, k=k, retriever=retriever, progress=progress, check=check, previous=previous,
                          since=since, until=until, timeline=timeline).result

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
        since: str | None = None,
        until: str | None = None,
        timeline: bool | None = None,
    ) -> Trace:
        """``ask`` with everything behind the answer: the full ranking and the scored sentences.

        ``since``/``until`` (ISO, inclusive, as precise as written) keep only articles dated
        within them; a question's own "as of ...", "before ..." and "since ..." do the same, and
        "latest" or "in 2025" prefer such articles' answers. ``timeline`` lists the relevant
        sentences in date order (by default when the question asks how something developed)."""
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
        if dates.crossed(since, until):
            raise UsageError(f"--since {since} is after --until {until}: no article can be dated in between")
        intent = dates.question_time(cleaned)
        since = since or intent.since
        until = until or intent.until
        allowed = None
        if since or until:
            allowed, left_out = self._date_mask(data, since, until)
            span = " to ".join(x for x in (since or "…", until or "…"))
            notices.append(f"only articles dated {span}" + (f"; {counted(left_out, 'undated article')} left out"
                                                            if left_out else ""))
        vectors = self.embedder.encode_queries([cleaned])
        retrieval = retriever_.search(vectors[0], cleaned, mode, allowed=allowed)
        limit = self.settings.abstain_threshold if threshold is None else threshold
        decision = answerer.answer(cleaned, retrieval, limit, weights or self.settings.confidence_weights, read_all,
                                   credible=self.settings.abstain_threshold, agreement=self.settings.agreement_weights,
                                   intent=intent)
        shown = [c.passage for c, _ in decision.alternatives]
        order, copies = self._cited(answerer, decision.ranking, k + len(shown), must=shown)
        scores = {int(p): float(s) for p, s in zip(retrieval.order, retrieval.scores)}
        citations = [self._citation(data, n, p, scores[p], [data.passage(q).source for q in copies.get(p, [])])
                     for n, p in enumerate(order, start=1)]
        alternatives = [self._alternative(answerer, c, agrees) for c, agrees in decision.alternatives]
        entries = None
        if timeline or (timeline is None and dates.asks_for_timeline(cleaned)):
            entries = self._timeline(answerer, retrieval, order)
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
            alternatives=alternatives,
            timeline=entries,
        )
        return Trace(result=result, retrieval=retrieval, decision=decision, data=data, cited=order)

    @staticmethod
    def _date_mask(data: IndexData, since: str | None, until: str | None) -> tuple[np.ndarray, int]:
        """Which passages belong to articles dated within the bounds, and how many articles are
        left out for having no date."""
        keep = np.array([a.article.date is not None and dates.within(a.article.date, since, until)
                         for a in data.manifest.articles], dtype=bool)
        undated = sum(a.article.date is None for a in data.manifest.articles)
        articles = np.asarray(data.passages[:, 0], dtype=np.int64)
        return keep[articles] if len(articles) else np.zeros(0, dtype=bool), undated

    @staticmethod
    def _cited(answerer: Answerer, ranking: list[int], k: int, must: list[int]) -> tuple[list[int], dict[int, list[int]]]:
        """The first ``k`` passages of ``ranking`` with wire copies folded into the first of
        them (passage -> its copies), keeping every passage of ``must``."""
        order: list[int] = []
        copies: dict[int, list[int]] = {}
        for p in ranking[: k + COPY_LOOKAHEAD]:
            original = next((q for q in order if answerer.copies(q, p)), None)
            if original is not None and p not in must:
                copies.setdefault(original, []).append(p)
            elif original is not None and original not in must:
                # the copy that is shown as an answer is the one cited; the other folds into it
                order[order.index(original)] = p
                copies[p] = [*copies.pop(original, []), original]
            elif len(order) < k or p in must:
                order.append(p)
        return order, copies

    @staticmethod
    def _citation(data: IndexData, n: int, p: int, score: float, also_in: list[str] | None = None) -> Citation:
        passage = data.passage(p)
        article = data.manifest.articles[int(data.passages[p, 0])].article
        return Citation(
            n=n, source=passage.source, title=article.title, date=article.date, outlet=article.outlet,
            url=article.url, text_of=article.text_of, passage_id=passage.id, start=passage.start, end=passage.end, text=passage.text, score=round(score, 4),
            also_in=sorted(set(also_in or [])),
        )

    @staticmethod
    def _alternative(answerer: Answerer, c: Candidate, agrees: bool) -> Alternative:
        data = answerer.index
        article = data.manifest.articles[c.article].article
        text = data.text(c.article)
        return Alternative(
            text=text[c.start : c.end], source=article.source, start=c.start, end=c.end,
            sentence=Span(text=text[c.sentence_start : c.sentence_end], start=c.sentence_start, end=c.sentence_end),
            agrees=agrees, title=article.title, date=article.date, outlet=article.outlet,
            confidence=round(c.confidence, 4), resolved_dates=answerer.resolved_dates(c),
        )

    def _timeline(self, answerer: Answerer, retrieval: Retrieval, cited: list[int]) -> list[TimelineEntry]:
        """The sentences of the top passages that match the question best, in date order: one or
        two per article, wire copies once."""
        data = answerer.index
        top = [int(p) for p in retrieval.order[:TIMELINE_PASSAGES]]
        q = retrieval.query_vector.astype(np.float32)
        scored = []
        for p in top:
            sents = data.sentence_spans(p)
            sims = np.asarray(data.sentence_vectors[sents[0][0] : sents[-1][0] + 1], dtype=np.float32) @ q
            i = int(np.argmax(sims))
            scored.append((float(sims[i]), p, sents[i][1], sents[i][2]))
        if not scored:
            return []
        floor = max(TIMELINE_MIN_SIMILARITY, TIMELINE_RELATIVE * max(s for s, *_ in scored))
        seen: set[str] = set()
        kept: list[int] = []
        per_article: dict[int, int] = {}
        entries = []
        for sim, p, s, e in sorted(scored, key=lambda x: -x[0]):
            article = answerer.article_of(p)
            text = data.text(article)
            key = " ".join(text[s:e].lower().split())
            if (sim < floor or key in seen or per_article.get(article, 0) >= TIMELINE_PER_ARTICLE
                    or any(answerer.copies(p, other) for other in kept)):
                continue
            seen.add(key)
            kept.append(p)
            per_article[article] = per_article.get(article, 0) + 1
            meta = data.manifest.articles[article].article
            named = dates.first_date(text, s, e, meta.date)
            when = named or meta.date
            number = next((n for n, c in enumerate(cited, start=1) if answerer.article_of(c) == article
                           and int(data.passages[c, 1]) <= s < int(data.passages[c, 2])), None)
            entries.append(TimelineEntry(
                text=text[s:e], source=meta.source, start=s, end=e, title=meta.title, outlet=meta.outlet,
                article_date=meta.date, when=when, when_from="sentence" if named else ("article" if when else None),
                n=number))
            if len(entries) >= TIMELINE_ENTRIES:
                break
        return sorted(entries, key=lambda t: (t.when is None, t.when or "", t.article_date or "", t.start))
