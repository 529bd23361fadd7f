"""The persisted index: passages, sentences, their vectors, a FAISS index and a BM25 index.

Layout of one corpus's index folder (``<index>/<corpus name>-<hash of its path>/``)::

    CURRENT          name of the generation in use (replaced atomically, last)
    .lock            taken by whoever writes
    g-<time>-<pid>/  one complete generation, never modified once CURRENT names it
        manifest.json        IndexManifest: settings, corpus, articles, checksums of the files below
        texts.bin            the articles' decoded texts, UTF-8, one after the other
        text_offsets.npy     byte offsets of each article in texts.bin (n_articles + 1)
        sentences.npy        int64 (n_sentences, 3): article, start, end
        passages.npy         int64 (n_passages, 5): article, start, end, first sentence, last sentence + 1
        passage_vectors.npy  float32 (n_passages, dim), L2-normalised
        sentence_vectors.npy float16 (n_sentences, dim), L2-normalised
        passages.faiss       FAISS inner-product index over passage_vectors
        bm25/                bm25s sparse index over passage terms (JSON + .npy)

A writer builds a whole generation in a temporary folder, renames it into place and only then
points CURRENT at it, so a crash at any moment leaves the previous generation in use. Nothing is
loaded with pickle: arrays are read with ``allow_pickle=False`` and metadata is JSON.
"""


from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexStoreError
from qa.models import Article, IndexedArticle, IndexManifest, IndexSettings, Passage, SkippedFile
from qa.search.dense import build_faiss, read_faiss
from qa.search.lexical import LexicalIndex, bm25_document, build_bm25
from qa.search.milvus import MilvusSearch
from qa.search.terms import TermAnalyzer
from qa.store.lock import write_failure
from qa.store.remote import drop_quietly, milvus_for, open_collection, store_key, switch_alias, write_collection
from qa.text.files import fsync_dir, write_atomic

FORMAT = 7
"""Bump when the layout or the ingest/chunking rules change: older indexes are rebuilt."""

DATA_FILES = (
    "texts.bin",
    "text_offsets.npy",
    "sentences.npy",
    "passages.npy",
    "passage_vectors.npy",
    "sentence_vectors.npy",
    "passages.faiss",
)


def corpus_key(corpus: Path) -> str:
    """Name of a corpus's index subfolder: the corpus folder name and a hash of its full path."""
    resolved = corpus.expanduser().resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:8]
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in resolved.name) or "corpus"
    return f"{name}-{digest}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class IndexData:
    """Everything a generation holds, in memory (or memory-mapped)."""

    manifest: IndexManifest
    sentences: np.ndarray
    passages: np.ndarray
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray
    texts_blob: bytes | np.ndarray
    text_offsets: np.ndarray
    faiss_index: Any
    bm25: LexicalIndex | None
    path: Path | None = None
    remote: MilvusSearch | None = None
    """The Milvus collection that searches this generation (the ``milvus`` store), else None."""
    _texts: dict[int, str] = field(default_factory=dict)

    @property
    def articles(self) -> list[Article]:
        """The indexed articles, in index order."""
        return [a.article for a in self.manifest.articles]

    def text(self, article: int) -> str:
        """The decoded text of article number ``article``."""
        cached = self._texts.get(article)
        if cached is None:
            a, b = int(self.text_offsets[article]), int(self.text_offsets[article + 1])
            cached = bytes(self.texts_blob[a:b]).decode("utf-8")
            self._texts[article] = cached
        return cached

    def passage(self, i: int) -> Passage:
        """Passage number ``i`` as a model."""
        art, start, end = (int(x) for x in self.passages[i, :3])
        article = self.manifest.articles[art].article
        first = int(np.searchsorted(self.passages[:, 0], art, side="left"))
        return Passage(
            id=f"{article.source}#{i - first}",
            source=article.source,
            start=start,
            end=end,
            text=self.text(art)[start:end],
        )

    def sentence_text(self, n: int) -> str:
        """The text of sentence number ``n``."""
        article, start, end = (int(x) for x in self.sentences[n])
        return self.text(article)[start:end]

    def sentence_spans(self, i: int) -> list[tuple[int, int, int]]:
        """(sentence number, start, end) of the sentences of passage ``i``."""
        first, last = int(self.passages[i, 3]), int(self.passages[i, 4])
        return [(s, int(self.sentences[s, 1]), int(self.sentences[s, 2])) for s in range(first, last)]


