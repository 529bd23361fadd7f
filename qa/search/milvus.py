"""Passage search in Milvus: dense vectors and BM25 (Milvus's built-in function) in one collection.

The ``milvus`` store (``--store milvus:PATH.db`` for Milvus Lite, ``--store milvus://HOST:19530``
or ``https://…`` for a server or cluster) keeps what search needs in Milvus, and the local
generation keeps the rest (texts, passage and sentence offsets, vectors for exact rescoring).

One collection per corpus build, named after the corpus and the generation that built it, and an
alias per corpus that names the current one. A refresh deletes the rows of changed and removed
articles and upserts those of added and changed ones in place; a rebuild (``qa index --rebuild``,
another model or chunking) fills a new collection and then switches the alias, so a reader never
sees a half-built one. Rows are keyed by article and position, not by generation, so they outlive
the refreshes that leave their article alone. Schema:

    key      INT64 primary key   article key << 20 | the passage's position in its article
    akey     INT64               article key: 43 bits of the SHA-256 of the article's source
                                 (deletes and "only these articles" filters)
    terms    VARCHAR             the passage's BM25 terms (our analyzer: stems, stopwords, title
                                 terms), whitespace-joined, read by Milvus's standard tokenizer
    sparse   SPARSE_FLOAT_VECTOR BM25 function output (k1 1.5, b 0.75, as bm25s)
    dense    FLOAT_VECTOR(dim)   the passage's embedding, HNSW, inner product

pymilvus (and milvus-lite for files) come with the ``milvus`` extra and are imported only here,
only for this store.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from qa.config import StoreSpec
from qa.errors import IndexStoreError

BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}
HNSW_PARAMS = {"M": 16, "efConstruction": 200}
BUILT_BY = "qa.built_by"
"""The collection property that records the model and chunking it was built with."""
BATCH = 2_000
"""Rows per insert."""
MIN_SERVER = (2, 5)
"""The first Milvus with BM25 functions and sparse vectors, which the schema needs."""
EXTRA = "the milvus store needs the Milvus extra: pip install 'qa[milvus]' (pymilvus, milvus-lite)"


def collection_names(corpus_key: str, generation: str) -> tuple[str, str]:
    """The corpus's alias and the collection of one of its generations (letters, digits and _)."""
    alias = "qa_" + re.sub(r"\W", "_", corpus_key)
    return alias, alias + "__" + re.sub(r"\W", "_", generation)


