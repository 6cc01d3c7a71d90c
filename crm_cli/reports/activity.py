"""The activity report: interactions logged and follow-ups completed, per owner (or month)
and kind, in the period; and the open deals nobody has touched for N days.

The counts are read from `activity_rollup` (crm_cli/store/rollups.py): live interactions and
completed follow-ups by UTC day, owner and kind, kept by triggers. A period's or a month's
local bound that splits a UTC day is handled as the sales report does: the day counts whole
on the side holding its noon, and the interactions and follow-ups of the hours on the other
side (at most half a day) are read from their tables and moved. `from_deals` computes every
figure from the rows themselves: the definition the rollup must agree with.

Idle deals = open deals created before the cutoff (now - N days) with no interaction since:
the live open deals whose last touch (the later of their creation and their latest live
interaction, kept in `deal_touch_rollup`) is before the cutoff, one range of
`ix_deal_touch_at` whatever N is.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select, union_all

from crm_cli.reports.base import (
    Period,
    Result,
    Runner,
    bucket_edges,
    bucket_key,
    local_day,
    month_bounds,
    split_day_moves,
    union_rows,
)
from crm_cli.reports.keys import NONE, check_by, key_names
from crm_cli.store.rollups import FOLLOWUP_DONE
from crm_cli.store.sales import (
    ActivityRollup,
    Deal,
    DealTouchRollup,
    Followup,
    Interaction,
)
from crm_cli.store.types import UTCDateTime

BY = ("owner", "month")
IDLE_SHOWN = 50

Found = list[tuple[Any, str, int]]  # (owner id or month key, kind, count)


def activity(
    run: Runner,
    period: Period,
    *,
    by: str | None,
    idle_days: int,
    now: datetime,
    from_deals: bool = False,
) -> Result:
    """The report, read from `activity_rollup` (or with `from_deals`, from the interactions,
    follow-ups and deals themselves)."""
    by = check_by(by, BY) or "owner"
    found = _from_rows(run, period, by) if from_deals else _from_rollup(run, period, by)
    names = key_names(run.session, "owner", {r[0] for r in found}) if by == "owner" else {}
    kinds = sorted({r[1] for r in found})
    table: dict[str, dict[str, int]] = {}
    for k, kind, n in found:
        label = names.get(k, NONE) if by == "owner" else str(k)
        table.setdefault(label, {})[kind] = int(n)

    cutoff = now - timedelta(days=idle_days)
    idle_count, idle = _idle(run, cutoff, from_deals)
    rows: list[dict[str, Any]] = [
        {"key": label, **{k: counts.get(k, 0) for k in kinds}, "total": sum(counts.values())}
        for label, counts in sorted(table.items())
    ]
    data = {
        "period": period.as_json(),
        "by": by,
        "rows": rows,
        "idle_days": idle_days,
        "idle_deals": idle_count,
        "idle": [{"id": i, "title": t} for i, t in idle],
    }
    working = [
        f"{sum(r['total'] for r in rows):,} interactions logged and follow-ups completed, "
        f"{period.label}",
        f"{idle_count:,} open deal{'' if idle_count == 1 else 's'} with no interaction "
        f"in the last {idle_days} days"
        + (
            f" (ids: {', '.join(str(i) for i, _ in idle[:10])}"
            + (", ..." if idle_count > 10 else "")
            + ")"
            if idle_count
            else ""
        ),
    ]
    return Result(
        name="activity",
        period=period,
        data=data,
        rows=rows,
        columns=[("key", by), *[(k, k) for k in kinds], ("total", "Total")],
        working=working,
        chart=[(str(r["key"]), float(r["total"])) for r in rows],
        chart_title="Activity" + (" by owner" if by == "owner" else " by month"),
        statements=run.statements,
    )


def _events(
    inter_where: list[Any], fu_where: list[Any], inter_at: Any = None, fu_at: Any = None
) -> Any:
    """Live interactions and completed follow-ups as (at, owner, kind) rows (a subquery)."""
    inter = Interaction.__table__.c  # type: ignore[attr-defined]
    fu = Followup.__table__.c  # type: ignore[attr-defined]
    return union_all(
        select(
            inter.occurred_at.label("at"), inter.owner_id.label("owner"), inter.kind.label("kind")
        ).where(inter.deleted_at.is_(None), *inter_where),
        select(
            fu.done_at.label("at"),
            fu.owner_id.label("owner"),
            literal(FOLLOWUP_DONE).label("kind"),
        ).where(fu.deleted_at.is_(None), fu.done_at.is_not(None), *fu_where),
    ).subquery("done")


def _from_rows(run: Runner, period: Period, by: str) -> Found:
    inter = Interaction.__table__.c  # type: ignore[attr-defined]
    fu = Followup.__table__.c  # type: ignore[attr-defined]
    events = _events(period.within(inter.occurred_at), period.within(fu.done_at))
    if by == "owner":
        key: Any = events.c.owner
    else:
        span = _span(run, period)
        if span is None:
            return []
        key = bucket_key(events.c.at, month_bounds(span[0], span[1], 1, period.tz))
    stmt = select(key.label("key"), events.c.kind, func.count()).group_by(key, events.c.kind)
    return [(k, kind, int(n)) for k, kind, n in run.rows(stmt)]


def _span(run: Runner, period: Period) -> tuple[date, date] | None:
    """The local days of the first and last event in the period, each end read by a seek in
    its table's time index (a union of the two would read every row)."""
    inter = Interaction.__table__.c  # type: ignore[attr-defined]
    fu = Followup.__table__.c  # type: ignore[attr-defined]
    conv = UTCDateTime().process_result_value
    dialect = run.session.get_bind().dialect
    ends: list[datetime] = []
    for agg in (func.min, func.max):
        for column, where in (
            (inter.occurred_at, [inter.deleted_at.is_(None)]),
            (fu.done_at, [fu.deleted_at.is_(None), fu.done_at.is_not(None)]),
        ):
            value = run.rows(select(agg(column)).where(*where, *period.within(column)))[0][0]
            converted = conv(value, dialect) if value is not None else None
            if converted is not None:
                ends.append(converted)
    if not ends:
        return None
    first = period.first or local_day(min(ends), period.tz)
    last = period.last or local_day(max(ends), period.tz)
    assert first is not None and last is not None
    return first, last


