"""Resuming an interrupted indexing run: each embedded batch of articles is kept in ``.pending/``
until a generation holding it is current, so a killed run does not embed it again."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from qa.models import Article, IndexSettings
from qa.store.generations import ArticleParts
from qa.store.lock import write_failure

PENDING = ".pending"
"""Folder of the batches an unfinished indexing run has embedded; the next run takes them up."""


def save_pending(root: Path, settings: IndexSettings, parts: list[ArticleParts], encoder: str) -> None:
    """Keep one embedded batch of articles, so that an interrupted run does not embed them again.
    Written to a temporary name and renamed: a batch file is whole or absent."""
    folder = root / PENDING
    folder.mkdir(parents=True, exist_ok=True)
    blobs = [p.text.encode("utf-8") for p in parts]
    meta = {"settings": settings.model_dump(mode="json"), "encoder": encoder,
            "articles": [p.article.model_dump(mode="json") for p in parts]}
    dim = settings.dim
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        "texts": np.frombuffer(b"".join(blobs), dtype=np.uint8),
        "text_offsets": np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64),
        "counts": np.array([[len(p.sentences), len(p.passages)] for p in parts], dtype=np.int64).reshape(-1, 2),
        "sentences": np.concatenate([p.sentences.reshape(-1, 2) for p in parts]).astype(np.int64),
        "passages": np.concatenate([p.passages.reshape(-1, 4) for p in parts]).astype(np.int64),
        "passage_vectors": np.concatenate([p.passage_vectors.reshape(-1, dim) for p in parts]).astype(np.float32),
        "sentence_vectors": np.concatenate([p.sentence_vectors.reshape(-1, dim) for p in parts]).astype(np.float16),
    }
    name = f"batch-{time.time_ns()}-{os.getpid()}.npz"
    tmp = folder / f".{name}.tmp"
    try:
        with tmp.open("wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_failure(root, exc) from None


def load_pending(root: Path, settings: IndexSettings) -> tuple[dict[tuple[str, str], ArticleParts], str | None]:
    """The articles embedded by an unfinished run with the same settings, by (source, content
    hash), and the encoder that embedded them. A batch that cannot be read whole is dropped."""
    found: dict[tuple[str, str], ArticleParts] = {}
    encoder = None
    folder = root / PENDING
    if not folder.is_dir():
        return found, None
    wanted = settings.model_dump(mode="json")
    for path in sorted(folder.glob("batch-*.npz")):
        try:
            with path.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"]).decode("utf-8"))
                if meta.get("settings") != wanted:
                    raise ValueError("other settings")
                texts, offsets, counts = bytes(z["texts"]), z["text_offsets"], z["counts"]
                sentences, passages = z["sentences"], z["passages"]
                pvec, svec = z["passage_vectors"], z["sentence_vectors"]
                articles = [Article.model_validate(a) for a in meta["articles"]]
                n_sent, n_pass = int(counts[:, 0].sum()), int(counts[:, 1].sum())
                if len(articles) != len(counts) or len(offsets) != len(articles) + 1 \
                        or not n_sent == len(sentences) == len(svec) or not n_pass == len(passages) == len(pvec):
                    raise ValueError("inconsistent batch")
                s_at = p_at = 0
                for i, article in enumerate(articles):
                    n_s, n_p = (int(x) for x in counts[i])
                    text = texts[int(offsets[i]) : int(offsets[i + 1])].decode("utf-8")
                    found[(article.source, article.sha256)] = ArticleParts(
                        article=article, text=text, sentences=np.array(sentences[s_at : s_at + n_s]),
                        passages=np.array(passages[p_at : p_at + n_p]),
                        passage_vectors=np.array(pvec[p_at : p_at + n_p]),
                        sentence_vectors=np.array(svec[s_at : s_at + n_s]),
                    )
                    s_at += n_s
                    p_at += n_p
                encoder = meta.get("encoder") or encoder
        except Exception:  # a damaged or foreign batch is embedded again, never trusted
            path.unlink(missing_ok=True)
    return found, encoder


def clear_pending(root: Path) -> None:
    """Drop the kept batches once a generation holding them is current."""
    shutil.rmtree(root / PENDING, ignore_errors=True)