def _listening(uri: str) -> bool:
    """Whether something accepts TCP connections at a server URI's host and port."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(uri)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or
                                       (443 if parts.scheme == "https" else 19530)), timeout=2):
            return True
    except OSError:
        return False


def _message(exc: BaseException) -> str:
    """An error's first line; gRPC's own errors by their status and details, which their first
    line leaves out."""
    code, details = getattr(exc, "code", None), getattr(exc, "details", None)
    if callable(code) and callable(details):
        try:
            return f"{code().name}: {details() or 'no details'}"[:200]
        except Exception:
            pass
    return (str(getattr(exc, "message", "") or exc).strip().splitlines() or [type(exc).__name__])[0][:200]


class Milvus:
    """A connection to the Milvus of a ``StoreSpec``, with qa's errors for what goes wrong."""

    def __init__(self, spec: StoreSpec, token: str | None = None, database: str | None = None,
                 timeout: float = 10.0) -> None:
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise IndexStoreError(EXTRA) from None
        for name in ("pymilvus", "milvus_lite"):  # their errors reach the user as one line of ours
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self.spec = spec
        if spec.kind == "lite":
            import importlib.util

            if importlib.util.find_spec("milvus_lite") is None:  # pymilvus starts it for .db URIs
                raise IndexStoreError(EXTRA)
            Path(spec.uri).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client = MilvusClient(uri=spec.uri, token=token or "", db_name=database or "", timeout=timeout)
        except Exception as exc:  # pymilvus raises its own and gRPC's errors
            raise IndexStoreError(self._why(exc)) from None
        try:  # an engine that does not say its version is taken at its word
            version = self.client.get_server_version() if spec.kind == "server" else ""
        except Exception:
            version = ""
        found = re.match(r"v?(\d+)\.(\d+)", version)
        if found and (int(found[1]), int(found[2])) < MIN_SERVER:
            raise IndexStoreError(
                f"Milvus at {spec.uri} is version {version.lstrip('v')}; the milvus store needs "
                f"{MIN_SERVER[0]}.{MIN_SERVER[1]} or later (BM25 full-text search): upgrade it, or use --store local"
            )

    def _why(self, exc: BaseException) -> str:
        text = _message(exc)
        where = self.spec.uri
        if self.spec.kind == "lite":
            if "lock" in text.lower() or "ConnectionConfigException" in type(exc).__name__ or not text:
                return (f"the Milvus Lite file {where} cannot be opened ({text or 'it is in use'}); "
                        "another qa process may hold it: close it, or use a Milvus server for several users")
            return f"the Milvus Lite file {where} cannot be opened ({text})"
        low = text.lower()
        if "database" in low:
            return f"Milvus at {where} refused the database ({text}); set QA_MILVUS_DATABASE to one that exists"
        if "auth" in low or "token" in low or "credential" in low or "permission" in low or _listening(where):
            # a server that refuses the token says only that it cannot be connected to
            return (f"Milvus at {where} answers but refused the connection ({text}); check the token "
                    "(QA_MILVUS_TOKEN, user:password or an API key) and that the address is Milvus'")
        return (f"cannot reach Milvus at {where} ({text}); check that the server runs and the address, "
                "or use --store local")

    def call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with Milvus's errors reported as one line."""
        try:
            return fn(*args, **kwargs)
        except IndexStoreError:
            raise
        except Exception as exc:
            text = _message(exc)
            if "database not found" in text.lower():  # a server checks the database on first use
                raise IndexStoreError(self._why(exc)) from None
            raise IndexStoreError(f"Milvus at {self.spec.name}: {what} failed ({text})") from None

    # ------------------------------------------------------------------ writing

    def create(self, name: str, dim: int, built_by: str) -> None:
        """A new, empty passage collection ``name`` (an old one of that name is dropped) that
        records ``built_by`` (the model and chunking) as its property ``qa.built_by``."""
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        if self.call("listing collections", c.has_collection, name):
            self.call("dropping a collection", c.drop_collection, name)
        schema = c.create_schema(auto_id=False, description="qa passages")
        schema.add_field("key", DataType.INT64, is_primary=True)
        schema.add_field("akey", DataType.INT64)
        schema.add_field("terms", DataType.VARCHAR, max_length=65_535, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard", "filter": ["lowercase"]})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["terms"], output_field_names=["sparse"]))
        index = c.prepare_index_params()
        index.add_index(field_name="dense", index_type="HNSW", metric_type="IP", params=HNSW_PARAMS)
        index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params=BM25_PARAMS)
        self.call("creating a collection", c.create_collection, name, schema=schema, index_params=index,
                  properties={BUILT_BY: built_by})

    def insert(self, name: str, keys: np.ndarray, akeys: np.ndarray, terms: list[str],
               vectors: np.ndarray) -> None:
        """Rows for passages ``keys`` (in batches; their articles' old rows deleted first), then
        flushed and loaded for search."""
        for a in range(0, len(keys), BATCH):
            rows = [
                {"key": int(p), "akey": int(r), "terms": t[:65_000], "dense": v.tolist()}
                for p, r, t, v in zip(keys[a : a + BATCH], akeys[a : a + BATCH], terms[a : a + BATCH],
                                      vectors[a : a + BATCH], strict=True)
            ]
            self.call("writing passages", self.client.insert, name, rows)
        self.call("flushing", self.client.flush, name)
        self.call("loading a collection", self.client.load_collection, name)

    def delete_articles(self, name: str, akeys: list[int]) -> None:
        """Delete the rows of the articles ``akeys``."""
        for a in range(0, len(akeys), BATCH):
            self.call("deleting passages", self.client.delete, name, filter=_in("akey", akeys[a : a + BATCH]))

    def point_alias(self, alias: str, name: str) -> None:
        """Make ``alias`` name collection ``name`` (atomically, when it named another)."""
        c = self.client
        if alias in self.call("listing aliases", c.list_aliases).get("aliases", []):
            self.call("switching an alias", c.alter_alias, name, alias)
        else:
            self.call("creating an alias", c.create_alias, name, alias)

    def drop_generations(self, alias: str, keep: set[str]) -> None:
        """Drop the corpus's collections other than ``keep`` (those of removed generations, and
        those a crashed writer left)."""
        for name in self.call("listing collections", self.client.list_collections):
            if name.startswith(alias + "__") and name not in keep:
                self.call("dropping a collection", self.client.drop_collection, name)

    # ------------------------------------------------------------------ reading

    def rows(self, name: str) -> int:
        """How many passages collection ``name`` holds (-1 when it does not exist)."""
        if not self.call("listing collections", self.client.has_collection, name):
            return -1
        stats = self.call("reading a collection", self.client.get_collection_stats, name)
        return int(stats.get("row_count", 0))

    def built_by(self, name: str) -> str:
        """What collection ``name`` records of how it was built ("" when nothing)."""
        info = self.call("reading a collection", self.client.describe_collection, name)
        return str((info.get("properties") or {}).get(BUILT_BY, ""))