def _from_rollup(run: Runner, period: Period, by: str) -> Found:
    roll = ActivityRollup.__table__.c  # type: ignore[attr-defined]
    bounds: list[tuple[Any, datetime | None, datetime | None]]
    if by == "month":
        span = _span(run, period)
        if span is None:
            return []
        bounds = list(month_bounds(span[0], span[1], 1, period.tz))
    else:
        bounds = [("all", period.start, period.end)]
    edges, days = bucket_edges(bounds, period)
    conditions = []
    if days[0] is not None:
        conditions.append(roll.day >= days[0])
    if days[-1] is not None:
        conditions.append(roll.day < days[-1])

    totals: dict[tuple[Any, str], int] = defaultdict(int)
    if by == "month":
        daily = (
            select(roll.day, roll.kind, func.sum(roll.n).label("n"))
            .where(*conditions)
            .group_by(roll.day, roll.kind)
            .subquery("daily")
        )
        key: Any = case(
            *[(daily.c.day < day, k) for (k, _lo, _hi), day in zip(bounds, days[1:], strict=True)],
            else_=None,
        ).label("key")
        stmt = select(key, daily.c.kind, func.sum(daily.c.n)).group_by(key, daily.c.kind)
    else:
        stmt = (
            select(roll.owner_id, roll.kind, func.sum(roll.n))
            .where(*conditions)
            .group_by(roll.owner_id, roll.kind)
        )
    for k, kind, n in run.rows(stmt):
        if by == "owner" and k == 0:
            k = None
        totals[(k, kind)] += int(n)

    moves = split_day_moves(bounds, edges, days)
    if moves:
        _move(run, by, moves, totals)
    return [(k, kind, n) for (k, kind), n in totals.items() if n > 0]


# Parts read per statement when split days' events are moved (two selects each).
_PARTS = 50


def _move(
    run: Runner,
    by: str,
    moves: list[tuple[datetime, datetime, Any, Any]],
    totals: dict[tuple[Any, str], int],
) -> None:
    """Move the events of each (from, to) part from the bucket they were counted in to the
    one they belong to (None: outside the period)."""
    inter = Interaction.__table__.c  # type: ignore[attr-defined]
    fu = Followup.__table__.c  # type: ignore[attr-defined]

    # One range of each time index per part, not one pass with every part in an OR: SQLite
    # read the follow-ups' part as "done_at > ?", every completed follow-up tested against
    # each part (6 s at a million, by month, with the statistics PRAGMA optimize leaves).
    windows = []
    for i, (lo, hi, _to, _from) in enumerate(moves):
        events = _events(
            [inter.occurred_at >= lo, inter.occurred_at < hi], [fu.done_at >= lo, fu.done_at < hi]
        )
        windows.append(
            select(literal(i), events.c.owner, events.c.kind, func.count()).group_by(
                events.c.owner, events.c.kind
            )
        )
    rows = union_rows(run, windows, _PARTS)
    for i, owner, kind, n in rows:
        _lo, _hi, to, frm = moves[int(i)]
        for bucket, sign in ((to, 1), (frm, -1)):
            if bucket is None:
                continue
            key = bucket if by == "month" else owner
            totals[(key, kind)] += sign * int(n)


def _idle(run: Runner, cutoff_at: datetime, from_deals: bool) -> tuple[int, list[Any]]:
    """How many open deals created before the cutoff have no interaction since, and the
    first of them by id."""
    inter = Interaction.__table__.c  # type: ignore[attr-defined]
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    cutoff = literal(cutoff_at, UTCDateTime)
    recent = [inter.deleted_at.is_(None), inter.occurred_at >= cutoff]
    touched = select(inter.id).where(inter.deal_id == deal.id, *recent).exists()
    old_open = [deal.deleted_at.is_(None), deal.status == "open", deal.created_at < cutoff]
    idle_where = [*old_open, ~touched]
    if from_deals:
        count = int(run.rows(select(func.count(deal.id)).where(*idle_where))[0][0])
        idle = run.rows(
            select(deal.id, deal.title).where(*idle_where).order_by(deal.id).limit(IDLE_SHOWN)
        )
        return count, list(idle)
    # `deal_touch_rollup` holds each live open deal's last touch (creation or latest
    # interaction): the idle ones are a range of ix_deal_touch_at, and the first of them by
    # id a walk of its primary key.
    touch = DealTouchRollup.__table__.c  # type: ignore[attr-defined]
    before = touch.touched_at < cutoff
    count = int(run.rows(select(func.count()).select_from(DealTouchRollup).where(before))[0][0])
    if not count:  # the walk would read every open deal to find none
        return 0, []
    idle = run.rows(
        select(deal.id, deal.title)
        .select_from(DealTouchRollup)
        .join(Deal, deal.id == touch.deal_id)
        .where(before)
        .order_by(touch.deal_id)
        .limit(IDLE_SHOWN)
    )
    return count, list(idle)
