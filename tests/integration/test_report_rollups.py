"""The rollups the reports read agree with the deals they are kept from, whatever wrote them.

A mixed run of writes through `crm` (add, edit a won deal's value and currency, move to won,
won, lost, reopen, delete and restore, merge, import, undo), with close times on both sides of
local and UTC midnights; then:
- each rollup holds exactly what rebuilding it from the deals gives;
- every sales, pipeline, forecast, segments and clv figure read from them equals the one
  computed from the deals, for each grouping, filter and period, in zones east, west and half
  an hour off UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from crm_cli.store.engine import make_engine

IMPORT = """title,status,value,currency,owner,source,created_at,closed_at
Imported won,won,900,EUR,Bea Ops,fair,2025-12-01T10:00:00+00:00,2026-01-31T23:50:00+00:00
Imported lost,lost,400,EUR,,fair,2025-12-02T10:00:00+00:00,2026-02-01T00:10:00+00:00
Imported yen,won,30000,JPY,Bea Ops,,2025-11-02T10:00:00+00:00,2026-03-31T22:30:00+00:00
Imported early,won,10,USD,,web,2025-10-02T10:00:00+00:00,2025-12-31T23:15:00+00:00
"""
UNDONE = """title,status,value,currency,owner,source,created_at,closed_at
Undone won,won,777,EUR,,web,2025-12-01T10:00:00+00:00,2026-02-10T12:00:00+00:00
"""


def _at(crm: Any, when: str, *args: str) -> None:
    crm.monkeypatch.setenv("CRM_NOW", when)
    crm.ok(*args)


def _writes(crm: Any, tmp_path: Path) -> None:
    crm.ok("user", "add", "Bea Ops", "--email", "bea@example.com")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@example.com")
    crm.ok("contact", "add", "Ana L.", "--email", "ana.l@example.com")
    crm.ok("contact", "add", "Bo Chen", "--email", "bo@example.com")
    start = "2025-11-10T09:00:00+00:00"
    _at(crm, start, "deal", "add", "A", "--value", "100", "--owner", "Bea Ops", "--source", "web",
        "--contact", "ana@example.com")  # fmt: skip
    _at(crm, start, "deal", "add", "B", "--value", "200", "--currency", "USD",
        "--contact", "ana.l@example.com")  # fmt: skip
    _at(crm, start, "deal", "add", "C", "--value", "300", "--source", "fair")
    _at(crm, start, "deal", "add", "D", "--value", "5000", "--currency", "JPY",
        "--contact", "bo@example.com")  # fmt: skip
    _at(crm, start, "deal", "add", "E", "--value", "70", "--owner", "Bea Ops")
    _at(crm, start, "deal", "add", "F", "--value", "80")
    # 23:30 in Berlin on 31 January and 00:30 on 1 February: one UTC day, two local months.
    _at(crm, "2026-01-31T23:30:00+01:00", "deal", "won", "1")
    _at(crm, "2026-02-01T00:30:00+01:00", "deal", "won", "2")
    _at(crm, "2026-03-31T23:45:00+02:00", "deal", "lost", "3", "--reason", "price")
    _at(crm, "2026-02-15T12:00:00+00:00", "deal", "edit", "1", "--value", "150")
    _at(
        crm,
        "2026-02-15T12:05:00+00:00",
        "deal",
        "edit",
        "2",
        "--currency",
        "EUR",
        "--convert-at",
        "0.9",
    )
    _at(crm, "2026-02-20T08:00:00+00:00", "deal", "reopen", "2")
    _at(crm, "2026-04-01T00:10:00+02:00", "deal", "won", "2")
    _at(crm, "2026-03-01T05:00:00+00:00", "deal", "move", "4", "won")
    _at(crm, "2026-03-02T05:00:00+00:00", "deal", "won", "5")
    _at(crm, "2026-03-03T05:00:00+00:00", "deal", "rm", "5", "--yes")
    _at(crm, "2026-03-04T05:00:00+00:00", "deal", "won", "6")
    _at(crm, "2026-03-05T05:00:00+00:00", "deal", "rm", "6", "--yes")
    _at(crm, "2026-03-06T05:00:00+00:00", "deal", "restore", "6")
    _at(crm, "2026-03-07T05:00:00+00:00", "contact", "merge", "1", "2", "--yes")
    crm.monkeypatch.setenv("CRM_NOW", "2026-03-08T05:00:00+00:00")
    first, second = tmp_path / "deals.csv", tmp_path / "more.csv"
    first.write_text(IMPORT, encoding="utf-8")
    second.write_text(UNDONE, encoding="utf-8")
    crm.ok("import", "deals", str(first))
    crm.ok("import", "deals", str(second))
    crm.ok("undo")
    crm.monkeypatch.setenv("CRM_NOW", "2026-03-09T05:00:00+00:00")
    g = crm.json("deal", "add", "G", "--value", "60")["id"]
    _at(crm, "2026-03-09T06:00:00+00:00", "deal", "won", str(g))
    crm.ok("undo")  # G is open again
    # Open deals for the pipeline and forecast: own probabilities, close dates, moves.
    _at(crm, start, "deal", "add", "H", "--value", "33.33", "--probability", "35",
        "--close", "2026-05-31", "--owner", "Bea Ops", "--stage", "proposal")  # fmt: skip
    _at(crm, start, "deal", "add", "I", "--value", "10.01", "--close", "2026-06-01",
        "--currency", "USD")  # fmt: skip
    _at(crm, start, "deal", "add", "J", "--value", "7", "--close", "2025-01-15")
    crm.ok("deal", "edit", str(g), "--value", "61.49", "--close", "2026-05-02")
    crm.ok("deal", "move", "I", "proposal")
    crm.ok("pipeline", "set-probability", "proposal", "45")
    crm.ok("deal", "edit", "J", "--probability", "15")
    crm.ok("deal", "rm", "J", "--yes")
    crm.ok("undo")
    # A held Ana's first won close: her first close is now B's.
    crm.ok("deal", "rm", "1", "--yes")


def _plain(value: Any) -> str:
    """A value as text the same on both databases (a time as UTC ISO 8601)."""
    if isinstance(value, str) and re.match(r"\d{4}-\d\d-\d\d \d\d:", value):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    return str(value)


def _rollup(session: Session, table: str = "deal_close_rollup") -> set[tuple[Any, ...]]:
    rows = session.execute(text(f"SELECT * FROM {table}")).all()
    return {tuple(_plain(v) for v in row) for row in rows}


def _rebuilt(session: Session, table: str = "deal_close_rollup") -> set[tuple[Any, ...]]:
    """What rebuilding `table` from the deals gives (the migration's SELECT)."""
    from crm_cli.store.rollups import fill_statements

    fill = fill_statements(session.get_bind().dialect.name)
    insert = next(s for s in fill if s.startswith(f"INSERT INTO {table} "))
    select_part = insert.split(") ", 1)[1]
    return {tuple(_plain(v) for v in row) for row in session.execute(text(select_part)).all()}


PERIODS = [
    (None, None),
    ("2026-02-01", None),
    (None, "2026-01-31"),
    ("2026-01-01", "2026-03-31"),
    ("2026-02-01", "2026-02-01"),
    ("2026-04-01", "2026-04-01"),
    ("2027-01-01", "2027-12-31"),
    # Whole months with days before and after them, and days within one month: SQLite reads
    # a month through its index and the days around it by the primary key.
    ("2025-12-31", "2026-03-05"),
    ("2026-02-10", "2026-02-20"),
    ("2025-12-15", None),
]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"])
def test_sales_from_the_rollup_equals_sales_from_the_deals(
    crm: Any, db_url: str, tmp_path: Path, zone: str
) -> None:
    from crm_cli.reports.base import Runner, period
    from crm_cli.reports.customers import clv, segments
    from crm_cli.reports.pipeline import forecast, pipeline
    from crm_cli.reports.sales import sales

    _writes(crm, tmp_path)
    engine = make_engine(db_url)
    with Session(engine) as session:
        rollup = _rollup(session)
        assert rollup == _rebuilt(session)
        assert len(rollup) >= 5  # the writes above left closed deals to count
        opened = _rollup(session, "deal_open_rollup")
        assert opened == _rebuilt(session, "deal_open_rollup")
        assert len(opened) >= 4
        customers = _rollup(session, "customer_won_rollup")
        assert customers == _rebuilt(session, "customer_won_rollup")
        assert len(customers) >= 2
        pipeline_id = session.execute(text("SELECT min(id) FROM pipeline")).scalar()
        tz = ZoneInfo(zone)
        compared = 0
        for first, last in PERIODS:
            for by in (None, "owner", "month", "quarter", "source", "pipeline"):
                for filters in ({}, {"currency": "EUR"}, {"pipeline_id": pipeline_id}):
                    span = period(first, last, tz)
                    got = sales(Runner(session), span, by=by, **filters)
                    want = sales(Runner(session), span, by=by, from_deals=True, **filters)
                    assert got.data == want.data, (first, last, by, filters)
                    assert got.rows == want.rows
                    assert got.working == want.working
                    compared += 1
        assert compared == len(PERIODS) * 6 * 3
        for first, last in PERIODS:
            span = period(first, last, tz)
            for currency in (None, "EUR"):
                got = pipeline(Runner(session), span, currency=currency)
                want = pipeline(Runner(session), span, currency=currency, from_deals=True)
                assert (got.data, got.working) == (want.data, want.working)
                for by in (None, "owner"):
                    args = {"by": by, "currency": currency, "today": date(2026, 3, 10)}
                    got = forecast(Runner(session), span, **args)
                    want = forecast(Runner(session), span, from_deals=True, **args)
                    assert (got.data, got.working) == (want.data, want.working), (span, by)
        as_of = datetime(2026, 6, 1, tzinfo=UTC)
        for currency in (None, "EUR", "JPY", "GBP"):
            for report in (segments, clv):
                got = report(
                    Runner(session), period(None, None, tz), currency=currency, as_of=as_of
                )
                want = report(
                    Runner(session),
                    period(None, None, tz),
                    currency=currency,
                    as_of=as_of,
                    from_deals=True,
                )
                assert (got.data, got.working) == (want.data, want.working), currency
        everything = sales(Runner(session), period(None, None, tz)).data
        # B (now EUR), D (5000 JPY), F, and three imported won; C and one imported lost; A
        # and E deleted, the undone import and G not counted.
        assert (everything["won_count"], everything["lost_count"]) == (6, 2)
    engine.dispose()


def test_import_all_fills_the_rollup_again(crm: Any, db_url: str, tmp_path: Path) -> None:
    _writes(crm, tmp_path)
    engine = make_engine(db_url)
    with Session(engine) as session:
        before = _rollup(session)
        opened = _rollup(session, "deal_open_rollup")
        customers = _rollup(session, "customer_won_rollup")
        funnel = {t: _rollup(session, t) for t in ("funnel_reach_rollup", "funnel_stay_rollup")}
        assert funnel["funnel_reach_rollup"]  # the deals are in the funnel's rollup too
    engine.dispose()
    archive = tmp_path / "all.jsonl"
    crm.ok("export", "all", "--output", str(archive))
    fresh = f"sqlite:///{tmp_path / 'restored.db'}"
    crm.monkeypatch.setenv("CRM_DATABASE_URL", fresh)
    crm.ok("import", "all", str(archive))
    engine = make_engine(fresh)
    with Session(engine) as session:
        assert _rollup(session) == before
        assert before == _rebuilt(session)
        assert _rollup(session, "deal_open_rollup") == opened
        assert _rollup(session, "customer_won_rollup") == customers
        for table in ("funnel_reach_rollup", "funnel_stay_rollup"):
            assert _rollup(session, table) == funnel[table]
    engine.dispose()


def test_a_sqlite_table_rebuild_keeps_the_rollups_kept(tmp_path: Path) -> None:
    """Alembic rebuilds a SQLite table by copy, drop and rename, which drops its triggers: the
    migration run puts them back, and the next write to a deal still reaches the rollup."""
    import sqlalchemy as sa

    from crm_cli.store.rollups import SQLITE_TRIGGERS
    from tests.integration.test_migrations import _throwaway, _upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    _upgrade(engine, "head")
    body = "".join(
        f"    with op.batch_alter_table({t!r}, recreate='always') as batch:\n"
        f"        batch.add_column(sa.Column('scratch', sa.String(), nullable=True))\n"
        for t in ("deal", "stage")
    )
    _upgrade(engine, "head", _throwaway(tmp_path, body))
    with engine.begin() as conn:
        names = {r[0] for r in conn.execute(sa.text("SELECT name FROM sqlite_master"))}
        assert set(SQLITE_TRIGGERS) <= names
        stage, pipeline = conn.execute(
            sa.text("SELECT id, pipeline_id FROM stage WHERE kind = 'won'")
        ).one()
        conn.execute(
            sa.text(
                "INSERT INTO deal (title, pipeline_id, stage_id, value_minor, currency, status, "
                "stage_entered_at, closed_at, created_at, updated_at, version, search_name) "
                "VALUES ('x', :p, :s, 500, 'EUR', 'won', '2026-01-02 10:00:00.000000', "
                "'2026-01-02 10:00:00.000000', '2026-01-01 10:00:00.000000', "
                "'2026-01-01 10:00:00.000000', 1, 'x')"
            ),
            {"p": pipeline, "s": stage},
        )
        rows = conn.execute(sa.text("SELECT close_day, n, value_minor FROM deal_close_rollup"))
        assert [tuple(r) for r in rows] == [("2026-01-02", 1, 500)]
    engine.dispose()
