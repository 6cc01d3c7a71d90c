"""The interaction log through the real command, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.errors import ExitCode
from crm_cli.store.engine import make_engine
from crm_cli.store.models import Contact
from crm_cli.store.sales import Interaction
from tests.cli.test_followups import make_deal


def stored(db_url: str) -> tuple[list[Interaction], list[Contact]]:
    engine = make_engine(db_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            return (
                list(session.scalars(select(Interaction).order_by(col(Interaction.id)))),
                list(session.scalars(select(Contact).order_by(col(Contact.id)))),
            )
    finally:
        engine.dispose()


def last_contacted(crm: Any, ref: str) -> datetime | None:
    value = crm.json("contact", "show", ref)["last_contacted_at"]
    return datetime.fromisoformat(value) if value else None


def test_log_each_kind_and_the_record(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    result = crm.ok("log", "call", "ana@acme.com", "Discussed renewal", "--direction", "out")
    assert len(result.out.splitlines()) == 1 and "Discussed renewal" in result.out
    record = crm.json("log", "show", "1")
    expected = {
        "id",
        "kind",
        "direction",
        "occurred_at",
        "summary",
        "body",
        "contact_id",
        "contact",
        "deal_id",
        "deal",
        "owner_id",
        "owner",
        "created_at",
    }
    assert expected <= set(record)
    assert (record["kind"], record["direction"], record["contact"], record["owner"]) == (
        "call",
        "out",
        "Ana Lima",
        "Test User",
    )
    occurred = datetime.fromisoformat(record["occurred_at"])
    assert abs(occurred - datetime.now(UTC)) < timedelta(minutes=1)
    assert record["occurred_at"].endswith("+01:00") or record["occurred_at"].endswith("+02:00")

    deal_id = make_deal(db_url)
    for kind, ref in [
        ("email", "ana@acme.com"),
        ("meeting", "Ana Lima"),
        ("message", "1"),
        ("note", "ana lima"),
    ]:
        logged = crm.json("log", kind, ref, f"A {kind}", "--deal", str(deal_id))
        assert (logged["kind"], logged["contact_id"], logged["deal"]) == (kind, 1, "Acme renewal")
    assert [i["kind"] for i in crm.json("log", "list")] == [
        "note",
        "message",
        "meeting",
        "email",
        "call",
    ]  # newest first


def test_body_from_stdin(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "张伟", "--email", "zw@yunhai.cn")
    email = (
        "Subject: Angebot / 报价\r\n\r\nHallo 张伟,\n\nanbei das Angebot — 见附件。 😀\n"
        + "Zeile mit Umlauten äöüß und 한국어 텍스트\n" * 8000
    )
    record = crm.json(
        "log",
        "email",
        "zw@yunhai.cn",
        "Sent the offer",
        "--direction",
        "out",
        "--body",
        "-",
        stdin=email,
    )
    assert record["body"] == email
    assert crm.json("log", "show", str(record["id"]))["body"] == email
    interactions, _ = stored(db_url)
    assert interactions[0].body == email and len(email) > 250_000

    inline = crm.json("log", "note", "zw@yunhai.cn", "Short", "--body", "Prefers WeChat")
    assert inline["body"] == "Prefers WeChat"

    refused = crm("log", "email", "zw@yunhai.cn", "Binary", "--body", "-", stdin="a\x00b")
    assert refused.code == ExitCode.USAGE and "NUL" in refused.err
    assert len(stored(db_url)[0]) == 2


def test_body_from_a_byte_stream(crm: Any, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real stdin is bytes: read as UTF-8 whatever the locale, refused if it is not UTF-8."""
    import sys

    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    text = "Grüße, 佐藤さん — ok\r\n"
    monkeypatch.setattr(
        sys,
        "stdin",
        io.TextIOWrapper(io.BytesIO(b"\xef\xbb\xbf" + text.encode()), encoding="ascii"),
    )
    record = crm.json("log", "email", "ana@acme.com", "Mail", "--body", "-")
    assert record["body"] == text  # the byte-order mark is dropped, nothing else

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("Grüße".encode("latin-1"))))
    result = crm("log", "email", "ana@acme.com", "Latin-1", "--body", "-")
    assert result.code == ExitCode.USAGE and "UTF-8" in result.err
    assert len(stored(db_url)[0]) == 1


