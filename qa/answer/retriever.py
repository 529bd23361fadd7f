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

    def lexical_scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every passage for ``terms`` (zeros when none is in the vocabulary)."""
        bm25 = self.index.bm25
        if bm25 is None:
            return np.zeros(len(self.index.passages), dtype=np.float32)
        return bm25.scores(terms)

    def document_frequency(self, term: str) -> int:
        """In how many passages ``term`` occurs."""
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
            if allowed is None:
                _, ids = self.index.faiss_index.search(query_vector.reshape(1, -1).astype(np.float32), want)
                candidates.update(int(i) for i in ids[0] if i >= 0)
            else:  # only some articles: score the allowed passages exactly
                keep = np.flatnonzero(allowed)
                sims = np.asarray(self.index.passage_vectors[keep], dtype=np.float32) @ query_vector.astype(np.float32)
                top = np.argsort(-sims)[:want]
                candidates.update(int(keep[i]) for i in top)
        lexical_all = self.lexical_scores(terms)  # every mode reports BM25 scores
        extra = [t for t in foreign if t not in terms and self.document_frequency(t) > 0]
        if extra:
            lexical_all = lexical_all + FOREIGN_WEIGHT * self.lexical_scores(extra)
        if allowed is not None:
            lexical_all = np.where(allowed, lexical_all, 0.0).astype(np.float32)
        if mode in ("lexical", "hybrid"):
            top = np.argpartition(-lexical_all, want - 1)[:want] if want < n else np.arange(n)
            candidates.update(int(i) for i in top if lexical_all[i] > 0)
            if mode == "lexical" and not candidates:
                candidates.update(int(i) for i in top if allowed is None or allowed[i])
        cand = np.array(sorted(candidates), dtype=np.int64)
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
