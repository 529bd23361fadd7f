"""Ranked passages -> an answer copied verbatim from an article, or an abstention.

1. Every sentence of the top passages is scored by its similarity to the question (alone and with
   its neighbours), its passage's retrieval score, how much of the question's IDF-weighted terms it
   and its neighbours cover, and whether it holds an answer of the kind asked for.
2. In the best sentence, the span of the asked kind (a date for "when", an amount for "how much",
   a name for "who", ...) nearest to the question's words is the short answer; when no span can
   be picked with confidence, the sentence itself is the answer.
3. The confidence combines the same evidence; below the configured threshold, the answerer
   abstains. A sentence that lacks what the question names, or lacks an answer of the asked kind,
   gets a low confidence, so that "How many troops ...?" is not answered by a sentence about troops
   that gives no number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from qa import names, spans
from qa.index import IndexData, TermAnalyzer
from qa.models import Answer, Span
from qa.retriever import PassageRetriever, Retrieval

PASSAGES_READ = 12
"""How many of the top passages the answerer reads."""

# Sentence score weights (tuned on tests/questions.jsonl with `qa eval`; see the README).
W_SIMILARITY = 1.0
W_CONTEXT_SIMILARITY = 0.25
W_PASSAGE = 0.25
W_LEXICAL = 0.15
W_COVERAGE = 0.6
W_CONTEXT_COVERAGE = 0.2
W_KIND = 0.4
W_INTRODUCED = 0.1
W_NAMES_MISSING = 0.3

# Confidence model (logistic; see Answerer.confidence).
C_SIMILARITY = 3.0
C_GAIN = 5.0
C_COVERAGE = 2.0
C_KIND_MISSING = -6.0
"""Decisive: no answerable question of the set was answered by a sentence without the asked kind."""
C_NAME_MISSING = -1.0
C_NAME_ABSENT = -4.0
"""A name the question mentions that none of the passages read mentions ("the next G7 summit"):
retrieval surfaces a rare name wherever the articles have it, so they do not speak of it."""
C_BIAS = -1.4
TOPICAL = (0.20, 0.32)
"""Confidence fades to 0 as the best similarity of any sentence to the question falls from 0.32 to
0.20: nothing in the articles is about the question (off-topic questions measured 0.11-0.30,
answerable ones 0.31 and up). Not applied when the sentence holds at least TOPICAL_WORDS of the
question's weighted terms: "Who is Sheila Smith?" is similar to nothing, but its words match."""
TOPICAL_WORDS = 0.8


@dataclass
class SentenceScore:
    """One candidate sentence and what was measured about it."""

    number: int
    article: int
    passage: int
    start: int
    end: int
    passage_rank: int
    similarity: float
    context_similarity: float
    passage_score: float
    lexical: float
    coverage: float
    context_coverage: float
    kind_found: bool | None
    """Whether it holds a span of the asked kind; None when the question asks for no particular kind."""
    nameless: bool = False
    """Whether a question asking for a place or an organisation meets a sentence naming nothing at all."""
    names_missing: bool = False
    """Whether a name the question mentions is absent from the sentence, the two before it, the one
    after it and the title."""
    introduced: int = 0
    """How well the question's words introduce its best name ("Japanese Prime Minister ..."), 0-3."""
    span: tuple[int, int, str] | None = None
    score: float = 0.0


@dataclass
class Decision:
    """What the answerer concluded."""

    answer: Answer | None
    """The answer, or None to abstain."""
    passage: int | None
    """The passage number the answer (or the best sentence) comes from."""
    confidence: float
    """Confidence of the best answer, even when it was withheld."""
    reason: str | None = None
    """Why the answerer abstained, or what limited its confidence."""
    sentences: list[SentenceScore] = field(default_factory=list)
    """The scored candidate sentences, best first (for explanations)."""
    ranking: list[int] = field(default_factory=list)
    """Passage numbers, best first: the passages read, ordered by their best sentence, then the rest
    in retrieval order. The answer's passage leads when there is an answer."""


