"""What every report shares: the period, the grouping, the SQL it ran.

A report is SQL that returns rows: aggregates run in the database, with money in minor units,
and Python only names and arranges the few rows that come back. Each report records the
statements it ran (`Runner.statements`), so `crm report NAME --explain` can print them.

Periods are local: `--from 2026-01-01 --to 2026-03-31` means from midnight of the first day to
the end of the last in the configured zone, as UTC bounds. Months and quarters are grouped the
same way: their local bounds become a small table of (key, from, to) rows the deals are joined
to, so a deal closed at 23:30 on 31 March in Berlin counts in March on SQLite and PostgreSQL
alike, without a time-zone function in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm_cli.domain.dates import add_months, localize
from crm_cli.errors import InvalidValue
from crm_cli.store.types import UTCDateTime

BY = ("owner", "month", "quarter", "stage", "source", "pipeline", "category", "kind")


@dataclass(frozen=True)
class Period:
    """A span of local days, as UTC bounds; either end may be open."""

    first: date | None
    last: date | None
    tz: ZoneInfo

    @property
    def start(self) -> datetime | None:
        return localize(self.first, time(0), self.tz).astimezone(UTC) if self.first else None

    @property
    def end(self) -> datetime | None:
        """The instant after the last day (exclusive)."""
        if self.last is None:
            return None
        return localize(self.last + timedelta(days=1), time(0), self.tz).astimezone(UTC)

    @property
    def label(self) -> str:
        if self.first is None and self.last is None:
            return "all time"
        first = self.first.isoformat() if self.first else "…"
        last = self.last.isoformat() if self.last else "…"
        return f"{first}..{last}"

    def within(self, column: Any) -> list[ColumnElement[bool]]:
        """Conditions keeping `column` inside the period."""
        conditions: list[ColumnElement[bool]] = []
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return conditions

    def as_json(self) -> dict[str, str | None]:
        return {
            "from": self.first.isoformat() if self.first else None,
            "to": self.last.isoformat() if self.last else None,
        }


def parse_day(text: str | None, field_name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue(field_name, text, "expected a date as YYYY-MM-DD") from None


def period(first: str | None, last: str | None, tz: ZoneInfo) -> Period:
    start, end = parse_day(first, "from"), parse_day(last, "to")
    if start and end and end < start:
        raise InvalidValue("to", last or "", f"is before --from {first}")
    return Period(start, end, tz)


@dataclass
class Runner:
    """Runs a report's statements and, with `explain`, keeps them as SQL for --explain
    (compiled again with their values written in: 10 ms for the sales report by month, so
    not unless asked)."""

    session: Session
    explain: bool = False
    statements: list[str] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def rows(self, stmt: Any) -> Sequence[Any]:
        if self.explain:
            self.statements.append(self._sql(stmt))
        return self.session.execute(stmt).all()

    def _sql(self, stmt: Any) -> str:
        dialect = self.session.get_bind().dialect
        try:
            return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        except Exception:  # noqa: BLE001 - a type without a literal form: show the placeholders
            return str(stmt.compile(dialect=dialect))


def days_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """`end - start` in days (fractional), in SQL."""
    if dialect == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def month_bounds(
    first: date, last: date, step: int, tz: ZoneInfo
) -> list[tuple[str, datetime, datetime]]:
    """(key, start, end) of each month (step 1) or quarter (step 3) from `first` to `last`,
    local bounds as UTC instants."""
    start = date(first.year, first.month - (first.month - 1) % step, 1)
    out: list[tuple[str, datetime, datetime]] = []
    while start <= last:
        nxt = add_months(start, step)
        key = (
            f"{start.year}-{start.month:02d}"
            if step == 1
            else f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        )
        out.append(
            (
                key,
                localize(start, time(0), tz).astimezone(UTC),
                localize(nxt, time(0), tz).astimezone(UTC),
            )
        )
        start = nxt
    return out


def bucket_key(column: Any, bounds: list[tuple[str, datetime, datetime]]) -> ColumnElement[Any]:
    """The key of the bucket `column` falls in (NULL outside them all), as one CASE whose
    branches test the upper bounds in order: a few comparisons a row, no join. The bounds are
    contiguous, so a value at or after the first start is in the first bucket it is before
    the end of."""
    lo = bounds[0][1]
    return case(
        (column < literal(lo, UTCDateTime), None),
        *[(column < literal(hi, UTCDateTime), key) for key, _lo, hi in bounds],
        else_=None,
    )


def first_last(run: Runner, column: Any, where: Sequence[Any]) -> tuple[Any, Any]:
    """The least and greatest `column` among the rows `where` selects, in a statement each:
    SQLite seeks an index on the column for a lone min() or max(), but reads every row for
    both in one statement (240 ms for a million-row rollup)."""
    from sqlalchemy import select

    low = run.rows(select(func.min(column)).where(*where))[0][0]
    if low is None:
        return None, None
    return low, run.rows(select(func.max(column)).where(*where))[0][0]


def union_rows(run: Runner, selects: Sequence[Any], per: int) -> list[Any]:
    """The rows of `selects` (alike in their columns), read `per` selects to a statement with
    UNION ALL: SQLite allows 500 parts to a compound statement."""
    from sqlalchemy import union_all

    rows: list[Any] = []
    for start in range(0, len(selects), per):
        chunk = selects[start : start + per]
        rows += run.rows(union_all(*chunk) if len(chunk) > 1 else chunk[0])
    return rows


def local_day(value: datetime | None, tz: ZoneInfo) -> date | None:
    return value.astimezone(tz).date() if value else None


def mean_median(histogram: list[tuple[float, int]]) -> tuple[float | None, float | None]:
    """Mean and median of values given as (value, how many) pairs."""
    total = sum(n for _v, n in histogram)
    if not total:
        return None, None
    ordered = sorted(histogram)
    mean = sum(v * n for v, n in ordered) / total
    low_rank, high_rank = (total + 1) // 2, (total + 2) // 2  # 1-based middle ranks
    seen, low, high = 0, None, None
    for value, n in ordered:
        if low is None and seen + n >= low_rank:
            low = value
        if seen + n >= high_rank:
            high = value
            break
        seen += n
    assert low is not None and high is not None
    return mean, (low + high) / 2


_HALF_DAY = timedelta(hours=12)


def utc_day(instant: datetime) -> date:
    return instant.astimezone(UTC).date()


def midnight(day: date) -> datetime:
    """The UTC midnight that starts `day`."""
    return datetime.combine(day, time(0), UTC)


def noon_day(bound: datetime) -> date:
    """The first UTC day whose noon is at or after `bound`: rollups kept by UTC day count a
    day that a local bound splits whole on the side holding its noon."""
    day = utc_day(bound - _HALF_DAY)
    return day if midnight(day) + _HALF_DAY >= bound else day + timedelta(days=1)


def bucket_edges(
    bounds: Sequence[tuple[Any, datetime | None, datetime | None]], period: Period
) -> tuple[list[datetime | None], list[date | None]]:
    """The edges between the buckets of a rollup kept by UTC day and, for each edge, the first
    UTC day counted after it. A month or quarter may start before the period and end after
    it: the period's own bounds win."""
    edges = [bounds[0][1], *[hi for _k, _lo, hi in bounds]]
    if period.start is not None:
        edges[0] = period.start
    if period.end is not None:
        edges[-1] = period.end
    return edges, [None if e is None else noon_day(e) for e in edges]


