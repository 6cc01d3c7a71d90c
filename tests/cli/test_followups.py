"""Follow-ups through the real command, on SQLite and PostgreSQL.

Dates are either fixed in the past (the DST acceptance case, completed with `--at`) or
computed from the clock when the test runs, so the tests pass on any day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.errors import ExitCode
from crm_cli.store.engine import make_engine
from crm_cli.store.migrate import ensure_current
from crm_cli.store.sales import Deal, Followup, Stage

BERLIN = ZoneInfo("Europe/Berlin")


def make_deal(db_url: str, title: str = "Acme renewal") -> int:
    """A deal row, written directly: these tests do not depend on the deal commands."""
    engine = make_engine(db_url)
    ensure_current(engine, None)  # the database may not have been opened by a command yet
    try:
        with Session(engine) as session:
            stage = session.scalars(select(Stage).order_by(col(Stage.position))).first()
            assert stage is not None and stage.id is not None
            deal = Deal(title=title, pipeline_id=stage.pipeline_id, stage_id=stage.id)
            session.add(deal)
            session.commit()
            assert deal.id is not None
            return deal.id
    finally:
        engine.dispose()


def rows(db_url: str) -> list[Followup]:
    engine = make_engine(db_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            return list(session.scalars(select(Followup).order_by(col(Followup.id))))
    finally:
        engine.dispose()


def local_iso(moment: datetime) -> str:
    """A time as the user would type it in ISO form, in Berlin."""
    return f"{moment.astimezone(BERLIN):%Y-%m-%d %H:%M}"


def future_year() -> int:
    return datetime.now(UTC).year + 2


def test_add_show_and_the_record(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    deal_id = make_deal(db_url)
    year = future_year()
    result = crm.ok(
        "followup",
        "add",
        "Call Ana",
        "--due",
        f"{year}-11-30 09:00",
        "--contact",
        "ana@acme.com",
        "--deal",
        str(deal_id),
        "--priority",
        "HIGH",
        "--repeat",
        "every 2 weeks",
        "--note",
        "Ask about the renewal",
    )
    lines = result.out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Added follow-up ") and "Call Ana" in lines[0]
    assert f"{year}-11-30 09:00 CET" in lines[0]

    record = crm.json("followup", "show", "1")
    assert record["due_at"] == f"{year}-11-30T09:00:00+01:00"
    assert record["timezone"] == "Europe/Berlin"
    assert (record["contact"], record["deal_id"], record["deal"]) == (
        "Ana Lima",
        deal_id,
        "Acme renewal",
    )
    assert (record["owner"], record["priority"], record["repeat"]) == (
        "Test User",
        "high",
        "every 2 weeks",
    )
    assert record["notes"] == "Ask about the renewal"
    assert record["overdue"] is False and record["done_at"] is None
    expected = {
        "id",
        "title",
        "due_at",
        "due_local",
        "timezone",
        "contact_id",
        "contact",
        "deal_id",
        "deal",
        "owner_id",
        "owner",
        "priority",
        "repeat",
        "notes",
        "done_at",
        "snoozed_until",
        "overdue",
        "created_at",
        "updated_at",
    }
    assert expected <= set(record)

    stored = rows(db_url)[0]
    assert stored.due_at == datetime(year, 11, 30, 8, 0, tzinfo=UTC)  # stored in UTC

    added = crm.json("followup", "add", "Anything", "--due", "tomorrow 9:00")
    assert added["contact_id"] is None and added["deal_id"] is None
    assert added["priority"] == "normal" and added["repeat"] is None


def test_done_keeps_local_time_across_the_october_dst_change(crm: Any, db_url: str) -> None:
    """The acceptance case: weekly at 10:00 Berlin, done on Friday 2026-10-23, next on
    2026-10-30 at 10:00 local, which is 09:00 UTC instead of 08:00 UTC."""
    crm.ok("user", "add", "Bo Chen", "--email", "bo@example.com")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    deal_id = make_deal(db_url)
    first = crm.json(
        "followup",
        "add",
        "Weekly check-in",
        "--due",
        "2026-10-23 10:00",
        "--repeat",
        "weekly",
        "--contact",
        "ana@acme.com",
        "--deal",
        str(deal_id),
        "--owner",
        "bo@example.com",
        "--priority",
        "high",
        "--note",
        "agenda",
    )
    assert first["due_at"] == "2026-10-23T10:00:00+02:00"

    text_out = crm.ok("followup", "done", str(first["id"]), "--at", "2026-10-23 10:45").out
    assert len(text_out.splitlines()) == 2  # the one done and the next
    assert "2026-10-30 10:00 CET" in text_out.splitlines()[1]

    both = rows(db_url)
    assert len(both) == 2
    done, following = both
    assert done.done_at == datetime(2026, 10, 23, 8, 45, tzinfo=UTC)
    assert done.due_at == datetime(2026, 10, 23, 8, 0, tzinfo=UTC)
    assert following.due_at == datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
    assert following.done_at is None and following.previous_id == done.id
    for attr in ("title", "contact_id", "deal_id", "owner_id", "priority", "repeat", "timezone"):
        assert getattr(following, attr) == getattr(done, attr), attr
    assert following.notes is None  # notes belong to one occurrence

    shown = crm.json("followup", "show", str(following.id))
    assert shown["due_at"] == "2026-10-30T10:00:00+01:00"
    assert shown["previous_id"] == done.id


def test_done_json_and_done_twice(crm: Any, db_url: str) -> None:
    added = crm.json("followup", "add", "One-off", "--due", "+1d")
    result = crm.json("followup", "done", str(added["id"]))
    assert result["done"]["id"] == added["id"] and result["done"]["done_at"] is not None
    assert result["next"] is None
    again = crm("followup", "done", str(added["id"]))
    assert again.code == ExitCode.CONFLICT and "already done" in again.err
    assert crm("followup", "done", "1", "--at", "+2d").code == ExitCode.USAGE


def test_repeating_from_long_ago_steps_past_now(crm: Any, db_url: str) -> None:
    """The next occurrence counts from the due time, then steps until it is in the future."""
    start = (datetime.now(BERLIN) - timedelta(days=10)).replace(hour=8, minute=0)
    added = crm.json(
        "followup", "add", "Daily stand-up", "--due", local_iso(start), "--repeat", "daily"
    )
    result = crm.json("followup", "done", str(added["id"]))
    following = datetime.fromisoformat(result["next"]["due_at"])
    now = datetime.now(UTC)
    assert now < following <= now + timedelta(days=1)
    assert (following.astimezone(BERLIN).hour, following.astimezone(BERLIN).minute) == (8, 0)
    assert result["next"]["overdue"] is False


def _chain(crm: Any, first_id: int, count: int) -> list[str]:
    """Complete a follow-up `count` times; the local due dates of the occurrences made."""
    dues, current = [], first_id
    for _ in range(count):
        following = crm.json("followup", "done", str(current))["next"]
        dues.append(following["due_at"])
        current = following["id"]
    return dues


def test_repeat_rules(crm: Any, db_url: str) -> None:
    year = future_year()
    daily = crm.json("followup", "add", "d", "--due", f"{year}-03-30 08:15", "--repeat", "daily")
    assert _chain(crm, daily["id"], 2) == [
        f"{year}-03-31T08:15:00+02:00",
        f"{year}-04-01T08:15:00+02:00",
    ]

    friday = date(year, 1, 1) + timedelta(days=(4 - date(year, 1, 1).weekday()) % 7)
    weekdays = crm.json("followup", "add", "w", "--due", f"{friday} 09:30", "--repeat", "weekdays")
    monday, tuesday = friday + timedelta(days=3), friday + timedelta(days=4)
    assert _chain(crm, weekdays["id"], 2) == [
        f"{monday}T09:30:00+01:00",
        f"{tuesday}T09:30:00+01:00",
    ]

    monthly = crm.json(
        "followup", "add", "m", "--due", f"{year}-01-31 10:00", "--repeat", "monthly"
    )
    february = 29 if year % 4 == 0 else 28
    assert [d[:10] for d in _chain(crm, monthly["id"], 3)] == [
        f"{year}-02-{february}",
        f"{year}-03-31",
        f"{year}-04-30",
    ]

    fortnight = crm.json(
        "followup", "add", "f", "--due", f"{year}-01-06 15:00", "--repeat", "every 2 weeks"
    )
    assert _chain(crm, fortnight["id"], 1) == [f"{year}-01-20T15:00:00+01:00"]

    stopped = crm.json("followup", "edit", str(fortnight["id"] + 1), "--repeat", "none")
    assert stopped["repeat"] is None
    assert crm.json("followup", "done", str(stopped["id"]))["next"] is None


def test_snooze(crm: Any, db_url: str) -> None:
    overdue = crm.json("followup", "add", "Late", "--due", "-1d")
    assert overdue["overdue"] is True
    later = crm.json("followup", "add", "Later", "--due", "+3d")
    # `crm remind` marks what it reported; a snooze must let it be reported again.
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE followup SET reminded_at = created_at"))
    engine.dispose()

    snoozed = crm.json("followup", "snooze", str(overdue["id"]), "--until", "+5d")
    assert snoozed["overdue"] is False and snoozed["status"] == "snoozed"
    assert snoozed["due_at"] == overdue["due_at"]  # the promise itself is unchanged
    until = datetime.fromisoformat(snoozed["snoozed_until"]).astimezone(BERLIN)
    # A relative day lands at the configured time of day (09:00), five days from today.
    assert until.date() == datetime.now(BERLIN).date() + timedelta(days=5)
    assert (until.hour, until.minute) == (9, 0)
    stored = {f.id: f for f in rows(db_url)}
    assert stored[overdue["id"]].reminded_at is None
    assert stored[later["id"]].reminded_at is not None

    # It counts as due when the snooze ends: after "Later", no longer overdue.
    assert [f["id"] for f in crm.json("followup", "list")] == [later["id"], overdue["id"]]
    assert crm.json("followup", "list", "--due", "overdue") == []

    assert crm("followup", "snooze", str(later["id"]), "--until", "-1h").code == ExitCode.USAGE
    crm.ok("followup", "done", str(later["id"]))
    assert crm("followup", "snooze", str(later["id"]), "--until", "+1d").code == ExitCode.CONFLICT

    # A new due time is a new promise: the snooze goes.
    edited = crm.json("followup", "edit", str(overdue["id"]), "--due", "+2d")
    assert edited["snoozed_until"] is None


def test_list_defaults_and_due_filters(crm: Any, db_url: str) -> None:
    crm.ok("user", "add", "Bo Chen", "--email", "bo@example.com")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    now = datetime.now(BERLIN)
    tomorrow = (now + timedelta(days=1)).replace(hour=10, minute=0)

    def add(title: str, due: str, *extra: str) -> int:
        return int(crm.json("followup", "add", title, "--due", due, *extra)["id"])

    far = add("far", "+10d")
    soon = add("soon", "+3d", "--contact", "ana@acme.com")
    nxt = add("tomorrow", local_iso(tomorrow))
    late = add("late", "-2d")
    bos = add("bo's", "-1d", "--owner", "Bo Chen", "--contact", "ana@acme.com")
    finished = add("finished", "-3d")
    crm.ok("followup", "done", str(finished))

    def ids(*args: str) -> list[int]:
        return [int(f["id"]) for f in crm.json("followup", "list", *args)]

    assert ids() == [late, nxt, soon, far]  # mine, open, overdue first then by due
    assert ids("--mine") == [late, nxt, soon, far]
    assert ids("--due", "overdue") == [late]
    assert ids("--due", "today") == [late]
    assert ids("--due", "week") == [late, nxt, soon]
    assert ids("--all") == [late, bos, nxt, soon, far]
    assert ids("--all", "--done") == [finished, late, bos, nxt, soon, far]
    assert ids("--done") == [finished, late, nxt, soon, far]
    assert ids("--all", "--due", "overdue", "--done") == [late, bos]
    assert ids("--owner", "bo@example.com") == [bos]
    assert ids("--contact", "ana@acme.com") == [bos, soon]  # everyone's for a contact
    assert ids("--contact", "ana@acme.com", "--mine") == [soon]

    listed = crm.json("followup", "list", "--all")
    assert [f["overdue"] for f in listed] == [True, True, False, False, False]
    page = crm("followup", "list", "--limit", "2", "--json")
    assert len(page.json) == 2 and "showing 2 of 4" in page.err

    table = crm.ok("followup", "list").out
    assert "OVERDUE" in table and "late" in table
    import csv
    import io

    parsed = list(csv.DictReader(io.StringIO(crm.ok("followup", "list", "--csv").out)))
    assert [int(r["id"]) for r in parsed] == [late, nxt, soon, far]
    assert parsed[0]["status"] == "overdue"


def test_deal_filter_and_rm(crm: Any, db_url: str) -> None:
    deal_id = make_deal(db_url)
    on_deal = crm.json("followup", "add", "Send contract", "--due", "+1d", "--deal", str(deal_id))
    crm.ok("followup", "add", "Other", "--due", "+2d")
    assert [f["id"] for f in crm.json("followup", "list", "--deal", str(deal_id))] == [
        on_deal["id"]
    ]
    assert crm("followup", "rm", "1", "2").code == ExitCode.FAILURE  # several: asks first
    crm.ok("followup", "rm", str(on_deal["id"]))
    assert crm.json("followup", "list", "--deal", str(deal_id)) == []
    assert crm("followup", "show", str(on_deal["id"])).code == ExitCode.NOT_FOUND
    removed = [f for f in rows(db_url) if f.id == on_deal["id"]][0]
    assert removed.deleted_at is not None  # soft delete: the row stays


def test_edit(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    added = crm.json("followup", "add", "Call", "--due", "+1d", "--contact", "ana@acme.com")
    edited = crm.json(
        "followup",
        "edit",
        str(added["id"]),
        "--title",
        "Call Ana back",
        "--contact",
        "",
        "--priority",
        "low",
        "--note",
        "re: pricing",
    )
    assert (edited["title"], edited["contact_id"], edited["priority"], edited["notes"]) == (
        "Call Ana back",
        None,
        "low",
        "re: pricing",
    )
    assert edited["due_at"] == added["due_at"]


def test_bad_values_change_nothing(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    added = crm.json("followup", "add", "Call", "--due", "+1d", "--repeat", "weekly")
    cases = [
        (["followup", "add", "X", "--due", "someday"], ExitCode.USAGE, "someday"),
        (
            ["followup", "add", "X", "--due", "+1d", "--priority", "urgent"],
            ExitCode.USAGE,
            "urgent",
        ),
        (["followup", "add", "X", "--due", "+1d", "--repeat", "hourly"], ExitCode.USAGE, "hourly"),
        (
            ["followup", "add", "X", "--due", "+1d", "--repeat", "every 3 hours"],
            ExitCode.USAGE,
            "every 3 hours",
        ),
        (
            ["followup", "add", "X", "--due", "+1d", "--contact", "nobody@acme.com"],
            ExitCode.NOT_FOUND,
            "nobody@acme.com",
        ),
        (["followup", "add", "X", "--due", "+1d", "--deal", "999"], ExitCode.NOT_FOUND, "999"),
        (
            ["followup", "add", "X", "--due", "+1d", "--deal", "abc"],
            ExitCode.NOT_FOUND,
            "abc",
        ),  # a title word
        (["followup", "add", "X", "--due", "+1d", "--owner", "ghost"], ExitCode.NOT_FOUND, "ghost"),
        (["followup", "add", " ", "--due", "+1d"], ExitCode.USAGE, "title"),
        (["followup", "add", "X"], ExitCode.USAGE, "--due"),
        (["followup", "edit", "1", "--due", "someday"], ExitCode.USAGE, "someday"),
        (
            ["followup", "edit", "1", "--title", "Y", "--priority", "urgent"],
            ExitCode.USAGE,
            "urgent",
        ),
        (["followup", "edit", "1", "--title", "Y", "--deal", "999"], ExitCode.NOT_FOUND, "999"),
        (["followup", "edit", "99", "--title", "Y"], ExitCode.NOT_FOUND, "99"),
        (["followup", "snooze", "1", "--until", "someday"], ExitCode.USAGE, "someday"),
        (["followup", "done", "1", "--at", "someday"], ExitCode.USAGE, "someday"),
        (["followup", "done", "99"], ExitCode.NOT_FOUND, "99"),
        (["followup", "list", "--due", "soon"], ExitCode.USAGE, "soon"),
        (["followup", "list", "--contact", "nobody@acme.com"], ExitCode.NOT_FOUND, "nobody"),
    ]
    before = crm.json("followup", "list", "--all", "--done")
    stored = [(f.id, f.title, f.due_at, f.done_at, f.priority) for f in rows(db_url)]
    for args, code, named in cases:
        result = crm(*args)
        assert result.code == code, (args, result)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("crm: error: "), result
        assert named in lines[0], (args, result)
    assert crm.json("followup", "list", "--all", "--done") == before
    assert [(f.id, f.title, f.due_at, f.done_at, f.priority) for f in rows(db_url)] == stored
    assert before[0]["id"] == added["id"]


@pytest.mark.parametrize("options", [[], ["--all"], ["--due", "overdue", "--all"]])
def test_listing_uses_an_index(crm: Any, sqlite_url: str, options: list[str]) -> None:
    # EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on table sizes.
    from crm_cli.services.context import open_context
    from crm_cli.services.followups import FollowupFilter, list_query

    crm.ok("followup", "add", "X", "--due", "+1d")
    ctx = open_context()
    try:
        # A realistic spread, with the statistics `crm` keeps (PRAGMA optimize on close):
        # most follow-ups done, a few open. On a one-row table a scan is the right plan.
        from sqlalchemy import insert

        now = datetime.now(UTC)
        with ctx.session(journal=False) as session:
            session.execute(
                insert(Followup),
                [
                    {
                        "title": f"F{i}",
                        "due_at": now - timedelta(hours=i),
                        "created_at": now,
                        "updated_at": now,
                        "done_at": now - timedelta(minutes=i) if i % 10 else None,
                        "owner_id": 1,
                    }
                    for i in range(3000)
                ],
            )
            session.connection().exec_driver_sql("ANALYZE")
        with ctx.session() as session:
            flt = FollowupFilter(
                everyone="--all" in options, due="overdue" if "--due" in options else None
            )
            compiled = list_query(ctx, session, flt).compile(bind=session.get_bind())
            params = [compiled.params[name] for name in compiled.positiontup or []]
            params = [p.replace(tzinfo=None) if isinstance(p, datetime) else p for p in params]
            plan = (
                session.connection()
                .exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(params))
                .all()
            )
    finally:
        ctx.close()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "USING INDEX" in details or "USING COVERING INDEX" in details, details
    assert "SCAN followup" not in details, details
