"""The sales report: deals closed in the period, won and lost, their value and how long they took.

win rate = won / (won + lost), counting deals whose close time falls in the period (open deals
are not in the denominator). The sales cycle is counted over won deals: days from created to
closed, each deal's rounded to whole days (so a deal that crossed a change of clocks is not an
hour short), then averaged; the median is the middle deal's (the mean of the two middle ones for
an even count), computed with window functions in the database.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, literal_column, select, union_all

from crm_cli.domain.dates import add_months
from crm_cli.reports.base import (
    Period,
    Result,
    Runner,
    bucket_edges,
    days_between,
    first_last,
    local_day,
    mean_median,
    midnight,
    money_major,
    money_text,
    month_bounds,
    ratio,
    split_day_moves,
    union_rows,
    utc_day,
)
from crm_cli.reports.keys import check_by, deal_key, key_names
from crm_cli.store.rollups import CLOSE_MONTH, CLOSE_ORDER
from crm_cli.store.sales import Deal, DealCloseRollup
from crm_cli.store.types import UTCDateTime

BY = ("owner", "month", "quarter", "source", "pipeline")
_PARTS = 100  # buckets per statement when a period is read bucket by bucket


def _fmt_days(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def sales(
    run: Runner,
    period: Period,
    *,
    by: str | None = None,
    pipeline_id: int | None = None,
    currency: str | None = None,
    from_deals: bool = False,
) -> Result:
    """The report, read from `deal_close_rollup` (or with `from_deals`, from the deals
    themselves: the definition the rollup must agree with)."""
    check_by(by, BY)
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    closed = [
        deal.deleted_at.is_(None),
        deal.status.in_(("won", "lost")),
        deal.closed_at.is_not(None),
    ]
    if pipeline_id is not None:
        closed.append(deal.pipeline_id == pipeline_id)
    if currency is not None:
        closed.append(deal.currency == currency)
    where = [*closed, *period.within(deal.closed_at)]

    if from_deals:
        totals, histogram, span = _from_deals(run, period, by, where)
    else:
        totals, histogram, span = _from_rollup(run, period, by, pipeline_id, currency, closed)
    counts_by: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    values: list[tuple[Any, str, int]] = []
    for key, status, cur, n, value_sum in totals:
        counts_by[key][0 if status == "won" else 1] += n
        if status == "won":
            values.append((key, cur, value_sum))
    days_by: dict[Any, list[tuple[float, int]]] = defaultdict(list)
    for key, days, n in histogram:
        if days is not None:
            days_by[key].append((float(days), int(n)))
    cycles = {key: mean_median(found) for key, found in days_by.items()}
    counts = [
        (key, won_n, lost_n, cycles.get(key, (None, None))[0])
        for key, (won_n, lost_n) in counts_by.items()
    ]
    medians = [(key, m) for key, (_a, m) in cycles.items()]

    won_by: dict[Any, dict[str, int]] = defaultdict(dict)
    for key, cur, amount in values:
        won_by[key][cur] = amount
    median_by = {key: float(m) for key, m in medians if m is not None}
    names = key_names(run.session, by, {row[0] for row in counts})
    items = []
    for key, won_n, lost_n, avg in counts:
        won_n, lost_n = int(won_n or 0), int(lost_n or 0)
        item = _item(won_n, lost_n, won_by.get(key, {}), avg, median_by.get(key))
        items.append((names[key] if by else None, item))
    if by in ("month", "quarter"):
        first, last = period.first or (span and span[0]), period.last or (span and span[1])
        if first and last:  # every month of the period, an empty one too
            seen = {key for key, _ in items}
            step = 1 if by == "month" else 3
            for key, _lo, _hi in month_bounds(first, last, step, period.tz):
                if key not in seen:
                    items.append((key, _item(0, 0, {}, None, None)))
        items.sort(key=lambda pair: str(pair[0]))
    elif by:
        items.sort(key=lambda pair: (-pair[1]["won_count"], str(pair[0])))

    if by is None:
        item = items[0][1] if items else _item(0, 0, {}, None, None)
        data: Any = {"period": period.as_json(), **item}
        working = _working(item, period)
        rows = [_row("all", item)]
    else:
        data = [{"key": key, "period": period.as_json(), **item} for key, item in items]
        rows = [_row(str(key), item) for key, item in items]
        total = _item(
            sum(i["won_count"] for _, i in items),
            sum(i["lost_count"] for _, i in items),
            {},
            None,
            None,
        )
        working = [_rate_line(total, period)]
    chart = [(row["key"], float(row["won_count"])) for row in rows] if by else []
    return Result(
        name="sales",
        period=period,
        data=data,
        rows=rows,
        columns=[
            ("key", by or ""),
            ("won_count", "Won"),
            ("lost_count", "Lost"),
            ("win_rate", "Win rate"),
            ("won_value", "Won value"),
            ("avg_cycle", "Avg cycle (d)"),
            ("median_cycle", "Median cycle (d)"),
        ],
        working=working,
        chart=chart,
        chart_title="Won deals" + (f" by {by}" if by else ""),
        statements=run.statements,
    )


Totals = list[tuple[Any, str, str, int, int]]  # (key, status, currency, count, value)
Histogram = list[tuple[Any, float, int]]  # (key, cycle days, won deals)


def _from_deals(
    run: Runner, period: Period, by: str | None, where: list[Any]
) -> tuple[Totals, Histogram, tuple[date, date] | None]:
    """Counts, values and the cycle histogram from the closed deals, one row each."""
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    span: tuple[date, date] | None = None
    if by in ("month", "quarter") and (period.first is None or period.last is None):
        low, high = first_last(run, deal.closed_at, where)
        if low is not None:
            conv = UTCDateTime().process_result_value
            dialect = run.session.get_bind().dialect
            first = local_day(conv(low, dialect), period.tz)
            last = local_day(conv(high, dialect), period.tz)
            span = (first, last) if first and last else None

    cycle = func.round(days_between(run.dialect, deal.created_at, deal.closed_at))
    base = select(
        deal.status.label("status"),
        deal.value_minor.label("value_minor"),
        deal.currency.label("currency"),
        cycle.label("cycle"),
    ).where(*where)
    base, _ = deal_key(base, by, deal.closed_at, period, span)
    closed = base.subquery("closed")
    won = closed.c.status == "won"

    # One pass for the counts and values, one for the won deals' cycles as a histogram of
    # whole days: the mean and the exact median come from a few hundred (days, count) rows
    # instead of sorting every deal.
    totals = run.rows(
        select(
            closed.c.key,
            closed.c.status,
            closed.c.currency,
            func.count(),
            func.sum(closed.c.value_minor),
        ).group_by(closed.c.key, closed.c.status, closed.c.currency)
    )
    histogram = run.rows(
        select(closed.c.key, closed.c.cycle, func.count())
        .where(won)
        .group_by(closed.c.key, closed.c.cycle)
    )
    return (
        [(k, st, cur, int(n), int(v or 0)) for k, st, cur, n, v in totals],
        [(k, float(d), int(n)) for k, d, n in histogram if d is not None],
        span,
    )


def _item(
    won: int, lost: int, values: dict[str, int], avg: Any, median: float | None
) -> dict[str, Any]:
    currencies = sorted(values)
    single = currencies[0] if len(currencies) == 1 else None
    return {
        "won_count": won,
        "lost_count": lost,
        "closed_count": won + lost,
        "won_value": money_major(values[single], single) if single else (0 if not values else None),
        "currency": single,
        "won_values": [
            {"currency": c, "value": money_major(values[c], c), "value_minor": values[c]}
            for c in currencies
        ],
        "win_rate": ratio(won, won + lost),
        "win_rate_numerator": won,
        "win_rate_denominator": won + lost,
        "avg_cycle_days": float(avg) if avg is not None else None,
        "median_cycle_days": median,
        "cycle_deals": won,
    }


def _row(key: str, item: dict[str, Any]) -> dict[str, Any]:
    value = (
        "; ".join(money_text(v["value_minor"], v["currency"]) for v in item["won_values"]) or "—"
    )
    return {
        "key": key,
        "won_count": item["won_count"],
        "lost_count": item["lost_count"],
        "win_rate": _pct(item["win_rate"]),
        "won_value": value,
        "avg_cycle": _fmt_days(item["avg_cycle_days"]),
        "median_cycle": _fmt_days(item["median_cycle_days"]),
    }


def _rate_line(item: dict[str, Any], period: Period) -> str:
    won, lost = item["won_count"], item["lost_count"]
    if won + lost == 0:
        return f"win rate — (no deals closed {period.label})"
    return (
        f"win rate {_pct(item['win_rate'])} = {won:,} won / ({won:,} won + {lost:,} lost), "
        f"closed {period.label}"
    )


def _working(item: dict[str, Any], period: Period) -> list[str]:
    lines = [_rate_line(item, period)]
    for value in item["won_values"]:
        lines.append(
            f"won value {money_text(value['value_minor'], value['currency'])} = "
            f"sum of {item['won_count']:,} won deals' values in {value['currency']}"
        )
    if item["won_count"]:
        lines.append(
            f"sales cycle: average {_fmt_days(item['avg_cycle_days'])} days, median "
            f"{_fmt_days(item['median_cycle_days'])} days = closed - created, "
            f"over {item['won_count']:,} won deals"
        )
    else:
        lines.append("sales cycle — (no won deals in the period)")
    return lines


# Reading the rollup. Its rows are UTC days; a period's bounds and its months are local, so a
# bound that is not a UTC midnight splits a day. Each such day is counted whole in the bucket
# (month, quarter, the period, or outside it) that holds its noon, and the deals of the part
# that belongs elsewhere - the hours of the zone's offset, at most half a day - are read from
# the deals and moved: added to their bucket, taken from the one the day was counted in.

_DAY = timedelta(days=1)


def _from_rollup(
    run: Runner,
    period: Period,
    by: str | None,
    pipeline_id: int | None,
    currency: str | None,
    closed: list[Any],
) -> tuple[Totals, Histogram, tuple[date, date] | None]:
    """What `_from_deals` returns, from the rollup (and the deals of split days' parts).
    `closed` are the conditions on a deal that the rollup's rows stand for."""
    roll = DealCloseRollup.__table__.c  # type: ignore[attr-defined]
    filters: list[Any] = []
    if pipeline_id is not None:
        filters.append(roll.pipeline_id == pipeline_id)
    if currency is not None:
        filters.append(roll.currency == currency)

    span = None
    bounds: list[tuple[Any, datetime | None, datetime | None]]  # (key, from, to) buckets
    if by in ("month", "quarter"):
        first, last = period.first, period.last
        if first is None or last is None:
            span = _span(run, period, filters, closed)
            if span is None:
                return [], [], None
            first, last = first or span[0], last or span[1]
        bounds = list(month_bounds(first, last, 1 if by == "month" else 3, period.tz))
    else:
        bounds = [("all", period.start, period.end)]

    edges, days = bucket_edges(bounds, period)
    statements = _statements(run, by, filters, bounds, days)
    totals: dict[tuple[Any, str, str], list[int]] = defaultdict(lambda: [0, 0])
    histogram: dict[tuple[Any, float], int] = defaultdict(int)
    found = [row for stmt in statements for row in run.rows(stmt)]
    for k, status, cur, cycle, n, value in found:
        k = _rollup_key(by, k)
        entry = totals[(k, status, cur)]
        entry[0] += int(n)
        entry[1] += int(value or 0)
        if status == "won":
            histogram[(k, float(cycle))] += int(n)

    moves = split_day_moves(bounds, edges, days)
    if moves:
        _move(run, by, closed, moves, totals, histogram)
    return (
        [(k, st, cur, n, v) for (k, st, cur), (n, v) in totals.items() if n > 0],
        [(k, d, n) for (k, d), n in histogram.items() if n > 0],
        span,
    )


def _statements(
    run: Runner,
    by: str | None,
    filters: list[Any],
    bounds: list[tuple[Any, datetime | None, datetime | None]],
    days: list[date | None],
) -> list[Any]:
    """Statements giving (key, status, currency, cycle, deals, value) rows of the rollup for
    each bucket, whose UTC days are [days[i], days[i + 1]).

    The rows of a day rarely share a key (each won deal's cycle is nearly its own), so
    grouping them is the cost. PostgreSQL hashes: one aggregate per bucket over its range of
    days. SQLite sorts, unless the rows come in the grouping's order: over all time
    `ix_deal_close_order` gives it, within a UTC month `ix_deal_close_month`
    (crm_cli/store/rollups.py). So on SQLite a bucket is read as its whole months and the
    days on either side of them, each part grouped by a prefix of that order that reaches
    the key's column, and the parts' few rows are summed again by key."""
    roll = DealCloseRollup.__table__.c  # type: ignore[attr-defined]
    sqlite = run.dialect == "sqlite"
    column = {"owner": roll.owner_id, "source": roll.source, "pipeline": roll.pipeline_id}.get(
        by or ""
    )
    if column is None:
        group = [roll.status, roll.currency, roll.cycle_days]
    elif sqlite:
        group = [roll[name] for name in CLOSE_ORDER[: CLOSE_ORDER.index(column.name) + 1]]
    else:
        group = [column, roll.status, roll.currency, roll.cycle_days]
    if sqlite and (days[0] is None) != (days[-1] is None):
        # An open end: close it at the rollup's first or last day, so the months between
        # are read in order (one seek of the primary key).
        days = list(days)
        if days[0] is None:
            days[0] = _as_date(run.rows(select(func.min(roll.close_day)))[0][0] or days[-1])
        else:
            last = run.rows(select(func.max(roll.close_day)))[0][0]
            days[-1] = _as_date(last) + _DAY if last is not None else days[0]

    parts = []
    for (k, _lo, _hi), lo, hi in zip(bounds, days[:-1], days[1:], strict=True):
        key = (literal(k) if column is None else column).label("key")
        for within in _day_parts(lo, hi, sqlite):
            parts.append(
                select(
                    key,
                    roll.status,
                    roll.currency,
                    roll.cycle_days.label("cycle"),
                    func.sum(roll.n).label("n"),
                    func.sum(roll.value_minor).label("value"),
                )
                .where(*filters, *within)
                .group_by(*group)
            )
    # SQLite allows 500 parts to a compound statement; a century of months is 1,200.
    statements = []
    for i in range(0, len(parts), _PARTS):
        chunk = parts[i : i + _PARTS]
        if len(chunk) == 1 and len(group) <= 4:
            statements.append(chunk[0])
            continue
        both = union_all(*chunk).subquery("parts") if len(chunk) > 1 else chunk[0].subquery()
        c = both.c
        statements.append(
            select(c.key, c.status, c.currency, c.cycle, func.sum(c.n), func.sum(c.value)).group_by(
                c.key, c.status, c.currency, c.cycle
            )
        )
    return statements


def _day_parts(lo: date | None, hi: date | None, sqlite: bool) -> list[list[Any]]:
    """The conditions of each part of the rollup's days [lo, hi) (None: unbounded): on SQLite
    each whole UTC month by `CLOSE_MONTH`, which `ix_deal_close_month` holds in order, and
    the days before and after them; elsewhere the one range."""
    roll = DealCloseRollup.__table__.c  # type: ignore[attr-defined]

    def days(a: date | None, b: date | None) -> list[Any]:
        return [
            *([] if a is None else [roll.close_day >= a]),
            *([] if b is None else [roll.close_day < b]),
        ]

    if not sqlite or lo is None or hi is None:
        return [days(lo, hi)]
    month = lo if lo.day == 1 else add_months(lo.replace(day=1), 1)
    months = []
    while add_months(month, 1) <= hi:
        months.append(month)
        month = add_months(month, 1)
    if not months:
        return [days(lo, hi)]
    end = add_months(months[-1], 1)
    return [
        *([days(lo, months[0])] if lo < months[0] else []),
        *[[literal_column(CLOSE_MONTH) == f"{m:%Y-%m}"] for m in months],
        *([days(end, hi)] if end < hi else []),
    ]


def _rollup_key(by: str | None, key: Any) -> Any:
    """The rollup's key as the deals give it: no owner is 0 there, no source ""."""
    if (by == "owner" and key == 0) or (by == "source" and key == ""):
        return None
    return key


def _move(
    run: Runner,
    by: str | None,
    closed: list[Any],
    moves: list[tuple[datetime, datetime, Any, Any]],
    totals: dict[tuple[Any, str, str], list[int]],
    histogram: dict[tuple[Any, float], int],
) -> None:
    """Move the deals closed in each (from, to) part from the bucket they were counted in to
    the one they belong to (None: outside the period)."""
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    column = {
        "owner": deal.owner_id,
        "source": deal.source,
        "pipeline": deal.pipeline_id,
    }.get(by or "", literal("all"))
    cycle = func.round(days_between(run.dialect, deal.created_at, deal.closed_at))
    # One range of the close index per part, not one pass with every part in an OR: SQLite
    # read that as "closed_at > ?" and tested every closed deal against each part (3.3 s at
    # a million deals, by month, with the statistics PRAGMA optimize leaves).
    windows = [
        select(
            literal(i),
            column,
            deal.status,
            deal.currency,
            cycle,
            func.count(),
            func.sum(deal.value_minor),
        )
        .where(*closed, deal.closed_at >= lo, deal.closed_at < hi)
        .group_by(column, deal.status, deal.currency, cycle)
        for i, (lo, hi, _to, _from) in enumerate(moves)
    ]
    rows = union_rows(run, windows, _PARTS)
    monthly = by in ("month", "quarter")
    for i, own, status, cur, days, n, value in rows:
        _lo, _hi, to, frm = moves[int(i)]
        for bucket, sign in ((to, 1), (frm, -1)):
            if bucket is None:
                continue
            key = bucket if monthly else own
            entry = totals[(key, status, cur)]
            entry[0] += sign * int(n)
            entry[1] += sign * int(value or 0)
            if status == "won" and days is not None:
                histogram[(key, float(days))] += sign * int(n)


def _span(
    run: Runner, period: Period, filters: list[Any], closed: list[Any]
) -> tuple[date, date] | None:
    """The local days of the first and last close in the period (one end of it open), or None
    when nothing closed in it: the rollup finds the UTC days, the deals of those days the
    times."""
    roll = DealCloseRollup.__table__.c  # type: ignore[attr-defined]
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    conditions = list(filters)
    if period.start is not None:
        conditions.append(roll.close_day >= utc_day(period.start))
    if period.end is not None:
        conditions.append(roll.close_day <= utc_day(period.end - timedelta(microseconds=1)))
    low_day, high_day = first_last(run, roll.close_day, conditions)
    if low_day is None:
        return None
    where = [*closed, *period.within(deal.closed_at)]

    def day_edge(agg: Any, day: date) -> datetime | None:
        value = run.rows(
            select(agg(deal.closed_at)).where(
                *where,
                deal.closed_at >= midnight(day),
                deal.closed_at < midnight(day + _DAY),
            )
        )[0][0]
        return UTCDateTime().process_result_value(value, run.session.get_bind().dialect)

    first, last = period.first, period.last
    if first is None:
        low = day_edge(func.min, _as_date(low_day))
        if low is None:
            return None
        first = local_day(low, period.tz)
    if last is None:
        high = day_edge(func.max, _as_date(high_day))
        if high is None:
            return None
        last = local_day(high, period.tz)
    assert first is not None and last is not None
    return first, last


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
