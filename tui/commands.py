"""The chat's commands, declared once: the key bindings, the ``/commands``, the command palette and
the help screen are all built from ``COMMANDS``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One thing the chat can do."""

    name: str
    """What follows the slash: ``/why``."""
    action: str
    """The app's ``action_<action>`` that runs it (with no argument)."""
    title: str
    """Its name in the command palette."""
    help: str
    """What it does, for the palette and the help screen."""
    key: str | None = None
    """Its key binding (Textual's name), if it has one."""
    footer: str | None = None
    """Its label in the footer; None keeps the binding out of the footer."""
    argument: str | None = None
    """The argument ``/name`` takes (``N``, ``DATE``); the app's ``command_<name>(arg)`` takes it."""
    aliases: tuple[str, ...] = ()
    priority: bool = False
    """The key works even where a widget would take it (quit)."""

    @property
    def key_label(self) -> str:
        """The key as the help screen writes it: ``Ctrl+N``, ``F1``."""
        return "+".join(p.capitalize() if len(p) > 1 and not p[1:].isdigit() else p.upper()
                        for p in (self.key or "").split("+"))

    @property
    def usage(self) -> str:
        """``/k N``, ``/why``."""
        return f"/{self.name}" + (f" {self.argument}" if self.argument else "")


COMMANDS: tuple[Command, ...] = (
    Command("new", "new_chat", "New chat", "start a new conversation", "ctrl+n", "New", aliases=("clear",)),
    Command("copy", "copy_answer", "Copy answer", "copy the selected answer with its citation", "ctrl+y", "Copy"),
    Command("export", "export", "Export conversation", "write the conversation to Markdown", "ctrl+e", "Export"),
    Command("sources", "toggle_sources", "Toggle sources", "show or hide the sources panel", "ctrl+b", "Sources"),
    Command("history", "history", "History", "reopen a saved conversation", "ctrl+r", "History"),
    Command("k", "set_top_k", "Set top-k", "how many passages to retrieve (top-k), from 1 to 20", "ctrl+k", "Top-k",
            argument="N"),
    Command("why", "why", "Why", "show the retrieved passages and their scores for the selected answer"),
    Command("since", "", "", "keep only articles dated from DATE on (YYYY, YYYY-MM or YYYY-MM-DD; `off` removes it)",
            argument="DATE"),
    Command("until", "", "", "keep only articles dated up to DATE (`off` removes it)", argument="DATE"),
    Command("timeline", "", "", "list the relevant sentences of several articles in date order (questions like "
            "\"How did X change?\" get one by themselves)", argument="QUESTION"),
    Command("help", "help", "Help", "keys and commands", "f1", "Help"),
    Command("quit", "quit", "Quit", "quit", "ctrl+q", "Quit", priority=True),
)


def find(name: str) -> Command | None:
    """The command ``/name`` (or one of its aliases) names."""
    name = name.lower()
    return next((c for c in COMMANDS if name == c.name or name in c.aliases), None)


def help_markdown() -> str:
    """The help screen: keys, then commands."""
    keys = [("Enter", "ask the question"), ("Up / Down", "earlier questions"),
            ("a number, then Enter", "open that citation of the last answer")]
    keys += [(c.key_label, c.help) for c in COMMANDS if c.key]
    keys += [("Ctrl+P", "command palette"), ("Esc", "leave the article view, close a dialog")]
    rows = "\n".join(f"| {k} | {v} |" for k, v in keys)
    commands = "\n".join(f"| `{c.usage}` | {c.help} |" for c in COMMANDS)
    return f"""\
# qa chat

Ask anything about the articles. Every answer is quoted from an article, with its sources.

| keys | |
|---|---|
{rows}

| commands | |
|---|---|
{commands}

**Follow-ups** such as "When did she say that?" or "And what about South Korea?" are answered
against the previous question; the answer shows the question it was answered as.
"""
