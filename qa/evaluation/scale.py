"""Search at scale (``qa bench --only scale``): a million passages' worth of vectors drawn near
the real ones, FAISS built and queried against exact search, and BM25 over generated documents."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from qa.evaluation.bench import Say
    from qa.store.generations import IndexData


def p95(ordered: list[float]) -> float:
    """The 95th percentile of sorted values (nearest rank below)."""
    return ordered[int(0.95 * (len(ordered) - 1))]


def _synthetic(real: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.04) -> np.ndarray:
    """Vectors near real embeddings: mixtures of two real vectors plus Gaussian noise, normalised."""
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        i, j = rng.integers(0, len(real), m), rng.integers(0, len(real), m)
        w = rng.random((m, 1), dtype=np.float32)
        v = w * real[i] + (1 - w) * real[j] + rng.normal(0, noise, (m, real.shape[1])).astype(np.float32)
        out[start : start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def scale(data: IndexData, n: int, say: Say, queries: int = 200, store: str = "local") -> dict[str, Any]:
    """Dense and lexical search over ``n`` synthetic passages, with the index code of real corpora;
    with a Milvus ``store``, the same passages in Milvus too (same queries, same exact answers)."""
    import resource

    from qa.search.dense import build_faiss, read_faiss

    real = np.vstack([np.asarray(data.passage_vectors), np.asarray(data.sentence_vectors, dtype=np.float32)])
    rng = np.random.default_rng(7)
    say(f"scale: {n:,} synthetic passage vectors …")
    vectors = _synthetic(real, n, rng)
    probes = _synthetic(real, queries, rng)
    exact = np.empty((queries, 10), dtype=np.int64)
    for i in range(0, queries, 50):
        sims = probes[i : i + 50] @ vectors.T
        exact[i : i + 50] = np.argsort(-sims, axis=1)[:, :10]
    say("scale: building the index …")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    index, kind = build_faiss(vectors)
    build = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        import faiss

        path = Path(tmp) / "passages.faiss"
        faiss.write_index(index, str(path))
        size_mb = path.stat().st_size / 2**20
        del index
        start = time.perf_counter()
        index = read_faiss(path, kind)
        load = time.perf_counter() - start
        latencies, hits = [], 0
        for i in range(queries):
            start = time.perf_counter()
            _, ids = index.search(probes[i : i + 1], 50)
            candidates = ids[0][ids[0] >= 0]
            exact_scores = vectors[candidates] @ probes[i]  # the retriever rescores candidates exactly
            top = candidates[np.argsort(-exact_scores)[:10]]
            latencies.append((time.perf_counter() - start) * 1000)
            hits += len(set(top.tolist()) & set(exact[i].tolist()))
        del index
    latencies.sort()
    dense = {
        "passages": n,
        "index_type": kind,
        "build_s": round(build, 1),
        "index_mb": round(size_mb, 1),
        "load_s": round(load, 3),
        "p50_ms": round(statistics.median(latencies), 3),
        "p95_ms": round(p95(latencies), 3),
        "recall_at_10": round(hits / (10 * queries), 4),
        "build_peak_rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1),
    }
    out: dict[str, Any] = {"dense": dense}
    if store != "local":
        out["milvus"] = _milvus_scale(store, vectors, probes, exact, say)
    del vectors
    out["lexical"] = _lexical_scale(n, rng, say)
    return out


def _milvus_scale(store: str, vectors: np.ndarray, probes: np.ndarray, exact: np.ndarray, say: Say) -> dict[str, Any]:
    """The passages in a Milvus collection of the production schema (HNSW; BM25 over a few terms
    each): build time, dense search of 50 candidates rescored exactly (as the retriever does),
    recall@10 against exact search, memory and (Lite) disk."""
    import resource
    import shutil

    from qa.config import parse_store
    from qa.search.milvus import Milvus

    spec = parse_store(store)
    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-milvus-"))
    if spec.kind == "lite":  # a file of its own, beside nothing of the user's
        spec = parse_store(f"milvus:{tmp / 'bench.db'}")
    milvus = Milvus(spec)
    name, n = "qa_bench_scale", len(vectors)
    say(f"scale: {n:,} passages into Milvus ({spec.name}) …")
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    milvus.create(name, vectors.shape[1], "qa bench")
    terms = [f"t{i % 997} t{i % 89}" for i in range(n)]
    milvus.insert(name, np.arange(n), np.zeros(n, dtype=np.int64), terms, vectors)
    build = time.perf_counter() - start
    latencies, hits = [], 0
    for i in range(len(probes)):
        start = time.perf_counter()
        found = milvus.call("searching", milvus.client.search, name, data=[probes[i].tolist()], anns_field="dense",
                            limit=50, output_fields=["key"], search_params={"metric_type": "IP", "params": {"ef": 64}})
        candidates = np.array([int(h["key"]) for h in found[0]], dtype=np.int64)
        top = candidates[np.argsort(-(vectors[candidates] @ probes[i]))[:10]]
        latencies.append((time.perf_counter() - start) * 1000)
        hits += len(set(top.tolist()) & set(exact[i].tolist()))
    latencies.sort()
    disk = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file()) / 2**20
    with_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    milvus.call("dropping a collection", milvus.client.drop_collection, name)
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "store": "Milvus Lite" if spec.kind == "lite" else spec.name,
        "passages": n,
        "build_s": round(build, 1),
        "p50_ms": round(statistics.median(latencies), 3),
        "p95_ms": round(p95(latencies), 3),
        "recall_at_10": round(hits / (10 * len(probes)), 4),
        "peak_rss_growth_mb": round((with_rss - rss_before) / 1024, 1),
        "disk_mb": round(disk, 1) if spec.kind == "lite" else None,
    }


def _lexical_scale(n: int, rng: np.random.Generator, say: Say, queries: int = 200) -> dict[str, Any]:
    """A sparse BM25 index over ``n`` synthetic documents (Zipf-distributed terms)."""
    import bm25s

    from qa.search.lexical import LexicalIndex

    say(f"scale: sparse BM25 over {n:,} synthetic documents …")
    vocabulary = max(1000, n // 5)
    lengths = rng.integers(20, 60, n)
    terms = rng.zipf(1.3, size=int(lengths.sum())) % vocabulary
    documents = [d.tolist() for d in np.split(terms, np.cumsum(lengths)[:-1])]
    vocab = {f"t{i}": i for i in range(vocabulary)}
    start = time.perf_counter()
    bm25 = bm25s.BM25()
    bm25.index((documents, vocab), show_progress=False)
    build = time.perf_counter() - start
    del documents
    with tempfile.TemporaryDirectory() as tmp:
        bm25.save(tmp, show_progress=False)
        del bm25
        start = time.perf_counter()
        lexical = LexicalIndex(Path(tmp))
        load = time.perf_counter() - start
        latencies = []
        for _ in range(queries):
            query = [f"t{int(t)}" for t in rng.zipf(1.3, size=6) % vocabulary]
            start = time.perf_counter()
            scores = lexical.scores(query)
            np.argpartition(-scores, 50)[:50]
            latencies.append((time.perf_counter() - start) * 1000)
        matrix_mb = sum(a.nbytes for a in (lexical.data, lexical.indices, lexical.indptr)) / 2**20
    latencies.sort()
    return {
        "documents": n,
        "vocabulary": vocabulary,
        "build_s": round(build, 1),
        "load_s": round(load, 3),
        "sparse_matrix_mb": round(matrix_mb, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(p95(latencies), 2),
    }
