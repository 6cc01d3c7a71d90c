"""The funnel report: how far the deals of a pipeline got, from their stage history.

The ladder is the pipeline's open stages in board order, then its won stage; lost stages are
not rungs. A deal reached a rung if its history (or its current stage) holds that rung or a
later one: a deal that skipped "qualified" on its way to "proposal" still passed through it.
The deals counted are those created in the period (a cohort). Conversion to the next rung is
reached(next) / reached(this); to won, reached(won) / reached(this).

Days in a stage are measured over completed stays: from a change into the stage to the deal's
next change, each stay rounded to whole days as the sales cycle is (so a stay that crossed a
change of clocks is not an hour short); a deal still in the stage is not counted (its stay has
no end yet). The median is the middle stay's (the mean of the two middle ones for an even
count).

The report reads `funnel_reach_rollup` and `funnel_stay_rollup` (crm_cli/store/rollups.py):
live deals counted by pipeline, UTC creation day and the set of stages they visited, and their
stays by stage and whole days. Each set is ranked by today's board order (its top rung), so a
reordered board needs no rebuild. A period's local bound that splits a UTC day is handled as
the sales report does: the day counts whole on the side holding its noon, and the deals created
in the hours on the other side are read from their histories and moved (`from_deals`, the
definition the rollups must agree with, reads every deal that way).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, union_all

from crm_cli.reports.base import (
    Period,
    Result,
    Runner,
    days_between,
    mean_median,
    midnight,
    noon_day,
    ratio,
    utc_day,
)
from crm_cli.store.sales import Deal, FunnelReachRollup, FunnelStayRollup, Stage, StageChange

# (stage id, whole days) -> stays; top rung (0-based) -> deals
Stays = dict[tuple[int, int], int]
Tops = dict[int, int]


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _days_text(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def funnel(run: Runner, period: Period, *, pipeline_id: int, from_deals: bool = False) -> Result:
    """The report, read from the funnel's rollups (or with `from_deals`, from the deals and
    their stage changes)."""
    stage = Stage.__table__.c  # type: ignore[attr-defined]
    stages = run.rows(
        select(stage.id, stage.name, stage.kind)
        .where(stage.pipeline_id == pipeline_id, stage.kind != "lost", stage.deleted_at.is_(None))
        .order_by(case((stage.kind == "won", 1), else_=0), stage.position, stage.id)
    )
    ladder = [(int(sid), name, kind) for sid, name, kind in stages]
    if not ladder:
        return _result(period, [], [], run)
    rank = {sid: i for i, (sid, _n, _k) in enumerate(ladder)}
    if from_deals:
        tops, stays = _from_deals(run, pipeline_id, rank, [period.within])
    else:
        tops, stays = _from_rollups(run, period, pipeline_id, rank)

    reached = []
    running = 0
    for r in range(len(ladder) - 1, -1, -1):
        running += tops.get(r, 0)
        reached.append(running)
    reached.reverse()
    by_stage: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for (sid, days), n in stays.items():
        if n > 0:
            by_stage[sid].append((float(days), n))

    won_n = reached[-1] if ladder[-1][2] == "won" else None
    data: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for i, (sid, name, kind) in enumerate(ladder):
        here = reached[i]
        nxt = reached[i + 1] if i + 1 < len(ladder) else None
        avg, median = mean_median(by_stage.get(sid, []))
        item = {
            "stage": name,
            "kind": kind,
            "reached": here,
            "to_next": ratio(nxt, here) if nxt is not None else None,
            "to_next_numerator": nxt,
            "to_won": ratio(won_n, here) if won_n is not None else None,
            "to_won_numerator": won_n,
            "denominator": here,
            "avg_days": avg,
            "median_days": median,
            "stays": sum(n for _d, n in by_stage.get(sid, [])),
        }
        data.append(item)
        rows.append(
            {
                "stage": name,
                "reached": here,
                "to_next": _pct(item["to_next"]) if nxt is not None else "",
                "to_won": _pct(item["to_won"]),
                "avg_days": _days_text(avg),
                "median_days": _days_text(median),
            }
        )
    return _result(period, data, rows, run)


def _from_deals(
    run: Runner, pipeline_id: int, rank: dict[int, int], spans: list[Any]
) -> tuple[Tops, Stays]:
    """Top rungs and stays of the pipeline's live deals created within any of `spans` (each a
    function giving the conditions on a column, like Period.within), from their histories."""
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    change = StageChange.__table__.c  # type: ignore[attr-defined]
    within = [func_(deal.created_at) for func_ in spans]
    cohort = [deal.pipeline_id == pipeline_id, deal.deleted_at.is_(None)]
    if within:
        cohort.append(or_(*[_and(w) for w in within]))
    ids = select(deal.id).where(*cohort)
    visits = union_all(
        select(change.deal_id.label("deal_id"), change.to_stage_id.label("stage_id")).where(
            change.deal_id.in_(ids)
        ),
        select(deal.id.label("deal_id"), deal.stage_id.label("stage_id")).where(*cohort),
    ).subquery("visit")
    rung = case(*[(visits.c.stage_id == sid, r) for sid, r in rank.items()], else_=None)
    top = (
        select(visits.c.deal_id, func.max(rung).label("top"))
        .group_by(visits.c.deal_id)
        .subquery("reached")
    )
    tops = {
        int(r): int(n)
        for r, n in run.rows(
            select(top.c.top, func.count()).where(top.c.top.is_not(None)).group_by(top.c.top)
        )
    }
    left = func.lead(change.changed_at).over(
        partition_by=change.deal_id, order_by=(change.changed_at, change.id)
    )
    moves = (
        select(
            change.to_stage_id.label("stage_id"), change.changed_at.label("at"), left.label("left")
        )
        .where(change.deal_id.in_(ids))
        .subquery("move")
    )
    days = func.round(days_between(run.dialect, moves.c.at, moves.c.left))
    stays = {
        (int(sid), int(d)): int(n)
        for sid, d, n in run.rows(
            select(moves.c.stage_id, days, func.count())
            .where(moves.c.left.is_not(None), moves.c.stage_id.in_(list(rank)))
            .group_by(moves.c.stage_id, days)
        )
    }
    return tops, stays


def _and(conditions: list[Any]) -> Any:
    from sqlalchemy import and_, true

    return and_(*conditions) if conditions else true()


def _from_rollups(
    run: Runner, period: Period, pipeline_id: int, rank: dict[int, int]
) -> tuple[Tops, Stays]:
    reach = FunnelReachRollup.__table__.c  # type: ignore[attr-defined]
    stay = FunnelStayRollup.__table__.c  # type: ignore[attr-defined]
    # Each bound's first UTC day counted after it (whole days on the side of their noon).
    start = None if period.start is None else noon_day(period.start)
    end = None if period.end is None else noon_day(period.end)

    def days_of(column: Any) -> list[Any]:
        out = []
        if start is not None:
            out.append(column >= start)
        if end is not None:
            out.append(column < end)
        return out

    tops: Tops = defaultdict(int)
    for stages, n in run.rows(
        select(reach.stages, func.sum(reach.n))
        .where(reach.pipeline_id == pipeline_id, *days_of(reach.created_day))
        .group_by(reach.stages)
    ):
        ranks = [rank[s] for s in (int(x) for x in str(stages).split(",")) if s in rank]
        if ranks:
            tops[max(ranks)] += int(n)
    stays: Stays = defaultdict(int)
    for sid, d, n in run.rows(
        select(stay.stage_id, stay.days, func.sum(stay.n))
        .where(
            stay.pipeline_id == pipeline_id,
            stay.stage_id.in_(list(rank)),
            *days_of(stay.created_day),
        )
        .group_by(stay.stage_id, stay.days)
    ):
        stays[(int(sid), int(d))] += int(n)

    # The hours of a split day that were counted on the wrong side: (from, to, sign).
    parts: list[tuple[datetime, datetime, int]] = []
    for edge, day, is_start in ((period.start, start, True), (period.end, end, False)):
        if edge is None or day is None or midnight(utc_day(edge)) == edge:
            continue
        if day == utc_day(edge):  # the day counts after the edge; its first hours do not
            parts.append((midnight(day), edge, -1 if is_start else 1))
        else:  # the day counts before the edge; its last hours belong after it
            parts.append((edge, midnight(day), 1 if is_start else -1))
    for lo, hi, sign in parts:
        part_tops, part_stays = _from_deals(
            run, pipeline_id, rank, [lambda c, lo=lo, hi=hi: [c >= lo, c < hi]]
        )
        for r, n in part_tops.items():
            tops[r] += sign * n
        for k, n in part_stays.items():
            stays[k] += sign * n
    return dict(tops), dict(stays)


def _result(
    period: Period, data: list[dict[str, Any]], rows: list[dict[str, Any]], run: Runner
) -> Result:
    working = []
    if data and data[0]["reached"]:
        first = data[0]
        working.append(
            f"{first['reached']:,} {'deal' if first['reached'] == 1 else 'deals'} created "
            f"{period.label} entered the funnel; "
            f"{first['to_won_numerator'] or 0:,} reached won: "
            f"{_pct(first['to_won'])} = {first['to_won_numerator'] or 0:,} / {first['reached']:,}"
        )
        working.append(
            "reached = deals whose history holds the stage or a later one; "
            "days in stage = completed stays (entered -> next change), each in whole days "
            "(rounded), averaged over the stays; median = the middle stay's"
        )
    else:
        working.append(f"no deals created {period.label} in this pipeline")
    return Result(
        name="funnel",
        period=period,
        data=data,
        rows=rows,
        columns=[
            ("stage", "Stage"),
            ("reached", "Reached"),
            ("to_next", "To next"),
            ("to_won", "To won"),
            ("avg_days", "Avg days"),
            ("median_days", "Median days"),
        ],
        working=working,
        chart=[(d["stage"], float(d["reached"])) for d in data],
        chart_title="Deals that reached each stage",
        statements=run.statements,
    )
