"""Bulk writes for imports: the same records as one by one, in one statement per table,
journaled so that one `crm undo` takes them all back. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm_cli.errors import Conflict, InvalidValue
from crm_cli.services.bulk import add_contacts, check_contact
from crm_cli.services.contacts import ContactInput
from crm_cli.services.context import open_context
from tests.conftest import Runner

COUNT = 12_000  # more than one chunk of every statement


def _inputs(n: int) -> list[ContactInput]:
    return [
        ContactInput(
            name=f"Bulk {i} 张",
            emails=[f"bulk{i}@example.com"],
            phones=[f"+49 30 {1000000 + i}"],
            company="Acme GmbH" if i % 2 else f"Firm {i % 7}",
            title="Buyer",
            add_tags=["imported", f"batch{i % 3}"],
            fields={"tier": "gold"} if i % 5 == 0 else {},
        )
        for i in range(n)
    ]


def _bulk(inputs: list[ContactInput]) -> list[int]:
    ctx = open_context()
    try:
        checked = [check_contact(ctx, i) for i in inputs]
        with ctx.session() as session:
            return add_contacts(ctx, session, checked)
    finally:
        ctx.close()


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    skip = {"id", "emails", "phones", "created_at", "updated_at", "company_id"}
    return {k: v for k, v in record.items() if k not in skip}


def test_bulk_contacts_are_the_same_records_as_one_by_one(db_url: str, crm: Runner) -> None:
    crm.ok("company", "add", "Acme GmbH")
    one = crm.json(
        "contact",
        "add",
        "Bulk 1 张",
        "--email",
        "single@example.com",
        "--phone",
        "+49 30 1000001",
        "--company",
        "Acme GmbH",
        "--title",
        "Buyer",
        "--tag",
        "imported",
        "--tag",
        "batch1",
    )
    ids = _bulk(_inputs(COUNT))
    assert len(ids) == COUNT == len(set(ids))
    listed = {c["id"]: c for c in crm.json("contact", "list", "--all")}
    assert len(listed) == COUNT + 1
    bulk_one = listed[ids[1]]
    assert _comparable(bulk_one) == _comparable(one)
    assert bulk_one["emails"] == ["bulk1@example.com"]
    assert bulk_one["phones"] == ["+49301000001"]
    assert listed[ids[0]]["custom"] == {"tier": "gold"}
    # Companies were found by name (Acme GmbH once) or created once each.
    names = [c["name"] for c in crm.json("company", "list", "--all")]
    assert sorted(names) == sorted(["Acme GmbH", *{f"Firm {i % 7}" for i in range(0, COUNT, 2)}])
    # Search sees them: by name, by company, by email.
    assert [c["id"] for c in crm.json("contact", "list", "--search", "bulk11999")] == [ids[-1]]
    assert ids[2] in [c["id"] for c in crm.json("contact", "list", "--all", "--search", "firm 2")]


def test_one_undo_takes_a_whole_bulk_write_back(db_url: str, crm: Runner) -> None:
    crm.ok("contact", "add", "Before", "--email", "before@example.com")
    before = crm.json("contact", "list", "--all"), crm.json("company", "list", "--all")
    _bulk(_inputs(300))
    assert len(crm.json("contact", "list", "--all")) == 301
    undone = crm.json("undo")
    assert len(undone["records"]) == 300 + 8  # the contacts, Acme GmbH and Firm 0..6
    assert (crm.json("contact", "list", "--all"), crm.json("company", "list", "--all")) == before


def test_a_large_bulk_write_is_searchable_and_keeps_the_search_trigger(
    sqlite_url: str, crm: Runner
) -> None:
    """SQLite: a large bulk write indexes its rows for search with one statement instead of
    the insert trigger; the trigger is back afterwards, exactly as it was."""
    import sqlite3

    from crm_cli.services import bulk

    path = sqlite_url.removeprefix("sqlite:///")
    crm.ok("contact", "add", "Before", "--email", "before@example.com")

    def schema() -> list[Any]:
        with sqlite3.connect(path) as conn:
            return conn.execute(
                "SELECT type, name, sql FROM sqlite_master ORDER BY name"
            ).fetchall()

    shape = schema()
    n = bulk.BULK_SEARCH_INDEX + 100
    ids = _bulk(_inputs(n))
    assert schema() == shape
    with sqlite3.connect(path) as conn:  # the index holds exactly what the table says
        conn.execute("INSERT INTO contact_fts(contact_fts) VALUES ('integrity-check')")
    assert [c["id"] for c in crm.json("contact", "list", "--search", f"bulk{n - 1}")] == [ids[-1]]
    crm.ok("contact", "add", "Afterwards Zyx", "--email", "after@example.com")
    assert [c["name"] for c in crm.json("contact", "list", "--search", "zyx")] == ["Afterwards Zyx"]
    crm.ok("undo")  # the contact added afterwards
    crm.ok("undo")  # the bulk write
    assert crm.json("contact", "list", "--search", "bulk1") == []
    assert [c["name"] for c in crm.json("contact", "list", "--all")] == ["Before"]
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO contact_fts(contact_fts) VALUES ('integrity-check')")


def test_a_taken_email_refuses_the_whole_bulk_write(db_url: str, crm: Runner) -> None:
    crm.ok("contact", "add", "Owner", "--email", "bulk7@example.com")
    with pytest.raises(Conflict, match="bulk7@example.com"):
        _bulk(_inputs(50))
    assert [c["name"] for c in crm.json("contact", "list", "--all")] == ["Owner"]
    assert crm.json("company", "list", "--all") == []


def test_check_contact_names_the_bad_field(db_url: str) -> None:
    ctx = open_context()
    try:
        with pytest.raises(InvalidValue) as bad:
            check_contact(ctx, ContactInput(name="Ana", emails=["not-an-email"]))
        assert bad.value.field == "email"
        with pytest.raises(InvalidValue) as empty:
            check_contact(ctx, ContactInput(name="\u200b"))
        assert empty.value.field == "name"
    finally:
        ctx.close()


def _pages_written(path: str, table: str) -> int:
    """How many leaf pages FTS5 has written for `table`'s search index, merges included (each
    run it starts writes one at least): the write counter, third varint of its structure
    record (row 10 of `{table}_fts_data`, after a 4-byte cookie)."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        blob = conn.execute(f"SELECT block FROM {table}_fts_data WHERE id = 10").fetchone()[0]
    values, at = [], 4
    while len(values) < 3:  # SQLite varints: 7 bits a byte, high bit set while more follow
        value = 0
        while True:
            byte = blob[at]
            at += 1
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        values.append(value)
    return values[2]


