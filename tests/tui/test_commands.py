"""The chat's command table: every way in is built from it (fast: no model)."""

from __future__ import annotations

from tui import commands
from tui.app import QAApp


def test_every_command_has_what_runs_it() -> None:
    for c in commands.COMMANDS:
        if c.argument:
            assert callable(getattr(QAApp, f"command_{c.name}", None)), c.name
        if c.action:
            assert callable(getattr(QAApp, f"action_{c.action}", None)), c.name
        assert c.action or c.argument, c.name


def test_bindings_and_help_come_from_the_table() -> None:
    keys = {b.key: b.action for b in QAApp.BINDINGS if not b.key.isdigit()}
    assert keys == {c.key: c.action for c in commands.COMMANDS if c.key}
    text = commands.help_markdown()
    for c in commands.COMMANDS:
        assert f"`{c.usage}`" in text
        if c.key:
            assert f"| {c.key_label} |" in text


def test_names_and_aliases_are_found_in_any_case() -> None:
    assert commands.find("WHY").name == "why"
    assert commands.find("clear").name == "new"
    assert commands.find("frobnicate") is None
    assert len({c.name for c in commands.COMMANDS}) == len(commands.COMMANDS)
