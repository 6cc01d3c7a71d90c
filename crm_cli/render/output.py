"""Writers for listings and records in every output form.

- a terminal gets a Rich table fitted to its width (`fit.py`): ids, dates, emails, phones and
  amounts are never cut or folded, long text is cut with an ellipsis (in cells, so CJK is never
  split), and the columns that do not fit are hidden and named in one line on stderr; colour
  (`tones.py`) unless NO_COLOR is set, and the words say what the colour does;
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

from crm_cli.domain.text import escape_controls

if TYPE_CHECKING:
    from rich.console import Console

    from crm_cli.render.fit import TableView

Formatter = Callable[[Any], str]


@dataclass(frozen=True)
class Column:
    """One column of a listing. Plain text and CSV use only `key`, `header`, `fmt` and
    `justify`; the rest says how the column gives way on a terminal too narrow for it."""

    key: str
    header: str
    fmt: Formatter | None = None
    justify: str = "left"
    # Text is cut (with an ellipsis) past this width first; it gets its full width back
    # only when every other text column has had its share.
    max_width: int | None = None
    # Lower is kept longer when columns must be hidden; default: the position, id first.
    priority: int | None = None
    # Shown whole or hidden, never cut; default: by key (fit.is_atom_key) or right-aligned.
    atom: bool | None = None
    # Text is not cut narrower than this (default fit.TEXT_FLOOR): rather hide a column.
    min_width: int | None = None
    # What `--columns` calls it; default: the header in lower case (or the key).
    name: str | None = None
    # Terminal only: a style, and words to show instead, from the whole record (tones.py).
    tone: Callable[[dict[str, Any]], tuple[str, str | None] | None] | None = None

    def cell(self, record: dict[str, Any]) -> str:
        value = record.get(self.key)
        if self.fmt is not None:
            return self.fmt(value) if value is not None or self.key == "" else ""
        return text_of(value)

    @property
    def label(self) -> str:
        """The column's name for `--columns` and for the note that says it is hidden."""
        if self.name:
            return self.name
        slug = re.sub(r"[^0-9a-z]+", "-", self.header.lower()).strip("-")
        return slug or self.key

    def is_atom(self) -> bool:
        if self.atom is not None:
            return self.atom
        from crm_cli.render.fit import is_atom_key

        return self.justify == "right" or is_atom_key(self.key)


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


def _json_safe(text: str) -> str:
    if (text.isascii() and "\x7f" not in text) or _JSON_RAW.search(text) is None:
        return text
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def write_json(data: Any) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2 if stdout_is_tty() else None, default=str)
    sys.stdout.write(_json_safe(text))
    sys.stdout.write("\n")


def write_json_rows(rows: Iterable[Any]) -> None:
    """A JSON array written one element at a time, as the rows come: memory stays flat at a
    million rows. One element per line in a pipe (compact: Python's fast encoder, and
    `grep`-able); indented on a terminal, for a person."""
    pretty = stdout_is_tty()
    out = sys.stdout
    if not pretty and getattr(rows, "has_json", False):
        # The listing writes its records' JSON itself, a chunk of rows per write
        # (services.common.RecordStream): the same text, without a dict per row.
        out.write("[")
        sep = "\n"
        for block in rows.json_blocks():  # type: ignore[attr-defined]
            out.write(sep + _json_safe(block))
            sep = ",\n"
        out.write("]\n" if sep == "\n" else "\n]\n")
        return
    encode = _row_encoder() if not pretty else None
    if encode is None:
        encode = json.JSONEncoder(
            ensure_ascii=False, default=str, indent=2 if pretty else None
        ).encode
    out.write("[")
    sep = "\n"
    for row in rows:
        text = _json_safe(encode(row))
        out.write(sep + ("  " + text.replace("\n", "\n  ") if pretty else text))
        sep = ",\n"
    out.write("]\n" if sep == "\n" else "\n]\n")


