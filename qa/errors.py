"""Errors a user can act on.

Every error the library raises on purpose is a ``QAError``: its message is one line that says
what went wrong and what to do. The CLI prints it as ``qa: error: <message>`` and exits with
status 2; the chat UI shows it as a notification. Anything else is a bug.

    QAError
    ├── UsageError          a bad argument or question (empty question, k < 1, unknown option)
    ├── CorpusError         the corpus folder is missing, empty, or holds no article files
    ├── ModelError          the embedding model cannot be found or loaded
    ├── IndexStoreError     the index cannot be read, written or trusted
    │   ├── IndexLockedError    another process holds the index lock
    │   └── IndexReadOnlyError  the index folder cannot be written
    └── QuestionFileError   a question file for ``qa eval`` is malformed (names line and field)
"""

from __future__ import annotations


class QAError(Exception):
    """Base of every error meant for the user; ``str(err)`` is a one-line message."""

    exit_code = 2


class UsageError(QAError):
    """A bad argument or question."""


class CorpusError(QAError):
    """The corpus folder is missing, empty or holds no article files."""


class ModelError(QAError):
    """The embedding model cannot be found or loaded."""


class IndexStoreError(QAError):
    """The index cannot be read, written or trusted."""


class IndexLockedError(IndexStoreError):
    """Another process holds the index lock."""


class IndexReadOnlyError(IndexStoreError):
    """The index folder cannot be written."""


class QuestionFileError(QAError):
    """A question file is malformed; the message names the line and the field."""
