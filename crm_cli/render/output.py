"""Writers for listings and records in every output form.

- a terminal gets a Rich table (CJK text measured in cells, so columns line up), colour unless
  NO_COLOR is set;
- a pipe gets plain aligned text with no ANSI codes, one row per line, never wrapped;
- `--json` gets the records themselves; `--csv` gets the table's columns, with cells that a
  spreadsheet would run as a formula made inert.

Stored text is shown, never obeyed. A name may hold an escape sequence (`\\x1b[2J` clears the
screen, `\\x1b]0;...\\x07` sets the window title), a `\\r` that overwrites the line, or Rich
markup (`[link=...]`). In every human form (terminal tables, plain text, record views,
messages) control characters appear as their Python escapes, `\\x1b`, `\\r`, `\\n`,
`\\u202e`, as in error messages; a record view keeps the line breaks and tabs of a multi-line
note, each further line indented under the value. Markup is escaped before Rich sees it.
JSON escapes C0 controls itself; C1 controls, bidi controls and the Unicode line separators
are escaped too (`\\u009b`), so `--json` on a terminal is safe and parses to the same data.
CSV stays the exact data: it is for files.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crm_cli.domain.text import escape_controls

if TYPE_CHECKING:
    from rich.console import Console

Formatter = Callable[[Any], str]


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: Formatter | None = None
    justify: str = "left"
    # Plain-text columns are never cut; terminal columns may be narrowed to fit.
    max_width: int | None = None

    def cell(self, record: dict[str, Any]) -> str:
        value = record.get(self.key)
        if self.fmt is not None:
            return self.fmt(value) if value is not None or self.key == "" else ""
        return text_of(value)


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(text_of(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={text_of(v)}" for k, v in value.items())
    return str(value)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def message(text: str) -> None:
    """A note for the person at the terminal, on stderr: one line, controls escaped."""
    print(escape_controls(text), file=sys.stderr)


def warn(text: str) -> None:
    print(f"crm: warning: {escape_controls(text)}", file=sys.stderr)


# What json.dumps(ensure_ascii=False) leaves raw but a terminal may act on: DEL, the C1
# controls (U+009B is CSI, like ESC [), the line separators and the bidi controls.
_JSON_RAW = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def write_json(data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write(_JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text))
    sys.stdout.write("\n")


_FORMULA_START = ("=", "@", "\t", "\r", "+", "-")
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s().,/-]*$")


def csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas (OWASP CSV injection): prefix a quote.

    Numbers and phone numbers (`+4930...`, `-12.5`) are left alone: they are data, not formulas.
    """
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def write_csv(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([csv_safe(c.cell(row)) for c in columns])


def _plain(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> None:
    from rich.cells import cell_len

    table = [[c.header for c in columns]] + [[c.cell(r) for c in columns] for r in rows]
    # One row per line: a line break in a cell is shown as \n, like every control character.
    table = [[escape_controls(cell) for cell in line] for line in table]
    widths = [max(cell_len(line[i]) for line in table) for i in range(len(columns))]
    out = sys.stdout
    for line in table:
        cells = []
        for i, cell in enumerate(line):
            pad = widths[i] - cell_len(cell)
            if i == len(line) - 1 and columns[i].justify != "right":
                cells.append(cell)
            elif columns[i].justify == "right":
                cells.append(" " * pad + cell)
            else:
                cells.append(cell + " " * pad)
        out.write("  ".join(cells).rstrip() + "\n")


def _console() -> Console:
    from rich.console import Console

    return Console(no_color="NO_COLOR" in os.environ, highlight=False)


def _rich_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    title: str | None,
    footer: dict[str, str] | None,
    console: Console | None = None,
) -> None:
    from rich import box
    from rich.table import Table  # ~30 ms: only for terminals

    console = console or _console()
    table = Table(
        box=box.SIMPLE_HEAD,
        title=_escape(title) if title is not None else None,
        show_footer=bool(footer),
        header_style="bold",
        title_justify="left",
        pad_edge=False,
    )
    from rich.cells import cell_len

    # Escaped before measuring: "\x1b" takes four cells where ESC took none.
    cells = [[escape_controls(c.cell(row)) for c in columns] for row in rows]
    for i, col in enumerate(columns):
        natural = max([cell_len(col.header), *(cell_len(line[i]) for line in cells)])
        table.add_column(
            _escape(col.header),
            justify=col.justify,  # type: ignore[arg-type]
            max_width=col.max_width,
            # Ids and amounts (right-aligned) keep their width; text wraps when the terminal
            # is narrow (Rich's no_wrap squeezes whole columns away instead).
            min_width=natural if col.justify == "right" else None,
            overflow="fold",
            # Footers are totals the command writes, one currency per line.
            footer=_escape((footer or {}).get(col.key, ""), "\n"),
        )
    for line in cells:
        table.add_row(*[_escape(cell) for cell in line])
    console.print(table)


def _escape(value: str, keep: str = "") -> str:
    """A stored value as Rich should print it: controls escaped, then markup escaped, so
    `[red]x[/red]` in a name is printed as written."""
    from rich.markup import escape

    return escape(escape_controls(value, keep))


# A record view keeps a note's line breaks and tabs (each further line indented under the
# value, so a line break cannot pass for a new field).
_BLOCK = "\n\t"


def emit_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    fmt: str,
    *,
    json_rows: Any = None,
    title: str | None = None,
    footer: dict[str, str] | None = None,
) -> None:
    """Write a listing in `fmt`: "json", "csv" or "table" (Rich on a TTY, plain otherwise)."""
    if fmt == "json":
        write_json(list(rows) if json_rows is None else json_rows)
    elif fmt == "csv":
        write_csv(rows, columns)
    elif stdout_is_tty():
        _rich_table(rows, columns, title, footer)
    else:
        if footer:
            rows = [*rows, footer]
        _plain(rows, columns)


def emit_record(
    record: dict[str, Any],
    fields: Sequence[tuple[str, str]],
    fmt: str,
    *,
    sections: Sequence[tuple[str, Sequence[dict[str, Any]], Sequence[Column]]] = (),
    title: str | None = None,
) -> None:
    """Write one record: `fields` are (key, label) pairs; `sections` are sub-listings."""
    if fmt == "json":
        write_json(record)
        return
    if fmt == "csv":
        write_csv([record], [Column(k, label) for k, label in fields])
        return
    tty = stdout_is_tty()
    width = max((len(label) for _, label in fields), default=0)
    indent = "\n" + " " * (width + 2)
    if tty:
        console = _console()
        if title:
            console.print(f"[bold]{_escape(title)}[/bold]")
        for key, label in fields:
            value = text_of(record.get(key))
            if value:
                shown = _escape(value, _BLOCK).replace("\n", indent)
                console.print(f"[dim]{_escape(f'{label:<{width}}')}[/dim]  {shown}")
        for name, rows, columns in sections:
            if rows:
                console.print()
                _rich_table(rows, columns, name, None, console)
        return
    out = sys.stdout
    for key, label in fields:
        value = text_of(record.get(key))
        if value:
            shown = escape_controls(value, _BLOCK).replace("\n", indent)
            out.write(f"{escape_controls(label) + ':':<{width + 1}} {shown}\n")
    for name, rows, columns in sections:
        if rows:
            out.write(f"\n{name}:\n")
            _plain(rows, columns)
