"""Question -> ranked passages: dense (FAISS over embeddings), lexical (BM25) or hybrid (both fused).

Hybrid scoring is a weighted sum of three signals over the union of both retrievers' candidates,
every candidate scored exactly by all three: the passage's cosine similarity to the question, the
best cosine similarity of one of its sentences (a passage holding one sentence that matches the
question closely beats one that matches it loosely throughout), and its BM25 score scaled by the
question's best BM25 score. Names, figures and other-language words that embeddings blur are
carried by BM25; paraphrases that share no words are carried by the embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qa.config import Retriever as Mode
from qa.search.terms import TermAnalyzer
from qa.store.generations import IndexData
from qa.text import dates, names

# Weights measured on tests/questions.jsonl (qa eval --compare); a broad plateau around them
# (passage 0.75-1.0, sentence 0.5-0.75, lexical 0.2-0.3) gives the same ranking quality.
DENSE_WEIGHT = 1.0
SENTENCE_WEIGHT = 0.6
LEXICAL_WEIGHT = 0.25
FOREIGN_WEIGHT = 0.3
"""BM25 weight of the other-language names of the countries a question names ("Indien" for India):
enough to bring a German paragraph about India into the top passages, too little to outrank an
English passage that matches the question's own words (measured on tests/questions.jsonl: 0.3
lifts the German paragraphs, 0.5 and more start to displace English answers)."""
CANDIDATES = 50
"""How many passages each retriever proposes before fusion."""


@dataclass
class Retrieval:
    """The ranked passages for one question, with everything the answerer reuses."""

    order: np.ndarray
    """Passage numbers, best first (all candidates, not only the top k)."""
    scores: np.ndarray
    """The ranking score of each passage in ``order``."""
    dense: np.ndarray
    """Cosine similarity of the question with each passage in ``order``."""
    lexical: np.ndarray
    """BM25 score of each passage in ``order`` (0 where no term matches)."""
    lexical_max: float
    """The question's best BM25 score over the whole index."""
    best_sentence: np.ndarray
    """Best cosine similarity of one of the passage's sentences, for each passage in ``order``."""
    query_vector: np.ndarray
    """The question's embedding."""
    terms: list[str]
    """The question's BM25 terms."""
    foreign: dict[str, frozenset[str]] = field(default_factory=dict)
    """Terms of the other-language names of the countries the question names, each with the
    question's own terms for that country ("indien" -> {"india"})."""


