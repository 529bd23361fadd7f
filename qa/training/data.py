"""Training data for the reader from SQuAD 2.0: its questions as windows, other-paragraph
negatives (a same-article paragraph that shares the question's words, so unanswerable), optional
name-swapped questions, and batches of similar length."""

from __future__ import annotations

import math
import random
import re
from collections import Counter

from qa.evaluation import squad
from qa.neural.reader import features as F

_WORD = re.compile(r"\w+")
_STOP = frozenset("the a an of in on at to for and or is was were are be by with what which who when where "
                  "how why did does do from as that this it its his her their".split())


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def negatives(questions: list[squad.SquadQuestion], paragraphs: list[tuple[str, str]], rng: random.Random,
              per_question: float = 1.0) -> list[tuple[str, int]]:
    """(question, paragraph) pairs where the paragraph, of the same article, does not hold the
    answer: drawn among the three other paragraphs sharing most (IDF-weighted) words with the
    question, as a retriever would rank them; ``per_question`` of them per question on average."""
    by_title: dict[str, list[int]] = {}
    for n, (title, _) in enumerate(paragraphs):
        by_title.setdefault(title, []).append(n)
    para_terms = [_terms(text) for _, text in paragraphs]
    df = Counter(t for terms in para_terms for t in terms)
    idf = {t: math.log(len(paragraphs) / c) for t, c in df.items()}
    out = []
    for q in questions:
        qt = _terms(q.question)
        pool = [n for n in by_title[q.title] if n != q.paragraph
                and not any(a and a in paragraphs[n][1] for a in q.answers)]
        count = draw_negatives_count(per_question, rng)
        if not pool or not count:
            continue
        # summed in a fixed order: a set's order changes from run to run, and so would near-ties
        pool.sort(key=lambda n: -sum(idf.get(t, 0.0) for t in sorted(qt & para_terms[n])))
        for n in rng.sample(pool[:3], min(count, len(pool[:3]))):
            out.append((q.question, n))
    return out


_SWAPPABLE = re.compile(r"\b(?:[A-Z][\w'’.-]*[\w]|\d[\d,.]*\d|\d)\b")


def perturbed(questions: list[squad.SquadQuestion], paragraphs: list[tuple[str, str]],
              rng: random.Random) -> list[tuple[str, int]]:
    """Unanswerable (question, paragraph) pairs made the way SQuAD 2.0's writers made theirs: an
    answerable question whose name or number that its paragraph mentions is swapped for one of
    the same sort that another paragraph of the article mentions and this one never does
    ("When did Beyoncé leave Destiny's Child?" -> "When did Solange leave Destiny's Child?").
    The reader learns that a passage about something else does not answer."""
    by_title: dict[str, list[int]] = {}
    for n, (title, _) in enumerate(paragraphs):
        by_title.setdefault(title, []).append(n)
    words = [_SWAPPABLE.findall(text) for _, text in paragraphs]
    out = []
    for q in questions:
        if not q.answers:
            continue
        text = paragraphs[q.paragraph][1].lower()
        found = [m for m in _SWAPPABLE.finditer(q.question) if m.start() > 0 and m.group(0).lower() in text
                 and m.group(0).lower() not in " ".join(q.answers).lower()]
        if not found:
            continue
        m = rng.choice(found)
        numeric = m.group(0)[0].isdigit()
        pool = sorted({w for n in by_title[q.title] if n != q.paragraph for w in words[n]
                       if w[0].isdigit() == numeric and w.lower() not in text and len(w) > 1})
        if not pool:
            continue
        swapped = q.question[: m.start()] + rng.choice(pool) + q.question[m.end() :]
        out.append((swapped, q.paragraph))
    return out


def training_windows(tok, questions: list[squad.SquadQuestion], paragraphs: list[tuple[str, str]],
                     negs: list[tuple[str, int]]) -> list[tuple[F.Window, int, int]]:
    """Every training window with its (start, end) target positions."""
    out = []
    for q in questions:
        for w in F.windows(tok, q.question, [q.context]):
            if q.answers:
                s = q.starts[0]
                out.append((w, *F.token_targets(w, s, s + len(q.answers[0]))))
            else:
                out.append((w, 0, 0))
    for question, n in negs:
        out.extend((w, 0, 0) for w in F.windows(tok, question, [paragraphs[n][1]]))
    return out


def length_batches(items: list, batch_size: int, rng: random.Random) -> list[list]:
    """Shuffled batches of items of similar length (little padding), in random order."""
    order = list(range(len(items)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for i in range(0, len(order), chunk):
        part = sorted(order[i : i + chunk], key=lambda j: len(items[j][0].ids))
        batches.extend(part[k : k + batch_size] for k in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return [[items[j] for j in b] for b in batches]


def draw_negatives_count(rate: float, rng: random.Random) -> int:
    """How many other-paragraph negatives one question gets: ``rate`` on average (0.3: one for
    three questions in ten, drawn by the seeded generator)."""
    whole = int(rate)
    return whole + (1 if rng.random() < rate - whole else 0)
