"""Synthetic news folders for the indexing benchmarks: saved web pages (with menus, banners and
related links to strip) and text files, written from the seed articles' sentences."""

from __future__ import annotations

import datetime as _dt
import html
import json
from pathlib import Path

import numpy as np

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} | {outlet}</title>
<meta property="og:site_name" content="{outlet}"><meta property="article:published_time" content="{date}T07:30:00Z">
<link rel="canonical" href="{url}"></head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li>
<li><a href="/business">Business</a></li>
<li><a href="/opinion">Opinion</a></li></ul></nav></header>
<div class="cookie-banner"><p>We use cookies to give you the best experience on our website.</p>
<button>Accept all</button></div>
<main><article><h1>{title}</h1><p class="byline">By {author}</p>
{paragraphs}
</article><aside class="newsletter"><h3>Get our morning briefing</h3><p>The day's top stories, every weekday.</p>
<form><input type="email"><button>Sign up</button></form></aside>
<section class="related"><h2>More stories</h2><ul>{related}</ul></section>
<section class="comments" id="comments"><h2>Comments</h2><p>Readers' views are their own.</p></section></main>
<footer><p>&copy; {year} {outlet}. All rights reserved.</p></footer></body></html>
"""


def generate_folder(folder: Path, n: int, sentences: list[str], seed: int = 0) -> dict[str, int]:
    """Write ``n`` articles of every format under ``folder``, made of ``sentences`` drawn at random:
    half .txt, 15% .md with front matter, 20% .html pages with navigation, cookie banner, newsletter
    box, related links, comments and footer, 15% records of .jsonl exports (100 per file). Returns
    how many articles of each format were written."""
    rng = np.random.default_rng(seed)
    outlets = ["The Daily Ledger", "Harbour Wire", "Northline News", "Coast Gazette", "Metro Courier"]
    counts = {"text": 0, "markdown": 0, "html": 0, "jsonl": 0}
    records: list[str] = []

    def flush() -> None:
        if records:
            feeds = len(list((folder / "exports").glob("feed-*.jsonl")))
            (folder / "exports" / f"feed-{feeds:03d}.jsonl").write_text("\n".join(records) + "\n")
            records.clear()

    (folder / "exports").mkdir(parents=True, exist_ok=True)
    for i in range(n):
        picked = [sentences[j] for j in rng.choice(len(sentences), size=int(rng.integers(6, 14)), replace=False)]
        title = " ".join(picked[0].split()[:9]).rstrip(".,;:")
        outlet = outlets[i % len(outlets)]
        date = (_dt.date(2024, 1, 1) + _dt.timedelta(days=int(rng.integers(0, 900)))).isoformat()
        url = f"https://news.example/{i:05d}"
        paragraphs = [" ".join(picked[k : k + 3]) for k in range(1, len(picked), 3)]
        kind = rng.random()
        sub = folder / f"{i // 1000:02d}"
        sub.mkdir(exist_ok=True)
        if kind < 0.5:
            counts["text"] += 1
            (sub / f"a{i:05d}.txt").write_text(f"{title}\n\n{date}\n\n" + "\n\n".join(paragraphs) + "\n")
        elif kind < 0.65:
            counts["markdown"] += 1
            head = f'---\ntitle: "{title}"\ndate: {date}\noutlet: {outlet}\nurl: {url}\n---\n'
            (sub / f"a{i:05d}.md").write_text(head + f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n")
        elif kind < 0.85:
            counts["html"] += 1
            related = "".join(
                f'<li><a href="/r{j}">{html.escape(" ".join(sentences[j].split()[:7]))}</a></li>'
                for j in rng.choice(len(sentences), size=4)
            )
            body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
            (sub / f"a{i:05d}.html").write_text(
                _PAGE.format(
                    title=html.escape(title),
                    outlet=outlet,
                    date=date,
                    url=url,
                    author="Staff Reporter",
                    paragraphs=body,
                    related=related,
                    year=date[:4],
                )
            )
        else:
            counts["jsonl"] += 1
            records.append(
                json.dumps(
                    {
                        "id": f"r{i:05d}",
                        "title": title,
                        "published": f"{date}T07:30:00Z",
                        "source": {"name": outlet},
                        "url": url,
                        "text": "\n\n".join(paragraphs),
                    }
                )
            )
            if len(records) == 100:
                flush()
    flush()
    return counts
