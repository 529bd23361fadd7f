"""What an answer cites: the top passages with wire copies folded together, each as a citation
with its article's title, outlet, date, URL and offsets, and the other articles' answers."""

from __future__ import annotations

from qa.answer.answerer import Answerer, Candidate
from qa.models import Alternative, Citation, Span
from qa.store.generations import IndexData

COPY_LOOKAHEAD = 10
"""How far past the cited passages to look for wire copies of them."""


def cited(
    answerer: Answerer, ranking: list[int], k: int, must: list[int]
) -> tuple[list[int], dict[int, list[int]]]:
    """The first ``k`` passages of ``ranking`` with wire copies folded into the first of
    them (passage -> its copies), keeping every passage of ``must``."""
    order: list[int] = []
    copies: dict[int, list[int]] = {}
    for p in ranking[: k + COPY_LOOKAHEAD]:
        original = next((q for q in order if answerer.copies(q, p)), None)
        if original is not None and p not in must:
            copies.setdefault(original, []).append(p)
        elif original is not None and original not in must:
            # the copy that is shown as an answer is the one cited; the other folds into it
            order[order.index(original)] = p
            copies[p] = [*copies.pop(original, []), original]
        elif len(order) < k or p in must:
            order.append(p)
    return order, copies


def citation(data: IndexData, n: int, p: int, score: float, also_in: list[str] | None = None) -> Citation:
    passage = data.passage(p)
    article = data.manifest.articles[int(data.passages[p, 0])].article
    return Citation(
        n=n,
        source=passage.source,
        title=article.title,
        date=article.date,
        outlet=article.outlet,
        url=article.url,
        text_of=article.text_of,
        passage_id=passage.id,
        start=passage.start,
        end=passage.end,
        text=passage.text,
        score=round(score, 4),
        also_in=sorted(set(also_in or [])),
    )


def alternative(answerer: Answerer, c: Candidate, agrees: bool) -> Alternative:
    data = answerer.index
    article = data.manifest.articles[c.article].article
    text = data.text(c.article)
    return Alternative(
        text=text[c.start : c.end],
        source=article.source,
        start=c.start,
        end=c.end,
        sentence=Span(text=text[c.sentence_start : c.sentence_end], start=c.sentence_start, end=c.sentence_end),
        agrees=agrees,
        title=article.title,
        date=article.date,
        outlet=article.outlet,
        confidence=round(c.confidence, 4),
        resolved_dates=answerer.resolved_dates(c),
    )
