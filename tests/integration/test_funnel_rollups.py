"""The funnel report, read from its rollups, is right and stays right whatever writes.

- A cohort of deals with stage histories written straight into the tables (moves forward,
  back, skipping rungs, lost, deleted deals, creation times near local and UTC midnights):
  every figure of `crm report funnel --json` equals the one computed here in plain Python
  from the same raw rows, for periods in zones east and west of UTC.
- A mixed run of writes through `crm` (add, move, won, lost, reopen, delete and restore,
  a stage change's time edited, a deal moved to another pipeline, a board reordered, undo,
  import, merge): the rollups hold exactly what rebuilding them gives, and the report read
  from them equals the report computed from the deals, for each period and zone.
- Two processes moving deals of the same cohort day at once on PostgreSQL: every command
  succeeds and the rollups equal their rebuild.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from crm_cli.store.engine import make_engine
from tests.integration.test_report_rollups import _plain

LADDER = ["lead", "qualified", "proposal", "negotiation", "won"]


def _funnel_rollups(session: Session) -> tuple[set[Any], set[Any]]:
    got = []
    for table in ("funnel_reach_rollup", "funnel_stay_rollup"):
        rows = session.execute(text(f"SELECT * FROM {table}")).all()
        got.append({tuple(_plain(v) for v in row) for row in rows})
    return got[0], got[1]


def _funnel_rebuilt(session: Session) -> tuple[set[Any], set[Any]]:
    from crm_cli.store.rollups import funnel_fill_statements

    fill = funnel_fill_statements(session.get_bind().dialect.name)
    got = []
    for table in ("funnel_reach_rollup", "funnel_stay_rollup"):
        insert_ = next(s for s in fill if s.startswith(f"INSERT INTO {table} "))
        select_part = insert_.split(") ", 1)[1]
        rows = session.execute(text(select_part)).all()
        got.append({tuple(_plain(v) for v in row) for row in rows})
    return got[0], got[1]


# --- figures from the raw rows, in plain Python ------------------------------------------------


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _expected(
    deals: list[dict[str, Any]], first: date | None, last: date | None, tz: ZoneInfo
) -> list[dict[str, Any]]:
    cohort = [
        d
        for d in deals
        if d["deleted"] is False
        and (first is None or d["created"].astimezone(tz).date() >= first)
        and (last is None or d["created"].astimezone(tz).date() <= last)
    ]
    tops = []
    stays: dict[str, list[int]] = {name: [] for name in LADDER}
    for d in cohort:
        visited = {stage for stage, _at in d["changes"]} | {d["stage"]}
        ranks = [LADDER.index(s) for s in visited if s in LADDER]
        if ranks:
            tops.append(max(ranks))
        ordered = d["changes"]  # in time order, distinct times
        for (stage, at), (_next, left) in zip(ordered, ordered[1:], strict=False):
            if stage in stays:
                stays[stage].append(_half_up((left - at).total_seconds() / 86400))
    out = []
    for r, name in enumerate(LADDER):
        reached = sum(1 for t in tops if t >= r)
        nxt = sum(1 for t in tops if t >= r + 1) if r + 1 < len(LADDER) else None
        won = sum(1 for t in tops if t >= len(LADDER) - 1)
        days = stays[name]
        out.append(
            {
                "stage": name,
                "reached": reached,
                "to_next": (nxt / reached if reached else None) if nxt is not None else None,
                "to_won": won / reached if reached else None,
                "avg_days": statistics.mean(days) if days else None,
                "median_days": float(statistics.median(days)) if days else None,
                "stays": len(days),
            }
        )
    return out


def _history(rng: random.Random, created: datetime) -> tuple[list[tuple[str, datetime]], str]:
    """A deal's stage changes (stage, time), creation first, and its current stage."""
    changes = [("lead", created)]
    at = created
    rank = 0
    for _ in range(rng.randint(0, 4)):
        at += timedelta(seconds=rng.randint(600, 40 * 86400))
        roll = rng.random()
        if roll < 0.15:
            stage = "lost"
        elif roll < 0.3 and rank > 0:
            rank -= 1  # back a step
            stage = LADDER[rank]
        else:
            rank = min(rank + rng.choice((1, 1, 2)), len(LADDER) - 1)  # sometimes skips
            stage = LADDER[rank]
        changes.append((stage, at))
        if stage in ("lost", "won"):
            break
    return changes, changes[-1][0]


