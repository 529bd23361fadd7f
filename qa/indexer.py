"""Corpus folder -> up-to-date index: scan, detect added/changed/removed articles, embed only those,
write a new generation. Also answers "is the index current?" cheaply (stat first, hash only on doubt).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa import chunking, ingest
from qa.config import Settings
from qa.embedding import DIM, MAX_TOKENS, Embedder, TokenCounter
from qa.errors import CorpusError, IndexStoreError
from qa.index import (
    FORMAT,
    ArticleParts,
    IndexData,
    TermAnalyzer,
    check_writable,
    checkpoint,
    corpus_key,
    current_generation,
    load_generation,
    read_manifest,
    write_generation,
    write_lock,
)
from qa.models import IndexSettings

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total) while indexing."""


def index_settings(settings: Settings, model: str) -> IndexSettings:
    """The settings an index built now would record."""
    return IndexSettings(
        model=model,
        dim=DIM,
        max_tokens=MAX_TOKENS,
        passage_tokens=settings.passage_tokens,
        overlap_sentences=settings.overlap_sentences,
        format=FORMAT,
    )


@dataclass
class Plan:
    """What a refresh has to do."""

    reuse: dict[str, int] = field(default_factory=dict)
    """Unchanged articles: source -> article number in the current index."""
    touched: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """Same content, new file times: source -> (article number, size, mtime_ns)."""
    new: list[tuple[ingest.ArticleFile, bytes, object]] = field(default_factory=list)
    """Added or changed articles, with their bytes and stat."""
    changed: set[str] = field(default_factory=set)
    """Sources among ``new`` that were in the index before."""
    removed: list[str] = field(default_factory=list)
    """Sources in the index that are gone from the corpus."""
    skipped: list[str] = field(default_factory=list)
    """Warnings about files that were not indexed."""
    order: list[str] = field(default_factory=list)
    """All sources to index, sorted."""

    @property
    def up_to_date(self) -> bool:
        """True when nothing needs to be written."""
        return not (self.new or self.removed or self.touched)


def plan(corpus: Path, current: IndexData | None, max_bytes: int = 20 * 2**20) -> Plan:
    """Compare the corpus folder with the current index."""
    found = ingest.discover(corpus)
    result = Plan(skipped=list(found.warnings))
    known = {}
    if current is not None:
        known = {a.article.source: (i, a.article) for i, a in enumerate(current.manifest.articles)}
    for file in found.files:
        old = known.get(file.source)
        try:
            st = file.path.stat()
        except OSError as exc:
            result.skipped.append(f"skipped {file.source}: {exc.strerror or exc}")
            continue
        if old and old[1].size == st.st_size and old[1].mtime_ns == st.st_mtime_ns:
            result.reuse[file.source] = old[0]
            result.order.append(file.source)
            continue
        try:
            data, st = ingest.read_file(file, max_bytes)
        except ingest.SkipFile as why:
            result.skipped.append(f"skipped {file.source}: {why}")
            continue
        if old and hashlib.sha256(data).hexdigest() == old[1].sha256:
            result.touched[file.source] = (old[0], st.st_size, st.st_mtime_ns)
        else:
            result.new.append((file, data, st))
            if old:
                result.changed.add(file.source)
        result.order.append(file.source)
    present = set(result.order)
    result.removed = sorted(s for s in known if s not in present)
    if not result.order:
        raise CorpusError(f"no article in corpus folder {corpus} could be read; {result.skipped[0]}")
    return result


@dataclass
class IndexReport:
    """What a refresh did."""

    path: Path
    articles: int
    passages: int
    sentences: int
    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int
    seconds: float
    encoder: str
    rebuilt: bool
    wrote: bool
    warnings: list[str]


def _reuse_parts(current: IndexData, number: int) -> ArticleParts:
    article = current.manifest.articles[number].article
    sent_rows = np.flatnonzero(current.sentences[:, 0] == number)
    pass_rows = np.flatnonzero(current.passages[:, 0] == number)
    base = int(sent_rows[0]) if len(sent_rows) else 0
    passages = np.array(current.passages[pass_rows, 1:], dtype=np.int64)
    passages[:, 2:] -= base
    return ArticleParts(
        article=article,
        text=current.text(number),
        sentences=np.array(current.sentences[sent_rows, 1:], dtype=np.int64),
        passages=passages,
        passage_vectors=np.array(current.passage_vectors[pass_rows], dtype=np.float32),
        sentence_vectors=np.array(current.sentence_vectors[sent_rows], dtype=np.float16),
    )


