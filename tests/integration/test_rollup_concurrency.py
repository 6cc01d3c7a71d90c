"""Two processes writing at the same moment on PostgreSQL keep every rollup exact.

Each process wins one deal and loses another of the same owner, customer and currency on the
same day, 20 rounds, while the other does the same with its own deals: both write the same
rows of `deal_close_rollup`, `deal_open_rollup` and `customer_won_rollup`. Two processes log
and remove interactions on the same two deals: both write the same rows of `activity_rollup`
and `deal_touch_rollup`. Every command succeeds, and afterwards each rollup holds what
rebuilding it from the rows gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from crm_cli.store.engine import make_engine
from tests.integration.test_activity_rollup import _rebuilt as _activity_rebuilt
from tests.integration.test_activity_rollup import _rollup as _activity_rollup
from tests.integration.test_activity_rollup import _touch, _touch_rebuilt
from tests.integration.test_report_rollups import _rebuilt, _rollup

ROUNDS = 20
WORKER = """
import json, sys
from crm_cli.cli import main
codes = []
for won, lost in json.loads(sys.argv[1]):
    codes.append(main(["deal", "won", str(won)]))
    codes.append(main(["deal", "lost", str(lost), "--reason", "price"]))
print(json.dumps(codes))
"""


def test_two_processes_closing_deals_keep_the_rollups_exact(crm: Any, pg_url: str) -> None:
    from crm_cli.store.sales import Deal

    crm.monkeypatch.setenv("CRM_DATABASE_URL", pg_url)
    crm.ok("user", "add", "Bea Ops", "--email", "bea@example.com")
    contact = crm.json("contact", "add", "Ana Lima", "--email", "ana@example.com")["id"]
    engine = make_engine(pg_url)
    now = datetime(2026, 3, 1, 9, tzinfo=UTC)
    with Session(engine) as session:
        owner = session.execute(text('SELECT id FROM "user" ORDER BY id LIMIT 1')).scalar()
        pipeline_id, stage_id = session.execute(
            text("SELECT pipeline_id, id FROM stage ORDER BY id LIMIT 1")
        ).one()
        deals = [
            Deal(
                title=f"D{i}",
                pipeline_id=pipeline_id,
                stage_id=stage_id,
                owner_id=owner,
                contact_id=contact,
                value_minor=1000 + i,
                currency="EUR",
                created_at=now,
                updated_at=now,
            )
            for i in range(4 * ROUNDS)
        ]
        session.add_all(deals)
        session.commit()
        ids = [d.id for d in deals]
    env = {**os.environ, "CRM_DATABASE_URL": pg_url, "CRM_NOW": "2026-03-02T10:00:00+00:00"}
    workers = []
    for part in range(2):
        mine = ids[part * 2 * ROUNDS : (part + 1) * 2 * ROUNDS]
        pairs = [(mine[2 * r], mine[2 * r + 1]) for r in range(ROUNDS)]
        workers.append(
            subprocess.Popen(
                [sys.executable, "-c", WORKER, json.dumps(pairs)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        codes = json.loads(out.strip().splitlines()[-1])
        assert codes == [0] * (2 * ROUNDS), err
    with Session(engine) as session:
        counts = dict(
            session.execute(text("SELECT status, count(*) FROM deal GROUP BY status")).all()
        )
        assert counts == {"won": 2 * ROUNDS, "lost": 2 * ROUNDS}
        for table in ("deal_close_rollup", "deal_open_rollup", "customer_won_rollup"):
            assert _rollup(session, table) == _rebuilt(session, table), table
        won = session.execute(text("SELECT n FROM customer_won_rollup")).scalars().all()
        assert won == [2 * ROUNDS]
    engine.dispose()


MOVER = """
import json, sys
from crm_cli.cli import main
codes = []
for deal, stage in json.loads(sys.argv[1]):
    codes.append(main(["deal", "move", str(deal), stage]))
print(json.dumps(codes))
"""


def test_two_processes_moving_deals_in_opposite_directions(crm: Any, pg_url: str) -> None:
    """One process moves its deals lead -> qualified while the other moves its own
    qualified -> lead: both write the same two rows of `deal_open_rollup`, in opposite
    directions. Every move succeeds and the rollup equals a rebuild."""
    crm.monkeypatch.setenv("CRM_DATABASE_URL", pg_url)
    forward = [crm.json("deal", "add", f"F{i}", "--value", "100")["id"] for i in range(ROUNDS)]
    back = [crm.json("deal", "add", f"B{i}", "--value", "200")["id"] for i in range(ROUNDS)]
    for deal in back:
        crm.ok("deal", "move", str(deal), "qualified")
    env = {**os.environ, "CRM_DATABASE_URL": pg_url}
    plans = [[(d, "qualified") for d in forward], [(d, "lead") for d in back]]
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", MOVER, json.dumps(plan)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for plan in plans
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        assert json.loads(out.strip().splitlines()[-1]) == [0] * ROUNDS, err
    stages = {d["id"]: d["stage"] for d in crm.json("deal", "list", "--all")}
    assert {stages[d] for d in forward} == {"qualified"}
    assert {stages[d] for d in back} == {"lead"}
    engine = make_engine(pg_url)
    with Session(engine) as session:
        assert _rollup(session, "deal_open_rollup") == _rebuilt(session, "deal_open_rollup")
    engine.dispose()


LOGGER = """
import contextlib, io, json, sys
from crm_cli.cli import main
part, deals, rounds = int(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
codes = []
for i in range(rounds):
    for deal in deals:
        out = io.StringIO()
        at = f"2026-03-01T{10 + i % 10:02d}:{part * 30 + i % 30:02d}:00+00:00"
        with contextlib.redirect_stdout(out):
            codes.append(main(["log", "call", "ana@example.com", f"p{part} r{i}",
                               "--deal", str(deal), "--at", at, "--json"]))
        if i % 3 == 2:  # take the latest back: the deal's last touch is recomputed
            codes.append(main(["log", "rm", str(json.loads(out.getvalue())["id"])]))
print(json.dumps(codes))
"""


def test_two_processes_logging_on_the_same_deals(crm: Any, pg_url: str) -> None:
    """Both processes log calls on the same two deals on the same day (one row of
    `activity_rollup`, the deals' rows of `deal_touch_rollup`) and remove every third of
    their own. Every command succeeds and both rollups equal a rebuild."""
    crm.monkeypatch.setenv("CRM_DATABASE_URL", pg_url)
    crm.monkeypatch.setenv("CRM_NOW", "2026-02-01T09:00:00+00:00")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@example.com")
    deals = [crm.json("deal", "add", f"D{i}", "--value", "10")["id"] for i in range(2)]
    env = {**os.environ, "CRM_DATABASE_URL": pg_url, "CRM_NOW": "2026-03-02T10:00:00+00:00"}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", LOGGER, str(part), json.dumps(deals), str(ROUNDS)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for part in range(2)
    ]
    removals = ROUNDS // 3
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        codes = json.loads(out.strip().splitlines()[-1])
        assert codes == [0] * (2 * ROUNDS + 2 * removals), err
    logged = crm.json("log", "list", "--all")
    assert len(logged) == 2 * 2 * (ROUNDS - removals)
    engine = make_engine(pg_url)
    with Session(engine) as session:
        assert _activity_rollup(session) == _activity_rebuilt(session)
        assert _touch(session) == _touch_rebuilt(session)
        touched = session.execute(text("SELECT count(*) FROM deal_touch_rollup")).scalar()
        assert touched == 2
    engine.dispose()
