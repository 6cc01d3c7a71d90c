"""An import of won deals makes their contacts customers as `crm deal won` does, contact by
contact (its event, its journal entry, its note), in set-based statements: new contacts of the
same import and existing ones, a contact already a customer left alone, the terminal given a
count past the first lines, and `crm undo` taking it all back exactly. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from crm_cli.cli.importing import CUSTOMERS_SHOWN
from tests.cli.test_undo_exact import archive, assert_same
from tests.conftest import Runner

NEW = 260  # contacts the import creates, each with two won deals


def _deals(path: Path) -> str:
    lines = ["id,title,contact,status,closed_at,value"]
    n = 0
    for i in range(NEW):
        for round_ in (1, 2):
            n += 1
            lines.append(f"x{n},Order {n},buyer{i}@example.com,won,2026-0{round_}-1{i % 9},12.50")
    lines += [
        "x9001,Renewal,lena@acme.de,won,2026-03-01,900",
        "x9002,Extra,lena@acme.de,won,2026-03-02,100",
        "x9003,Again,omar@acme.de,won,2026-03-03,50",
        "x9004,Pilot,pia@acme.de,open,,10",
        "x9005,Gone,pia@acme.de,lost,2026-03-04,10",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _lifecycle_events(db_url: str) -> list[tuple[int, int, str]]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT contact_id, deal_id, detail FROM event WHERE kind = 'lifecycle' ORDER BY id"
            )
        ).all()
    engine.dispose()
    return [(int(c), int(d), str(t)) for c, d, t in rows]


def test_an_import_of_won_deals_makes_customers_and_undoes_exactly(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Lena Roth", "--email", "lena@acme.de")
    crm.ok("contact", "edit", "lena@acme.de", "--title", "Buyer")  # version 2
    crm.ok("contact", "add", "Omar Haddad", "--email", "omar@acme.de", "--lifecycle", "customer")
    crm.ok("contact", "add", "Pia Berg", "--email", "pia@acme.de", "--lifecycle", "prospect")
    before = archive(crm, tmp_path, "before")
    events_before = _lifecycle_events(db_url)

    result = crm.ok("import", "deals", _deals(tmp_path / "deals.csv"), "--create-missing")

    contacts = {c["emails"][0]: c for c in crm.json("contact", "list", "--all")}
    assert len(contacts) == NEW + 3
    assert {e for e, c in contacts.items() if c["lifecycle"] == "customer"} == {
        *(f"buyer{i}@example.com" for i in range(NEW)),
        "lena@acme.de",
        "omar@acme.de",
    }
    assert contacts["pia@acme.de"]["lifecycle"] == "prospect"
    deals = {d["title"]: d["id"] for d in crm.json("deal", "list", "--all", "--status", "all")}
    # One event per contact made a customer, naming its first won deal, in the file's order.
    made = _lifecycle_events(db_url)[len(events_before) :]
    ids = {e: c["id"] for e, c in contacts.items()}
    firsts = [(f"buyer{i}@example.com", f"Order {2 * i + 1}") for i in range(NEW)]
    firsts.append(("lena@acme.de", "Renewal"))
    assert made == [
        (ids[email], deals[title], f"lifecycle lead -> customer (deal {deals[title]} won)")
        for email, title in firsts
    ]
    # The terminal gets the first few and a count; --json lists every one.
    lines = [line for line in result.err.splitlines() if "is now a customer" in line]
    assert len(lines) == CUSTOMERS_SHOWN
    assert f"and {NEW + 1 - CUSTOMERS_SHOWN} more contacts are now customers" in result.err
    assert f"contact {ids['buyer0@example.com']} (buyer0" in lines[0]
    assert "(was lead)" in lines[0]

    undo = crm.json("undo")
    assert undo["records"]
    assert_same(before, archive(crm, tmp_path, "after"))
    assert _lifecycle_events(db_url) == events_before

    again = json.loads(
        crm.ok("import", "deals", str(tmp_path / "deals.csv"), "--create-missing", "--json").out
    )
    notes = [n for n in again["notes"] if "is now a customer" in n]
    assert len(notes) == NEW + 1
    assert notes[-1].endswith("(Lena Roth) is now a customer (was lead)")


def test_a_bulk_insert_keeps_the_indexes_its_own_trigger_reads(
    sqlite_url: str, crm: Runner
) -> None:
    """Stage changes' funnel trigger reads the deal's other changes by index: dropping the
    table's indexes for a big insert would make each row's trigger scan the table."""
    from sqlalchemy.orm import Session

    from crm_cli.services.bulk import _insert_trigger_reads

    crm.ok("contact", "list")
    engine = sa.create_engine(sqlite_url)

    with Session(engine) as session:
        assert _insert_trigger_reads(session, "stage_change")
        assert not _insert_trigger_reads(session, "deal")
        assert not _insert_trigger_reads(session, "contact")
    engine.dispose()
