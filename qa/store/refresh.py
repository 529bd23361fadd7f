"""Corpus folder -> up-to-date index: scan, detect added/changed/removed articles, embed only those,
write a new generation. Also answers "is the index current?" cheaply (stat first, hash only on doubt).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qa.config import Settings
from qa.corpus import ingest
from qa.corpus import passages as chunking
from qa.errors import CorpusError, IndexStoreError
from qa.models import Article, IndexManifest, IndexSettings, SkippedFile
from qa.neural.embedder import DIM, MAX_TOKENS, Embedder, TokenCounter
from qa.search.terms import TermAnalyzer
from qa.store.generations import (
    FORMAT,
    ArticleParts,
    IndexData,
    corpus_key,
    current_generation,
    load_generation,
    read_manifest,
    write_generation,
)
from qa.store.lock import check_writable, write_lock
from qa.store.remote import milvus_for
from qa.store.resume import clear_pending, load_pending, save_pending

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
        store=settings.store,
    )


@dataclass
class Plan:
    """What a refresh has to do."""

    reuse: dict[str, int] = field(default_factory=dict)
    """Unchanged articles: source -> article number in the current index."""
    touched: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """Same content, new file times: source -> (article number, size, mtime_ns)."""
    new: list[ingest.LoadedArticle] = field(default_factory=list)
    """Added or changed articles, read."""
    changed: set[str] = field(default_factory=set)
    """Sources among ``new`` that were in the index before."""
    removed: list[str] = field(default_factory=list)
    """Sources in the index that are gone from the corpus."""
    skipped: list[str] = field(default_factory=list)
    """Warnings about files and records that were not indexed."""
    skipped_files: list[SkippedFile] = field(default_factory=list)
    """The files that held no article, with their size and time, to record in the manifest."""
    order: list[str] = field(default_factory=list)
    """All sources to index, in file order (a file's records in their order)."""

    @property
    def up_to_date(self) -> bool:
        """True when nothing needs to be written."""
        return not (self.new or self.removed or self.touched)


def plan(corpus: Path, current: IndexData | None, max_bytes: int = 20 * 2**20,
         progress: Progress | None = None) -> Plan:
    """Compare the corpus folder with the current index: files whose size and time are unchanged
    keep their articles; the others are read, and of their articles those with unchanged content
    are kept too (a JSON Lines export that grew embeds only its new records)."""
    found = ingest.discover(corpus)
    result = Plan(skipped=list(found.warnings))
    by_file: dict[str, list[tuple[int, Article]]] = {}
    known: dict[str, tuple[int, Article]] = {}
    if current is not None:
        for i, a in enumerate(current.manifest.articles):
            by_file.setdefault(a.article.file or a.article.source, []).append((i, a.article))
            known[a.article.source] = (i, a.article)
    skipped_before = {f.source: f for f in current.manifest.skipped} if current is not None else {}
    to_read = []
    sources_of: dict[str, list[str]] = {}
    for file in found.files:
        olds = by_file.get(file.source, [])
        try:
            st = file.path.stat()
        except OSError as exc:
            result.skipped.append(f"skipped {file.source}: {exc.strerror or exc}")
            continue
        if olds and all(o.size == st.st_size and o.mtime_ns == st.st_mtime_ns for _, o in olds):
            for number, old in olds:
                result.reuse[old.source] = number
            sources_of[file.source] = [old.source for _, old in olds]
            continue
        bad = skipped_before.get(file.source)
        if bad is not None and not olds and bad.size == st.st_size and bad.mtime_ns == st.st_mtime_ns:
            result.skipped.append(bad.why)  # still the file that held no article: not read again
            result.skipped_files.append(bad)
            continue
        to_read.append(file)
    _read_changed(to_read, known, result, sources_of, max_bytes, progress)
    if progress and to_read:
        progress("reading", len(to_read), len(to_read))
    result.order = [source for f in found.files for source in sources_of.get(f.source, [])]
    present = set(result.order)
    result.removed = sorted(s for s in known if s not in present)
    if not result.order:
        raise CorpusError(f"no article in corpus folder {corpus} could be read; {result.skipped[0]}")
    return result


def _read_changed(to_read: list, known: dict[str, tuple[int, Article]], result: Plan,
                  sources_of: dict[str, list[str]], max_bytes: int, progress: Progress | None) -> None:
    """Read the files that are new or changed: their articles with new content go to
    ``result.new``, the others are kept (only their file's size and time recorded)."""
    for done, file in enumerate(to_read):
        if progress:
            progress("reading", done, len(to_read))
        try:
            data, st = ingest.read_file(file, max_bytes)
        except ingest.SkipFile as why:  # not recorded: a permission or a disk error can pass unseen by the file's time
            result.skipped.append(f"skipped {file.source}: {why}")
            continue
        try:
            loaded, warnings = ingest.load_articles(file, data, st)
        except ingest.SkipFile as why:
            result.skipped.append(f"skipped {file.source}: {why}")
            result.skipped_files.append(SkippedFile(source=file.source, size=st.st_size, mtime_ns=st.st_mtime_ns,
                                                    why=result.skipped[-1]))
            continue
        result.skipped.extend(warnings)
        for art in loaded:
            source = art.article.source
            before = known.get(source)
            if before and before[1].sha256 == art.article.sha256:
                result.touched[source] = (before[0], st.st_size, st.st_mtime_ns)
            else:
                result.new.append(art)
                if before:
                    result.changed.add(source)
        sources_of[file.source] = [a.article.source for a in loaded]


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
    resumed: int = 0
    """Articles an interrupted run had embedded, taken up instead of embedded again."""


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


def _embed_batch(
    batch: list[ingest.LoadedArticle], settings: Settings, embedder: Embedder, counter: TokenCounter,
    force: str, tick: Callable[[int, int], None],
) -> tuple[list[ArticleParts], str]:
    """Chunk and embed one batch of articles; ``tick(texts done, texts in the batch)``."""
    pieces_of = [
        chunking.chunk(
            art.text, art.article.kept, art.article.title, counter, max_tokens=MAX_TOKENS,
            passage_tokens=settings.passage_tokens, overlap_sentences=settings.overlap_sentences,
        )
        for art in batch
    ]
    texts: list[str] = []
    for art, pieces in zip(batch, pieces_of, strict=True):
        texts.extend(chunking.embedding_text(art.article.title, art.text[s:e]) for s, e, _, _ in pieces.passages)
    n_passage_texts = len(texts)
    for art, pieces in zip(batch, pieces_of, strict=True):
        texts.extend(art.text[s:e] for s, e in pieces.sentences)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        tick(done, len(texts))

    if texts:  # the encoder was chosen for the whole job (``force``), so the batch's size does not matter
        vectors = embedder.encode_documents(texts, tokens=0, progress=step, force=force)
        encoder = embedder.last_encoder
    else:
        vectors, encoder = np.zeros((0, DIM), dtype=np.float32), "none"
    parts = []
    p_at, s_at = 0, n_passage_texts
    for art, pieces in zip(batch, pieces_of, strict=True):
        n_p, n_s = len(pieces.passages), len(pieces.sentences)
        parts.append(ArticleParts(
            article=art.article,
            text=art.text,
            sentences=np.array(pieces.sentences, dtype=np.int64).reshape(-1, 2),
            passages=np.array(pieces.passages, dtype=np.int64).reshape(-1, 4),
            passage_vectors=vectors[p_at : p_at + n_p],
            sentence_vectors=vectors[s_at : s_at + n_s].astype(np.float16),
        ))
        p_at += n_p
        s_at += n_s
    return parts, encoder


def _embed_new(
    new: list[ingest.LoadedArticle], settings: Settings, embedder: Embedder, root: Path, wanted: IndexSettings,
    progress: Progress | None,
) -> tuple[dict[str, ArticleParts], str, int]:
    """Embed the added and changed articles in batches of ``index_batch``, each kept on disk as it
    is done; articles an interrupted run already embedded are taken from its batches. Returns the
    parts by source, the encoder and how many articles were taken up."""
    pending, pending_encoder = load_pending(root, wanted)
    parts: dict[str, ArticleParts] = {}
    todo = []
    for art in new:
        kept = pending.get((art.article.source, art.article.sha256))
        if kept is not None:
            kept.article = art.article  # the same content; the file's times may be newer
            parts[art.article.source] = kept
        else:
            todo.append(art)
    resumed = len(parts)
    total = len(new)
    if progress:
        progress("embedding", resumed, total)
    # one encoder for the whole job, chosen by its size (torch pays off only for large jobs)
    job_tokens = 2 * sum(sum(e - s for s, e in a.article.kept) for a in todo) // 4
    force = settings.index_encoder
    if force == "auto":
        force = "torch" if job_tokens > embedder.SMALL_JOB_TOKENS else "onnx"
    encoders = {pending_encoder} if resumed and pending_encoder else set()
    counter = TokenCounter()
    done = resumed
    size = max(1, settings.index_batch)
    for at in range(0, len(todo), size):
        batch = todo[at : at + size]

        def tick(texts_done: int, texts_total: int, _before: int = done, _n: int = len(batch)) -> None:
            if progress:
                progress("embedding", _before + (_n * texts_done) // max(texts_total, 1), total)

        batch_parts, encoder = _embed_batch(batch, settings, embedder, counter, force, tick)
        encoders.add(encoder)
        save_pending(root, wanted, batch_parts, encoder)
        parts.update((p.article.source, p) for p in batch_parts)
        done += len(batch)
        if progress:
            progress("embedding", done, total)
    encoders.discard("none")
    return parts, "+".join(sorted(encoders)) or "none", resumed


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


def _current_manifest(root: Path) -> IndexManifest | None:
    """The manifest of the generation CURRENT names, when it can be read (a rebuild keeps the
    collection it searches for the readers still using it)."""
    try:
        generation = current_generation(root)
        return read_manifest(generation) if generation is not None else None
    except IndexStoreError:
        return None


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
    milvus_for(settings.store, settings.milvus_token, settings.milvus_database)  # errors before any work
    with write_lock(root, wait=settings.lock_wait, on_wait=on_wait):
        check_writable(root)
        current, why = (None, None) if rebuild else load_current(root, wanted, settings.corpus)
        work = plan(settings.corpus, current, int(settings.max_article_mb * 2**20), progress)
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
        new_parts, encoder, resumed = _embed_new(work.new, settings, embedder, root, wanted, progress)
        parts: list[ArticleParts] = []

        def reused(number: int) -> ArticleParts:
            if current is None:  # the plan reuses articles only from a loaded index
                raise IndexStoreError(f"the index in {root} vanished while it was refreshed; run `qa index` again")
            return _reuse_parts(current, number)

        for source in work.order:
            if source in new_parts:
                parts.append(new_parts[source])
            elif source in work.touched:
                number, size, mtime = work.touched[source]
                part = reused(number)
                part.article = part.article.model_copy(update={"size": size, "mtime_ns": mtime})
                parts.append(part)
            else:
                parts.append(reused(work.reuse[source]))
        if progress:
            progress("writing", 0, 1)
        generation = write_generation(root, wanted, settings.corpus, parts, encoder, TermAnalyzer(), work.skipped_files,
                                      before=current.manifest if current is not None else _current_manifest(root),
                                      fresh=set(new_parts) if current is not None else None)
        clear_pending(root)
        if progress:
            progress("writing", 1, 1)
        notes.extend(f"{a.article.source}: {w}" for a in work.new for w in a.article.warnings)
        added = [a.article.source for a in work.new if a.article.source not in work.changed]
        return IndexReport(
            path=generation, articles=len(parts), passages=sum(len(p.passages) for p in parts),
            sentences=sum(len(p.sentences) for p in parts), added=added, changed=sorted(work.changed),
            removed=work.removed, unchanged=len(work.reuse) + len(work.touched),
            seconds=time.perf_counter() - started, encoder=encoder,
            rebuilt=current is None, wrote=True, warnings=notes, resumed=resumed,
        )
