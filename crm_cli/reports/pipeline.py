"""The pipeline and forecast reports: open deals now, by stage and by expected close month.

weighted value = value x probability, where the probability is the deal's own when it has
one, else its stage's; each deal's is rounded to the minor unit (half up) before summing, as
`crm deal list` totals it. Currencies are never summed together: every figure is per currency.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import case, func, select

from crm_cli.reports.base import Period, Result, Runner, money_major, money_text
from crm_cli.reports.keys import NONE, check_by, key_names
from crm_cli.store.sales import Deal, DealOpenRollup, Pipeline, Stage


def _tables() -> tuple[Any, Any, Any]:
    return (
        Deal.__table__.c,  # type: ignore[attr-defined]
        Stage.__table__.c,  # type: ignore[attr-defined]
        Pipeline.__table__.c,  # type: ignore[attr-defined]
    )


def _worth(deal: Any, probabilities: dict[int, int]) -> Any:
    """An open deal's weighted value; the stages' probabilities come in as a CASE, so the sum
    is read from the index ix_deal_totals without joining the stages."""
    stage_probability = case(
        *[(deal.stage_id == sid, p) for sid, p in probabilities.items()], else_=0
    )
    probability = func.coalesce(deal.probability, stage_probability)
    return (deal.value_minor * probability + 50) // 100


def _open_stages(run: Runner, pipeline_id: int | None) -> dict[int, int]:
    stage = Stage.__table__.c  # type: ignore[attr-defined]
    where = [stage.kind == "open"]
    if pipeline_id is not None:
        where.append(stage.pipeline_id == pipeline_id)
    return dict(run.rows(select(stage.id, stage.probability).where(*where)))


def pipeline(
    run: Runner,
    period: Period,
    *,
    pipeline_id: int | None = None,
    currency: str | None = None,
    from_deals: bool = False,
) -> Result:
    """Open deals per stage, read from `deal_open_rollup` (or with `from_deals`, from the
    deals themselves: the definition the rollup must agree with)."""
    deal, stage, pipe = _tables()
    stage_where = [stage.deleted_at.is_(None), stage.kind == "open"]
    if pipeline_id is not None:
        stage_where.append(stage.pipeline_id == pipeline_id)
    stages = run.rows(
        select(stage.id, stage.name, stage.probability, pipe.name)
        .join(Pipeline.__table__, pipe.id == stage.pipeline_id)  # type: ignore[attr-defined]
        .where(*stage_where)
        .order_by(pipe.position, pipe.id, stage.position, stage.id)
    )
    probabilities = {sid: p for sid, _n, p, _pn in stages}
    where = [deal.deleted_at.is_(None), deal.stage_id.in_(list(probabilities))]
    if currency is not None:
        where.append(deal.currency == currency)
    roll = DealOpenRollup.__table__.c  # type: ignore[attr-defined]
    sums = (
        run.rows(
            select(
                roll.stage_id,
                roll.currency,
                func.sum(roll.n),
                func.sum(roll.value_minor),
                func.sum(roll.worth_minor),
            )
            .where(
                roll.stage_id.in_(list(probabilities)),
                *([roll.currency == currency] if currency is not None else []),
            )
            .group_by(roll.stage_id, roll.currency)
        )
        if probabilities and not from_deals
        else run.rows(
            select(
                deal.stage_id,
                deal.currency,
                func.count(),
                func.sum(deal.value_minor),
                func.sum(_worth(deal, probabilities)),
            )
            .where(*where)
            .group_by(deal.stage_id, deal.currency)
        )
        if probabilities
        else []
    )
    by_stage: dict[int, list[tuple[str | None, int, int, int]]] = defaultdict(list)
    for stage_id, cur, n, value, worth in sums:
        by_stage[stage_id].append((cur, int(n), int(value or 0), int(worth or 0)))

    data: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for stage_id, stage_name, probability, pipe_name in stages:
        parts = sorted(by_stage.get(stage_id, [])) or [(None, 0, 0, 0)]
        for cur, n, value, worth in parts:
            data.append(
                {
                    "pipeline": pipe_name,
                    "stage": stage_name,
                    "probability": probability,
                    "count": n,
                    "value": money_major(value, cur) if cur else 0,
                    "weighted_value": money_major(worth, cur) if cur else 0,
                    "value_minor": value,
                    "weighted_value_minor": worth,
                    "currency": cur,
                }
            )
            rows.append(
                {
                    "pipeline": pipe_name,
                    "stage": stage_name,
                    "probability": f"{probability}%",
                    "count": n,
                    "value": money_text(value, cur) if cur else "—",
                    "weighted_value": money_text(worth, cur) if cur else "—",
                }
            )
            if cur:
                total = totals[cur]
                total[0] += n
                total[1] += value
                total[2] += worth
    working = [
        f"total {cur}: {n:,} open deal{'' if n == 1 else 's'}, value {money_text(v, cur)}, "
        f"weighted "
        f"{money_text(w, cur)} = sum of value x probability (the deal's own, else its stage's)"
        for cur, (n, v, w) in sorted(totals.items())
    ] or ["no open deals"]
    return Result(
        name="pipeline",
        period=period,
        data=data,
        rows=rows,
        columns=[
            ("pipeline", "Pipeline"),
            ("stage", "Stage"),
            ("probability", "Prob."),
            ("count", "Deals"),
            ("value", "Value"),
            ("weighted_value", "Weighted"),
        ],
        working=working,
        chart=_per_stage(data),
        chart_title="Open deals by stage",
        statements=run.statements,
    )


def _per_stage(data: list[dict[str, Any]]) -> list[tuple[str, float]]:
    counts: dict[tuple[str, str], float] = {}
    for item in data:
        key = (item["pipeline"], item["stage"])
        counts[key] = counts.get(key, 0.0) + item["count"]
    several = len({p for p, _ in counts}) > 1
    return [(f"{p}: {s}" if several else s, n) for (p, s), n in counts.items()]


def forecast(
    run: Runner,
    period: Period,
    *,
    by: str | None = None,
    pipeline_id: int | None = None,
    currency: str | None = None,
    today: date,
    from_deals: bool = False,
) -> Result:
    """Open deals by expected-close month; without a date and overdue apart. Read from
    `deal_open_rollup` (or with `from_deals`, from the deals)."""
    check_by(by, ("owner",))
    probabilities = _open_stages(run, pipeline_id)
    deal: Any
    if from_deals:
        deal = Deal.__table__.c  # type: ignore[attr-defined]
        where = [deal.stage_id.in_(list(probabilities)), deal.deleted_at.is_(None)]
        if currency is not None:
            where.append(deal.currency == currency)
        sums = [func.count(), func.sum(deal.value_minor), func.sum(_worth(deal, probabilities))]
    else:
        deal = _OpenDeals(by == "owner", list(probabilities), currency)
        where = []
        sums = [func.sum(deal.n), func.sum(deal.value_minor), func.sum(deal.worth_minor)]
    where.extend(_days_within(deal, period))
    month = func.substr(func.cast(deal.expected_close, _text_type()), 1, 7)
    bucket = case(
        (deal.expected_close.is_(None), "no close date"),
        (deal.expected_close < today, "overdue"),
        else_=month,
    )
    owner = deal.owner_id if by == "owner" else None
    cols = [bucket.label("month"), deal.currency, *sums]
    group = [bucket, deal.currency]
    if owner is not None:
        cols.insert(0, owner)
        group.insert(0, owner)
    stmt = select(*cols).where(*where).group_by(*group)
    found = run.rows(stmt) if probabilities else []
    if owner is not None and not from_deals:  # no owner is 0 in the rollup
        found = [(row[0] or None, *row[1:]) for row in found]
    owners = key_names(run.session, "owner", {r[0] for r in found}) if owner is not None else {}

    def order(row: Any) -> tuple[Any, ...]:
        m = row[1] if owner is not None else row[0]
        rank = 0 if m == "overdue" else 2 if m == "no close date" else 1
        return ((owners.get(row[0], NONE),) if owner is not None else ()) + (rank, m, row[-4])

    data, rows = [], []
    for row in sorted(found, key=order):
        who = owners.get(row[0], NONE) if owner is not None else None
        m, cur, n, value, worth = row[-5:]
        item = {
            "month": m,
            "count": int(n),
            "value": money_major(int(value or 0), cur),
            "weighted_value": money_major(int(worth or 0), cur),
            "value_minor": int(value or 0),
            "weighted_value_minor": int(worth or 0),
            "currency": cur,
        }
        if owner is not None:
            item = {"owner": who, **item}
        data.append(item)
        rows.append(
            {
                **({"owner": who} if owner is not None else {}),
                "month": m,
                "count": int(n),
                "value": money_text(int(value or 0), cur),
                "weighted_value": money_text(int(worth or 0), cur),
            }
        )
    overdue = sum(d["count"] for d in data if d["month"] == "overdue")
    undated = sum(d["count"] for d in data if d["month"] == "no close date")
    working = [
        "weighted value = value x probability (the deal's own, else its stage's), per deal, summed",
        f"{overdue:,} open {'deal has' if overdue == 1 else 'deals have'} an expected close "
        f"before {today.isoformat()} (overdue); "
        f"{undated:,} have none",
    ]
    return Result(
        name="forecast",
        period=period,
        data=data,
        rows=rows,
        columns=([("owner", "Owner")] if owner is not None else [])
        + [
            ("month", "Close"),
            ("count", "Deals"),
            ("value", "Value"),
            ("weighted_value", "Weighted"),
        ],
        working=working,
        chart=[
            (d["month"], float(d["weighted_value"] or 0))
            for d in data
            if owner is None and len({x["currency"] for x in data}) == 1
        ],
        chart_title="Weighted value by expected close",
        statements=run.statements,
    )


class _OpenDeals:
    """`deal_open_rollup` summed per expected close day, currency (and owner), with the
    columns the forecast reads named as the deal's are: an expected close of NO_CLOSE reads
    as none; an owner of 0 stays 0 (mapped after)."""

    def __init__(self, by_owner: bool, stage_ids: list[int], currency: str | None) -> None:
        from sqlalchemy import literal, null

        from crm_cli.store.rollups import NO_CLOSE

        roll = DealOpenRollup.__table__.c  # type: ignore[attr-defined]
        keys = [roll.owner_id] if by_owner else []
        keys += [roll.expected_close, roll.currency]
        where = [roll.stage_id.in_(stage_ids)]
        if currency is not None:
            where.append(roll.currency == currency)
        daily = (
            select(
                *keys,
                func.sum(roll.n).label("n"),
                func.sum(roll.value_minor).label("value_minor"),
                func.sum(roll.worth_minor).label("worth_minor"),
            )
            .where(*where)
            .group_by(*keys)
            .subquery("open_deals")
        )
        self.currency = daily.c.currency
        self.owner_id = daily.c.owner_id if by_owner else None
        self.n, self.value_minor, self.worth_minor = (
            daily.c.n,
            daily.c.value_minor,
            daily.c.worth_minor,
        )
        none = literal(date.fromisoformat(NO_CLOSE), roll.expected_close.type)
        self.expected_close = case(
            (daily.c.expected_close == none, null()), else_=daily.c.expected_close
        )


def _text_type() -> Any:
    from sqlalchemy import String

    return String()


def _days_within(deal: Any, period: Period) -> list[Any]:
    conds = []
    if period.first is not None:
        conds.append(deal.expected_close >= period.first)
    if period.last is not None:
        conds.append(deal.expected_close <= period.last)
    return conds
