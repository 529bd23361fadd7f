"""Sentences of a text as offsets: ``text[start:end]`` is exactly the sentence.

syntok splits (it knows abbreviations such as "Jan." and "U.S."); every line break also ends a
sentence, and two kinds of false break are mended.
"""

from __future__ import annotations

import re

from qa.text.dates import MONTH_NAMES


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans within ``text[start:end]``; every line break also ends a sentence."""
    import syntok.segmenter as segmenter

    spans: list[tuple[int, int]] = []
    pos = start
    for line in text[start:end].split("\n"):
        line_start = pos
        pos += len(line) + 1
        if not line.strip():
            continue
        try:
            paragraphs = segmenter.analyze(line)
            for paragraph in paragraphs:
                for sentence in paragraph:
                    s = sentence[0].offset
                    e = sentence[-1].offset + len(sentence[-1].value)
                    if e > s:
                        spans.append((line_start + s, line_start + e))
        except Exception:  # a splitter bug must not lose the line
            stripped = line.strip()
            s = line.index(stripped)
            spans.append((line_start + s, line_start + s + len(stripped)))
    return _merge_false_breaks(text, _cover_line(text, spans, end))


# A sentence that ends in a day number ("am 28.") followed by a month name, or one followed by a
# sentence that starts in lower case, was cut where no sentence ends (German and Italian write
# "28. Oktober"; syntok knows English abbreviations only).
_ENDS_WITH_ORDINAL = re.compile(r"\b\d{1,2}\.$")
_STARTS_WITH_MONTH = re.compile(r"^(?:" + MONTH_NAMES + r")\b", re.IGNORECASE)


def _merge_false_breaks(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged:
            ps, pe = merged[-1]
            same_line = "\n" not in text[pe:s]
            head = text[s:e]
            if same_line and (
                (_ENDS_WITH_ORDINAL.search(text[ps:pe]) and _STARTS_WITH_MONTH.match(head))
                or head[:1].islower()
            ):
                merged[-1] = (ps, e)
                continue
        merged.append((s, e))
    return merged


def _cover_line(text: str, spans: list[tuple[int, int]], region_end: int) -> list[tuple[int, int]]:
    """Make sure sentence spans cover their text: syntok drops nothing, but check anyway and
    absorb any trailing characters it left out (e.g. a lone closing quote) into the sentence."""
    fixed: list[tuple[int, int]] = []
    for i, (s, e) in enumerate(spans):
        limit = spans[i + 1][0] if i + 1 < len(spans) else region_end
        gap = text[e:limit]
        line_break = gap.find("\n")
        tail = gap if line_break < 0 else gap[:line_break]
        if tail.strip():
            e += len(tail.rstrip())
        fixed.append((s, e))
    return fixed