def _embed_new(
    plan_: Plan, settings: Settings, embedder: Embedder, progress: Progress | None
) -> tuple[dict[str, ArticleParts], list[str], str]:
    counter = TokenCounter()
    loaded = []
    warnings: list[str] = []
    for file, data, st in plan_.new:
        art = ingest.load_article(file, data, st)
        warnings.extend(f"{file.source}: {w}" for w in art.article.warnings)
        pieces = chunking.chunk(
            art.text,
            art.article.kept,
            art.article.title,
            counter,
            max_tokens=MAX_TOKENS,
            passage_tokens=settings.passage_tokens,
            overlap_sentences=settings.overlap_sentences,
        )
        loaded.append((art, pieces))
    texts: list[str] = []
    for art, pieces in loaded:
        texts.extend(chunking.embedding_text(art.article.title, art.text[s:e]) for s, e, _, _ in pieces.passages)
    n_passage_texts = len(texts)
    for art, pieces in loaded:
        texts.extend(art.text[s:e] for s, e in pieces.sentences)
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embedding", done, len(texts))
        checkpoint("embedding")

    if progress:
        progress("embedding", 0, len(texts))
    tokens = sum(len(t) for t in texts) // 4
    force = None if settings.index_encoder == "auto" else settings.index_encoder
    vectors = embedder.encode_documents(texts, tokens=tokens, progress=tick, force=force) if texts else np.zeros((0, DIM))
    encoder = embedder.last_encoder if texts else "none"
    parts: dict[str, ArticleParts] = {}
    p_at, s_at = 0, n_passage_texts
    for art, pieces in loaded:
        n_p, n_s = len(pieces.passages), len(pieces.sentences)
        parts[art.article.source] = ArticleParts(
            article=art.article,
            text=art.text,
            sentences=np.array(pieces.sentences, dtype=np.int64).reshape(-1, 2),
            passages=np.array(pieces.passages, dtype=np.int64).reshape(-1, 4),
            passage_vectors=vectors[p_at : p_at + n_p],
            sentence_vectors=vectors[s_at : s_at + n_s].astype(np.float16),
        )
        p_at += n_p
        s_at += n_s
    return parts, warnings, encoder


def index_root(settings: Settings) -> Path:
    """The index folder of the configured corpus."""
    return settings.index / corpus_key(settings.corpus)


def load_current(root: Path, wanted: IndexSettings, corpus: Path) -> tuple[IndexData | None, str | None]:
    """The current generation if it is usable for ``wanted`` settings and ``corpus``, else
    (None, why it must be rebuilt); (None, None) when there is no index yet. A generation that a
    concurrent writer removed while it was being opened is not damage: CURRENT is read again."""
    for attempt in range(3):
        try:
            generation = current_generation(root)
        except IndexStoreError as exc:
            return None, str(exc)
        if generation is None:
            return None, None
        try:
            manifest = read_manifest(generation)
        except IndexStoreError as exc:
            if not generation.exists() and attempt < 2:
                continue
            return None, str(exc)
        if manifest.settings != wanted:
            return None, "the index was built with other settings or another model"
        if manifest.corpus != str(corpus.expanduser().resolve()):
            return None, f"the index was built from another corpus ({manifest.corpus})"
        try:
            return load_generation(generation, manifest), None
        except IndexStoreError as exc:
            if not generation.exists() and attempt < 2:
                continue
            return None, str(exc)
    return None, "the index kept changing while it was being read"


def refresh(
    settings: Settings,
    embedder: Embedder,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    on_wait: Callable[[], None] | None = None,
) -> IndexReport:
    """Bring the corpus's index up to date (or rebuild it) and report what was done."""
    started = time.perf_counter()
    root = index_root(settings)
    wanted = index_settings(settings, embedder.model)
    with write_lock(root, wait=settings.lock_wait, on_wait=on_wait):
        check_writable(root)
        current, why = (None, None) if rebuild else load_current(root, wanted, settings.corpus)
        work = plan(settings.corpus, current, int(settings.max_article_mb * 2**20))
        notes = list(work.skipped)
        if why:
            notes.append(f"rebuilding the index: {why}")
        if current is not None and work.up_to_date:
            return IndexReport(
                path=current.path or root, articles=len(work.order), passages=current.manifest.passages,
                sentences=current.manifest.sentences, added=[], changed=[], removed=[],
                unchanged=len(work.reuse), seconds=time.perf_counter() - started, encoder="none",
                rebuilt=False, wrote=False, warnings=notes,
            )
        new_parts, warnings, encoder = _embed_new(work, settings, embedder, progress)
        notes.extend(warnings)
        parts: list[ArticleParts] = []
        for source in work.order:
            if source in new_parts:
                parts.append(new_parts[source])
            elif source in work.touched:
                number, size, mtime = work.touched[source]
                part = _reuse_parts(current, number)
                part.article = part.article.model_copy(update={"size": size, "mtime_ns": mtime})
                parts.append(part)
            else:
                parts.append(_reuse_parts(current, work.reuse[source]))
        if progress:
            progress("writing", 0, 1)
        generation = write_generation(root, wanted, settings.corpus, parts, encoder, TermAnalyzer())
        if progress:
            progress("writing", 1, 1)
        added = [f.source for f, _, _ in work.new if f.source not in work.changed]
        return IndexReport(
            path=generation, articles=len(parts), passages=sum(len(p.passages) for p in parts),
            sentences=sum(len(p.sentences) for p in parts), added=added, changed=sorted(work.changed),
            removed=work.removed, unchanged=len(work.reuse) + len(work.touched),
            seconds=time.perf_counter() - started, encoder=encoder,
            rebuilt=current is None, wrote=True, warnings=notes,
        )
