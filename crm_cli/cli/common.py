"""Options and helpers every command shares: output forms, paging, confirmation, the context.

Only typer and the standard library are imported here at module level; the services and the
store are imported inside functions so that `crm --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from itertools import chain
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from crm_cli.errors import CrmError, ExitCode, InvalidValue

if TYPE_CHECKING:
    from crm_cli.services.context import Context

T = TypeVar("T")

JsonOpt = Annotated[bool, typer.Option("--json", help="Write JSON to stdout.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Write CSV to stdout.")]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, help="Show at most this many rows.")
]
AllOpt = Annotated[bool, typer.Option("--all", help="Show every row, not one page.")]
SortOpt = Annotated[
    str | None, typer.Option("--sort", help="Sort by a column; -col for descending.")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
WideOpt = Annotated[
    bool,
    typer.Option("--wide", help="On a terminal, show every column uncut (lines may run long)."),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option("--columns", help="Only these columns, in this order, e.g. id,title,due."),
]
IdsOpt = Annotated[
    bool, typer.Option("--ids", help="Print only the ids, one per line (for `... | crm X -`).")
]
RemovedOpt = Annotated[bool, typer.Option("--removed", help="List removed records instead.")]

_state: dict[str, object] = {"demo": False, "command": "crm"}
_opened: list[Context] = []


def set_demo(value: bool) -> None:
    _state["demo"] = value


def set_command(args: list[str]) -> None:
    """The command line as typed: the change journal records it with what it changed."""
    import shlex

    _state["command"] = shlex.join(["crm", *args])


def context() -> Context:
    """The context for this command; `close_contexts()` releases it when the command ends."""
    from crm_cli.services.context import open_context

    demo = bool(_state["demo"])
    ctx = open_context(demo=demo)
    ctx.command = str(_state["command"])
    _opened.append(ctx)
    if demo:
        _seed_demo(ctx)
    return ctx


def _seed_demo(ctx: Context) -> None:
    """`crm --demo ...` before `crm demo`: make and fill the demo database first (in a
    temporary file renamed into place when complete, so an interrupted run leaves none)."""
    from crm_cli import paths

    if paths.demo_db_path().exists():
        return
    from crm_cli.services.demo import ensure_demo_database

    ensure_demo_database(ctx)


def close_contexts() -> None:
    while _opened:
        _opened.pop().close()


def refs(values: list[str], kind: str) -> list[str]:
    """The records a command names: its arguments, with `-` replaced by the ids read from
    stdin (`crm deal list --stage lead --ids | crm deal move - qualified`). Each record once,
    in the order given."""
    result: list[str] = []
    for value in values:
        items = sys.stdin.read().split() if value == "-" else [value]
        for item in items:
            if item not in result:
                result.append(item)
    if not result:
        raise InvalidValue(kind, " ".join(values), f"name at least one {kind}")
    return result


def looks_like_tag(text: str) -> bool:
    """A word that is no id and no email: likely a tag typed without its + or -."""
    return not text.strip().lstrip("#").isdigit() and "@" not in text


def output_format(json_: bool, csv_: bool = False, ids: bool = False) -> str:
    chosen = [name for name, on in (("--json", json_), ("--csv", csv_), ("--ids", ids)) if on]
    if len(chosen) > 1:
        raise InvalidValue("output", " ".join(chosen), "choose one of --json, --csv and --ids")
    return "json" if json_ else "csv" if csv_ else "ids" if ids else "table"


def page_limit(ctx: Context, limit: int | None, all_: bool, fmt: str = "table") -> int | None:
    """How many rows a listing shows. A person at a terminal gets a page (with a note when
    rows were left out); a script (`--json`, `--csv`, `--ids`, or any output to a pipe) gets
    every matching row unless it asks for `--limit`: a silent cap breaks `| jq length`."""
    if limit is not None:  # asked for: also with --all (which on `followup list` is everyone's)
        return limit
    if all_:
        return None
    from crm_cli.render.output import stdout_is_tty

    if fmt != "table" or not stdout_is_tty():
        return None
    return ctx.config.page_size


def table_view(wide: bool, columns: str | None = None) -> Any:
    """How the person asked to see a terminal table (`--wide`, `--columns`)."""
    from crm_cli.render.fit import TableView

    return TableView.from_options(wide, columns)


def emit_listing(
    rows: Iterable[dict[str, Any]], columns: list[Any], fmt: str, *, ids: bool = False, **kw: Any
) -> None:
    """Write a listing, as its rows come (they may be streamed from the database). `--ids`
    prints the ids alone; an empty listing prints nothing on stdout in a pipe (a cron job mails
    any output) and says so on stderr at a terminal."""
    from crm_cli.render.output import emit_rows, stdout_is_tty

    if ids:
        write = sys.stdout.write
        if getattr(rows, "has_ids", False):  # services.common.RecordStream
            for block in rows.id_blocks():  # type: ignore[attr-defined]
                write(block)
            return
        for row in rows:
            write(f"{row['id']}\n")
        return
    if fmt == "table":
        first = peek(rows)
        if first is None:
            if stdout_is_tty():
                note("no records")
            return
        rows = first
    emit_rows(rows, columns, fmt, **kw)


def peek(rows: Iterable[T]) -> Iterable[T] | None:
    """`rows` unchanged, or None when there are none (without consuming a stream)."""
    if isinstance(rows, list):
        return rows or None
    it = iter(rows)
    for first in it:
        return chain([first], it)
    return None


def page_note(page: Any) -> None:
    """Tell the person (on stderr) when a listing was cut to a page (see services.common.Page:
    the count stops at a cap, past which it says "more than")."""
    if page.total is None or not isinstance(page.rows, list):
        return
    shown = len(page.rows)
    if page.more:
        of = f"more than {page.total:,}"
    elif shown < page.total:
        of = f"{page.total:,}"
    else:
        return
    print(f"crm: showing {shown} of {of}; use --all or --limit for more", file=sys.stderr)


def confirm(question: str, yes: bool) -> None:
    """Ask before a bulk or destructive change; `--yes` skips. Without a terminal, refuse."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise CrmError(f"{question} Refusing without --yes (no terminal to ask on).")
    if not typer.confirm(question, default=False, err=True):
        raise Aborted("nothing changed")


class Aborted(CrmError):
    exit_code = ExitCode.FAILURE


def fields_option(values: list[str] | None) -> dict[str, str | None]:
    from crm_cli.services.common import parse_field

    return dict(parse_field(v) for v in values or [])


def done(text: str) -> None:
    """The one-line result of a change: it is the command's output, so it goes to stdout.
    Names in it were typed by someone: their control characters are shown escaped."""
    from crm_cli.domain.text import escape_controls

    print(escape_controls(text))


def remove_records(
    refs: list[str],
    yes: bool,
    plural: str,
    remove: Callable[[Any, Any, list[str]], list[dict[str, Any]]],
    describe: Callable[[dict[str, Any]], str],
) -> None:
    """The body every `rm` shares: ask before removing several, remove in one transaction,
    say what went (and how to undo it)."""
    if len(refs) > 1:
        confirm(f"Remove {len(refs)} {plural}?", yes)
    ctx = context()
    with ctx.session() as session:
        removed = remove(ctx, session, refs)
    for item in removed:
        done(describe(item))


def note(text: str) -> None:
    """A message for the person, on stderr."""
    from crm_cli.domain.text import escape_controls

    print(f"crm: {escape_controls(text)}", file=sys.stderr)
