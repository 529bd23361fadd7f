"""Questions as users type them: cleaned of control characters, bounded in length, never empty.

Kept free of heavy imports so that the CLI can reject a bad question instantly.
"""

from __future__ import annotations

import unicodedata

from qa.errors import UsageError

MAX_QUESTION_CHARS = 2000
"""Longer questions are cut here (the model reads 256 word pieces, about 1,000 characters)."""


def clean_question(question: str) -> tuple[str, list[str]]:
    """The question with control characters removed and its length bounded, and notices about
    what was changed; raises UsageError for an empty question."""
    notices = []
    cleaned = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c != "\u200d" else c for c in question
    )
    cleaned = " ".join(cleaned.split())
    if not cleaned:
        raise UsageError('the question is empty; ask something, e.g. qa ask "Who is Japan\'s prime minister?"')
    if len(cleaned) > MAX_QUESTION_CHARS:
        notices.append(
            f"the question is {len(cleaned):,} characters long; only its first {MAX_QUESTION_CHARS:,} were used"
        )
        cleaned = cleaned[:MAX_QUESTION_CHARS]
    return cleaned, notices