# --------------------------------------------------------------------------- writing


@dataclass
class ArticleParts:
    """One article's share of a generation."""

    article: Article
    text: str
    sentences: np.ndarray  # (n, 2) start, end
    passages: np.ndarray  # (m, 4) start, end, first sentence, last sentence + 1 (article-local)
    passage_vectors: np.ndarray
    sentence_vectors: np.ndarray


def write_generation(
    root: Path,
    settings: IndexSettings,
    corpus: Path,
    parts: list[ArticleParts],
    encoder: str,
    analyze: TermAnalyzer,
    skipped: list[SkippedFile] | None = None,
    before: IndexManifest | None = None,
    fresh: set[str] | None = None,
) -> Path:
    """Write a complete generation from ``parts`` (and the files that held no article) and make
    it current; returns its folder. With the milvus store, the generation ``before``'s
    collection is updated in place (``fresh``: the sources embedded anew), else a new one filled."""
    dim = settings.dim
    name = f"g-{_dt.datetime.now(_dt.UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"
    tmp = root / f".tmp-{name}"
    try:
        tmp.mkdir(parents=True)
    except OSError as exc:
        raise write_failure(root, exc) from None
    milvus = milvus_for(settings.store)
    collection = None
    try:
        sent_arr, pass_arr, indexed = _write_arrays(tmp, parts, dim)
        index_type = _write_search(tmp, parts, analyze, dim) if milvus is None else "milvus"
        if milvus is not None:
            sources = [p.article.source for p in parts]
            collection = write_collection(milvus, store_key(root), name, sources, pass_arr, _terms(parts, analyze),
                                          _passage_vectors(parts, dim), settings, before, fresh)
        files = _checksums(tmp)
        manifest = IndexManifest(
            settings=settings,
            corpus=str(corpus.expanduser().resolve()),
            created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            articles=indexed,
            passages=len(pass_arr),
            sentences=len(sent_arr),
            files=files,
            index_type=index_type,
            encoder=encoder,
            collection=collection,
            skipped=skipped or [],
        )
        write_atomic(tmp / "manifest.json", manifest.model_dump_json(indent=1).encode())
        final, previous = _publish(tmp, root, name)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if collection != (before.collection if before else None):  # a new one, not yet in use
            drop_quietly(milvus, collection)
        if isinstance(exc, OSError):
            raise write_failure(root, exc) from None
        raise
    if milvus is not None and collection is not None:
        kept = {before.collection} if before and before.collection else set()
        switch_alias(milvus, store_key(root), collection, kept)
    _remove_old_generations(root, keep={name, previous.name if previous else name})
    return final


def _publish(tmp: Path, root: Path, name: str) -> tuple[Path, Path | None]:
    """Rename the written generation into place, then point CURRENT at it; returns its folder and
    the generation CURRENT named before."""
    fsync_dir(tmp)
    final = root / name
    os.rename(tmp, final)
    fsync_dir(root)
    try:
        previous = current_generation(root)
    except IndexStoreError:  # a damaged pointer is what this write repairs
        previous = None
    write_atomic(root / "CURRENT", name.encode())
    return final, previous


