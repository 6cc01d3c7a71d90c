"""Every command documents itself, and the generated reference matches the commands."""

from __future__ import annotations

from pathlib import Path

from crm_cli.cli import reference

ROOT = Path(__file__).resolve().parents[2]


def test_every_command_has_help_with_an_example() -> None:
    missing = []
    for path, command, _ctx in reference.commands():
        if getattr(command, "commands", None):
            continue  # groups: their help is the listing
        text = command.help or ""
        if not text.strip() or "Example: crm " not in text:
            missing.append(path)
    assert missing == []


def test_every_option_has_help() -> None:
    missing = []
    for path, command, _ctx in reference.commands():
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "help", None):
                missing.append(f"{path} {param.opts[0]}")
    assert missing == []


def test_cli_reference_is_current() -> None:
    current = (ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8")
    assert current == reference.render(), (
        "docs/cli-reference.md is stale: run `python -m crm_cli.cli.reference > "
        "docs/cli-reference.md`"
    )
