"""The sales report: deals closed in the period, won and lost, their value and how long they took.

win rate = won / (won + lost), counting deals whose close time falls in the period (open deals
are not in the denominator). The sales cycle is counted over won deals: days from created to
closed, each deal's rounded to whole days (so a deal that crossed a change of clocks is not an
hour short), then averaged; the median is the middle deal's (the mean of the two middle ones for
an even count), computed with window functions in the database.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from crm_cli.reports.base import (
    Period,
    Result,
    Runner,
    days_between,
    local_day,
    money_major,
    money_text,
    month_bounds,
    ratio,
)
from crm_cli.reports.keys import check_by, deal_key, key_names
from crm_cli.store.sales import Deal

BY = ("owner", "month", "quarter", "source", "pipeline")


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
) -> Result:
    check_by(by, BY)
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    where = [
        deal.deleted_at.is_(None),
        deal.status.in_(("won", "lost")),
        deal.closed_at.is_not(None),
        *period.within(deal.closed_at),
    ]
    if pipeline_id is not None:
        where.append(deal.pipeline_id == pipeline_id)
    if currency is not None:
        where.append(deal.currency == currency)

    span = None
    if by in ("month", "quarter") and (period.first is None or period.last is None):
        low, high = run.rows(
            select(func.min(deal.closed_at), func.max(deal.closed_at)).where(*where)
        )[0]
        if low is not None:
            from crm_cli.store.types import UTCDateTime

            conv = UTCDateTime().process_result_value
            dialect = run.session.get_bind().dialect
            span = (
                local_day(conv(low, dialect), period.tz),
                local_day(conv(high, dialect), period.tz),
            )

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
    counts_by: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    values: list[tuple[Any, str, int]] = []
    for key, status, cur, n, total in totals:
        counts_by[key][0 if status == "won" else 1] += int(n)
        if status == "won":
            values.append((key, cur, int(total or 0)))
    days_by: dict[Any, list[tuple[float, int]]] = defaultdict(list)
    for key, days, n in histogram:
        if days is not None:
            days_by[key].append((float(days), int(n)))
    cycles = {key: _mean_median(found) for key, found in days_by.items()}
    counts = [
        (key, won_n, lost_n, cycles.get(key, (None, None))[0])
        for key, (won_n, lost_n) in counts_by.items()
    ]
    medians = [(key, m) for key, (_a, m) in cycles.items()]

    won_by: dict[Any, dict[str, int]] = defaultdict(dict)
    for key, cur, total in values:
        won_by[key][cur] = int(total or 0)
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


def _mean_median(histogram: list[tuple[float, int]]) -> tuple[float | None, float | None]:
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
