"""The activity report: interactions logged and follow-ups completed, per owner (or month)
and kind, in the period; and the open deals nobody has touched for N days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select, union_all

from crm_cli.reports.base import Period, Result, Runner, bucket_key, local_day, month_bounds
from crm_cli.reports.keys import NONE, check_by, key_names
from crm_cli.store.sales import Deal, Followup, Interaction
from crm_cli.store.types import UTCDateTime

BY = ("owner", "month")
IDLE_SHOWN = 50


def activity(
    run: Runner, period: Period, *, by: str | None, idle_days: int, now: datetime
) -> Result:
    by = check_by(by, BY) or "owner"
    inter = Interaction.__table__.c  # type: ignore[attr-defined]
    fu = Followup.__table__.c  # type: ignore[attr-defined]
    deal = Deal.__table__.c  # type: ignore[attr-defined]

    def part(when: Any, owner: Any, kind: Any, where: list[Any]) -> Any:
        return select(when.label("at"), owner.label("owner"), kind.label("kind")).where(*where)

    events = union_all(
        part(
            inter.occurred_at,
            inter.owner_id,
            inter.kind,
            [inter.deleted_at.is_(None), *period.within(inter.occurred_at)],
        ),
        part(
            fu.done_at,
            fu.owner_id,
            literal("follow-up done"),
            [fu.deleted_at.is_(None), fu.done_at.is_not(None), *period.within(fu.done_at)],
        ),
    ).subquery("done")
    if by == "owner":
        key: Any = events.c.owner
        stmt = select(key.label("key"), events.c.kind, func.count())
    else:
        span = run.rows(select(func.min(events.c.at), func.max(events.c.at)))[0]
        conv = UTCDateTime().process_result_value
        dialect = run.session.get_bind().dialect
        first = period.first or local_day(conv(span[0], dialect), period.tz)
        last = period.last or local_day(conv(span[1], dialect), period.tz)
        if first is None or last is None:
            stmt = select(literal(NONE).label("key"), events.c.kind, func.count()).where(
                literal(False)
            )
            key = None
        else:
            key = bucket_key(events.c.at, month_bounds(first, last, 1, period.tz))
            stmt = select(key.label("key"), events.c.kind, func.count())
    found = run.rows(stmt.group_by(key, events.c.kind) if key is not None else stmt)
    names = key_names(run.session, "owner", {r[0] for r in found}) if by == "owner" else {}
    kinds = sorted({r[1] for r in found})
    table: dict[str, dict[str, int]] = {}
    for k, kind, n in found:
        label = names.get(k, NONE) if by == "owner" else str(k)
        table.setdefault(label, {})[kind] = int(n)

    cutoff = literal(now - timedelta(days=idle_days), UTCDateTime)
    touched = (
        select(inter.id)
        .where(inter.deal_id == deal.id, inter.deleted_at.is_(None), inter.occurred_at >= cutoff)
        .exists()
    )
    idle_where = [
        deal.deleted_at.is_(None),
        deal.status == "open",
        deal.created_at < cutoff,
        ~touched,
    ]
    idle_count = int(run.rows(select(func.count(deal.id)).where(*idle_where))[0][0])
    idle = run.rows(
        select(deal.id, deal.title).where(*idle_where).order_by(deal.id).limit(IDLE_SHOWN)
    )
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
        f"{idle_count:,} open deals with no interaction in the last {idle_days} days"
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
