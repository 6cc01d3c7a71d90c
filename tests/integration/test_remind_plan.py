"""`crm remind` reads through an index at any size: EXPLAIN QUERY PLAN of what it ran.

Run every quarter of an hour, it must cost the same at a hundred follow-ups or a million:
its search for what has come due is bounded by the open-follow-ups index on the effective due
time (migration 0005), and the check "reported before?" is a lookup in the delivery table's
unique key, never a scan of either table.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from crm_cli.services.context import open_context
from tests.conftest import Runner
from tests.integration.test_query_plans import (
    _plans,
    statements,  # noqa: F401 (a fixture)
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _seed(count: int = 20_000) -> None:
    """Follow-ups of three owners, nearly all still to come or done; twenty due now."""
    from crm_cli.store.models import User
    from crm_cli.store.sales import Followup

    rnd = random.Random(3)
    stamp = {"created_at": NOW, "updated_at": NOW}
    ctx = open_context()
    try:
        with ctx.session(journal=False) as s:
            s.execute(insert(User), [{"name": f"Owner {i}", **stamp} for i in range(2)])
            owners = list(s.scalars(select(User.id)))
            rows = []
            for i in range(count):
                due = NOW - timedelta(hours=1 + i) if i < 20 else NOW + timedelta(days=1 + i % 700)
                rows.append(
                    {
                        "title": f"Call {i}",
                        "due_at": due if i % 3 else NOW - timedelta(days=rnd.uniform(1, 900)),
                        "done_at": None if i % 3 or i < 20 else NOW,
                        "owner_id": owners[i % len(owners)],
                        **stamp,
                    }
                )
            s.execute(insert(Followup), rows)
        with ctx.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    finally:
        ctx.close()


def test_remind_reads_followups_through_the_index(
    sqlite_url: str,
    crm: Runner,
    monkeypatch: Any,
    statements: list[tuple[str, Any]],  # noqa: F811
) -> None:
    crm.ok("remind", "--status")  # creates and migrates the database
    _seed()
    monkeypatch.setenv("CRM_NOW", NOW.isoformat())
    statements.clear()
    reported = crm.json("remind", "--everyone")
    assert len(reported) == 20
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:
        plans = {
            sql: "\n".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
            for sql, params in statements
            if "FROM followup" in sql and "reminder_delivery" in sql
        }
    finally:
        conn.close()
    assert len(plans) == 1, list(plans)
    [plan] = plans.values()
    assert "SEARCH followup USING INDEX ix_followup_open_effective" in plan, plan
    assert "SCAN followup" not in plan, plan
    assert "SCAN reminder_delivery" not in plan, plan


def test_remind_has_an_index_path_on_both_databases(
    db_url: str,
    crm: Runner,
    monkeypatch: Any,
    statements: list[tuple[str, Any]],  # noqa: F811
) -> None:
    """The same on PostgreSQL, where `crm remind` prices scans out for its search (its
    estimate of how many open follow-ups are due is far off): there must be an index path."""
    crm.ok("remind", "--status")
    _seed(5_000)
    monkeypatch.setenv("CRM_NOW", NOW.isoformat())
    statements.clear()
    assert crm.json("remind")  # the current user's share of the twenty due
    run = [(sql, p) for sql, p in statements if "reminder_delivery" in sql and "followup" in sql]
    [plan] = _plans(db_url, run)
    assert "Seq Scan on followup" not in plan and "SCAN followup" not in plan, plan
    assert "ix_followup_owner_open" in plan, plan
