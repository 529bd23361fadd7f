"""A timeline: the sentences of the top passages that match the question best, in date order."""

from __future__ import annotations

import numpy as np

from qa.answer.answerer import Answerer
from qa.answer.retriever import Retrieval
from qa.models import TimelineEntry
from qa.text import dates

TIMELINE_PASSAGES = 10
"""A timeline looks at this many of the top passages ..."""
TIMELINE_MIN_SIMILARITY = 0.3
TIMELINE_RELATIVE = 0.75
"""... and keeps their best sentences whose similarity to the question is at least 0.3 and at
least this share of the best one's ..."""
TIMELINE_PER_ARTICLE = 2
TIMELINE_ENTRIES = 8
"""... at most two per article and eight in all."""


def timeline(answerer: Answerer, retrieval: Retrieval, cited: list[int]) -> list[TimelineEntry]:
    """The sentences of the top passages that match the question best, in date order: one or
    two per article, wire copies once."""
    data = answerer.index
    top = [int(p) for p in retrieval.order[:TIMELINE_PASSAGES]]
    q = retrieval.query_vector.astype(np.float32)
    scored = []
    for p in top:
        sents = data.sentence_spans(p)
        sims = np.asarray(data.sentence_vectors[sents[0][0] : sents[-1][0] + 1], dtype=np.float32) @ q
        i = int(np.argmax(sims))
        scored.append((float(sims[i]), p, sents[i][1], sents[i][2]))
    if not scored:
        return []
    floor = max(TIMELINE_MIN_SIMILARITY, TIMELINE_RELATIVE * max(s for s, *_ in scored))
    seen: set[str] = set()
    kept: list[int] = []
    per_article: dict[int, int] = {}
    entries = []
    for sim, p, s, e in sorted(scored, key=lambda x: -x[0]):
        article = answerer.article_of(p)
        text = data.text(article)
        key = " ".join(text[s:e].lower().split())
        if (
            sim < floor
            or key in seen
            or per_article.get(article, 0) >= TIMELINE_PER_ARTICLE
            or any(answerer.copies(p, other) for other in kept)
        ):
            continue
        seen.add(key)
        kept.append(p)
        per_article[article] = per_article.get(article, 0) + 1
        meta = data.manifest.articles[article].article
        named = dates.first_date(text, s, e, meta.date)
        when = named or meta.date
        number = next(
            (
                n
                for n, c in enumerate(cited, start=1)
                if answerer.article_of(c) == article and int(data.passages[c, 1]) <= s < int(data.passages[c, 2])
            ),
            None,
        )
        entries.append(
            TimelineEntry(
                text=text[s:e],
                source=meta.source,
                start=s,
                end=e,
                title=meta.title,
                outlet=meta.outlet,
                article_date=meta.date,
                when=when,
                when_from="sentence" if named else ("article" if when else None),
                n=number,
            )
        )
        if len(entries) >= TIMELINE_ENTRIES:
            break
    return sorted(entries, key=lambda t: (t.when is None, t.when or "", t.article_date or "", t.start))