def split_day_moves(
    bounds: Sequence[tuple[Any, datetime | None, datetime | None]],
    edges: Sequence[datetime | None],
    days: Sequence[date | None],
) -> list[tuple[datetime, datetime, Any, Any]]:
    """The parts of days split by an edge that a rollup kept by UTC day counted in the wrong
    bucket, as (from, to, belongs to, counted in); None is outside the period."""
    keys = [None, *[k for k, _lo, _hi in bounds], None]
    moves: list[tuple[datetime, datetime, Any, Any]] = []
    for i, (edge, day) in enumerate(zip(edges, days, strict=True)):
        if edge is None or day is None or midnight(utc_day(edge)) == edge:
            continue
        before, after = keys[i], keys[i + 1]
        if day == utc_day(edge):  # the day is counted after the edge; its start is before
            moves.append((midnight(day), edge, before, after))
        else:  # counted before the edge; its end is after
            moves.append((edge, midnight(day), after, before))
    return moves


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class Result:
    """A report, ready to render: the JSON, the table rows, the working, the chart."""

    name: str
    period: Period
    data: Any  # what --json prints
    rows: list[dict[str, Any]]  # one table row each (also --csv)
    columns: list[tuple[str, str]]  # (key, label) of the table
    working: list[str] = field(default_factory=list)  # each headline figure and how it was made
    chart: list[tuple[str, float]] = field(default_factory=list)
    chart_title: str = ""
    statements: list[str] = field(default_factory=list)


def money_major(minor: int | None, currency: str) -> int | float | None:
    from crm_cli.domain.money import major_number

    return None if minor is None else major_number(int(minor), currency)


def money_text(minor: int | None, currency: str) -> str:
    from crm_cli.domain.money import format_money

    return "—" if minor is None else format_money(int(minor), currency)
