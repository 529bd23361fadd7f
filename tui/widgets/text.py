"""Article text as Textual content: shown literally, never parsed as markup.

Text from articles can look like markup ("[bold]", "[link=...]") or carry terminal control
characters. ``literal`` builds a ``Content`` object directly (no markup parsing), with control
characters replaced by visible stand-ins, and applies styles to ranges given as offsets into the
original text.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from textual.content import Content

from qa.text.safe import printable


def literal(text: str, highlights: Sequence[tuple[int, int, str]] = ()) -> Content:
    """``text`` shown as is, with ``(start, end, style)`` highlights (offsets into ``text``)."""
    cuts = sorted({0, len(text)} | {max(0, min(len(text), x)) for s, e, _ in highlights for x in (s, e)})
    out: list[str] = []
    where: dict[int, int] = {}
    length = 0
    for a, b in itertools.pairwise(cuts):
        where[a] = length
        piece = printable(text[a:b])
        out.append(piece)
        length += len(piece)
    where[len(text)] = length
    content = Content("".join(out), strip_control_codes=False)
    for start, end, style in highlights:
        s, e = where[max(0, min(len(text), start))], where[max(0, min(len(text), end))]
        if e > s:
            content = content.stylize(style, s, e)
    return content


def plain(text: str) -> Content:
    """``text`` shown as is: no markup, control characters made visible."""
    return literal(text)