def _write_arrays(
    tmp: Path, parts: list[ArticleParts], dim: int
) -> tuple[np.ndarray, np.ndarray, list[IndexedArticle]]:
    """The texts, sentences, passages and their vectors of every article, numbered across the
    generation; returns the sentence and passage tables and the articles' entries."""
    blobs = [p.text.encode("utf-8") for p in parts]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    sentences, passages, indexed = [], [], []
    sentence_base = 0
    for i, p in enumerate(parts):
        n_sent, n_pass = len(p.sentences), len(p.passages)
        if n_sent:
            sentences.append(np.column_stack([np.full(n_sent, i), p.sentences]))
        if n_pass:
            pas = p.passages.copy()
            pas[:, 2:] += sentence_base
            passages.append(np.column_stack([np.full(n_pass, i), pas]))
        sentence_base += n_sent
        indexed.append(IndexedArticle(article=p.article, passages=n_pass, sentences=n_sent))
    sent_arr = np.concatenate(sentences).astype(np.int64) if sentences else np.zeros((0, 3), np.int64)
    pass_arr = np.concatenate(passages).astype(np.int64) if passages else np.zeros((0, 5), np.int64)
    svec = np.concatenate([p.sentence_vectors for p in parts]) if parts else np.zeros((0, dim))
    (tmp / "texts.bin").write_bytes(b"".join(blobs))
    np.save(tmp / "text_offsets.npy", offsets, allow_pickle=False)
    np.save(tmp / "sentences.npy", sent_arr, allow_pickle=False)
    np.save(tmp / "passages.npy", pass_arr, allow_pickle=False)
    np.save(tmp / "passage_vectors.npy", _passage_vectors(parts, dim), allow_pickle=False)
    np.save(tmp / "sentence_vectors.npy", np.ascontiguousarray(svec, dtype=np.float16).reshape(-1, dim),
            allow_pickle=False)
    return sent_arr, pass_arr, indexed


def _passage_vectors(parts: list[ArticleParts], dim: int) -> np.ndarray:
    pvec = np.concatenate([p.passage_vectors for p in parts]) if parts else np.zeros((0, dim))
    return np.ascontiguousarray(pvec, dtype=np.float32).reshape(-1, dim)


def _terms(parts: list[ArticleParts], analyze: TermAnalyzer) -> list[str]:
    """Every passage's BM25 terms (its title's and its own), whitespace-joined."""
    return [" ".join(bm25_document(p.article.title, p.text[int(s) : int(e)], analyze))
            for p in parts for s, e, _, _ in p.passages]


def _write_search(tmp: Path, parts: list[ArticleParts], analyze: TermAnalyzer, dim: int) -> str:
    """The FAISS index over the passage vectors and the BM25 index over the passages' terms;
    returns the FAISS index type."""
    import faiss

    index, index_type = build_faiss(_passage_vectors(parts, dim))
    faiss.write_index(index, str(tmp / "passages.faiss"))
    docs = []
    for p in parts:
        for start, end, _, _ in p.passages:
            docs.append(bm25_document(p.article.title, p.text[int(start) : int(end)], analyze))
    # bm25s divides by the mean document length: no terms at all would give NaN scores
    bm25 = build_bm25(docs) if any(docs) else None
    if bm25 is not None:
        bm25.save(str(tmp / "bm25"), show_progress=False)
    return index_type


