"""Writing exports: CSV rows, JSON arrays and JSON lines to a text stream, and the file that
appears under its name complete or not at all.

Rows are written as they come (the services stream them from the database), so memory stays
flat at any row count. Every writer takes the stream it writes to: stdout, or the temporary
file of `atomic_output`.

CSV cells go through `cells.neutralise` (a spreadsheet would run `=...` as a formula) unless
the caller asks for raw cells; the importer undoes exactly that, so export -> import is
lossless. Lines end in CRLF, as RFC 4180 and the spreadsheets that read these files expect;
a value's own line breaks stay inside its quotes.
"""

from __future__ import annotations

import csv
import json
import operator
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from crm_cli.domain.contactinfo import EXTENSION
from crm_cli.io.cells import TRIGGERS, neutralise

# Multi-valued fields (emails, phones, tags) share one cell, joined by this; the importer
# splits on ";" and strips spaces. Neither an address, an E.164 number nor a tag holds ";".
MULTI_SEPARATOR = "; "

Getter = Callable[[dict[str, Any]], Any]


def cell_text(value: Any) -> str:
    """A record value as one CSV cell: lists joined by MULTI_SEPARATOR, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return MULTI_SEPARATOR.join(cell_text(v) for v in value)
    return str(value)


def write_csv(
    out: IO[str],
    header: Sequence[str],
    getters: Sequence[str | Getter],
    rows: Iterable[dict[str, Any]],
    *,
    raw: bool = False,
    numbers_plain: bool = False,
) -> int:
    """Write `header`, then one line per row; the row count. Cell i is the row's value at key
    `getters[i]`, or `getters[i](row)` for a callable.

    `numbers_plain`: a cell that is only a phone number as crm stores it (`+4930...`: a plus
    and digits, perhaps with an extension, `+4930... ext. 12`) is not neutralised. No
    spreadsheet can run it as anything but that number, and the address books the presets
    feed would keep the guarding quote as part of the number.

    This loop runs once per cell of a 100,000-row export, so it avoids a call per cell where
    it can: text is the common case and is tested by its first character only, the same test
    `cells.neutralise` makes (which the tests hold it to)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header if raw else [neutralise(h) for h in header])
    write = writer.writerow
    guarded = () if raw else _GUARDED
    exempt = _NUMBER.fullmatch if numbers_plain else None
    fetch = _fetcher(getters)
    count = 0
    for row in rows:
        cells: list[str] = []
        append = cells.append
        for value in fetch(row):
            if value is None:
                append("")
                continue
            if value.__class__ is not str:
                value = cell_text(value)
            if value[:1] in guarded and value and not (exempt and exempt(value)):
                value = "'" + value
            append(value)
        write(cells)
        count += 1
    return count


def write_cells(
    out: IO[str],
    header: Sequence[str],
    rows: Iterable[list[Any]],
    *,
    raw: bool = False,
    plain: Sequence[int] = (),
) -> int:
    """`write_csv` for rows that come as lists of cell values (in header order) rather than
    records: each value written as `write_csv` writes it (`cell_text`, then the formula
    guard unless `raw`); the row count. `plain`: the columns whose values the caller gives
    as text or None that can never start with a guarded character (numbers, ISO times),
    written as they are."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header if raw else [neutralise(h) for h in header])
    write = writer.writerow
    guarded = () if raw else _GUARDED
    checked = [i for i in range(len(header)) if i not in set(plain)]
    count = 0
    for cells in rows:
        for i in checked:
            value = cells[i]
            if value is None:
                continue  # csv writes None as an empty cell
            if value.__class__ is not str:
                value = cells[i] = cell_text(value)
            if value[:1] in guarded:
                cells[i] = "'" + value
        write(cells)
        count += 1
    return count


def _fetcher(getters: Sequence[str | Getter]) -> Callable[[dict[str, Any]], list[Any]]:
    """A function giving a row's values in column order: the keyed ones fetched together by
    one `itemgetter` call (in C), the computed ones put in their places."""
    keys = [g for g in getters if isinstance(g, str)]
    calls = [(i, g) for i, g in enumerate(getters) if not isinstance(g, str)]
    if not keys:
        return lambda row: [g(row) for _, g in calls]
    many = operator.itemgetter(*keys)
    get: Callable[[dict[str, Any]], list[Any]] = (
        (lambda row: list(many(row))) if len(keys) > 1 else (lambda row: [many(row)])
    )

    def fetch(row: dict[str, Any]) -> list[Any]:
        try:
            values = get(row)
        except KeyError:  # a record without one of the keys: that cell is empty
            values = [row.get(k) for k in keys]
        for i, call in calls:  # in column order, so each lands at its own index
            values.insert(i, call(row))
        return values

    return fetch


# First characters `cells.neutralise` guards: the formula triggers and the quote itself.
_GUARDED = frozenset((*TRIGGERS, "'"))
# A phone number as crm stores it: E.164, and an extension as `normalize_phone` writes it.
_NUMBER = re.compile(r"\+[0-9]+(?:" + re.escape(EXTENSION) + r"[0-9]+)?")


# What json.dumps(ensure_ascii=False) leaves raw but a terminal may act on (DEL, the C1
# controls, line separators, bidi controls): written as \u escapes, the same data to a parser.
_JSON_RAW = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _json_encoder() -> Callable[[Any], str]:
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    search, sub = _JSON_RAW.search, _JSON_RAW.sub

    def safe(row: Any) -> str:
        text = encode(row)
        if search(text) is None:
            return text
        return sub(lambda m: f"\\u{ord(m.group()):04x}", text)

    return safe


def write_json_array(out: IO[str], rows: Iterable[Any]) -> int:
    """A JSON array, one element per line, written as the rows come; the row count."""
    encode = _json_encoder()
    count = 0
    out.write("[")
    for row in rows:
        out.write(("\n" if count == 0 else ",\n") + encode(row))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_json_lines(out: IO[str], rows: Iterable[Any]) -> int:
    """One JSON object per line (JSON Lines); the row count."""
    encode = _json_encoder()
    count = 0
    for row in rows:
        out.write(encode(row) + "\n")
        count += 1
    return count


def write_texts(out: IO[str], texts: Iterable[str]) -> int:
    """Pieces of text written one after another (vCards); how many."""
    count = 0
    for piece in texts:
        out.write(piece)
        count += 1
    return count


PRIVATE_FILE = 0o600


@contextmanager
def atomic_output(target: Path | None, *, newline: str | None = "") -> Iterator[IO[str]]:
    """The stream an export writes to: stdout when `target` is None, else a private (0600)
    temporary file beside `target`, flushed to disk and renamed to `target` when the block
    ends. If the block raises, the temporary file is deleted and `target` is left as it was:
    a failed export never leaves half a file."""
    if target is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    directory = target.parent if str(target.parent) else Path(".")
    fd, name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".partial")
    partial = Path(name)
    try:
        os.chmod(partial, PRIVATE_FILE)
        with open(fd, "w", encoding="utf-8", newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
