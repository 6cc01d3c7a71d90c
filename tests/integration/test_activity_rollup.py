"""The activity report, read from `activity_rollup`, equals the report computed from the
interactions, follow-ups and deals, whatever wrote them.

Interactions logged at times on both sides of local and UTC midnights and of month ends, by
two owners and nobody, edited to another time and owner, removed; follow-ups completed,
reopened by undo, removed; interactions written straight into the table and deleted. Then the
rollup equals its rebuild, and for each period, `--by`, zone and idle window the report's
figures equal those from the rows. Plain-Python figures: a cohort of interactions and
follow-ups generated here, counted per owner and kind and per local month.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from crm_cli.store.engine import make_engine
from tests.integration.test_report_rollups import _plain


def _rollup(session: Session) -> set[Any]:
    rows = session.execute(text("SELECT * FROM activity_rollup")).all()
    return {tuple(_plain(v) for v in row) for row in rows}


def _rebuilt(session: Session) -> set[Any]:
    from crm_cli.store.rollups import activity_fill_statements

    fill = activity_fill_statements(session.get_bind().dialect.name)
    select_part = fill[1].split(") ", 1)[1]
    return {tuple(_plain(v) for v in row) for row in session.execute(text(select_part)).all()}


def _at(crm: Any, when: str, *args: str) -> Any:
    crm.monkeypatch.setenv("CRM_NOW", when)
    return crm.ok(*args)


def _writes(crm: Any, db_url: str) -> None:
    crm.ok("user", "add", "Bea Ops", "--email", "bea@example.com")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@example.com")
    deal = crm.json("deal", "add", "Renewal", "--value", "10")["id"]
    times = [
        "2026-01-31T23:30:00+01:00",
        "2026-02-01T00:30:00+01:00",
        "2026-01-31T22:30:00+00:00",
        "2026-03-31T23:45:00+02:00",
        "2026-04-01T00:10:00+02:00",
        "2026-02-15T12:00:00+00:00",
        "2026-02-28T19:00:00+00:00",
    ]
    kinds = ["call", "email", "meeting", "note", "message"]
    for i, when in enumerate(times):
        owner = ["--owner", "Bea Ops"] if i % 3 == 0 else []
        on_deal = ["--deal", str(deal)] if i % 2 else []
        crm.ok("log", kinds[i % 5], "ana@example.com", f"I{i}", "--at", when, *owner, *on_deal)
    for i, when in enumerate(times[:5]):
        fid = crm.json("followup", "add", f"F{i}", "--due", "2026-05-01", "-c", "ana@example.com")
        _at(crm, when, "followup", "done", str(fid["id"]))
    crm.ok("undo")  # the last completion is taken back
    crm.ok("followup", "rm", "1", "--yes")
    crm.ok("log", "rm", "2", "--yes")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE interaction SET occurred_at = :at, owner_id = NULL WHERE id = 3"),
            {"at": datetime(2026, 3, 1, 1, tzinfo=UTC)},
        )
        conn.execute(text("UPDATE interaction SET kind = 'call' WHERE id = 4"))
        conn.execute(text("DELETE FROM interaction WHERE id = 5"))
    engine.dispose()


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_activity_from_the_rollup_equals_activity_from_the_rows(
    crm: Any, db_url: str, zone: str
) -> None:
    from crm_cli.reports.activity import activity
    from crm_cli.reports.base import Runner, period

    _writes(crm, db_url)
    engine = make_engine(db_url)
    now = datetime(2026, 4, 20, 12, tzinfo=UTC)
    with Session(engine) as session:
        rollup = _rollup(session)
        assert rollup == _rebuilt(session)
        assert len(rollup) >= 6
        tz = ZoneInfo(zone)
        compared = 0
        for first, last in [
            (None, None),
            ("2026-02-01", None),
            (None, "2026-01-31"),
            ("2026-02-01", "2026-02-28"),
            ("2026-04-01", "2026-04-01"),
            ("2027-01-01", "2027-12-31"),
        ]:
            for by in ("owner", "month"):
                for idle in (1, 30, 400):
                    span = period(first, last, tz)
                    args = {"by": by, "idle_days": idle, "now": now}
                    got = activity(Runner(session), span, **args)
                    want = activity(Runner(session), span, from_deals=True, **args)
                    assert (got.data, got.working) == (want.data, want.working), (
                        first,
                        last,
                        by,
                    )
                    compared += 1
        assert compared == 36
        everything = activity(Runner(session), period(None, None, tz), by="owner", idle_days=30,
                              now=now)  # fmt: skip
        # 7 logged - 1 removed - 1 deleted; 5 done - 1 undone - 1 removed
        assert sum(r["total"] for r in everything.data["rows"]) == 8
    engine.dispose()


def test_activity_equals_plain_python(crm: Any, db_url: str) -> None:
    from crm_cli.store.sales import Followup, Interaction

    crm.ok("user", "add", "Bea Ops", "--email", "bea@example.com")
    rng = random.Random(5)
    engine = make_engine(db_url)
    with Session(engine) as session:
        users = dict(session.execute(text('SELECT name, id FROM "user"')).all())
    owners = [None, users["Test User"], users["Bea Ops"]]
    start = datetime(2025, 12, 1, tzinfo=UTC)
    events: list[tuple[datetime, Any, str]] = []
    inter_rows, fu_rows = [], []
    for i in range(600):
        at = start + timedelta(seconds=rng.randint(0, 120 * 86400))
        if i % 7 == 0:
            at = at.replace(hour=rng.choice((22, 23)), minute=rng.randint(0, 59))
        owner = rng.choice(owners)
        deleted = at if i % 13 == 0 else None
        if i % 4 == 0:
            done = at if i % 8 else None
            fu_rows.append(
                {
                    "title": "F",
                    "due_at": at,
                    "done_at": done,
                    "owner_id": owner,
                    "deleted_at": deleted,
                    "created_at": at,
                    "updated_at": at,
                }  # fmt: skip
            )
            if done is not None and deleted is None:
                events.append((at, owner, "follow-up done"))
        else:
            kind = rng.choice(["call", "email", "meeting", "note", "message"])
            inter_rows.append(
                {
                    "kind": kind,
                    "occurred_at": at,
                    "summary": "x",
                    "owner_id": owner,
                    "deleted_at": deleted,
                    "created_at": at,
                    "updated_at": at,
                }  # fmt: skip
            )
            if deleted is None:
                events.append((at, owner, kind))
    with engine.begin() as conn:
        conn.execute(insert(Interaction), inter_rows)
        conn.execute(insert(Followup), fu_rows)
    with Session(engine) as session:
        assert _rollup(session) == _rebuilt(session)
    engine.dispose()
    names = {None: "(none)", users["Test User"]: "Test User", users["Bea Ops"]: "Bea Ops"}
    for zone in ("Europe/Berlin", "Asia/Kolkata"):
        tz = ZoneInfo(zone)
        crm.monkeypatch.setenv("CRM_TIMEZONE", zone)
        for first, last in [(None, None), ("2026-01-01", "2026-02-28"), ("2026-01-31", None)]:
            mine = [
                e
                for e in events
                if (first is None or e[0].astimezone(tz).date().isoformat() >= first)
                and (last is None or e[0].astimezone(tz).date().isoformat() <= last)
            ]
            args = ["report", "activity", "--json"]
            args += ["--from", first] if first else []
            args += ["--to", last] if last else []
            by_owner = Counter((names[o], k) for _at, o, k in mine)
            got = crm.json(*args)
            seen = {(r["key"], k): v for r in got["rows"] for k, v in r.items()
                    if k not in ("key", "total") and v}  # fmt: skip
            assert seen == dict(by_owner), (zone, first, last)
            by_month = Counter((a.astimezone(tz).strftime("%Y-%m"), k) for a, _o, k in mine)
            got = crm.json(*args, "--by", "month")
            seen = {(r["key"], k): v for r in got["rows"] for k, v in r.items()
                    if k not in ("key", "total") and v}  # fmt: skip
            assert seen == dict(by_month), (zone, first, last)


def _touch(session: Session) -> set[Any]:
    rows = session.execute(text("SELECT deal_id, touched_at FROM deal_touch_rollup")).all()
    return {tuple(_plain(v) for v in row) for row in rows}


def _touch_rebuilt(session: Session) -> set[Any]:
    from crm_cli.store.rollups import touch_fill_statements

    fill = touch_fill_statements(session.get_bind().dialect.name)
    select_part = fill[1].split(") ", 1)[1]
    return {tuple(_plain(v) for v in row) for row in session.execute(text(select_part)).all()}


def test_the_idle_deals_follow_every_write(crm: Any, db_url: str) -> None:
    """`deal_touch_rollup` equals its rebuild after each kind of write to deals and their
    interactions, and the idle deals read from it equal those computed from the rows."""
    from crm_cli.reports.activity import _idle
    from crm_cli.reports.base import Runner

    crm.ok("contact", "add", "Ana Lima", "--email", "ana@example.com")
    ids = []
    created_at = ["2026-01-05", "2026-02-10", "2026-03-01", "2026-03-20"]
    for i, created in enumerate(f"{day}T10:00:00+00:00" for day in created_at):
        ids.append(
            str(_at(crm, created, "deal", "add", f"D{i}", "--value", "5", "--json").json["id"])
        )
    a, b, c, d = ids
    crm.monkeypatch.setenv("CRM_NOW", "2026-04-01T10:00:00+00:00")
    engine = make_engine(db_url)
    checked = []

    def check(step: str) -> None:
        with Session(engine) as session:
            assert _touch(session) == _touch_rebuilt(session), step
            for day in (1, 5, 15, 30, 45, 60, 120):
                cutoff = datetime(2026, 4, 1, 10, tzinfo=UTC) - timedelta(days=day)
                got = _idle(Runner(session), cutoff, False)
                want = _idle(Runner(session), cutoff, True)
                assert got == want, (step, day)
        checked.append(step)

    check("added")
    with Session(engine) as session:
        assert len(_touch(session)) == 4  # every open deal, touched when created
    crm.ok("log", "call", "ana@example.com", "L1", "--at", "2026-03-10T09:00:00+00:00", "--deal", a)
    crm.ok("log", "note", "ana@example.com", "L2", "--at", "2026-03-25T09:00:00+00:00", "--deal", a)
    crm.ok(
        "log", "email", "ana@example.com", "L3", "--at", "2026-01-02T09:00:00+00:00", "--deal", b
    )
    crm.ok("log", "meeting", "ana@example.com", "L4", "--at", "2026-03-30T09:00:00+00:00")
    check("logged")
    crm.ok("log", "rm", "2", "--yes")  # A's latest: back to L1
    check("latest removed")
    crm.ok("undo")
    check("removal undone")
    crm.ok("deal", "won", b)
    crm.ok("deal", "reopen", b)
    check("won and reopened")
    crm.ok("deal", "rm", c, "--yes")
    check("removed")
    crm.ok("deal", "restore", c)
    check("restored")
    with engine.begin() as conn:
        # Straight into the tables: a latest interaction moved to another deal and earlier,
        # one deleted, a deal's creation moved, a deal deleted with its interactions.
        conn.execute(text(f"UPDATE interaction SET deal_id = {d}, occurred_at = :at WHERE id = 2"),
                     {"at": datetime(2026, 3, 26, tzinfo=UTC)})  # fmt: skip
        conn.execute(text("DELETE FROM interaction WHERE id = 1"))
        conn.execute(text(f"UPDATE deal SET created_at = :at WHERE id = {b}"),
                     {"at": datetime(2026, 3, 28, tzinfo=UTC)})  # fmt: skip
    check("written straight")
    with engine.begin() as conn:
        conn.execute(text(f"DELETE FROM stage_change WHERE deal_id = {d}"))
        conn.execute(text(f"DELETE FROM deal WHERE id = {d}"))
    check("deal deleted")
    with Session(engine) as session:
        assert {int(r[0]) for r in _touch(session)} == {int(a), int(b), int(c)}
    engine.dispose()
    assert len(checked) == 9
