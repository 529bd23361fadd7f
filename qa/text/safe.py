"""Article text made safe to show in a terminal.

Articles are untrusted: a scraped page can hold ANSI escape sequences, other control characters or
bidirectional overrides. Shown raw, they would restyle or scramble the terminal. ``printable``
replaces each with a visible, harmless stand-in, keeping line breaks and tabs, so what the user
reads is literally what the file holds. Offsets are never computed on this output.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls except \t and \n, DEL, C1 controls, and the bidi/invisible formatting characters
# that can reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code == 0x1B:
        return "␛"
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control picture" of the character
    return f"<U+{code:04X}>"


def printable(text: str) -> str:
    """``text`` with every terminal control character replaced by a visible stand-in."""
    return _UNSAFE.sub(_stand_in, text)


def safe_json(value: Any, **kwargs: Any) -> str:
    """JSON that keeps non-ASCII text readable but escapes every control character, so that
    printing it cannot send an escape sequence to the terminal."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun`` in agreement: "1 article", "3 articles" (regular plurals only)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