class PassageRetriever:
    """Ranks an index's passages for a question."""

    def __init__(self, index: IndexData, analyze: TermAnalyzer) -> None:
        self.index = index
        self.analyze = analyze

    def lexical_scores(self, terms: list[str], articles: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every passage for ``terms`` (zeros when none is in the vocabulary; when
        Milvus searches, only its best ``CANDIDATES``, of ``articles`` when given)."""
        if self.index.remote is not None:
            scores = np.zeros(len(self.index.passages), dtype=np.float32)
            for p, v in self.index.remote.lexical(terms, CANDIDATES, articles).items():
                scores[p] = v
            return scores
        bm25 = self.index.bm25
        if bm25 is None:
            return np.zeros(len(self.index.passages), dtype=np.float32)
        return bm25.scores(terms)

    def document_frequency(self, term: str) -> int:
        """In how many passages ``term`` occurs."""
        if self.index.remote is not None:
            return self.index.remote.document_frequency(term)
        return 0 if self.index.bm25 is None else self.index.bm25.document_frequency(term)

    def best_sentence_similarity(self, passages: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        """For each passage, the highest cosine similarity of one of its sentences to the question."""
        bounds = np.asarray(self.index.passages[passages][:, 3:5], dtype=np.int64)
        if len(bounds) == 0:
            return np.zeros(0, dtype=np.float32)
        lo, hi = int(bounds[:, 0].min()), int(bounds[:, 1].max())
        if hi - lo <= 4 * len(bounds) * 8:  # neighbours: one slice is cheaper than many
            sims = np.asarray(self.index.sentence_vectors[lo:hi], dtype=np.float32) @ query_vector
            return np.array([sims[a - lo : b - lo].max() for a, b in bounds], dtype=np.float32)
        return np.array(
            [(np.asarray(self.index.sentence_vectors[a:b], dtype=np.float32) @ query_vector).max() for a, b in bounds],
            dtype=np.float32,
        )

    def dense_candidates(self, query_vector: np.ndarray, want: int, allowed: np.ndarray | None) -> list[int]:
        """The ``want`` passages nearest the question: FAISS's (or Milvus's), or with ``allowed``,
        the allowed passages scored exactly."""
        if allowed is not None:
            keep = np.flatnonzero(allowed)
            sims = np.asarray(self.index.passage_vectors[keep], dtype=np.float32) @ query_vector.astype(np.float32)
            return [int(keep[i]) for i in np.argsort(-sims)[:want]]
        if self.index.remote is not None:
            return [int(i) for i in self.index.remote.dense(query_vector, want)]
        _, ids = self.index.faiss_index.search(query_vector.reshape(1, -1).astype(np.float32), want)
        return [int(i) for i in ids[0] if i >= 0]

    def lexical_all(self, terms: list[str], foreign: dict[str, frozenset[str]],
                    allowed: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
        """The BM25 score of every passage (0 outside ``allowed``), the other-language names of
        the countries the question names counted at ``FOREIGN_WEIGHT``; and those names' terms."""
        articles = None
        if allowed is not None and self.index.remote is not None:
            articles = np.unique(np.asarray(self.index.passages[allowed, 0], dtype=np.int64))
        lexical_all = self.lexical_scores(terms, articles)
        remote = self.index.remote is not None  # Milvus: a name no passage holds simply matches nothing
        extra = [t for t in foreign if t not in terms and (remote or self.document_frequency(t) > 0)]
        if extra:
            lexical_all = lexical_all + FOREIGN_WEIGHT * self.lexical_scores(extra, articles)
        if allowed is not None:
            lexical_all = np.where(allowed, lexical_all, 0.0).astype(np.float32)
        return lexical_all, extra

    def _score_remote(self, lexical_all: np.ndarray, cand: np.ndarray, terms: list[str],
                      extra: list[str]) -> np.ndarray:
        """``lexical_all`` with the exact BM25 score of every candidate that Milvus's best did not hold."""
        remote = self.index.remote
        assert remote is not None
        missing = cand[lexical_all[cand] == 0]
        if not len(missing):
            return lexical_all
        scores = lexical_all.copy()
        for p, v in remote.lexical(terms, len(missing), pids=missing).items():
            scores[p] += v
        if extra:
            for p, v in remote.lexical(extra, len(missing), pids=missing).items():
                scores[p] += FOREIGN_WEIGHT * v
        return scores

    def foreign_terms(self, question: str, terms: list[str]) -> dict[str, frozenset[str]]:
        """The terms of the other-language names of the countries ``question`` names, each with
        the question's terms (among ``terms``) for that country."""
        found: dict[str, set[str]] = {}
        for word, others in names.foreign_names(question).items():
            own = set(self.analyze(word)) & set(terms)
            for t in self.analyze(" ".join(others)):
                found.setdefault(t, set()).update(own)
        return {t: frozenset(own) for t, own in found.items()}

    def search(self, query_vector: np.ndarray, question: str, mode: Mode = "hybrid",
               allowed: np.ndarray | None = None) -> Retrieval:
        """Rank passages for a question whose embedding is ``query_vector``; with ``allowed`` (a
        boolean per passage), only those passages."""
        n = len(self.index.passages)
        terms = self.analyze(question)
        foreign = self.foreign_terms(question, terms)
        if allowed is not None and not allowed.any():
            n = 0
        if n == 0:
            empty = np.zeros(0, dtype=np.float32)
            return Retrieval(np.zeros(0, dtype=np.int64), empty, empty, empty, 0.0, empty, query_vector, terms, foreign)
        want = min(n, CANDIDATES)
        candidates: set[int] = set()
        if mode in ("dense", "hybrid"):
            candidates.update(self.dense_candidates(query_vector, want, allowed))
        lexical_all, extra = self.lexical_all(terms, foreign, allowed)  # every mode reports BM25 scores
        if mode in ("lexical", "hybrid"):
            top = np.argpartition(-lexical_all, want - 1)[:want] if want < n else np.arange(n)
            candidates.update(int(i) for i in top if lexical_all[i] > 0)
            if mode == "lexical" and not candidates:
                candidates.update(int(i) for i in top if allowed is None or allowed[i])
        cand = np.array(sorted(candidates), dtype=np.int64)
        if self.index.remote is not None:  # Milvus gave the best passages' BM25 scores: score the others
            lexical_all = self._score_remote(lexical_all, cand, terms, extra)
        dense = np.asarray(self.index.passage_vectors[cand], dtype=np.float32) @ query_vector.astype(np.float32)
        lexical = lexical_all[cand]
        lexical_max = float(lexical_all.max()) if len(lexical_all) else 0.0
        best_sentence = self.best_sentence_similarity(cand, query_vector)
        score: np.ndarray
        if mode == "dense":
            score = dense
        elif mode == "lexical":
            score = lexical / lexical_max if lexical_max > 0 else lexical
        else:
            scaled = lexical / lexical_max if lexical_max > 0 else np.zeros_like(lexical)
            score = DENSE_WEIGHT * dense + SENTENCE_WEIGHT * best_sentence + LEXICAL_WEIGHT * scaled
        rank = np.lexsort((cand, -score))  # ties broken by passage number, for stable output
        return Retrieval(
            order=cand[rank],
            scores=np.asarray(score, dtype=np.float32)[rank],
            dense=dense[rank],
            lexical=lexical[rank],
            lexical_max=lexical_max,
            best_sentence=best_sentence[rank],
            query_vector=query_vector,
            terms=terms,
            foreign=foreign,
        )


def date_mask(data: IndexData, since: str | None, until: str | None) -> tuple[np.ndarray, int]:
    """Which passages belong to articles dated within the bounds, and how many articles are
    left out for having no date."""
    keep = np.array(
        [a.article.date is not None and dates.within(a.article.date, since, until) for a in data.manifest.articles],
        dtype=bool,
    )
    undated = sum(a.article.date is None for a in data.manifest.articles)
    articles = np.asarray(data.passages[:, 0], dtype=np.int64)
    return keep[articles] if len(articles) else np.zeros(0, dtype=bool), undated
