"""The CLI reference (docs/cli-reference.md), generated from the commands' own help, and the
command tree shell completion reads (crm_cli/complete_tree.py).

Regenerate with `python -m crm_cli.cli.reference > docs/cli-reference.md` and
`python -m crm_cli.cli.reference --completion-tree > crm_cli/complete_tree.py`; a test fails
when either file and the commands disagree.
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


def completion_tree() -> dict[str, dict[str, Any]]:
    """The command tree as shell completion reads it, by command path ("" is `crm` itself):
    each command's options (names, whether it takes a value, whether it repeats, help,
    parameter), its arguments (name, how many values) and its subcommands with their one-line
    help."""
    from crm_cli.cli import build_command

    tree: dict[str, dict[str, Any]] = {}
    command = build_command()
    _tree_node(tree, [], command, command.context_class(command, **command.context_settings))
    return tree


def _tree_node(tree: dict[str, dict[str, Any]], path: list[str], command: Any, ctx: Any) -> None:
    node: dict[str, Any] = {}
    params = list(command.params)
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        params.append(help_option)
    options, arguments = [], []
    for param in params:
        if param.param_type_name == "argument":
            arguments.append((param.name, param.nargs))
        elif not getattr(param, "hidden", False):
            takes_value = not (param.is_flag or param.count)
            help_ = " ".join((param.help or "").split())
            names = (*param.opts, *param.secondary_opts)
            if param is help_option:  # click gathers its names in a set: give them an order
                names = tuple(sorted(names, key=lambda n: (len(n), n)))
            options.append((names, takes_value, bool(param.multiple), help_, param.name))
    node["options"] = tuple(options)
    if arguments:
        node["arguments"] = tuple(arguments)
    if command.context_settings.get("ignore_unknown_options"):
        node["loose"] = True  # unknown options are arguments (`crm contact tag 6 -cold`)
    subcommands = {
        name: sub
        for name, sub in getattr(command, "commands", {}).items()
        if not getattr(sub, "hidden", False)
    }
    if subcommands:
        node["commands"] = {
            name: sub.get_short_help_str(limit=WIDTH) for name, sub in subcommands.items()
        }
    tree[" ".join(path)] = node
    for name, sub in subcommands.items():
        sub_ctx = sub.context_class(sub, info_name=name, parent=ctx, **sub.context_settings)
        _tree_node(tree, [*path, name], sub, sub_ctx)


def completion_values() -> dict[str, tuple[tuple[str, str], ...]]:
    """The fixed values of `crm_cli.complete.STATIC`, read from the constants they name."""
    import importlib

    from crm_cli.complete import STATIC

    values: dict[str, tuple[tuple[str, str], ...]] = {}
    for source, where in STATIC.items():
        module_name, _, attr = where.partition(":")
        found = getattr(importlib.import_module(module_name), attr)
        if isinstance(found, dict):
            values[source] = tuple((str(k), str(getattr(v, "help", ""))) for k, v in found.items())
        else:
            values[source] = tuple((str(v), "") for v in found)
    return values


def completion_tree_module() -> str:
    """crm_cli/complete_tree.py: one line per command and per set of values."""
    lines = [
        '"""The command tree shell completion reads (crm_cli.complete), generated from the Typer',
        "app: `python -m crm_cli.cli.reference --completion-tree > crm_cli/complete_tree.py`. Do",
        "not edit by hand; a test fails when it is stale.",
        "",
        "Plain values, so that completion knows the commands without importing typer (~50 ms).",
        'TREE maps a command path ("" is `crm` itself) to its options (names, takes a value,',
        "repeats, help, parameter), arguments (parameter, number of values), subcommands (name:",
        "help), and `loose` where unknown options are arguments. VALUES holds the fixed values",
        "of crm_cli.complete.STATIC as (value, help).",
        '"""',
        "",
        "# ruff: noqa: E501",
        "# fmt: off",
        "from __future__ import annotations",
        "",
        "TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~5 ms",
        "if TYPE_CHECKING:",
        "    from typing import Any",
        "",
        "TREE: dict[str, dict[str, Any]] = {",
        *(f"    {path!r}: {node!r}," for path, node in completion_tree().items()),
        "}",
        "",
        "VALUES: dict[str, tuple[tuple[str, str], ...]] = {",
        *(f"    {source!r}: {values!r}," for source, values in completion_values().items()),
        "}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--completion-tree"]:
        print(completion_tree_module(), end="")
    else:
        print(render(), end="")
