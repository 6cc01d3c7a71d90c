"""The funnel report: how far the deals of a pipeline got, from their stage history.

The ladder is the pipeline's open stages in board order, then its won stage; lost stages are
not rungs. A deal reached a rung if its history (or its current stage) holds that rung or a
later one: a deal that skipped "qualified" on its way to "proposal" still passed through it.
The deals counted are those created in the period (a cohort). Conversion to the next rung is
reached(next) / reached(this); to won, reached(won) / reached(this).

Days in a stage are measured over completed stays: from a change into the stage to the deal's
next change, per stay; a deal still in the stage is not counted (its stay has no end yet).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, or_, select, union_all

from crm_cli.reports.base import Period, Result, Runner, days_between, ratio
from crm_cli.store.sales import Deal, Stage, StageChange


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def funnel(run: Runner, period: Period, *, pipeline_id: int) -> Result:
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    stage = Stage.__table__.c  # type: ignore[attr-defined]
    change = StageChange.__table__.c  # type: ignore[attr-defined]
    stages = run.rows(
        select(stage.id, stage.name, stage.kind)
        .where(stage.pipeline_id == pipeline_id, stage.kind != "lost", stage.deleted_at.is_(None))
        .order_by(case((stage.kind == "won", 1), else_=0), stage.position, stage.id)
    )
    ladder = [(sid, name, kind) for sid, name, kind in stages]
    rank = {sid: i for i, (sid, _n, _k) in enumerate(ladder)}
    cohort = [deal.pipeline_id == pipeline_id, deal.deleted_at.is_(None)]
    cohort += period.within(deal.created_at)
    ids = select(deal.id).where(*cohort)
    if not ladder:
        return _result(period, [], [], run)

    visits = union_all(
        select(change.deal_id.label("deal_id"), change.to_stage_id.label("stage_id")).where(
            change.deal_id.in_(ids)
        ),
        select(deal.id.label("deal_id"), deal.stage_id.label("stage_id")).where(*cohort),
    ).subquery("visit")
    rung = case(*[(visits.c.stage_id == sid, r) for sid, r in rank.items()], else_=None)
    tops = (
        select(visits.c.deal_id, func.max(rung).label("top"))
        .group_by(visits.c.deal_id)
        .subquery("reached")
    )
    found = dict(
        run.rows(
            select(tops.c.top, func.count()).where(tops.c.top.is_not(None)).group_by(tops.c.top)
        )
    )
    reached = []
    running = 0
    for r in range(len(ladder) - 1, -1, -1):
        running += int(found.get(r, 0))
        reached.append(running)
    reached.reverse()

    stays = _stays(run, change, ids)
    won_n = reached[-1] if ladder[-1][2] == "won" else None
    data: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for i, (sid, name, kind) in enumerate(ladder):
        here = reached[i]
        nxt = reached[i + 1] if i + 1 < len(ladder) else None
        avg, median, n = stays.get(sid, (None, None, 0))
        item = {
            "stage": name,
            "kind": kind,
            "reached": here,
            "to_next": ratio(nxt, here) if nxt is not None else None,
            "to_next_numerator": nxt,
            "to_won": ratio(won_n, here) if won_n is not None else None,
            "to_won_numerator": won_n,
            "denominator": here,
            "avg_days": float(avg) if avg is not None else None,
            "median_days": float(median) if median is not None else None,
            "stays": n,
        }
        data.append(item)
        rows.append(
            {
                "stage": name,
                "reached": here,
                "to_next": _pct(item["to_next"]) if nxt is not None else "",
                "to_won": _pct(item["to_won"]),
                "avg_days": "—" if avg is None else f"{float(avg):.1f}",
                "median_days": "—" if median is None else f"{float(median):.1f}",
            }
        )
    return _result(period, data, rows, run)


def _stays(run: Runner, change: Any, ids: Any) -> dict[int, tuple[Any, Any, int]]:
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
    length = days_between(run.dialect, moves.c.at, moves.c.left)
    done = (
        select(
            moves.c.stage_id,
            length.label("days"),
            func.row_number().over(partition_by=moves.c.stage_id, order_by=length).label("rn"),
            func.count().over(partition_by=moves.c.stage_id).label("n"),
        )
        .where(moves.c.left.is_not(None))
        .subquery("stay")
    )
    averages = run.rows(
        select(done.c.stage_id, func.avg(done.c.days), func.max(done.c.n)).group_by(done.c.stage_id)
    )
    medians = dict(
        run.rows(
            select(done.c.stage_id, func.avg(done.c.days))
            .where(or_(done.c.rn == (done.c.n + 1) // 2, done.c.rn == (done.c.n + 2) // 2))
            .group_by(done.c.stage_id)
        )
    )
    return {sid: (avg, medians.get(sid), int(n)) for sid, avg, n in averages}


def _result(
    period: Period, data: list[dict[str, Any]], rows: list[dict[str, Any]], run: Runner
) -> Result:
    working = []
    if data and data[0]["reached"]:
        first = data[0]
        working.append(
            f"{first['reached']:,} deals created {period.label} entered the funnel; "
            f"{first['to_won_numerator'] or 0:,} reached won: "
            f"{_pct(first['to_won'])} = {first['to_won_numerator'] or 0:,} / {first['reached']:,}"
        )
        working.append(
            "reached = deals whose history holds the stage or a later one; "
            "days in stage = completed stays (entered -> next change)"
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