def _row_encoder() -> Callable[[Any], str] | None:
    """`json.dumps(row, ensure_ascii=False, default=str)` for many rows: the C encoder made
    once, not once a row as `JSONEncoder.encode` makes it. Records hold no cycles, so it
    keeps no markers. None where the C encoder is missing."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:
        return None
    # (markers, default, encode strings, indent, key separator, item separator, sort keys,
    # skip keys, allow NaN): json.dumps's own, compact.
    chunks = make(None, str, encoder.encode_basestring, None, ": ", ", ", False, False, True)

    def encode(row: Any) -> str:
        return "".join(chunks(row, 0))

    return encode


_FORMULA_START = ("=", "@", "\t", "\r", "+", "-")
_FORMULA_FIRST = frozenset("".join(_FORMULA_START))
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d\s().,/-]*$")


def csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas (OWASP CSV injection): prefix a quote.

    Numbers and phone numbers (`+4930...`, `-12.5`) are left alone: they are data, not formulas.
    """
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def _csv_cell(value: Any) -> str:
    """`csv_safe(text_of(value))`, with the common kinds of value first."""
    kind = value.__class__
    if kind is str:
        if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
            return "'" + str(value)
        return str(value)
    if value is None:
        return ""
    if kind is int:  # a whole number is never a formula, "-12" included
        return str(value)
    return csv_safe(text_of(value))


# CSV rows are written a block at a time: one call into the csv module per thousand rows.
_CSV_BLOCK = 1000


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> None:
    """Rows as CSV under a header line; no rows print nothing (a cron job mails any output),
    and say "no records" on stderr at a terminal."""
    import csv
    import io
    from itertools import islice

    writer = csv.writer(sys.stdout, lineterminator="\n")
    started = False

    def header() -> None:
        nonlocal started
        if not started:
            writer.writerow([c.key for c in columns])
            started = True

    keys = [c.key for c in columns]
    if any(c.fmt is not None for c in columns):

        def line(row: dict[str, Any]) -> list[Any]:
            return [csv_safe(c.cell(row)) for c in columns]
    else:

        def line(row: dict[str, Any]) -> list[Any]:
            get = row.get
            cells = [get(k) for k in keys]
            # The csv module writes whole numbers as `str` does; most text cannot be a formula.
            for i, value in enumerate(cells):
                kind = value.__class__
                if kind is str:
                    if value and value[0] in _FORMULA_FIRST:
                        cells[i] = _csv_cell(value)
                elif kind is not int:
                    cells[i] = _csv_cell(value)
            return cells

        text_blocks = getattr(rows, "text_blocks", None)  # services.common.RecordStream
        if text_blocks is not None:
            # A chunk's CSV text at a time, made on two cores where the listing can.
            def block_text(records: list[dict[str, Any]]) -> str:
                text = io.StringIO()
                csv.writer(text, lineterminator="\n").writerows([line(r) for r in records])
                return text.getvalue()

            for text in text_blocks(keys, block_text):
                if text:
                    header()
                    sys.stdout.write(text)
            _none_written(started)
            return

    it = iter(rows)
    while block := list(islice(it, _CSV_BLOCK)):
        header()
        writer.writerows([line(row) for row in block])
    _none_written(started)


def _none_written(started: bool) -> None:
    if not started and stdout_is_tty():
        message("no records")


# Plain text is aligned a block of rows at a time, so a million rows stream like ten.
_PLAIN_BLOCK = 1000


