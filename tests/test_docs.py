"""Docs checked by tests: the README's reference follows the schema; config.toml is commented."""

from __future__ import annotations

import re
from pathlib import Path

import click

from loa.cli import cli
from loa.config import iter_keys

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")


def test_every_config_key_is_in_the_readme_reference() -> None:
    documented = set(re.findall(r"^\| `([a-z_\[\].]+)` \|", README, flags=re.M))
    assert documented == set(iter_keys())


def test_every_key_of_the_shipped_config_is_commented() -> None:
    lines = (ROOT / "config.toml").read_text("utf-8").splitlines()
    bare = []
    for i, line in enumerate(lines):
        if re.match(r"^\s*[a-z_]+\s*=", line):
            inline = "#" in line.split("=", 1)[1].rsplit('"', 1)[-1]
            above = i > 0 and lines[i - 1].lstrip().startswith("#")
            in_table_doc = line.split("=")[0].strip() in {"id", "name", "weight"}
            if not (inline or above or in_table_doc):
                bare.append(f"line {i + 1}: {line}")
    assert bare == []


def _commands(group: click.Group, prefix: str = "loa") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_command_has_help_and_is_in_the_readme() -> None:
    for name in _commands(cli):
        assert f"`{name}" in README, f"{name} is not documented in README.md"
    for command in cli.commands.values():
        assert command.help, f"loa {command.name} has no help"