def test_last_contacted_moves_forward_only(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    assert last_contacted(crm, "ana@acme.com") is None
    two_days = crm.json("log", "call", "ana@acme.com", "Call", "--at", "-2d")
    assert last_contacted(crm, "ana@acme.com") == datetime.fromisoformat(two_days["occurred_at"])
    crm.ok("log", "email", "ana@acme.com", "Older email", "--at", "-5d")
    assert last_contacted(crm, "ana@acme.com") == datetime.fromisoformat(
        two_days["occurred_at"]
    )  # never backwards
    latest = crm.json("log", "meeting", "ana@acme.com", "Lunch", "--at", "-1h")
    assert last_contacted(crm, "ana@acme.com") == datetime.fromisoformat(latest["occurred_at"])

    # Removing the latest interaction gives the contact back its previous last contact.
    crm.ok("log", "rm", str(latest["id"]))
    assert last_contacted(crm, "ana@acme.com") == datetime.fromisoformat(two_days["occurred_at"])
    assert crm("log", "show", str(latest["id"])).code == ExitCode.NOT_FOUND
    interactions, contacts = stored(db_url)
    assert interactions[-1].deleted_at is not None  # soft delete
    assert contacts[0].last_contacted_at == datetime.fromisoformat(
        two_days["occurred_at"]
    ).astimezone(UTC)


def test_the_future_is_not_logged(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    for kind in ("call", "meeting", "note"):
        result = crm("log", kind, "ana@acme.com", "Later", "--at", "+2d")
        assert result.code == ExitCode.USAGE and "+2d" in result.err
    assert stored(db_url)[0] == []
    assert last_contacted(crm, "ana@acme.com") is None


def test_list_filters(crm: Any, db_url: str) -> None:
    crm.ok("user", "add", "Bo Chen", "--email", "bo@example.com")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("contact", "add", "Carl Diaz", "--email", "carl@acme.com")
    deal_id = make_deal(db_url)
    old = crm.json("log", "call", "ana@acme.com", "Old call", "--at", "-20d")
    mail = crm.json("log", "email", "carl@acme.com", "Mail", "--at", "-3d", "--deal", str(deal_id))
    bos = crm.json(
        "log", "meeting", "ana@acme.com", "Bo's meeting", "--at", "-2d", "--owner", "bo@example.com"
    )
    note = crm.json("log", "note", "ana@acme.com", "Note", "--at", "-1h")

    def ids(*args: str) -> list[int]:
        return [int(i["id"]) for i in crm.json("log", "list", *args)]

    assert ids() == [note["id"], bos["id"], mail["id"], old["id"]]
    assert ids("--contact", "ana@acme.com") == [note["id"], bos["id"], old["id"]]
    assert ids("--deal", str(deal_id)) == [mail["id"]]
    assert ids("--kind", "email") == [mail["id"]]
    assert ids("--since", "-7d") == [note["id"], bos["id"], mail["id"]]
    assert ids("--owner", "Bo Chen") == [bos["id"]]
    assert ids("--mine") == [note["id"], mail["id"], old["id"]]
    page = crm("log", "list", "--limit", "2", "--json")
    assert len(page.json) == 2 and "showing 2 of 4" in page.err
    assert len(crm.json("log", "list", "--all")) == 4

    parsed = list(csv.DictReader(io.StringIO(crm.ok("log", "list", "--csv").out)))
    assert [r["summary"] for r in parsed] == ["Note", "Bo's meeting", "Mail", "Old call"]


def test_bad_values_change_nothing(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("log", "call", "ana@acme.com", "First")
    cases = [
        (["log", "call", "nobody@acme.com", "X"], ExitCode.NOT_FOUND, "nobody@acme.com"),
        (["log", "call", "ana@acme.com", "X", "--deal", "999"], ExitCode.NOT_FOUND, "999"),
        (
            ["log", "call", "ana@acme.com", "X", "--deal", "abc"],
            ExitCode.NOT_FOUND,
            "abc",
        ),  # a title word
        (
            ["log", "call", "ana@acme.com", "X", "--direction", "sideways"],
            ExitCode.USAGE,
            "sideways",
        ),
        (["log", "call", "ana@acme.com", "X", "--at", "someday"], ExitCode.USAGE, "someday"),
        (["log", "call", "ana@acme.com", " "], ExitCode.USAGE, "summary"),
        (["log", "call", "ana@acme.com", "X", "--owner", "ghost"], ExitCode.NOT_FOUND, "ghost"),
        (["log", "fax", "ana@acme.com", "X"], ExitCode.USAGE, "fax"),
        (["log", "list", "--kind", "fax"], ExitCode.USAGE, "fax"),
        (["log", "list", "--since", "someday"], ExitCode.USAGE, "someday"),
        (["log", "show", "99"], ExitCode.NOT_FOUND, "99"),
        (["log", "rm", "99"], ExitCode.NOT_FOUND, "99"),
    ]
    before = crm.json("log", "list", "--all")
    contacted = last_contacted(crm, "ana@acme.com")
    for args, code, named in cases:
        result = crm(*args)
        assert result.code == code, (args, result)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("crm: error: "), result
        assert named in lines[0], (args, result)
    assert crm.json("log", "list", "--all") == before
    assert last_contacted(crm, "ana@acme.com") == contacted
    assert len(stored(db_url)[0]) == 1


@pytest.mark.parametrize(
    ("contact", "index"),
    [(True, "ix_interaction_contact_at"), (False, "ix_interaction_live_at")],
)
def test_listing_uses_an_index(crm: Any, sqlite_url: str, contact: bool, index: str) -> None:
    # EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans depend on table sizes.
    from crm_cli.services.context import open_context
    from crm_cli.services.interactions import InteractionFilter, list_query

    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    ctx = open_context()
    try:
        with ctx.session() as session:
            flt = InteractionFilter(contact="ana@acme.com" if contact else None)
            compiled = list_query(ctx, session, flt).compile(bind=session.get_bind())
            params = tuple(compiled.params[name] for name in compiled.positiontup or [])
            plan = (
                session.connection()
                .exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params)
                .all()
            )
    finally:
        ctx.close()
    details = " | ".join(str(row[-1]) for row in plan)
    assert index in details, details
    assert "TEMP B-TREE" not in details, details  # the index gives the order too
