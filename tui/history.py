"""Saved conversations: one JSON file per conversation under ``<data dir>/conversations/``,
rewritten atomically after every turn, and their Markdown export."""

from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from qa import present
from qa.models import AskResult
from qa.text.files import write_atomic
from qa.text.safe import printable


class Turn(BaseModel):
    """One question and its answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str
    """The question as typed."""
    result: AskResult
    """The answer, with ``resolved_question`` set for a follow-up."""
    asked: str
    """When it was asked (ISO timestamp, local time)."""


class Conversation(BaseModel):
    """A saved conversation."""

    model_config = ConfigDict(extra="forbid")

    id: str
    """File name without ``.json``: creation time and a random suffix."""
    created: str
    """When the conversation started (ISO timestamp, local time)."""
    corpus: str
    """The corpus folder it was held over."""
    turns: list[Turn] = []
    """The questions and answers, in order."""

    @property
    def title(self) -> str:
        """The first question, or a placeholder for an empty conversation."""
        return self.turns[0].question if self.turns else "(no questions yet)"


def new_conversation(corpus: Path) -> Conversation:
    """An empty conversation over ``corpus``."""
    now = _dt.datetime.now()
    return Conversation(
        id=f"{now.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}",
        created=now.isoformat(timespec="seconds"),
        corpus=str(corpus.expanduser().resolve()),
    )


@dataclass(frozen=True)
class Summary:
    """A saved conversation as listed in the history."""

    id: str
    created: str
    title: str
    turns: int
    corpus: str


class HistoryStore:
    """The folder of saved conversations."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "conversations"

    def save(self, conversation: Conversation) -> Path:
        """Write a conversation (atomically: a crash never leaves half a file)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{conversation.id}.json"
        write_atomic(path, conversation.model_dump_json(indent=1).encode("utf-8"))
        return path

    def load(self, conversation_id: str) -> Conversation:
        """Read one conversation; raises ValueError when the file is damaged."""
        path = self.folder / f"{conversation_id}.json"
        try:
            return Conversation.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise ValueError(f"conversation {path} cannot be read: {exc}") from None

    def list(self) -> list[Summary]:
        """Saved conversations, newest first; unreadable files are skipped."""
        found: list[Summary] = []
        if not self.folder.is_dir():
            return found
        for path in sorted(self.folder.glob("*.json"), reverse=True):
            try:
                c = Conversation.model_validate_json(path.read_bytes())
            except (OSError, ValidationError):
                continue
            found.append(Summary(c.id, c.created, c.title, len(c.turns), c.corpus))
        return found

    def latest(self, corpus: Path | None = None) -> Conversation | None:
        """The most recent conversation (over ``corpus``, when given) that has a question."""
        wanted = str(corpus.expanduser().resolve()) if corpus else None
        for summary in self.list():
            if summary.turns and (wanted is None or summary.corpus == wanted):
                try:
                    return self.load(summary.id)
                except ValueError:
                    continue
        return None


def to_markdown(conversation: Conversation) -> str:
    """The conversation as Markdown: each question, its answer and sentence, and the citations."""
    lines = [f"# qa conversation, {conversation.created.replace('T', ' ')}", "", f"Corpus: `{conversation.corpus}`", ""]
    for i, turn in enumerate(conversation.turns, start=1):
        r = turn.result
        lines += [f"## {i}. {printable(turn.question)}", ""]
        if r.resolved_question:
            lines += [f"*Asked as:* {printable(r.resolved_question)}", ""]
        if r.abstained or r.answer is None:
            lines += ["**Not found in the articles.**" + (f" ({printable(r.reason)})" if r.reason else ""), ""]
        else:
            a = r.answer
            lines += [f"**{printable(a.text)}**", "", f"> {printable(a.sentence.text)} [1]", "",
                      f"Confidence {a.confidence:.2f}", ""]
        if r.citations:
            lines.append("Sources:")
            lines.append("")
            for c in r.citations:
                title, *meta, where = (printable(p) for p in present.citation(c))
                lines.append(" — ".join([f"{c.n}. *{title}*", *meta, f"`{where}`"]) + f" (score {c.score:.2f})")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
