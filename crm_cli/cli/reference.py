"""The CLI reference (docs/cli-reference.md), generated from the commands' own help.

Regenerate with `python -m crm_cli.cli.reference > docs/cli-reference.md`; a test fails when
the file and the commands disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WIDTH = 100


def _walk(command: Any, path: list[str], parent: Any = None) -> Iterator[tuple[str, Any, Any]]:
    ctx = command.context_class(
        command, info_name=path[-1], parent=parent, terminal_width=WIDTH, max_content_width=WIDTH
    )
    yield " ".join(path), command, ctx
    for name in getattr(command, "commands", {}):
        yield from _walk(command.commands[name], [*path, name], ctx)


def commands() -> list[tuple[str, Any, Any]]:
    """Every command as (path, click command, context), root first."""
    from crm_cli.cli import build_command

    return list(_walk(build_command(), ["crm"]))


def render() -> str:
    lines = [
        "# CLI reference",
        "",
        "Generated from `crm --help` and every command's `--help` by",
        "`python -m crm_cli.cli.reference > docs/cli-reference.md`. Do not edit by hand.",
        "",
    ]
    for path, command, ctx in commands():
        lines += [f"## {path}", "", "```text", command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(), end="")
