"""The store an index's search lives in: ``local`` files (the default) or Milvus.

One connection per Milvus (a Lite file or a server) per process, opened on first use: the writer
(``refresh``) and the reader (``load_generation``) of an index share it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import numpy as np

from qa.config import StoreSpec, parse_store
from qa.errors import IndexStoreError
from qa.models import IndexManifest, IndexSettings
from qa.search.milvus import Milvus, MilvusSearch, collection_names

_LOCK = threading.Lock()
_OPEN: dict[str, Milvus] = {}


def spec_of(store: str) -> StoreSpec:
    """The parsed store setting (validated by the settings already)."""
    return parse_store(store)


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


def built_by(settings: IndexSettings) -> str:
    """What a collection records of how it was built (its description)."""
    return (f"qa index: model {settings.model}, {settings.passage_tokens} word pieces a passage, "
            f"{settings.overlap_sentences} shared sentences, format {settings.format}")


def write_collection(milvus: Milvus, collection: str, passages: np.ndarray, terms: list[str],
                     vectors: np.ndarray, settings: IndexSettings) -> None:
    """A generation's Milvus collection: every passage's article, BM25 terms and vector."""
    milvus.create(collection, settings.dim, built_by(settings))
    articles = passages[:, 0] if len(passages) else np.zeros(0, dtype=np.int64)
    milvus.insert(collection, np.arange(len(passages)), articles, terms, vectors)


def switch_alias(milvus: Milvus, corpus_key: str, collection: str, keep: set[str]) -> None:
    """Point the corpus's alias at the new generation's ``collection`` and drop the collections
    of the generations not in ``keep`` (and those crashed writers left)."""
    alias = collection_names(corpus_key, "")[0]
    milvus.point_alias(alias, collection)
    milvus.drop_generations(alias, {collection_names(corpus_key, g)[1] for g in keep})


def drop_quietly(milvus: Milvus | None, collection: str) -> None:
    """Drop a half-written collection, if Milvus can still be reached (the next writer drops it
    otherwise)."""
    if milvus is not None:
        with contextlib.suppress(Exception):
            milvus.client.drop_collection(collection)


def open_collection(generation: Path, manifest: IndexManifest) -> MilvusSearch:
    """The Milvus collection of a generation, checked: it exists, holds every passage and was
    built by the same model and chunking."""
    milvus = milvus_for(manifest.settings.store)
    assert milvus is not None
    name = collection_names(generation.parent.name, generation.name)[1]
    rows = milvus.rows(name)
    if rows != manifest.passages:
        state = "is missing" if rows < 0 else f"holds {rows} passages instead of {manifest.passages}"
        raise IndexStoreError(f"the Milvus collection {name} at {milvus.spec.name} {state}; run `qa index --rebuild`")
    if milvus.built_by(name) != built_by(manifest.settings):
        raise IndexStoreError(
            f"the Milvus collection {name} at {milvus.spec.name} was built by another model or chunking; "
            "run `qa index --rebuild`"
        )
    return MilvusSearch(milvus, name)
