"""BM25 at query time: scores read straight from the sparse arrays that bm25s saved.

bm25s builds the index (term weights per document, a compressed sparse column matrix) and saves
it as JSON and ``.npy`` files. Scoring a question is then only a sum of the columns of its terms,
so this reader does it with numpy over memory-mapped arrays: no bm25s or scipy import on the
question path, nothing unpickled, and no dense term matrix at any corpus size.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import IndexStoreError

# bm25s methods whose scores need no per-term "non-occurrence" correction
_PLAIN_METHODS = ("lucene", "robertson", "atire")


class LexicalIndex:
    """A saved bm25s index, read-only."""

    def __init__(self, folder: Path) -> None:
        try:
            params = json.loads((folder / "params.index.json").read_text())
            self.vocab: dict[str, int] = json.loads((folder / "vocab.index.json").read_text(encoding="utf-8"))
            self.data = np.load(folder / "data.csc.index.npy", mmap_mode="r", allow_pickle=False)
            self.indices = np.load(folder / "indices.csc.index.npy", mmap_mode="r", allow_pickle=False)
            self.indptr = np.load(folder / "indptr.csc.index.npy", mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise IndexStoreError(
                f"the BM25 index in {folder} cannot be read ({exc}); run `qa index --rebuild`"
            ) from None
        if params.get("method") not in _PLAIN_METHODS:
            raise IndexStoreError(
                f"the BM25 index in {folder} uses method {params.get('method')!r}, which qa does not read"
            )
        self.num_docs = int(params["num_docs"])

    def term_ids(self, terms: list[str]) -> list[int]:
        """Column numbers of the terms that are in the vocabulary (repeats kept, as BM25 counts them)."""
        return [self.vocab[t] for t in terms if t in self.vocab]

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every document for a question's ``terms`` (zeros when none is known)."""
        ids = self.term_ids(terms)
        if not ids:
            return np.zeros(self.num_docs, dtype=np.float32)
        columns = [(int(self.indptr[t]), int(self.indptr[t + 1])) for t in ids]
        docs = np.concatenate([self.indices[a:b] for a, b in columns])
        weights = np.concatenate([self.data[a:b] for a, b in columns])
        return np.bincount(docs, weights=weights, minlength=self.num_docs).astype(np.float32)

    def document_frequency(self, term: str) -> int:
        """In how many documents ``term`` occurs."""
        t = self.vocab.get(term)
        return 0 if t is None else int(self.indptr[t + 1] - self.indptr[t])


def build_bm25(documents: list[list[str]]) -> Any:
    """A sparse BM25 index over tokenised documents."""
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(documents, show_progress=False)
    return bm25


def bm25_document(title: str, passage: str, analyze: Callable[[str], list[str]]) -> list[str]:
    """The terms a passage is indexed under: its title's and its own."""
    return analyze(title) + analyze(passage)
