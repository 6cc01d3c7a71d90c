"""A report on the terminal: the table, the working behind each figure, a bar chart.

`--json` and `--csv` carry numbers only; the working and the chart go to a terminal (or a
pipe, as plain text) after the table.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from crm_cli.render.output import Column, emit_rows, stdout_is_tty, write_json

if TYPE_CHECKING:
    from crm_cli.reports.base import Result

BAR_WIDTH = 40
RIGHT = {"count", "won_count", "lost_count", "nps_responses", "probability"}


def emit_report(result: Result, fmt: str, *, chart: bool = True, explain: bool = False) -> None:
    if explain:
        for statement in result.statements:
            print(statement.strip() + ";\n")
        return
    if fmt == "json":
        write_json(result.data)
        return
    columns = [
        Column(
            key,
            label or "",
            justify="right" if key in RIGHT or _numeric(result.rows, key) else "left",
        )
        for key, label in result.columns
    ]
    if fmt == "csv":
        emit_rows(result.rows, columns, "csv")
        return
    title = f"{result.name} · {result.period.label}"
    if result.rows:
        emit_rows(result.rows, columns, "table", title=title if stdout_is_tty() else None)
    else:
        print(f"{title}: nothing to show")
    for line in _working_lines(result.working):
        print(line)
    if chart and result.chart and any(v for _, v in result.chart):
        print()
        print(result.chart_title)
        for line in bars(result.chart, _width()):
            print(line)


def _working_lines(working: list[str]) -> list[str]:
    """The working, wrapped at word boundaries to a terminal's width, never inside a number
    or an amount ("1,000.00 EUR" stays on one line); unchanged in a pipe."""
    from crm_cli.render import output

    if not output.stdout_is_tty():
        return list(working)
    import shutil

    from crm_cli.render.fit import pack

    width = max(shutil.get_terminal_size((80, 24)).columns, 20)
    lines: list[str] = []
    for text in working:
        units: list[str] = []
        for word in text.split(" "):
            # An amount's currency code stays with its number.
            if units and _is_currency(word) and any(ch.isdigit() for ch in units[-1]):
                units[-1] += " " + word
            else:
                units.append(word)
        # Continued lines are indented under the first, within the width.
        first, *rest = pack(units, width - 2, chop_long=False)
        lines += [first, *("  " + line for line in rest)]
    return lines


def _is_currency(word: str) -> bool:
    code = word.rstrip(",;.)")
    return len(code) == 3 and code.isalpha() and code.isupper()


def _numeric(rows: list[dict[str, Any]], key: str) -> bool:
    return bool(rows) and all(isinstance(r.get(key), int | float) for r in rows)


def _width() -> int:
    import shutil

    return shutil.get_terminal_size((80, 24)).columns if sys.stdout.isatty() else 80


def bars(series: list[tuple[str, float]], width: int) -> list[str]:
    """A horizontal bar chart in block characters, label and value beside each bar."""
    from rich.cells import cell_len as cell_width

    from crm_cli.render.fit import ellipsize as cut

    labels = [str(label) for label, _ in series]
    label_w = min(max((cell_width(label) for label in labels), default=0), 24)
    values = [f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}" for _, v in series]
    value_w = max((len(v) for v in values), default=0)
    room = max(10, min(BAR_WIDTH, width - label_w - value_w - 4))
    top = max((abs(v) for _, v in series), default=0) or 1
    lines = []
    for label, (_, v), shown in zip(labels, series, values, strict=True):
        eighths = round(abs(v) / top * room * 8)
        bar = "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]
        name = cut(label, label_w)
        pad = " " * (label_w - cell_width(name))
        lines.append(f"{name}{pad}  {bar.ljust(room)}  {shown.rjust(value_w)}")
    return lines