def _checksums(tmp: Path) -> dict[str, str]:
    """Every file of the generation synced to disk, with its checksum."""
    files = {}
    for path in sorted(tmp.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
            files[path.relative_to(tmp).as_posix()] = _sha256(path)
    return files


def _remove_old_generations(root: Path, keep: set[str]) -> None:
    """Delete all generations but ``keep`` (the new one and the one before it, which a reader that
    has just read CURRENT may still be opening), and the leftovers of writers that crashed (the
    caller holds the write lock, so no other writer is at work)."""
    for child in root.iterdir():
        if child.name not in keep and (child.name.startswith("g-") or child.name.startswith(".tmp-")):
            shutil.rmtree(child, ignore_errors=True)


# --------------------------------------------------------------------------- loading


def current_generation(root: Path) -> Path | None:
    """The generation folder CURRENT names, or None when there is no index."""
    try:
        name = (root / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexStoreError(f"cannot read {root / 'CURRENT'}: {exc.strerror or exc}") from None
    if not name.startswith("g-") or "/" in name:
        raise IndexStoreError(f"{root / 'CURRENT'} is damaged; run `qa index --rebuild`")
    return root / name


def read_manifest(generation: Path) -> IndexManifest:
    """The manifest of a generation, validated."""
    try:
        return IndexManifest.model_validate_json((generation / "manifest.json").read_bytes())
    except FileNotFoundError:
        raise IndexStoreError(f"{generation} has no manifest.json; run `qa index --rebuild`") from None
    except OSError as exc:
        raise IndexStoreError(f"cannot read {generation / 'manifest.json'}: {exc.strerror or exc}") from None
    except ValueError:
        raise IndexStoreError(f"{generation / 'manifest.json'} is damaged; run `qa index --rebuild`") from None


STAMP = "verified.json"
"""Size and modification time of each file when its checksum last matched."""


def _stat_key(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def verify_files(generation: Path, manifest: IndexManifest) -> None:
    """Check every data file against the checksum the manifest recorded.

    Hashing gigabytes on every question would be slow, so a full check is made the first time
    and again whenever a file's size, modification time or inode changes; the stamp of the last
    good check is kept beside the files (when the folder is writable).
    """
    needed = [n for n in DATA_FILES if not (n == "passages.faiss" and manifest.index_type == "milvus")]
    missing = [n for n in needed if n not in manifest.files]
    if missing:
        raise IndexStoreError(f"the manifest in {generation} does not list {missing[0]}; run `qa index --rebuild`")
    try:
        stamp = json.loads((generation / STAMP).read_text())
    except (OSError, ValueError):
        stamp = {}
    checked = {}
    for name, digest in manifest.files.items():
        path = generation / name
        try:
            key = _stat_key(path)
            if stamp.get(name) == key:
                checked[name] = key
                continue
            actual = _sha256(path)
        except OSError:
            raise IndexStoreError(f"index file {path} is missing or unreadable; run `qa index --rebuild`") from None
        if actual != digest:
            raise IndexStoreError(f"index file {path} is damaged (checksum mismatch); run `qa index --rebuild`")
        checked[name] = key
    if checked != stamp:
        with contextlib.suppress(OSError):
            write_atomic(generation / STAMP, json.dumps(checked).encode())


def load_generation(generation: Path, manifest: IndexManifest | None = None, verify: bool = True) -> IndexData:
    """Load a generation (arrays memory-mapped, never unpickled)."""
    manifest = manifest or read_manifest(generation)
    if verify:
        verify_files(generation, manifest)
    try:
        def arr(name: str) -> np.ndarray:
            return np.load(generation / name, mmap_mode="r", allow_pickle=False)

        bm25 = LexicalIndex(generation / "bm25") if (generation / "bm25").is_dir() else None
        texts_size = (generation / "texts.bin").stat().st_size
        texts = (
            np.memmap(generation / "texts.bin", dtype=np.uint8, mode="r") if texts_size else b""
        )
        data = IndexData(
            manifest=manifest,
            sentences=arr("sentences.npy"),
            passages=arr("passages.npy"),
            passage_vectors=arr("passage_vectors.npy"),
            sentence_vectors=arr("sentence_vectors.npy"),
            texts_blob=texts,
            text_offsets=np.load(generation / "text_offsets.npy", allow_pickle=False),
            faiss_index=None if manifest.index_type == "milvus" else read_faiss(
                generation / "passages.faiss", manifest.index_type),
            bm25=bm25,
            path=generation,
            remote=open_collection(manifest) if manifest.index_type == "milvus" else None,
        )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise IndexStoreError(f"the index in {generation} cannot be loaded ({exc}); run `qa index --rebuild`") from None
    if len(data.passages) != manifest.passages or len(data.sentences) != manifest.sentences:
        raise IndexStoreError(f"the index in {generation} does not match its manifest; run `qa index --rebuild`")
    return data