def _plain(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> None:
    """Aligned columns, one row per line. Widths are measured over the first block of rows and
    only grow after it: a later, longer value widens its column from there on, never cut."""
    from itertools import islice

    widths = [0] * len(columns)
    block: list[list[str]] = [[escape_controls(c.header) for c in columns]]
    it = iter(rows)
    while True:
        # One row per line: a line break in a cell is shown as \n, like every control character.
        block += [[escape_controls(c.cell(r)) for c in columns] for r in islice(it, _PLAIN_BLOCK)]
        if not block:
            return
        cells = [[_cells(text) for text in line] for line in block]
        widths = [max(w, *(line[i] for line in cells)) for i, w in enumerate(widths)]
        _plain_lines(block, columns, widths, cells)
        block = []


def _cells(text: str) -> int:
    """The terminal cells `text` takes (controls already escaped): its length when ASCII."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _plain_lines(
    table: list[list[str]],
    columns: Sequence[Column],
    widths: list[int],
    cells: list[list[int]] | None = None,
) -> None:
    out = sys.stdout
    last = len(columns) - 1
    right = [c.justify == "right" for c in columns]
    lines = []
    for n, line in enumerate(table):
        used = cells[n] if cells is not None else [_cells(cell) for cell in line]
        parts = []
        for i, cell in enumerate(line):
            pad = widths[i] - used[i]
            if i == last and not right[i]:
                parts.append(cell)
            elif right[i]:
                parts.append(" " * pad + cell)
            else:
                parts.append(cell + " " * pad)
        lines.append("  ".join(parts).rstrip() + "\n")
    out.write("".join(lines))


def _console() -> Console:
    from rich.console import Console

    return Console(no_color="NO_COLOR" in os.environ, highlight=False)


def _term_cell(column: Column, record: dict[str, Any]) -> tuple[str, str | None]:
    """A cell as a terminal shows it: the text (controls escaped) and its style, if any."""
    text = column.cell(record)
    style = None
    if column.tone is not None:
        tone = column.tone(record)
        if tone is not None:
            style, label = tone
            text = text if label is None else label
    return escape_controls(text), style


def _rich_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    title: str | None,
    footer: dict[str, str] | None,
    console: Console | None = None,
    view: TableView | None = None,
) -> list[str]:
    """Print a table fitted to the console's width; returns the names of hidden columns."""
    from rich import box
    from rich.table import Table  # ~30 ms: only for terminals
    from rich.text import Text

    from crm_cli.render import fit

    console = console or _console()
    # Escaped before measuring: "\x1b" takes four cells where ESC took none.
    cells = [[_term_cell(c, row) for c in columns] for row in rows]
    # Footers are totals the command writes, one currency per line.
    feet = [escape_controls((footer or {}).get(c.key, ""), "\n") for c in columns]
    measures = []
    for i, col in enumerate(columns):
        texts = [line[i][0] for line in cells]
        priority = col.priority if col.priority is not None else (-1 if col.key == "id" else i)
        measures.append(
            fit.measure(
                col.label,
                escape_controls(col.header),
                [*texts, feet[i]],
                atom=col.is_atom(),
                priority=priority,
                floor=col.min_width,
                cap=col.max_width,
            )
        )
    only = None
    if view is not None and view.columns is not None:
        only = fit.resolve([c.label for c in columns], view.columns, [c.key for c in columns])
    layout = fit.fit(measures, console.width, only, wide=view is not None and view.wide)

    table = Table(
        box=box.SIMPLE_HEAD,
        title=_escape(title) if title is not None else None,
        show_footer=bool(footer),
        header_style="bold",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
        # With no outer edge and the divider a space, columns are fit.GAP cells apart.
        padding=(0, fit.GAP - 1, 0, 0),
    )
    for i, width in zip(layout.shown, layout.widths, strict=True):
        col = columns[i]
        foot = "\n".join(fit.ellipsize(line, width) for line in feet[i].split("\n"))
        table.add_column(
            Text(fit.ellipsize(escape_controls(col.header), width)),
            justify=col.justify,  # type: ignore[arg-type]
            width=width,
            no_wrap=True,
            overflow="ellipsis",
            footer=Text(foot),
        )
    for line in cells:
        table.add_row(
            *[
                Text(fit.ellipsize(line[i][0], w), style=line[i][1] or "")
                for i, w in zip(layout.shown, layout.widths, strict=True)
            ]
        )
    if layout.width > console.width:  # --wide or --columns asked for more than fits
        narrow = console.width
        console.width = layout.width
        try:
            console.print(table)
        finally:
            console.width = narrow
    else:
        console.print(table)
    return [columns[i].label for i in layout.hidden]


def _hidden_note(hidden: Sequence[str], width: int, how: str) -> None:
    """The one line that says which columns a terminal table left out, and how to see them."""
    message(f"crm: hidden at {width} columns: {', '.join(hidden)} ({how})")


def _how_to_see(view: TableView | None, shown: Sequence[str], hidden: Sequence[str]) -> str:
    if view is None:  # the command has no --wide or --columns (yet)
        return "all show in --json, --csv, | less -S"
    example = ",".join([*shown[:2], hidden[0]]) if hidden else ",".join(shown)
    return f"--wide shows all; --columns {example} picks"


def _escape(value: str, keep: str = "") -> str:
    """A stored value as Rich should print it: controls escaped, then markup escaped, so
    `[red]x[/red]` in a name is printed as written."""
    from rich.markup import escape

    return escape(escape_controls(value, keep))


# A record view keeps a note's line breaks and tabs (each further line indented under the
# value, so a line break cannot pass for a new field).
_BLOCK = "\n\t"


def emit_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[Column],
    fmt: str,
    *,
    json_rows: Any = None,
    title: str | None = None,
    footer: dict[str, str] | None = None,
    view: TableView | None = None,
) -> None:
    """Write a listing in `fmt`: "json", "csv" or "table" (Rich on a TTY, plain otherwise).

    `view` is what `--wide` / `--columns` asked for (fit.TableView); `--columns` also picks
    the columns of the plain form, which is otherwise never cut and never loses a column.
    """
    if fmt == "json":
        write_json_rows(rows if json_rows is None else json_rows)
    elif fmt == "csv":
        write_csv(rows, columns)
    elif stdout_is_tty():
        console = _console()
        gone = _rich_table(list(rows), columns, title, footer, console, view)
        if gone:
            # Named in the table's own order, as a wider terminal would show them.
            hidden = [c.label for c in columns if c.label in gone]
            shown = [c.label for c in columns if c.label not in gone]
            _hidden_note(hidden, console.width, _how_to_see(view, shown, hidden))
    else:
        if footer:
            rows = chain(rows, [footer])
        _plain(rows, _picked(columns, view))