_WORD = re.compile(r"\w+")
_REFERS_BACK = re.compile(
    r"\s*[“\"‘']?(?:The|This|These|That|Those|It|Its|They|Their|He|She|His|Her|Such|Both)\b"
    # an opening phrase pointing back: "During this meeting, he ...", "Despite these concerns, ..."
    r"|\s*[A-Z][^,.;]{0,40}\b(?:this|these|that|those|such)\b[^,.;]{0,30},"
)


class _Bounded(dict):
    """A cache that forgets everything once it holds 200,000 entries (cheap, and rare)."""

    LIMIT = 200_000

    def __setitem__(self, key: object, value: object) -> None:
        if len(self) >= self.LIMIT:
            self.clear()
        super().__setitem__(key, value)


class Answerer:
    """Extracts answers from an index's sentences."""

    def __init__(self, index: IndexData, retriever: PassageRetriever, analyze: TermAnalyzer) -> None:
        self.index = index
        self.retriever = retriever
        self.analyze = analyze
        self._n = max(1, len(index.passages))
        # per-sentence results that do not depend on the question, bounded for long sessions
        self._sentence_terms: dict[int, frozenset[str]] = _Bounded()
        self._sentence_mentions: dict[int, names.Mentions] = _Bounded()
        self._title_mentions: dict[int, names.Mentions] = _Bounded()
        self._candidates: dict[tuple[int, int, int, str], list[spans.Candidate]] = _Bounded()
        self._word_terms: dict[tuple[int, int], list[tuple[int, str]]] = _Bounded()
        self._near: dict[tuple[int, int, int], names.Mentions] = _Bounded()
        self._opens_back: dict[int, bool] = _Bounded()

    # ------------------------------------------------------------------ term weights

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term over passages (BM25's formula)."""
        df = self.retriever.document_frequency(term)
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def coverage(self, weights: dict[str, float], present: frozenset[str] | set[str]) -> float:
        """IDF-weighted share of the question's terms among the terms ``present``."""
        if not weights:
            return 0.0
        return sum(w for t, w in weights.items() if t in present) / sum(weights.values())

    def mentions_near(self, number: int, lo: int, hi: int) -> names.Mentions:
        """Mention data of sentence ``number``, the two sentences before it and the one after (within
        [lo, hi)) and its article's title: "his government" names Ishiba two sentences earlier."""
        key = (number, max(lo, number - 2), min(hi, number + 2))
        cached = self._near.get(key)
        if cached is None:
            cached = self._near[key] = self._mentions_near(number, lo, hi)
        return cached

    def _mentions_near(self, number: int, lo: int, hi: int) -> names.Mentions:
        found = None
        for n in (number - 2, number - 1, number, number + 1):
            if lo <= n < hi:
                m = self._sentence_mentions.get(n)
                if m is None:
                    m = self._sentence_mentions[n] = names.Mentions.of(self.index.sentence_text(n))
                found = m if found is None else found | m
        article = int(self.index.sentences[number, 0])
        title = self._title_mentions.get(article)
        if title is None:
            title = self._title_mentions[article] = names.Mentions.of(self.index.manifest.articles[article].article.title)
        return title if found is None else found | title

    def _refers_back(self, number: int) -> bool:
        """Whether sentence ``number`` opens with a word that refers to what came before ("The",
        "This", "They", "Her", ...)."""
        cached = self._opens_back.get(number)
        if cached is None:
            cached = self._opens_back[number] = bool(_REFERS_BACK.match(self.index.sentence_text(number)))
        return cached

    @staticmethod
    def _nameless(text: str, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` names nothing: no capitalised word but its first."""
        return not any(s > start or e - s > len(text[s:e].split()[0]) for s, e in spans.names_in(text, start, end))

    def sentence_terms(self, number: int) -> frozenset[str]:
        """The terms of sentence ``number`` (analysed once per index)."""
        terms = self._sentence_terms.get(number)
        if terms is None:
            terms = self._sentence_terms[number] = frozenset(self.analyze(self.index.sentence_text(number)))
        return terms

    # ------------------------------------------------------------------ main

    def answer(
        self, question: str, retrieval: Retrieval, threshold: float, names_vector: np.ndarray | None = None
    ) -> Decision:
        """Pick the answer to ``question`` from the retrieved passages; ``names_vector`` is the
        embedding of the names the question mentions (see ``names.question_names``)."""
        if len(retrieval.order) == 0:
            return Decision(None, None, 0.0, "the index holds no passages")
        spec = spans.analyze(question)
        weights = {t: self.idf(t) for t in dict.fromkeys(retrieval.terms)}
        scored = self.score_sentences(question, spec, retrieval, weights)
        ranking = self.rerank(retrieval, scored)
        if not scored:
            return Decision(None, int(retrieval.order[0]), 0.0, "no sentence to answer from", [], ranking)
        best = scored[0]
        names_similarity = 0.0
        # "Who is Sheila Smith?" is all name: similarity beyond the names means nothing there
        if names_vector is not None and spec.kind != spans.DESCRIPTION:
            names_similarity = float(np.asarray(self.index.sentence_vectors[best.number], dtype=np.float32) @ names_vector)
        missing = self.missing_names(question, best)
        absent = self.absent_names(question, retrieval)
        confidence = self.confidence(best, names_similarity, spec.hard, len(missing), len(absent))
        if max(best.coverage, best.context_coverage) < TOPICAL_WORDS:
            # neither the meaning nor the words of any sentence are close to the question
            topical = float(retrieval.best_sentence.max()) if len(retrieval.best_sentence) else 0.0
            confidence *= _ramp(topical, *TOPICAL)
        text = self.index.text(best.article)
        s, e, kind = best.span if best.span and spec.kind != spans.REASON else (best.start, best.end, "sentence")
        article = self.index.manifest.articles[best.article].article
        answer = Answer(
            text=text[s:e],
            source=article.source,
            start=s,
            end=e,
            confidence=round(confidence, 4),
            sentence=Span(text=text[best.start : best.end], start=best.start, end=best.end),
            kind=kind,
        )
        if confidence < threshold:
            reason = self.doubt(best, spec, names_similarity, missing, absent)
            return Decision(None, best.passage, confidence, reason, scored, ranking)
        return Decision(answer, best.passage, confidence, None, scored, ranking)

    def rerank(self, retrieval: Retrieval, scored: list[SentenceScore]) -> list[int]:
        """The passages read, best sentence first, then the rest of the retrieval order."""
        by_sentence = {s.number: s.score for s in scored}
        read = [int(p) for p in retrieval.order[:PASSAGES_READ]]

        def best(p: int) -> float:
            first, last = int(self.index.passages[p, 3]), int(self.index.passages[p, 4])
            return max((by_sentence[n] for n in range(first, last) if n in by_sentence), default=float("-inf"))

        # a stable sort keeps retrieval order between passages whose best sentence is shared
        reranked = sorted(read, key=best, reverse=True)
        return reranked + [int(p) for p in retrieval.order[PASSAGES_READ:]]

    # ------------------------------------------------------------------ sentences

    def score_sentences(
        self, question: str, spec: spans.Spec, retrieval: Retrieval, weights: dict[str, float]
    ) -> list[SentenceScore]:
        """Every sentence of the top passages, scored, best first."""
        index = self.index
        q = retrieval.query_vector.astype(np.float32)
        q_terms = set(weights)
        # "Indien" in a German sentence stands for the question's "India"
        foreign = retrieval.foreign

        def read(terms: frozenset[str]) -> frozenset[str]:
            return terms.union(*(foreign[t] for t in terms if t in foreign)) if foreign else terms

        asked = names.question_names(question)
        top = float(retrieval.scores[0]) or 1.0
        seen: dict[int, SentenceScore] = {}
        for rank in range(min(PASSAGES_READ, len(retrieval.order))):
            p = int(retrieval.order[rank])
            article = int(index.passages[p, 0])
            text = index.text(article)
            sents = index.sentence_spans(p)
            first, last = sents[0][0], sents[-1][0] + 1
            # neighbours come from the whole article, not only this passage
            lo = first - 1 if first > 0 and int(index.sentences[first - 1, 0]) == article else first
            hi = last + 1 if last < len(index.sentences) and int(index.sentences[last, 0]) == article else last
            vectors = np.asarray(index.sentence_vectors[lo:hi], dtype=np.float32)
            sims = vectors @ q
            lexical = float(retrieval.lexical[rank]) / retrieval.lexical_max if retrieval.lexical_max > 0 else 0.0
            for number, start, end in sents:
                if number in seen:
                    continue
                i = number - lo
                window = vectors[max(0, i - 1) : i + 2].sum(axis=0)
                ctx_sim = float(window @ q / (np.linalg.norm(window) or 1.0))
                own = read(self.sentence_terms(number))
                context = own.union(*(read(self.sentence_terms(n)) for n in (number - 1, number + 1) if lo <= n < hi))
                # "The measure recognizes Japan as ..." after "senators introduced a resolution ...":
                # a sentence that opens by referring back covers what the sentence before it names
                covered = own | read(self.sentence_terms(number - 1)) if number - 1 >= lo and self._refers_back(number) else own
                found = self.spans(text, start, end, spec, question, q_terms, article)
                near = self.mentions_near(number, lo, hi) if asked else None
                names_missing = near is not None and any(not near.mentions(n) for n in asked)
                seen[number] = SentenceScore(
                    number=number, article=article, passage=p, start=start, end=end, passage_rank=rank,
                    similarity=float(sims[i]), context_similarity=ctx_sim,
                    passage_score=float(retrieval.scores[rank]) / top, lexical=lexical,
                    coverage=self.coverage(weights, covered),
                    context_coverage=self.coverage(weights, context),
                    kind_found=bool(found) if spec.kind not in (spans.OTHER, spans.YESNO) else None,
                    nameless=spec.kind in (spans.PLACE, spans.ORG) and not found and self._nameless(text, start, end),
                    names_missing=names_missing,
                    span=(found[0].start, found[0].end, found[0].kind) if found else None,
                    introduced=max(0, min(3, self.fit(text, start, found[0], spec, q_terms)))
                    if found and spec.kind in (spans.PERSON, spans.PLACE, spans.ORG) else 0,
                )
        for s in seen.values():
            kind = (W_KIND if s.kind_found else -W_KIND) if spec.hard else -W_KIND if s.nameless else 0.0
            s.score = (
                W_SIMILARITY * s.similarity + W_CONTEXT_SIMILARITY * s.context_similarity
                + W_PASSAGE * s.passage_score + W_LEXICAL * s.lexical
                + W_COVERAGE * s.coverage + W_CONTEXT_COVERAGE * s.context_coverage + kind
                + W_INTRODUCED * s.introduced
                - (W_NAMES_MISSING if s.names_missing else 0.0)
            )
        return sorted(seen.values(), key=lambda s: (-s.score, s.number))

    # ------------------------------------------------------------------ spans

    def spans(
        self, text: str, lo: int, hi: int, spec: spans.Spec, question: str, q_terms: set[str], article: int
    ) -> list[spans.Candidate]:
        """Candidate answers in the sentence ``text[lo:hi]``: of the asked kind, passing its narrower
        test, without what the question itself says; nearest to the question's words first."""
        kind = spec.kind
        if kind in (spans.OTHER, spans.YESNO):
            return []
        if kind == spans.DESCRIPTION:
            name = " ".join(w for w in re.findall(r"[\w.’'-]+", question)[2:] if w[:1].isupper())
            found = spans.describe(text, lo, hi, name)
            return [found] if found else []
        found = [c for c in self._cached_candidates(article, text, lo, hi, kind) if spec.accepts(text, c, lo, hi)]
        if kind == spans.NUMBER:
            dates = self._cached_candidates(article, text, lo, hi, spans.DATE)
            found = [c for c in found if not any(d.start < c.end and c.start < d.end for d in dates)]

        def known(word: str) -> bool:
            term = self.analyze.term(word)
            return term is not None and term in q_terms

        # the asked noun is part of the answer's name ("International Christian University")
        focus_terms = self._focus_terms(spec)

        def trimmable(word: str) -> bool:
            return known(word) and self.analyze.term(word) not in focus_terms

        kept = []
        for c in found:
            t = spans.trim_known(text, c, trimmable) if kind in (spans.PERSON, spans.PLACE, spans.ORG) else c
            if t is None or _mostly_in(self.analyze(text[t.start : t.end]), q_terms):
                continue
            if kind == spans.PERSON and t != c:
                continue  # the question's own person ("Sanae Takaichi" asked about Takaichi), not the answer
            if kind == spans.PERSON and self._other_country(text, lo, t, spec):
                continue  # "Japan's Defense Minister X" does not answer "China's defence minister"
            if kind == spans.PERSON and any(names.is_country(part) for part in re.split(r"[-–\s]+and\s+|[-–]", text[t.start : t.end])):
                continue  # "United States", "Japan-South Korea" are not people
            kept.append(t)
        anchors = [pos for pos, term in self._words(article, text, lo, hi) if term in q_terms]
        if anchors:
            kept.sort(key=lambda c: min(abs(c.start - a) for a in anchors))
        if kind in (spans.PERSON, spans.PLACE, spans.ORG):
            # a name introduced by the question's own words comes first: "Which Italian leader ...?"
            # -> "Italian Prime Minister Giorgia Meloni", not another leader in the same sentence
            kept.sort(key=lambda c: self.fit(text, lo, c, spec, q_terms), reverse=True)
        return kept

    def _words(self, article: int, text: str, lo: int, hi: int) -> list[tuple[int, str]]:
        """(offset, term) of every word of a sentence that has a term, remembered per sentence."""
        key = (article, lo)
        found = self._word_terms.get(key)
        if found is None:
            terms = ((m.start(), self.analyze.term(m.group(0))) for m in _WORD.finditer(text, lo, hi))
            found = self._word_terms[key] = [(pos, term) for pos, term in terms if term is not None]
        return found

    def _cached_candidates(self, article: int, text: str, lo: int, hi: int, kind: str) -> list[spans.Candidate]:
        """``spans.candidates``, remembered per sentence and kind (they do not depend on the question)."""
        key = (article, lo, hi, kind)
        found = self._candidates.get(key)
        if found is None:
            found = self._candidates[key] = spans.candidates(text, lo, hi, kind)
        return found

    def _focus_terms(self, spec: spans.Spec) -> set[str]:
        """The terms of the words the question asks for ("Which Chinese *leaders*")."""
        return {t for w in spec.focus if (t := self.analyze.term(w))}

    @staticmethod
    def _other_country(text: str, lo: int, cand: spans.Candidate, spec: spans.Spec) -> bool:
        """Whether a person is introduced as someone of another country than the asked one."""
        asked = _countries(spec.focus)
        if not asked:
            return False
        intro = tuple(spans.introduction(text, lo, cand.start))
        theirs = _countries(intro)
        return bool(theirs) and not any(names.same_country(t, a) for t in theirs for a in asked)

    def fit(self, text: str, lo: int, cand: spans.Candidate, spec: spans.Spec, q_terms: set[str]) -> int:
        """How well a name fits what the question asks for. The words introducing it ("Chinese
        Foreign Minister Wang Yi") count when the question uses them, twice when its asking phrase
        does ("Which Chinese leaders"); a country other than the asked one counts against; an
        organisation or place whose head noun is the asked noun fits best ("... Party of Japan"
        for "Which opposition party")."""
        focus_terms = self._focus_terms(spec)
        focus_countries = _countries(spec.focus)
        score = 0
        for word in spans.introduction(text, lo, cand.start):
            if names.is_country(word):
                if focus_countries:
                    score += 2 if any(names.same_country(word, c) for c in focus_countries) else -2
                continue
            term = self.analyze.term(word)
            if term in focus_terms:
                score += 2
            elif term in q_terms:
                score += 1
        if cand.kind in (spans.ORG, spans.PLACE) and spec.focus:
            noun = self.analyze.term(spec.focus[-1])
            words = text[cand.start : cand.end].split(" of ")[0].split()
            if words and self.analyze.term(words[-1]) == noun:
                score += 3
            elif any(self.analyze.term(w) == noun for w in text[cand.start : cand.end].split()):
                score += 1
        return score

    # ------------------------------------------------------------------ confidence

    def missing_names(self, question: str, best: SentenceScore) -> list[str]:
        """Names the question mentions that neither the best sentence's passage nor its article's
        title mentions."""
        p = best.passage
        # the passage and the one before it in the same article: "Her remarks ..." names her earlier
        first = p - 1 if p > 0 and int(self.index.passages[p - 1, 0]) == best.article else p
        text = self.index.text(best.article)[int(self.index.passages[first, 1]) : int(self.index.passages[p, 2])]
        title = self.index.manifest.articles[best.article].article.title
        present = names.Mentions.of(f"{title}\n{text}")
        return [n for n in names.question_names(question) if not present.mentions(n)]

    def absent_names(self, question: str, retrieval: Retrieval) -> list[str]:
        """Names the question mentions that no passage read (nor its article's title) mentions."""
        asked = names.question_names(question)
        if not asked:
            return []
        found = None
        for p in retrieval.order[:PASSAGES_READ]:
            first, last = int(self.index.passages[p, 3]), int(self.index.passages[p, 4])
            for n in range(first, last):
                m = self.mentions_near(n, n, n + 1)  # the sentence and its article's title, cached
                found = m if found is None else found | m
        return [n for n in asked if found is None or not found.mentions(n)]

    def confidence(
        self, best: SentenceScore, names_similarity: float, hard: bool, missing_names: int = 0, absent_names: int = 0
    ) -> float:
        """How sure the answerer is that the best sentence answers, between 0 and 1.

        A logistic model of six pieces of evidence, fitted on tests/questions.jsonl and rounded:
        the sentence's similarity to the question; how much of that similarity is *not* explained
        by the names the question mentions (a sentence about Shinzo Abe is similar to "When did
        Shinzo Abe die?" without saying anything about his death); the share of the question's
        weighted terms found in the sentence and its neighbours; whether an answer of the asked
        kind is missing; whether a name the question mentions is missing from the passage (and
        the one before it); and whether no passage read mentions it at all.
        """
        gain = best.similarity - names_similarity
        z = (
            C_SIMILARITY * best.similarity
            + C_GAIN * gain
            + C_COVERAGE * max(best.coverage, best.context_coverage)
            + (C_KIND_MISSING if (best.kind_found is False and hard) or best.nameless else 0.0)
            + C_NAME_MISSING * min(missing_names, 1)
            + C_NAME_ABSENT * min(absent_names, 1)
            + C_BIAS
        )
        return 1.0 / (1.0 + math.exp(-z))

    def doubt(
        self, best: SentenceScore, spec: spans.Spec, names_similarity: float, missing: list[str], absent: list[str]
    ) -> str:
        """Why the best sentence was not good enough, in a few words."""
        if absent:
            return f"no passage found mentions {_bare(absent[0])}"
        if (best.kind_found is False and spec.hard) or best.nameless:
            return f"the closest sentence gives no {spec.kind}"
        if missing:
            return f"the closest passage does not mention {_bare(missing[0])}"
        if best.similarity < TOPICAL[1] and max(best.coverage, best.context_coverage) < 0.3:
            return "nothing in the articles is close to the question"
        if best.similarity - names_similarity < 0.1:
            return "the closest sentences mention the same names but not what the question asks about them"
        return "no sentence answers it confidently"


def _countries(words: tuple[str, ...]) -> list[str]:
    """The countries named among ``words``, single words and pairs ("South Korean")."""
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:])]
    found = [p for p in pairs if names.is_country(p)]
    covered = {w for p in found for w in p.split()}
    return found + [w for w in words if w not in covered and names.is_country(w)]


def _bare(name: str) -> str:
    """A name without its possessive ending ("Takaichi's" -> "Takaichi")."""
    return re.sub(r"[’']s$", "", name)


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 below ``lo``, 1 above ``hi``, linear between."""
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def _mostly_in(terms: list[str], q_terms: set[str]) -> bool:
    return bool(terms) and sum(t in q_terms for t in terms) / len(terms) > 0.5
