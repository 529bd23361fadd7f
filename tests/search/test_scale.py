"""The size-based index choice and the benchmark command. No timing is asserted here: `qa bench`
prints the figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.config import load_settings
from qa.evaluation import evaluate
from qa.search import dense as index
from qa.service import QAService
from tests.conftest import ROOT, run_qa


@pytest.fixture(scope="module")
def real_vectors(service: QAService) -> np.ndarray:
    data = service.ensure_index()
    return np.vstack([np.asarray(data.passage_vectors), np.asarray(data.sentence_vectors, dtype=np.float32)])


def near_real(real: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Vectors with the structure of real passage embeddings (uniform random ones would make any
    approximate index look broken)."""
    from qa.evaluation.scale import _synthetic

    return _synthetic(real, n, np.random.default_rng(seed))


def test_small_collections_get_exact_search_and_large_ones_ivf(tmp_path: Path, real_vectors: np.ndarray) -> None:
    small, kind = index.build_faiss(near_real(real_vectors, 1000, 1))
    assert kind == "Flat" and small.ntotal == 1000
    vectors = near_real(real_vectors, index.FLAT_MAX + 5000, 2)
    large, kind = index.build_faiss(vectors)
    assert kind.startswith("IVF") and kind.endswith(",SQ8") and large.ntotal == len(vectors)
    import faiss

    faiss.write_index(large, str(tmp_path / "ivf.faiss"))
    loaded = index.read_faiss(tmp_path / "ivf.faiss", kind)
    assert loaded.nprobe == index.NPROBE
    # candidates from IVF, rescored exactly (as the retriever does), find the exact top 10
    queries = near_real(real_vectors, 50, 3)
    hits = 0
    for q in queries:
        _, ids = loaded.search(q[None, :], 50)
        candidates = ids[0][ids[0] >= 0]
        top = candidates[np.argsort(-(vectors[candidates] @ q))[:10]]
        exact = np.argsort(-(vectors @ q))[:10]
        hits += len(set(top) & set(exact))
    assert hits / (10 * len(queries)) >= 0.95


def test_the_retriever_answers_through_an_ivf_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    qa_env: dict[str, str], service: QAService) -> None:
    monkeypatch.setattr(index, "FLAT_MAX", 10)
    ivf = QAService(load_settings({"index": tmp_path / "ivf"}, env=qa_env))
    report = ivf.index(rebuild=True)
    data = ivf.ensure_index()
    assert data.manifest.index_type.startswith("IVF") and report.passages == data.manifest.passages
    questions = evaluate.load_questions(ROOT / "tests" / "questions.jsonl")
    with_ivf = evaluate.metrics(evaluate.run(ivf, questions, 5, "hybrid"), 5)
    exact = evaluate.metrics(evaluate.run(service, questions, 5, "hybrid"), 5)
    assert with_ivf["article_recall@1"] >= exact["article_recall@1"] - 0.02
    assert with_ivf["sentence_contains_gold"] >= exact["sentence_contains_gold"] - 0.02


def test_bench_prints_and_saves_every_figure(seed_index: Path, qa_env: dict[str, str], tmp_path: Path) -> None:
    env = {**qa_env, "QA_DATA_DIR": str(tmp_path)}
    result = run_qa(["bench", "--index", str(seed_index), "--runs", "1", "--passages", "30000", "--json",
                     "--only", "cold", "--only", "warm", "--only", "scale"], env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    cold = data["cold"]
    assert cold["qa_ask"]["exit_codes"] == [0] and cold["plain_script"]["exit_codes"] == [0]
    assert cold["ratio"] == pytest.approx(cold["qa_ask"]["wall_s"] / cold["plain_script"]["wall_s"], rel=0.01)
    assert data["warm"]["questions"] > 50 and data["warm"]["p50_ms"] <= data["warm"]["p95_ms"]
    dense = data["scale"]["dense"]
    assert dense["passages"] == 30000 and dense["index_type"].startswith("IVF") and 0 <= dense["recall_at_10"] <= 1
    assert data["scale"]["lexical"]["documents"] == 30000
    saved = list((tmp_path / "bench").glob("bench-*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["cold"] == cold
