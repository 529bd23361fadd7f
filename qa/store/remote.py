"""The store an index's search lives in: ``local`` files (the default) or Milvus.

One connection per Milvus (a Lite file or a server) per process, opened on first use: the writer
(``refresh``) and the reader (``load_generation``) of an index share it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path

import numpy as np

from qa.config import parse_store
from qa.errors import IndexStoreError
from qa.models import IndexManifest, IndexSettings
from qa.search.milvus import Milvus, MilvusSearch, article_key, collection_names, passage_keys

_LOCK = threading.Lock()
_OPEN: dict[str, Milvus] = {}


def milvus_for(store: str, token: str | None = None, database: str | None = None) -> Milvus | None:
    """The connection to the Milvus ``store`` names (None for ``local``); the token and database
    from the arguments, else ``QA_MILVUS_TOKEN`` / ``QA_MILVUS_DATABASE``."""
    spec = parse_store(store)
    if spec.kind == "local":
        return None
    with _LOCK:
        milvus = _OPEN.get(spec.name)
        if milvus is None:
            milvus = Milvus(spec, token or os.environ.get("QA_MILVUS_TOKEN"),
                            database or os.environ.get("QA_MILVUS_DATABASE"))
            _OPEN[spec.name] = milvus
        return milvus


def store_key(root: Path) -> str:
    """What names an index folder's collections in Milvus: the corpus's folder key and a hash of
    the index folder, so that two index folders of one corpus (two machines, two users) sharing a
    server never touch each other's collections."""
    digest = hashlib.sha256(str(root.expanduser().resolve()).encode()).hexdigest()[:6]
    return f"{root.name}_{digest}"


def built_by(settings: IndexSettings) -> str:
    """What a collection records of how it was built (its description)."""
    return (f"qa index: model {settings.model}, {settings.passage_tokens} word pieces a passage, "
            f"{settings.overlap_sentences} shared sentences, format {settings.format}")


def write_collection(milvus: Milvus, corpus_key: str, generation: str, sources: list[str], passages: np.ndarray,
                     terms: list[str], vectors: np.ndarray, settings: IndexSettings,
                     previous: IndexManifest | None, fresh: set[str] | None) -> str:
    """Bring the corpus's collection up to the generation being written; returns its name.

    With a ``previous`` generation searched by an intact collection of the same settings, that
    collection is updated in place: the rows of removed articles and of those in ``fresh``
    (embedded anew: added or changed) are deleted, and the fresh ones' rows written. Otherwise
    (first build, ``--rebuild``, other settings, a damaged collection) a new collection is filled,
    which the alias names once the generation is current."""
    articles = passages[:, 0] if len(passages) else np.zeros(0, dtype=np.int64)
    akeys = np.array([article_key(s) for s in sources], dtype=np.int64)
    positions = np.arange(len(passages)) - np.searchsorted(articles, articles, side="left")
    keys = passage_keys(akeys[articles], positions) if len(passages) else np.zeros(0, dtype=np.int64)
    name = previous.collection if previous is not None else None
    if (name is None or previous is None or fresh is None or previous.settings != settings
            or milvus.rows(name) != previous.passages or milvus.built_by(name) != built_by(settings)):
        name = collection_names(corpus_key, generation)[1]
        try:
            milvus.create(name, settings.dim, built_by(settings))
            milvus.insert(name, keys, akeys[articles], terms, vectors)
        except BaseException:
            drop_quietly(milvus, name)
            raise
        return name
    before = {a.article.source for a in previous.articles}
    gone = (before - set(sources)) | (fresh & before)
    milvus.delete_articles(name, [article_key(s) for s in sorted(gone)])
    rows = np.flatnonzero(np.isin(articles, [i for i, s in enumerate(sources) if s in fresh]))
    milvus.insert(name, keys[rows], akeys[articles[rows]], [terms[i] for i in rows], vectors[rows])
    return name


def switch_alias(milvus: Milvus, corpus_key: str, collection: str, keep: set[str]) -> None:
    """Point the corpus's alias at ``collection`` (the new generation's) and drop the corpus's
    collections other than ``keep`` (the one the previous generation searched, which a reader may
    still be using) and ``collection``: those of older builds and those crashed writers left."""
    alias = collection_names(corpus_key, "")[0]
    milvus.point_alias(alias, collection)
    milvus.drop_generations(alias, keep | {collection})


def drop_quietly(milvus: Milvus | None, collection: str | None) -> None:
    """Drop a half-written collection, if Milvus can still be reached (the next writer drops it
    otherwise)."""
    if milvus is not None and collection is not None:
        with contextlib.suppress(Exception):
            milvus.client.drop_collection(collection)


def open_collection(manifest: IndexManifest) -> MilvusSearch:
    """The Milvus collection of a generation, checked: it exists, holds every passage and was
    built by the same model and chunking."""
    milvus = milvus_for(manifest.settings.store)
    assert milvus is not None
    name = manifest.collection
    if name is None:
        raise IndexStoreError("the index names no Milvus collection; run `qa index --rebuild`")
    rows = milvus.rows(name)
    if rows != manifest.passages:
        state = "is missing" if rows < 0 else f"holds {rows} passages instead of {manifest.passages}"
        raise IndexStoreError(f"the Milvus collection {name} at {milvus.spec.name} {state}; run `qa index --rebuild`")
    if milvus.built_by(name) != built_by(manifest.settings):
        raise IndexStoreError(
            f"the Milvus collection {name} at {milvus.spec.name} was built by another model or chunking; "
            "run `qa index --rebuild`"
        )
    counts = np.array([a.passages for a in manifest.articles], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) else counts
    return MilvusSearch(milvus, name, [a.article.source for a in manifest.articles], first, counts)
