"""The embedder: offline model, ONNX equal to sentence-transformers, bf16 indexing close to float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.corpus import ingest
from qa.corpus import passages as chunking
from qa.neural.embedder import Embedder, OnnxEncoder, TorchEncoder, onnx_path
from qa.neural.onnx import model_dir
from tests.conftest import SEEDS


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Every seed passage as embedded (title + passage), and questions."""
    from qa.neural.embedder import TokenCounter

    count = TokenCounter()
    out = ["When does the accord expire?", "Wer traf Trump in Tokio?", "ok"]
    for file in ingest.discover(SEEDS).files:
        data, st = ingest.read_file(file)
        (loaded,), _ = ingest.load_articles(file, data, st)
        pieces = chunking.chunk(loaded.text, loaded.article.kept, loaded.article.title, count,
                                max_tokens=256, passage_tokens=160, overlap_sentences=1)
        out += [chunking.embedding_text(loaded.article.title, loaded.text[s:e]) for s, e, _, _ in pieces.passages]
    return out


@pytest.fixture(scope="module")
def reference(texts: list[str]) -> np.ndarray:
    """Plain sentence-transformers, float32: the model as published."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir()), device="cpu")
    assert model.max_seq_length == 256
    return model.encode(texts, batch_size=32, normalize_embeddings=True)


def test_model_loads_from_the_installed_package_offline() -> None:
    path = model_dir()
    assert (path / "model.safetensors").is_file()
    assert "site-packages" in str(path) or "dist-packages" in str(path)


def test_onnx_embeddings_equal_sentence_transformers(texts: list[str], reference: np.ndarray, cache_dir: Path) -> None:
    embedder = Embedder(cache_dir)
    embedder.warm()
    onnx = OnnxEncoder(onnx_path(cache_dir)).encode(texts)
    cosine = (onnx * reference).sum(axis=1)
    assert cosine.min() >= 0.99999
    # batching and padding do not change a vector
    single = np.vstack([embedder.encode_queries([t]) for t in texts[:8]])
    assert (single * reference[:8]).sum(axis=1).min() >= 0.99999


def test_bf16_indexing_stays_close_to_float32(texts: list[str], reference: np.ndarray) -> None:
    encoder = TorchEncoder(bf16=True)  # what CPUs with AMX index with (slower, but the same, elsewhere)
    vectors = encoder.encode(texts)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.min() >= 0.9999
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("damage", ["graph", "weights"])
def test_damaged_onnx_file_in_the_cache_is_exported_again(tmp_path: Path, damage: str) -> None:
    embedder = Embedder(tmp_path)
    embedder.warm()
    path = onnx_path(tmp_path)
    weights = path.with_name(path.name + ".data")
    assert weights.stat().st_size > 50_000_000  # the weights sit beside the graph, memory-mapped on load
    target = path if damage == "graph" else weights
    target.write_bytes(b"garbage" * 100)
    fresh = Embedder(tmp_path)
    vector = fresh.encode_queries(["When does the accord expire?"])
    assert vector.shape == (1, 384) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert weights.stat().st_size > 50_000_000 and path.stat().st_size > 10_000