def test_a_large_import_feeds_the_search_index_in_id_order(
    sqlite_url: str, crm: Runner, tmp_path: Path
) -> None:
    """SQLite: asked for live rows only, the planner may read them through the (deleted_at,
    name) index, in name order; FTS5 then starts a new segment at every id lower than the
    one before and merges them all (3.5 s for 100,000 contacts against 1.5 s). Names here
    sort against their ids: read in name order, every row makes a run of its own."""
    path = sqlite_url.removeprefix("sqlite:///")
    rows = ["name,email"] + [f"Zed {9999 - i:04d},z{i}@example.com" for i in range(3000)]
    source = tmp_path / "contacts.csv"
    source.write_text("\n".join(rows) + "\n", encoding="utf-8")
    crm.ok("import", "contacts", str(source))
    # In id order, about 100 pages; in name order, 3,000 (one run a row).
    assert _pages_written(path, "contact") < 300
    found = crm.json("contact", "list", "--search", "zed 9000")
    assert [c["emails"] for c in found] == [["z999@example.com"]]


def test_a_large_import_leaves_the_search_index_settings_as_they_were(
    sqlite_url: str, crm: Runner, tmp_path: Path
) -> None:
    """SQLite: a bulk fill merges the index's runs less often while it writes, then puts the
    index's own setting back: none (FTS5's default) stays none, one a user set stays theirs."""
    import sqlite3

    path = sqlite_url.removeprefix("sqlite:///")
    crm.ok("contact", "add", "Before", "--email", "before@example.com")

    def settings() -> list[Any]:
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT k, v FROM contact_fts_config ORDER BY k").fetchall()

    def load(prefix: str) -> None:
        rows = ["name,email"] + [f"{prefix} {i},{prefix}{i}@example.com" for i in range(1500)]
        source = tmp_path / f"{prefix}.csv"
        source.write_text("\n".join(rows) + "\n", encoding="utf-8")
        crm.ok("import", "contacts", str(source))

    untouched = settings()
    assert ("automerge", 16) not in untouched
    load("first")
    assert settings() == untouched
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO contact_fts(contact_fts, rank) VALUES ('automerge', 8)")
    load("second")
    assert ("automerge", 8) in settings()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO contact_fts(contact_fts) VALUES ('integrity-check')")
    assert len(crm.json("contact", "list", "--search", "second 14")) == 111  # 14, 14x, 14xx