def _picked(columns: Sequence[Column], view: TableView | None) -> Sequence[Column]:
    if view is None or view.columns is None:
        return columns
    from crm_cli.render.fit import resolve

    keys = [c.key for c in columns]
    return [columns[i] for i in resolve([c.label for c in columns], view.columns, keys)]


def emit_record(
    record: dict[str, Any],
    fields: Sequence[tuple[str, str]],
    fmt: str,
    *,
    sections: Sequence[tuple[str, Sequence[dict[str, Any]], Sequence[Column]]] = (),
    title: str | None = None,
    view: TableView | None = None,
) -> None:
    """Write one record: `fields` are (key, label) pairs; `sections` are sub-listings.

    On a terminal a value never runs past the edge: text wraps at spaces under itself, and a
    value that holds an atom (an email, a phone, a date) too long to sit beside the label
    starts on the next line instead of being folded. `view.wide` shows every section column.
    """
    if fmt == "json":
        write_json(record)
        return
    if fmt == "csv":
        write_csv([record], [Column(k, label) for k, label in fields])
        return
    record = _with_labels(record)
    if stdout_is_tty():
        _record_on_terminal(record, fields, sections, title, view)
        return
    width = max((len(label) for _, label in fields), default=0)
    indent = "\n" + " " * (width + 2)
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


# A list field and the field that holds its values' labels (a contact's `email_labels`).
_LABELS = {"emails": "email_labels", "phones": "phone_labels"}


def _with_labels(record: dict[str, Any]) -> dict[str, Any]:
    """The record as a person reads it: each labelled email or phone with its label beside
    it, `ana@acme.com (work)` (one item: never broken inside). `--json` and `--csv` keep
    the values and their labels apart."""
    shown: dict[str, Any] | None = None
    for key, labels_key in _LABELS.items():
        labels, values = record.get(labels_key), record.get(key)
        if labels and isinstance(labels, dict) and isinstance(values, list):
            shown = shown if shown is not None else dict(record)
            shown[key] = [f"{v} ({labels[v]})" if v in labels else v for v in values]
    return record if shown is None else shown


