"""Customer reports from won deals: RFM segments and lifetime value.

A customer is a contact with at least one won deal (closed in the period, when one is given).
Money is in one currency at a time: `--currency`, else the currency most won deals are in.

RFM: recency = the last won deal's close time, frequency = how many won deals, monetary = their
total value. Each is scored 1-5 in quintiles with NTILE(5) over the customers ordered by it,
ties broken by contact id, so every quintile holds the same count (the first ones one more when
the count does not divide by five); 5 is the most recent, most frequent, most valuable. Over
all time the same quintiles come from boundary customers read off the rollup's indexes
(`scored_from_rollup`); `scored` keeps the NTILE form, for periods and as the reference. The
segment comes from R and FM = (F + M + 1) div 2 through the table `SEGMENTS` (docs/reports.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, desc, func, literal, select, text, tuple_

from crm_cli.reports.base import (
    Period,
    Result,
    Runner,
    days_between,
    money_major,
    money_text,
    ratio,
    union_rows,
)
from crm_cli.store.sales import CustomerWonRollup, Deal
from crm_cli.store.types import UTCDateTime

# SEGMENTS[r][fm] for R and FM scores 1..5 (index 0 unused).
_ROWS = {
    5: ("new", "potential loyalist", "potential loyalist", "champions", "champions"),
    4: ("promising", "potential loyalist", "potential loyalist", "loyal", "champions"),
    3: ("about to sleep", "need attention", "need attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at risk", "at risk", "can't lose them"),
    1: ("lost", "hibernating", "at risk", "can't lose them", "can't lose them"),
}
SEGMENTS = {r: dict(enumerate(names, start=1)) for r, names in _ROWS.items()}
ORDER = (
    "champions",
    "loyal",
    "potential loyalist",
    "new",
    "promising",
    "need attention",
    "about to sleep",
    "at risk",
    "can't lose them",
    "hibernating",
    "lost",
)
MONTH_DAYS = 365.25 / 12


def slug(segment: str) -> str:
    return segment.replace("'", "").replace(" ", "-")


def _won(period: Period, currency: str) -> list[Any]:
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    return [
        deal.deleted_at.is_(None),
        deal.status == "won",
        deal.contact_id.is_not(None),
        deal.closed_at.is_not(None),
        deal.currency == currency,
        *period.within(deal.closed_at),
    ]


def _all_time(period: Period, from_deals: bool) -> bool:
    """Whether the report reads `customer_won_rollup`: it holds all time, not a period."""
    return not from_deals and period.start is None and period.end is None


def main_currency(run: Runner, period: Period, from_deals: bool = True) -> str | None:
    return _main_currency(run, period, from_deals)[0]


def _main_currency(run: Runner, period: Period, from_deals: bool) -> tuple[str | None, int | None]:
    """The currency most won deals are in and, when read from the rollup, how many customers
    it has there (the segments' quintiles need the count: one statement fewer)."""
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    if _all_time(period, from_deals):
        # The rollup counts won deals with a close time; the currency is counted over all
        # won deals, so it serves when none lacks one (a seek in ix_deal_closed).
        undated = run.rows(
            select(deal.id)
            .where(
                deal.status == "won",
                deal.closed_at.is_(None),
                deal.deleted_at.is_(None),
                deal.contact_id.is_not(None),
            )
            # In the index's order: PostgreSQL, expecting a fifth of the won deals to lack
            # a close time (as a fifth of all deals do), otherwise scanned every deal for one.
            .order_by(deal.status, deal.closed_at)
            .limit(1)
        )
        if not undated:
            roll = CustomerWonRollup.__table__.c  # type: ignore[attr-defined]
            found = run.rows(
                select(roll.currency, func.sum(roll.n), func.count())
                .group_by(roll.currency)
                .order_by(desc(func.sum(roll.n)), roll.currency)
                .limit(1)
            )
            return (found[0][0], int(found[0][2])) if found else (None, None)
    found = run.rows(
        select(deal.currency, func.count())
        .where(
            deal.deleted_at.is_(None),
            deal.status == "won",
            deal.contact_id.is_not(None),
            *period.within(deal.closed_at),
        )
        .group_by(deal.currency)
        .order_by(desc(func.count()), deal.currency)
        .limit(1)
    )
    return (found[0][0] if found else None), None


def _per_customer(period: Period, currency: str, from_deals: bool) -> Any:
    """Per customer: contact_id, first and last close, f (won deals) and m (their value)."""
    if _all_time(period, from_deals):
        roll = CustomerWonRollup.__table__.c  # type: ignore[attr-defined]
        return (
            select(
                roll.contact_id.label("contact_id"),
                roll.first_closed.label("first"),
                roll.last_closed.label("last"),
                roll.n.label("f"),
                roll.value_minor.label("m"),
            )
            .where(roll.currency == currency)
            .subquery("customer")
        )
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    return (
        select(
            deal.contact_id.label("contact_id"),
            func.min(deal.closed_at).label("first"),
            func.max(deal.closed_at).label("last"),
            func.count().label("f"),
            func.sum(deal.value_minor).label("m"),
        )
        .where(*_won(period, currency))
        .group_by(deal.contact_id)
        .subquery("customer")
    )


def scored(period: Period, currency: str, from_deals: bool = True) -> Any:
    """Per customer: last close, frequency, monetary and the three scores (a subquery)."""
    per = _per_customer(period, currency, from_deals)
    return select(
        per.c.contact_id,
        per.c.last,
        per.c.f,
        per.c.m,
        func.ntile(5).over(order_by=(per.c.last, per.c.contact_id)).label("r_score"),
        func.ntile(5).over(order_by=(per.c.f, per.c.contact_id)).label("f_score"),
        func.ntile(5).over(order_by=(per.c.m, per.c.contact_id)).label("m_score"),
    ).subquery("rfm")


def quintile_starts(count: int) -> list[int]:
    """The 0-based ranks where quintiles 2 to 5 start among `count` ranked rows, as NTILE(5)
    deals them: the first `count % 5` quintiles hold one more. A start at `count` or beyond
    has no row (fewer than five rows leave the top quintiles empty)."""
    size, extra = divmod(count, 5)
    return [b * size + min(b, extra) for b in range(1, 5)]


def rollup_bounds(
    run: Runner, currency: str, count: int | None = None
) -> list[list[tuple[Any, Any]]]:
    """For recency, frequency and monetary, the (measure, contact id) of the customers at
    which quintiles 2 to 5 start (fewer when there are fewer than five customers), each found
    by a seek at an offset in the measure's index (ix_customer_won_recency, _frequency,
    _monetary: currency, measure, contact id). `count`: the currency's customers, if known."""
    roll = CustomerWonRollup.__table__.c  # type: ignore[attr-defined]
    if count is None:
        count = int(run.rows(select(func.count()).where(roll.currency == currency))[0][0])
    starts = [k for k in quintile_starts(count) if k < count]
    out = []
    for key, index in _MEASURES:
        column = roll[key]
        # The index is named for SQLite: without statistics its planner may read the wider
        # recency index and sort, where this one is already in order.
        hint = f" INDEXED BY {index}" if run.dialect == "sqlite" else ""
        first = text(
            f"SELECT {key}, contact_id FROM customer_won_rollup{hint} "
            f"WHERE currency = :currency ORDER BY {key}, contact_id LIMIT 1 OFFSET :k"
        ).columns(column, roll.contact_id)
        # Each next boundary is sought from the one before, so the index is stepped through
        # once, not from its start for every boundary.
        after = text(
            f"SELECT {key}, contact_id FROM customer_won_rollup{hint} "
            f"WHERE currency = :currency AND ({key}, contact_id) > (:b, :i) "
            f"ORDER BY {key}, contact_id LIMIT 1 OFFSET :k"
        ).columns(column, roll.contact_id)
        found: list[tuple[Any, Any]] = []
        done = 0
        for k in starts:
            if not found:
                stmt = first.bindparams(currency=currency, k=k)
            else:
                b, i = found[-1]
                stmt = after.bindparams(
                    bindparam("b", b, type_=column.type), currency=currency, i=i, k=k - done - 1
                )
            row = run.rows(stmt)[0]
            found.append((row[0], row[1]))
            done = k
        out.append(found)
    return out


_MEASURES = (
    ("last_closed", "ix_customer_won_recency"),
    ("n", "ix_customer_won_frequency"),
    ("value_minor", "ix_customer_won_monetary"),
)


def scored_from_rollup(
    run: Runner,
    currency: str,
    bounds: list[list[tuple[Any, Any]]] | None = None,
    recency_part: int | None = None,
) -> Any:
    """What `scored` gives over all time, read from `customer_won_rollup` without a window.

    A customer's score is 1 + how many of the boundary customers (`rollup_bounds`) it ranks at
    or after by (measure, contact id): the same quintiles as NTILE(5) ordered by them. With
    `recency_part` i (0-based), only the customers of recency quintile i + 1: a range of the
    recency index, whose R score needs no comparison.
    """
    roll = CustomerWonRollup.__table__.c  # type: ignore[attr-defined]
    if bounds is None:
        bounds = rollup_bounds(run, currency)
    # The scoring pass reads the recency index alone (it holds every column); SQLite's planner
    # otherwise picks the monetary index for the GROUP BY over it and looks every customer's
    # other columns up in the table (2.5x the time at 96,000 customers).
    if run.dialect == "sqlite":
        src: Any = (
            text(
                "SELECT contact_id, last_closed, n, value_minor FROM customer_won_rollup "
                "INDEXED BY ix_customer_won_recency WHERE currency = :currency"
            )
            .bindparams(currency=currency)
            .columns(roll.contact_id, roll.last_closed, roll.n, roll.value_minor)
            .subquery("won")
        )
        where: list[Any] = []
    else:
        src = CustomerWonRollup.__table__  # type: ignore[attr-defined]
        where = [roll.currency == currency]
    cols = src.c

    def at_or_after(key: str, bound: tuple[Any, Any]) -> Any:
        # A row-value comparison: (measure, contact id) at or after the boundary's.
        return tuple_(cols[key], cols.contact_id) >= tuple_(
            literal(bound[0], roll[key].type), literal(bound[1], roll.contact_id.type)
        )

    scores: list[Any] = []
    for (key, _index), found in zip(_MEASURES, bounds, strict=True):
        score: Any = literal(1)
        for bound in found:
            score = score + case((at_or_after(key, bound), 1), else_=0)
        scores.append(score)
    if recency_part is not None:
        recency = bounds[0]
        if recency_part > 0:
            where.append(at_or_after("last_closed", recency[recency_part - 1]))
        if recency_part < len(recency):
            where.append(~at_or_after("last_closed", recency[recency_part]))
        scores[0] = literal(recency_part + 1)
    return (
        select(
            cols.contact_id.label("contact_id"),
            cols.last_closed.label("last"),
            cols.n.label("f"),
            cols.value_minor.label("m"),
            scores[0].label("r_score"),
            scores[1].label("f_score"),
            scores[2].label("m_score"),
        )
        .where(*where)
        .subquery("rfm")
    )


def segment_case(rfm: Any) -> Any:
    # One key, 10 R + FM, looked up in a simple CASE: the scores are computed once per
    # customer rather than once per branch.
    fm = (rfm.c.f_score + rfm.c.m_score + 1) // 2
    return case(
        {10 * r + f: name for r, row in SEGMENTS.items() for f, name in row.items()},
        value=10 * rfm.c.r_score + fm,
        else_="lost",
    )


def segments(
    run: Runner,
    period: Period,
    *,
    currency: str | None,
    as_of: datetime,
    from_deals: bool = False,
) -> Result:
    """RFM segments; over all time read from `customer_won_rollup` (unless `from_deals`)."""
    cur, count = (currency, None) if currency else _main_currency(run, period, from_deals)
    data: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    total = 0
    if cur is not None:
        if _all_time(period, from_deals):
            # One pass per recency quintile, each a range of the recency index: R is known
            # there, and each pass groups a fifth of the customers.
            bounds = rollup_bounds(run, cur, count)
            parts = [
                scored_from_rollup(run, cur, bounds, part) for part in range(len(bounds[0]) + 1)
            ]
        else:
            parts = [scored(period, cur, from_deals)]
        # Grouped by the small integer R x 10 + FM rather than by the segment's name: the
        # name's CASE would be evaluated twice a customer (to group and to show) and its
        # text sorted; the 25 groups are named and merged here.
        # The parts run as one statement (a round trip each costs more than a pass on a busy
        # PostgreSQL server).
        grouped = []
        for rfm in parts:
            cell = (10 * rfm.c.r_score + (rfm.c.f_score + rfm.c.m_score + 1) // 2).label("cell")
            recency = days_between(run.dialect, rfm.c.last, literal(as_of, UTCDateTime))
            grouped.append(
                select(
                    cell,
                    func.count(),
                    func.sum(recency),
                    func.sum(rfm.c.f),
                    func.sum(rfm.c.m),
                ).group_by(cell)
            )
        found: list[Any] = union_rows(run, grouped, 500)
        merged: dict[str, list[Any]] = {}
        for key, n, rec, freq, money in found:
            r, fm = divmod(int(key), 10)
            into = merged.setdefault(SEGMENTS.get(r, {}).get(fm, "lost"), [0, 0.0, 0, 0])
            into[0] += int(n)
            into[1] += float(rec)
            into[2] += int(freq)
            into[3] += int(money or 0)
        total = sum(v[0] for v in merged.values())
        for seg in ORDER:
            if seg not in merged:
                continue
            n, rec_sum, f_sum, money = merged[seg]
            rec, freq = rec_sum / n, f_sum / n
            data.append(
                {
                    "segment": seg,
                    "slug": slug(seg),
                    "customers": n,
                    "share": ratio(n, total),
                    "avg_recency_days": float(rec),
                    "avg_frequency": float(freq),
                    "monetary": money_major(int(money or 0), cur),
                    "monetary_minor": int(money or 0),
                    "currency": cur,
                }
            )
            rows.append(
                {
                    "segment": seg,
                    "customers": n,
                    "share": f"{n * 100 / total:.1f}%",
                    "recency": f"{float(rec):.0f}",
                    "frequency": f"{float(freq):.2f}",
                    "monetary": money_text(int(money or 0), cur),
                }
            )
    working = (
        [
            f"RFM over {total:,} customers with won deals in {cur}, closed {period.label}, "
            f"recency as of {as_of.date().isoformat()}",
            "scores 1-5 by quintile (NTILE, ties broken by contact id); "
            "segment from R and FM = (F + M + 1) div 2, table in docs/reports.md",
        ]
        if total
        else [f"RFM — (no customers with won deals {period.label})"]
    )
    return Result(
        name="segments",
        period=period,
        data=data,
        rows=rows,
        columns=[
            ("segment", "Segment"),
            ("customers", "Customers"),
            ("share", "Share"),
            ("recency", "Avg days since"),
            ("frequency", "Avg deals"),
            ("monetary", "Value"),
        ],
        working=working,
        chart=[(d["segment"], float(d["customers"])) for d in data],
        chart_title="Customers by segment",
        statements=run.statements,
    )


def segment_members(run: Runner, period: Period, currency: str, segment: str) -> Any:
    """A select of the contact ids in `segment` (its name or slug)."""
    rfm = (
        scored_from_rollup(run, currency) if _all_time(period, False) else scored(period, currency)
    )
    wanted = {slug(s): s for s in ORDER}.get(slug(segment), segment)
    return select(rfm.c.contact_id).where(segment_case(rfm) == wanted)


def clv(
    run: Runner,
    period: Period,
    *,
    currency: str | None,
    as_of: datetime,
    from_deals: bool = False,
) -> Result:
    """Average won value per customer, purchase frequency, and value per customer-month
    (months from a customer's first won deal to the as-of date, at least one)."""
    cur = currency or main_currency(run, period, from_deals)
    customers = deals = value = 0
    months = 0.0
    if cur is not None:
        per = _per_customer(period, cur, from_deals)
        life = days_between(run.dialect, per.c.first, literal(as_of, UTCDateTime)) / MONTH_DAYS
        row = run.rows(
            select(
                func.count(),
                func.sum(per.c.f),
                func.sum(per.c.m),
                func.sum(case((life < 1, 1.0), else_=life)),
            )
        )[0]
        customers, deals, value = int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)
        months = float(row[3] or 0)
    per_customer = value / customers if customers else None
    data = {
        "period": period.as_json(),
        "currency": cur,
        "customers": customers,
        "won_deals": deals,
        "won_value": money_major(value, cur) if cur else None,
        "value_per_customer": money_major(round(per_customer), cur)
        if per_customer is not None and cur
        else None,
        "purchase_frequency": ratio(deals, customers),
        "average_deal_value": money_major(round(value / deals), cur) if deals and cur else None,
        "customer_months": months,
        "value_per_customer_month": money_major(round(value / months), cur)
        if months and cur
        else None,
    }
    if customers and cur:
        working = [
            f"value per customer {money_text(round(value / customers), cur)} = "
            f"{money_text(value, cur)} won / {customers:,} customers",
            f"purchase frequency {deals / customers:.2f} = {deals:,} won deals / "
            f"{customers:,} customers",
            f"value per customer-month {money_text(round(value / months), cur)} = "
            f"{money_text(value, cur)} / {months:,.1f} customer-months "
            f"(first won deal to {as_of.date().isoformat()}, at least 1 each)",
        ]
    else:
        working = [f"lifetime value — (no customers with won deals {period.label})"]
    rows = [
        {"figure": k.replace("_", " "), "value": "—" if v is None else str(v)}
        for k, v in data.items()
        if k != "period"
    ]
    return Result(
        name="clv",
        period=period,
        data=data,
        rows=rows,
        columns=[("figure", "Figure"), ("value", "Value")],
        working=working,
        statements=run.statements,
    )


def _to_state(detail: Any) -> Any:
    return case(*[(detail.like(f"lifecycle % -> {s}%"), s) for s in LIFECYCLES], else_=None)


def _from_state(detail: Any) -> Any:
    return case(*[(detail.like(f"lifecycle {s} -> %"), s) for s in LIFECYCLES], else_=None)


LIFECYCLES = ("lead", "prospect", "customer", "churned")


def churn(run: Runner, period: Period) -> Result:
    """Customers lost in the period / customers at its start, from lifecycle changes.

    A contact's lifecycle at an instant is where its last change before it led, else where
    its first change after it started from, else its lifecycle now (a contact with no recorded
    change, e.g. imported, has always been what it is). Lost = customers at the start whose
    lifecycle changed from customer to churned within the period. With no start, "customers
    at the start" are all contacts that are or were customers, and lost are those now churned.
    """
    from crm_cli.store.models import Contact
    from crm_cli.store.sales import Event

    contact = Contact.__table__.c  # type: ignore[attr-defined]
    event = Event.__table__.c  # type: ignore[attr-defined]
    lifecycle_events = [event.kind == "lifecycle", event.contact_id == contact.id]
    if period.start is None:
        was_customer = contact.lifecycle.in_(("customer", "churned"))
        at_start_where = [contact.deleted_at.is_(None), was_customer]
        lost_cond = contact.lifecycle == "churned"
    else:
        start = literal(period.start, UTCDateTime)
        last_before = (
            select(_to_state(event.detail))
            .where(*lifecycle_events, event.at < start)
            .order_by(event.at.desc(), event.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        first_after = (
            select(_from_state(event.detail))
            .where(*lifecycle_events, event.at >= start)
            .order_by(event.at, event.id)
            .limit(1)
            .scalar_subquery()
        )
        state = func.coalesce(last_before, first_after, contact.lifecycle)
        at_start_where = [
            contact.deleted_at.is_(None),
            contact.created_at < start,
            state == "customer",
        ]
        churned_in = (
            select(event.id)
            .where(
                *lifecycle_events,
                event.detail.like("lifecycle customer -> churned%"),
                *period.within(event.at),
            )
            .exists()
        )
        lost_cond = churned_in
    found = run.rows(
        select(func.count(), func.sum(case((lost_cond, 1), else_=0))).where(*at_start_where)
    )[0]
    at_start, lost = int(found[0] or 0), int(found[1] or 0)
    rate = ratio(lost, at_start)
    start_label = period.first.isoformat() if period.first else "ever"
    data = {
        "period": period.as_json(),
        "churn_rate": rate,
        "lost": lost,
        "customers_at_start": at_start,
        "retained": at_start - lost,
    }
    working = (
        [
            f"churn {rate * 100:.1f}% = {lost:,} customers lost / {at_start:,} customers at the "
            f"start ({start_label}), {period.label}"
        ]
        if rate is not None
        else [f"churn — (no customers at the start, {period.label})"]
    )
    rows = [
        {
            "customers_at_start": at_start,
            "lost": lost,
            "churn_rate": "—" if rate is None else f"{rate * 100:.1f}%",
        }
    ]
    return Result(
        name="churn",
        period=period,
        data=data,
        rows=rows,
        columns=[
            ("customers_at_start", "Customers at start"),
            ("lost", "Lost"),
            ("churn_rate", "Churn"),
        ],
        working=working,
        statements=run.statements,
    )
