"""A command that only reads sees one snapshot of the database: a listing's totals, its rows
(read stage by stage) and the names it reads beforehand agree with each other even while
another command commits. On SQLite every transaction is one; on PostgreSQL a reading session
runs at REPEATABLE READ (store.engine.session_scope)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm_cli.services.context import open_context
from crm_cli.services.deal_views import DealFilter, list_deals
from crm_cli.store.sales import Deal
from tests.conftest import Runner


def test_a_reading_session_does_not_see_what_another_command_commits(
    db_url: str, crm: Runner
) -> None:
    crm.ok("deal", "add", "First", "--value", "10")
    ctx = open_context()
    try:
        with ctx.session(write=False) as session:
            before = session.scalar(select(func.count()).select_from(Deal))
            # Another command commits a deal and renames the first while this one reads.
            crm.ok("deal", "add", "Second", "--value", "20")
            crm.ok("deal", "edit", "1", "--title", "Renamed")
            after = session.scalar(select(func.count()).select_from(Deal))
            flt = DealFilter(status="all", limit=None)
            listed = [row["title"] for row in list_deals(ctx, session, flt).rows]
    finally:
        ctx.close()
    assert before == after == 1
    assert listed == ["First"]
    # The next command sees both changes.
    titles = sorted(d["title"] for d in crm.json("deal", "list", "--status", "all", "--json"))
    assert titles == ["Renamed", "Second"]


def test_a_writing_session_still_sees_its_own_changes_and_commits(db_url: str, crm: Runner) -> None:
    """The snapshot is for reading sessions only: a command that writes reads what others
    committed before it began and what it wrote itself."""
    crm.ok("deal", "add", "First", "--value", "10")
    ctx = open_context()
    try:
        with ctx.session() as session:
            session.add(
                Deal(
                    title="Mine",
                    pipeline_id=1,
                    stage_id=1,
                    value_minor=500,
                    currency="EUR",
                )
            )
            session.flush()
            count = session.scalar(select(func.count()).select_from(Deal))
    finally:
        ctx.close()
    assert count == 2
    assert len(crm.json("deal", "list", "--status", "all", "--json")) == 2


@pytest.mark.parametrize("rows", [0, 1, 2, 3, 4, 7, 9])
def test_rows_are_read_a_chunk_at_a_time_each_once(db_url: str, crm: Runner, rows: int) -> None:
    """`driver_parts` gives every row once, in order, as plain tuples, however the rows fall
    into chunks (on PostgreSQL the first chunk comes through the result, the rest from the
    driver's cursor)."""
    from sqlalchemy import text

    from crm_cli.services.common import driver_parts

    crm.ok("contact", "list")  # a migrated database
    series = text(
        "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :n) "
        "SELECT g, 'row ' || g FROM s WHERE g <= :n"
    ).bindparams(n=rows)
    ctx = open_context()
    try:
        with ctx.session(write=False) as session:
            parts = list(driver_parts(session, series, size=3))
            # The session goes on after a listing: the next statement works.
            after = session.scalar(select(func.count()).select_from(Deal))
    finally:
        ctx.close()
    assert [len(p) for p in parts] == [3] * (rows // 3) + ([rows % 3] if rows % 3 else [])
    flat = [row for part in parts for row in part]
    assert flat == [(g, f"row {g}") for g in range(1, rows + 1)]
    assert all(type(row) is tuple for row in flat)
    assert after == 0


def test_a_streamed_listing_counts_days_by_the_same_clock_as_a_record(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Days in stage in a streamed `--json` are counted to CRM_NOW, as `deal show` counts them
    (a script testing a schedule sets the clock; the listing must follow it)."""
    from datetime import UTC, datetime, timedelta

    crm.ok("deal", "add", "Renewal", "--value", "10")
    later = datetime.now(UTC) + timedelta(days=30, hours=1)
    monkeypatch.setenv("CRM_NOW", later.isoformat())
    shown = crm.json("deal", "show", "1", "--json")["days_in_stage"]
    listed = crm.json("deal", "list", "--status", "all", "--all", "--json")
    assert shown == 30
    assert [d["days_in_stage"] for d in listed] == [30]
