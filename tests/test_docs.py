"""Documentation that cannot drift: every setting and every CLI command is in the README."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from chartkeeper.cli import app
from chartkeeper.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
def test_every_setting_is_documented(name):
    assert f"CHARTKEEPER_{name.upper()}" in README


def test_readme_starts_with_the_two_commands():
    block = README.split("```")[1]
    lines = [line.split("#")[0].strip() for line in block.strip().splitlines()[1:]]
    assert lines == ["make run", "make test"]


def test_every_setting_has_help():
    assert all(f.metadata.get("help") for f in fields(Settings))


def test_cli_commands_have_help():
    from typer.main import get_command

    group = get_command(app)
    for name, command in group.commands.items():
        assert command.help, f"chartkeeper {name} has no help text"