def test_funnel_equals_plain_python_from_the_raw_rows(crm: Any, db_url: str) -> None:
    from crm_cli.store.sales import Deal, StageChange

    crm.ok("pipeline", "list")
    rng = random.Random(11)
    engine = make_engine(db_url)
    with Session(engine) as session:
        stage_ids = dict(session.execute(text("SELECT name, id FROM stage")).all())
        pipeline_id = session.execute(text("SELECT min(id) FROM pipeline")).scalar()
    deals: list[dict[str, Any]] = []
    start = datetime(2025, 12, 20, tzinfo=UTC)
    for i in range(400):
        if i % 10 == 0:  # close to midnight in Berlin, Kolkata or UTC
            day = start + timedelta(days=rng.randint(0, 100))
            created = day.replace(hour=rng.choice((18, 22, 23)), minute=rng.randint(0, 59))
        else:
            created = start + timedelta(seconds=rng.randint(0, 100 * 86400))
        changes, current = _history(rng, created)
        deals.append(
            {"created": created, "changes": changes, "stage": current, "deleted": i % 17 == 0}
        )
    with engine.begin() as conn:
        for d in deals:
            status = {"won": "won", "lost": "lost"}.get(d["stage"], "open")
            d["id"] = conn.execute(
                insert(Deal).returning(Deal.id),  # type: ignore[arg-type]
                {
                    "title": "D",
                    "pipeline_id": pipeline_id,
                    "stage_id": stage_ids[d["stage"]],
                    "value_minor": 100,
                    "currency": "EUR",
                    "status": status,
                    "stage_entered_at": d["changes"][-1][1],
                    "closed_at": d["changes"][-1][1] if status != "open" else None,
                    "created_at": d["created"],
                    "updated_at": d["created"],
                    "deleted_at": d["created"] if d["deleted"] else None,
                },
            ).scalar_one()
        rows = [
            {
                "deal_id": d["id"],
                "to_stage_id": stage_ids[stage],
                "changed_at": at,
            }
            for d in deals
            for stage, at in d["changes"]
        ]
        rng.shuffle(rows)  # histories written out of order: the triggers place each change
        conn.execute(insert(StageChange), rows)
    with Session(engine) as session:
        assert _funnel_rollups(session) == _funnel_rebuilt(session)
    engine.dispose()

    periods = [
        (None, None),
        ("2026-01-01", "2026-01-31"),
        ("2026-01-15", None),
        (None, "2026-02-10"),
        ("2026-02-01", "2026-02-01"),
    ]
    compared = 0
    for zone in ("Europe/Berlin", "Asia/Kolkata", "America/New_York"):
        crm.monkeypatch.setenv("CRM_TIMEZONE", zone)
        for first, last in periods:
            args = ["report", "funnel", "--json"]
            args += ["--from", first] if first else []
            args += ["--to", last] if last else []
            got = crm.json(*args)
            want = _expected(
                deals,
                date.fromisoformat(first) if first else None,
                date.fromisoformat(last) if last else None,
                ZoneInfo(zone),
            )
            assert [r["stage"] for r in got] == LADDER
            for g, w in zip(got, want, strict=True):
                for key in ("reached", "stays"):
                    assert g[key] == w[key], (zone, first, last, g["stage"], key)
                for key in ("to_next", "to_won", "avg_days", "median_days"):
                    assert g[key] == pytest.approx(w[key]), (zone, first, last, g["stage"], key)
            compared += 1
    assert compared == 15
    everything = crm.json("report", "funnel")
    assert everything[0]["reached"] == sum(1 for d in deals if not d["deleted"])
    assert all(r["stays"] > 0 for r in everything[:4])  # the data exercises every stage


# --- writes through crm --------------------------------------------------------------------

IMPORT = """title,stage,value,currency,created_at
Imported one,proposal,900,EUR,2026-01-31T23:50:00+00:00
Imported two,lead,400,EUR,2026-02-01T00:10:00+00:00
"""


def _at(crm: Any, when: str, *args: str) -> Any:
    crm.monkeypatch.setenv("CRM_NOW", when)
    return crm.ok(*args)