def _record_on_terminal(
    record: dict[str, Any],
    fields: Sequence[tuple[str, str]],
    sections: Sequence[tuple[str, Sequence[dict[str, Any]], Sequence[Column]]],
    title: str | None,
    view: TableView | None,
) -> None:
    from rich.cells import cell_len
    from rich.text import Text

    from crm_cli.render.fit import TableView
    from crm_cli.render.tones import record_status

    console = _console()
    full = console.width
    if title:
        from crm_cli.render.fit import ellipsize

        console.print(Text(ellipsize(escape_controls(title), full), style="bold"), soft_wrap=True)
    width = max((cell_len(label) for _, label in fields), default=0)
    for key, label in fields:
        raw = record.get(key)
        value = text_of(raw)
        if not value:
            continue
        style = ""
        tone = record_status(record) if key == "status" else None
        if tone is not None:
            style, words = tone
            value = value if words is None else words
            raw = value
        lines, below = _field_lines(key, raw, value, full - width - 2, full - 2)
        text = Text()
        text.append(label if below else label + " " * (width - cell_len(label)), style="dim")
        for n, line in enumerate(lines):
            if below:
                text.append("\n  ")
            elif n:
                text.append("\n" + " " * (width + 2))
            else:
                text.append("  ")
            text.append(line, style=style)
        console.print(text, soft_wrap=True)
    hidden: list[str] = []
    wide = TableView(wide=True) if view is not None and view.wide else None
    for name, rows, columns in sections:
        if rows:
            console.print()
            gone = _rich_table(rows, columns, name, None, console, wide)
            if gone:
                hidden.append(f"{name}: {', '.join(c.label for c in columns if c.label in gone)}")
    if hidden:
        how = "--wide shows all" if view is not None else "all show in --json, | less -S"
        _hidden_note(["; ".join(hidden)], full, how)


def _label_apart(token: str, full: int) -> list[str]:
    """`token` as one piece, or, when it is longer than `full` cells and ends in a label
    (`address (work),`), the address and the label as two."""
    from rich.cells import cell_len

    head, space, label = token.rpartition(" (")
    if not space or cell_len(token) <= full or not label.rstrip(",").endswith(")"):
        return [token]
    return [head, "(" + label]


def _field_lines(key: str, raw: Any, value: str, narrow: int, full: int) -> tuple[list[str], bool]:
    """A field's value as lines beside its label (`narrow` cells), or below it (`full`) when
    one unbreakable piece (an email, a phone, a date) would not fit beside it.

    As in a listing's cells: an atom is never cut or folded (one longer than the terminal
    has a line of its own), and a word of text longer than its line (a name, a title, a
    company) is cut with "…", counted in screen cells."""
    from rich.cells import cell_len

    from crm_cli.render.fit import ellipsize, is_atom_key, pack, words

    narrow, full = max(narrow, 1), max(full, 1)
    if is_atom_key(key):
        # A list of atoms breaks between its items, never inside one ("+49 30 1234" is one).
        items = [escape_controls(text_of(v)) for v in raw] if isinstance(raw, list | tuple) else []
        items = items or [escape_controls(value)]
        tokens = [f"{item}," for item in items[:-1]] + items[-1:]
        # An address with its label (`_with_labels`) longer than a whole line: the label goes
        # on the next line rather than past the edge.
        tokens = [part for token in tokens for part in _label_apart(token, full)]
        below = any(cell_len(token) > narrow for token in tokens)
        return pack(tokens, full if below else narrow, chop_long=False), below
    shown = escape_controls(value, _BLOCK).expandtabs(8)
    paragraphs = [[ellipsize(w, narrow) for w in words(p)] for p in shown.split("\n")]
    return [line for tokens in paragraphs for line in pack(tokens, narrow)], False