def article_key(source: str) -> int:
    """An article's key: 43 bits of the SHA-256 of its source (collisions: 1 in 2^43 a pair)."""
    return int.from_bytes(hashlib.sha256(source.encode("utf-8")).digest()[:8], "big") >> 21


POSITION_BITS = 20
"""A row key is an article key shifted by this many bits, plus the passage's position in it."""


def passage_keys(akeys: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The row keys of passages: their articles' keys and their positions in those articles."""
    return (akeys << POSITION_BITS) | positions


def _in(field: str, values: Any) -> str:
    return f"{field} in [{', '.join(str(int(v)) for v in values)}]"


class MilvusSearch:
    """Search of one collection for one generation: rows are found by key and given back as the
    generation's passage numbers (rows of articles the generation does not hold are left out)."""

    def __init__(self, milvus: Milvus, name: str, sources: list[str], first: np.ndarray, counts: np.ndarray) -> None:
        """``sources``, ``first`` and ``counts``: each article's source, its first passage's number
        and its number of passages, in the generation."""
        self.milvus = milvus
        self.name = name
        self.akeys = np.array([article_key(s) for s in sources], dtype=np.int64)
        self._article = {int(k): i for i, k in enumerate(self.akeys)}
        self.first, self.counts = first, counts
        self._passage_article = np.repeat(np.arange(len(sources)), counts)
        self.milvus.call("loading a collection", milvus.client.load_collection, name)

    def pids(self, keys: list[int]) -> list[int]:
        """The passage numbers of row keys, in order (keys this generation does not hold dropped)."""
        out = []
        for key in keys:
            article = self._article.get(key >> POSITION_BITS)
            if article is not None and (n := key & ((1 << POSITION_BITS) - 1)) < self.counts[article]:
                out.append(int(self.first[article]) + n)
        return out

    def keys(self, pids: np.ndarray) -> np.ndarray:
        """The row keys of passage numbers."""
        articles = self._passage_article[pids]
        return passage_keys(self.akeys[articles], pids - self.first[articles])

    def _filter(self, articles: np.ndarray | None, pids: np.ndarray | None = None) -> str:
        parts = []
        if articles is not None:
            parts.append(_in("akey", self.akeys[articles]))
        if pids is not None:
            parts.append(_in("key", self.keys(pids)))
        return " and ".join(parts)

    def dense(self, query: np.ndarray, k: int, articles: np.ndarray | None = None) -> np.ndarray:
        """The ``k`` passages nearest to ``query`` (of ``articles`` only, when given)."""
        hits = self.milvus.call(
            "searching", self.milvus.client.search, self.name, data=[query.astype(np.float32).tolist()],
            anns_field="dense", limit=k, filter=self._filter(articles), output_fields=["key"],
            search_params={"metric_type": "IP", "params": {"ef": max(64, k)}},
        )
        return np.array(self.pids([int(h["key"]) for h in hits[0]]), dtype=np.int64)

    def lexical(self, terms: list[str], k: int, articles: np.ndarray | None = None,
                pids: np.ndarray | None = None) -> dict[int, float]:
        """BM25 scores of the best ``k`` passages for ``terms`` (of ``articles`` or ``pids`` only,
        when given); passages that match no term are left out."""
        if not terms or (pids is not None and not len(pids)):
            return {}
        hits = self.milvus.call(
            "searching", self.milvus.client.search, self.name, data=[" ".join(terms)], anns_field="sparse",
            limit=k, filter=self._filter(articles, pids), output_fields=["key"], search_params={"metric_type": "BM25"},
        )
        # Milvus Lite reports BM25 as a distance (its negative), a server as a score
        found = [(int(h["key"]), abs(float(h["distance"]))) for h in hits[0] if h["distance"]]
        return {p: v for (key, v) in found for p in self.pids([key])}

    def document_frequency(self, term: str) -> int:
        """In how many passages ``term`` occurs (counted up to Milvus's search limit, 16,384)."""
        return len(self.lexical([term], 16_384))