def _writes(crm: Any, tmp_path: Path, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@example.com")
    crm.ok("contact", "add", "Ana L.", "--email", "ana.l@example.com")
    times = [
        "2026-01-31T23:30:00+01:00",
        "2026-02-01T00:30:00+01:00",
        "2026-01-31T22:30:00+00:00",
        "2026-03-31T23:45:00+02:00",
        "2026-02-15T12:00:00+00:00",
    ]
    ids = []
    for i, when in enumerate(times * 2):
        crm.monkeypatch.setenv("CRM_NOW", when)
        contact = ["--contact", "ana@example.com" if i % 2 else "ana.l@example.com"]
        ids.append(str(crm.json("deal", "add", f"D{i}", "--value", "100", *contact)["id"]))
    _at(crm, "2026-02-03T10:00:00+00:00", "deal", "move", ids[0], ids[1], ids[2], "qualified")
    _at(crm, "2026-02-05T22:00:00+00:00", "deal", "move", ids[0], "negotiation")
    _at(crm, "2026-02-09T09:00:00+00:00", "deal", "won", ids[0])
    _at(crm, "2026-02-10T09:00:00+00:00", "deal", "move", ids[1], "lead")  # back a step
    _at(crm, "2026-02-12T09:00:00+00:00", "deal", "lost", ids[2], "--reason", "price")
    _at(crm, "2026-02-20T09:00:00+00:00", "deal", "reopen", ids[2])
    _at(crm, "2026-03-01T09:00:00+00:00", "deal", "move", ids[3], "proposal")
    _at(crm, "2026-03-02T09:00:00+00:00", "deal", "rm", ids[3], "--yes")
    _at(crm, "2026-03-03T09:00:00+00:00", "deal", "move", ids[4], "proposal")
    _at(crm, "2026-03-04T09:00:00+00:00", "deal", "rm", ids[4], "--yes")
    _at(crm, "2026-03-05T09:00:00+00:00", "deal", "restore", ids[4])
    _at(crm, "2026-03-06T09:00:00+00:00", "deal", "move", ids[5], "won")
    crm.ok("undo")  # the move to won is taken back
    _at(crm, "2026-03-07T09:00:00+00:00", "deal", "move", ids[6], "qualified")
    _at(crm, "2026-03-08T09:00:00+00:00", "deal", "move", ids[6], "proposal")
    _at(crm, "2026-03-09T09:00:00+00:00", "contact", "merge", "1", "2", "--yes")
    crm.monkeypatch.setenv("CRM_NOW", "2026-03-10T09:00:00+00:00")
    csv = tmp_path / "deals.csv"
    csv.write_text(IMPORT, encoding="utf-8")
    crm.ok("import", "deals", str(csv))
    # A second pipeline: a deal moved into it takes its history along.
    crm.ok("pipeline", "add", "partners", "--stages", "intro,pitch")
    # Written by hand: a deal moved to the other pipeline (its history goes along), a stage
    # change's time edited, one deleted, a deal hard-deleted.
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE deal SET pipeline_id = s.pipeline_id, stage_id = s.id FROM "
                "(SELECT stage.id, stage.pipeline_id FROM stage JOIN pipeline "
                "ON pipeline.id = stage.pipeline_id WHERE pipeline.name = 'partners' "
                "AND stage.name = 'pitch') s WHERE deal.id = :d"
            ),
            {"d": int(ids[7])},
        )
        conn.execute(
            text(
                "UPDATE stage_change SET changed_at = :at WHERE id = "
                "(SELECT max(id) FROM stage_change WHERE deal_id = :d)"
            ),
            {"at": datetime(2026, 2, 4, 10, tzinfo=UTC), "d": int(ids[0])},
        )
        conn.execute(
            text(
                "DELETE FROM stage_change WHERE id = "
                "(SELECT max(id) FROM stage_change WHERE deal_id = :d)"
            ),
            {"d": int(ids[6])},
        )
        conn.execute(text("DELETE FROM deal WHERE id = :d"), {"d": int(ids[8])})
    engine.dispose()
    # The board reordered: the rollups hold sets of stages, so nothing to rebuild.
    crm.ok("pipeline", "move-stage", "qualified", "--after", "proposal")


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kolkata", "UTC"])
def test_funnel_rollups_equal_their_rebuild_and_the_deals(
    crm: Any, db_url: str, tmp_path: Path, zone: str
) -> None:
    from crm_cli.reports.base import Runner, period
    from crm_cli.reports.funnel import funnel

    _writes(crm, tmp_path, db_url)
    engine = make_engine(db_url)
    with Session(engine) as session:
        reach, stays = _funnel_rollups(session)
        assert (reach, stays) == _funnel_rebuilt(session)
        assert len(reach) >= 4 and len(stays) >= 4  # the writes left something to count
        pipelines = [p for (p,) in session.execute(text("SELECT id FROM pipeline"))]
        tz = ZoneInfo(zone)
        compared = 0
        for first, last in [
            (None, None),
            ("2026-02-01", None),
            (None, "2026-01-31"),
            ("2026-02-01", "2026-02-01"),
            ("2026-01-01", "2026-03-31"),
            ("2027-01-01", "2027-01-31"),
        ]:
            for pipeline_id in pipelines:
                span = period(first, last, tz)
                got = funnel(Runner(session), span, pipeline_id=pipeline_id)
                want = funnel(Runner(session), span, pipeline_id=pipeline_id, from_deals=True)
                assert (got.data, got.working) == (want.data, want.working), (first, last)
                compared += 1
        assert compared == 12
        everything = funnel(Runner(session), period(None, None, tz), pipeline_id=pipelines[0])
        # 10 added + 2 imported - 1 removed - 1 deleted - 1 moved to "partners"
        assert everything.data[0]["reached"] == 9
    engine.dispose()


