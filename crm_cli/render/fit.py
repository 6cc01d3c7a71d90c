"""Fitting a table to the terminal: which columns show, how wide each is, where text is cut.

Rich, left alone, folds a date or an email across three lines and squeezes the last columns
to nothing when a table is wider than the terminal. Here each column has a kind and a
priority instead:

- an *atom* (an id, a date or time, an email, a phone, an amount, a status word) is shown
  whole or not at all: its column is hidden when it cannot fit;
- *text* (names, titles, notes) may be cut, with an ellipsis, measured in terminal cells:
  张 takes two cells and is never split in half.

Columns are taken in priority order while they fit (an atom at its full width, text at a
floor), so a low-priority column that is narrow can still show when a wide one above it
could not; what is left out is named in one line on stderr by the caller. The room that is
left goes to the text columns in proportion to what they want, up to their `max_width`
first, then to their full width. Nothing here prints: it measures strings with `rich.cells`
and never imports `rich.table`, so tests drive it without a console.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, get_character_cell_size

from crm_cli.errors import InvalidValue

# Cells between two columns: the table has no outer edge, and the header rule runs across.
GAP = 2
# Text is not cut narrower than this (nor than its header) unless it is narrower itself.
TEXT_FLOOR = 12
ELLIPSIS = "…"

# Keys whose values are one unbreakable thing. Right-aligned columns (numbers, amounts) and
# keys ending in `_at` or `_id` are atoms too; everything else is text.
ATOM_KEYS = frozenset(
    {
        "id",
        "email",
        "emails",
        "phone",
        "phones",
        "domain",
        "at",
        "due_local",
        "expected_close",
        "snoozed_until",
        "value_text",
        "weighted_text",
        "probability_text",
        "external_id",
        "cadence_days",
        "days_in_stage",
        "score",
        "status",
        "kind",
        "direction",
        "priority",
        "lifecycle",
        "role",
        "repeat",
        "size",
        "timezone",
        "revision",
        "key",
        "me",
    }
)


def is_atom_key(key: str) -> bool:
    return key in ATOM_KEYS or key.endswith(("_at", "_id"))


@dataclass(frozen=True)
class TableView:
    """How a person asked to see a table: `--wide` shows every column with nothing cut (the
    lines may be longer than the terminal); `--columns a,b` shows just those, in that order,
    text cut to fit but nothing hidden."""

    wide: bool = False
    columns: tuple[str, ...] | None = None

    @classmethod
    def from_options(cls, wide: bool = False, columns: str | None = None) -> TableView:
        if columns is None:
            return cls(wide, None)
        names = tuple(n.strip().lower() for n in columns.split(",") if n.strip())
        if not names:
            raise InvalidValue("--columns", columns, "name at least one column, e.g. id,title")
        return cls(wide, names)


@dataclass(frozen=True)
class Measure:
    """One column as the fitting sees it: widths in terminal cells."""

    name: str
    natural: int  # the widest cell (or header or footer line)
    floor: int  # the narrowest it may be: `natural` for an atom
    cap: int  # it grows to this first; past it only when every text column had its share
    priority: float  # lower is kept longer
    empty: bool = False  # no cell holds anything: shown only when nothing else is hidden

    @property
    def atom(self) -> bool:
        return self.floor >= self.natural


@dataclass(frozen=True)
class Layout:
    shown: list[int]  # column indices, in the table's own order
    widths: list[int]  # cells, one per shown column
    hidden: list[int]  # column indices, most important first
    width: int  # the whole table, in cells

    def width_of(self, index: int) -> int:
        return self.widths[self.shown.index(index)]


def measure(
    name: str,
    header: str,
    cells: Iterable[str],
    *,
    atom: bool,
    priority: float,
    floor: int | None = None,
    cap: int | None = None,
) -> Measure:
    """Measure a column from its cells (already escaped: `\\x1b` is four cells)."""
    cells = list(cells)
    head = cell_len(header)
    natural = max([head, *(cell_len(line) for cell in cells for line in cell.split("\n"))])
    empty = not any(cells)
    if atom:
        return Measure(name, natural, natural, natural, priority, empty)
    low = min(natural, max(head, floor if floor is not None else TEXT_FLOOR))
    high = natural if cap is None else max(low, min(natural, cap))
    return Measure(name, natural, low, high, priority, empty)


def table_width(widths: Sequence[int]) -> int:
    return sum(widths) + GAP * max(len(widths) - 1, 0)


def resolve(names: Sequence[str], wanted: Sequence[str], keys: Sequence[str] = ()) -> list[int]:
    """The columns `--columns` asked for, by name (or by key), in the order asked."""
    indices = []
    for want in wanted:
        for i, name in enumerate(names):
            if want in (name, keys[i] if i < len(keys) else None):
                indices.append(i)
                break
        else:
            raise InvalidValue("--columns", want, f"no such column; choose from {','.join(names)}")
    return indices


def fit(
    measures: Sequence[Measure], width: int, only: Sequence[int] | None = None, wide: bool = False
) -> Layout:
    """Choose the columns and their widths for a terminal `width` cells wide.

    `only` (from `--columns`) shows exactly those columns, in that order, text cut to fit;
    `wide` shows every column at its full width. Neither hides anything, so either may be
    wider than the terminal.
    """
    if only is not None or wide:
        shown = list(only) if only is not None else list(range(len(measures)))
        if wide:
            widths = [measures[i].natural for i in shown]
        else:
            widths = [measures[i].floor for i in shown]
            _grow(widths, [measures[i] for i in shown], width - table_width(widths))
        return Layout(shown, widths, [], table_width(widths))

    # Columns with something in them first, by priority, each while it fits.
    order = sorted(range(len(measures)), key=lambda i: (measures[i].priority, i))
    chosen: list[int] = []
    hidden: list[int] = []
    used = 0
    for i in (i for i in order if not measures[i].empty):
        extra = measures[i].floor + (GAP if chosen else 0)
        if used + extra <= width:
            chosen.append(i)
            used += extra
        else:
            hidden.append(i)
    if not chosen and order:  # nothing fits at all: show the first column, whatever it costs
        chosen = [next((i for i in order if not measures[i].empty), order[0])]
        hidden = [i for i in hidden if i not in chosen]
    # An empty column only takes room the text columns do not want up to their caps.
    for i in (i for i in order if measures[i].empty):
        trial = [*chosen, i]
        capped = _grown(trial, measures, width, phases=(0,))
        roomy = all(w >= measures[k].cap for k, w in zip(trial, capped, strict=True))
        if not hidden and roomy and table_width(capped) <= width:
            chosen.append(i)
        else:
            hidden.append(i)
    shown = sorted(chosen)
    widths = _grown(shown, measures, width)
    return Layout(shown, widths, hidden, table_width(widths))


def _grown(
    shown: Sequence[int], measures: Sequence[Measure], width: int, phases: Sequence[int] = (0, 1)
) -> list[int]:
    widths = [measures[i].floor for i in shown]
    _grow(widths, [measures[i] for i in shown], width - table_width(widths), phases)
    return widths


def _grow(
    widths: list[int], measures: Sequence[Measure], room: int, phases: Sequence[int] = (0, 1)
) -> None:
    """Share `room` cells among the text columns, a cell at a time to the one that has the
    smallest share of what it wants: first up to each one's cap, then up to its full width.
    A long title and a short name both get some, in proportion, rather than all to one."""
    for phase in phases:
        targets = [m.cap if phase == 0 else m.natural for m in measures]
        while room > 0:
            growing = [k for k in range(len(widths)) if widths[k] < targets[k]]
            if not growing:
                break
            k = min(growing, key=lambda k: (widths[k] / targets[k], k))
            widths[k] += 1
            room -= 1


def ellipsize(text: str, width: int) -> str:
    """`text` cut to at most `width` cells with an ellipsis, never inside a wide character."""
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    room = width - cell_len(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for ch in text:
        size = get_character_cell_size(ch)
        if used + size > room:
            break
        kept.append(ch)
        used += size
    return "".join(kept).rstrip() + ELLIPSIS


def chop(text: str, width: int) -> list[str]:
    """`text` in pieces of at most `width` cells (for one word longer than a line)."""
    pieces: list[str] = []
    piece: list[str] = []
    used = 0
    for ch in text:
        size = get_character_cell_size(ch)
        if piece and used + size > width:
            pieces.append("".join(piece))
            piece, used = [], 0
        piece.append(ch)
        used += size
    if piece or not pieces:
        pieces.append("".join(piece))
    return pieces


def pack(tokens: Sequence[str], width: int, *, chop_long: bool = True) -> list[str]:
    """Tokens on lines of at most `width` cells, joined by spaces; a token longer than a line
    is chopped, or with `chop_long` False has a line of its own, whole (an email, an amount).
    An empty token is a second space, so indentation stays."""
    lines: list[str] = []
    line: str | None = None
    for token in tokens:
        if line is not None and cell_len(line) + 1 + cell_len(token) <= width:
            line += " " + token
            continue
        if line is not None:
            lines.append(line.rstrip())
        pieces = chop(token, width) if chop_long and cell_len(token) > width else [token]
        lines.extend(pieces[:-1])
        line = pieces[-1]
    lines.append((line or "").rstrip())
    return lines


def words(paragraph: str) -> list[str]:
    """A paragraph's words for `pack`; a run of spaces leaves empty words, so indentation
    and double spaces stay."""
    return paragraph.split(" ")