def test_funnel_days_are_whole_days_as_the_sales_cycle(crm: Any, db_url: str) -> None:
    """Stays of 1 day 11 h, 2 days 13 h and 4 days: whole days 1, 3 and 4; average 2.67,
    median 3 (the worked example of docs/reports.md)."""
    ids = []
    for i, hours in enumerate((35, 61, 96)):
        _at(crm, "2026-03-01T09:00:00+00:00", "deal", "add", f"D{i}", "--value", "1")
        ids.append(str(i + 1))
        moved = datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(hours=hours)
        _at(crm, moved.isoformat(), "deal", "move", str(i + 1), "qualified")
    rows = {r["stage"]: r for r in crm.json("report", "funnel")}
    assert rows["lead"]["stays"] == 3
    assert rows["lead"]["avg_days"] == pytest.approx(8 / 3)
    assert rows["lead"]["median_days"] == 3.0
    assert rows["qualified"]["stays"] == 0 and rows["qualified"]["median_days"] is None
    assert rows["lead"]["reached"] == 3 and rows["qualified"]["reached"] == 3


WORKER = """
import json, sys
from crm_cli.cli import main
codes = []
for deal, stages in json.loads(sys.argv[1]):
    for stage in stages:
        codes.append(main(["deal", "move", str(deal), stage]))
print(json.dumps(codes))
"""


def test_two_processes_moving_deals_keep_the_funnel_rollups_exact(crm: Any, pg_url: str) -> None:
    crm.monkeypatch.setenv("CRM_DATABASE_URL", pg_url)
    crm.monkeypatch.setenv("CRM_NOW", "2026-03-01T09:00:00+00:00")
    ids = [crm.json("deal", "add", f"D{i}", "--value", "1")["id"] for i in range(24)]
    forward = ["qualified", "proposal", "negotiation", "won"]
    backward = ["negotiation", "proposal", "qualified", "lead"]
    env = {**os.environ, "CRM_DATABASE_URL": pg_url, "CRM_NOW": "2026-03-05T10:00:00+00:00"}
    workers = []
    for part, path in enumerate((forward, backward)):
        mine = ids[part::2]
        workers.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, json.dumps([(d, path) for d in mine])],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        assert set(json.loads(out.strip().splitlines()[-1])) == {0}, err
    engine = make_engine(pg_url)
    with Session(engine) as session:
        reach, stays = _funnel_rollups(session)
        assert (reach, stays) == _funnel_rebuilt(session)
        assert sum(int(r[-1]) for r in reach) == 24
    engine.dispose()
    rows = {r["stage"]: r for r in crm.json("report", "funnel")}
    assert rows["won"]["reached"] == 12 and rows["negotiation"]["reached"] == 24
