"""An import's new records are journaled compactly (one `create_many` entry per table and run
of ids, fields column by column) and read back as one `create` per record: `crm history`
shows each record's creation with its fields, and `crm undo` takes the import back exactly,
on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.conftest import Runner

ROWS = 30


def _file(path: Path) -> Path:
    lines = ["name,email,phone,tags,company"]
    for i in range(ROWS):
        lines.append(f"Person {i},p{i}@example.com,+49 30 {3000000 + i},t{i % 2},Firm {i % 3}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _entries(url: str) -> list[tuple[str, str, int]]:
    from crm_cli.store.journal import ChangeEntry

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(ChangeEntry.c.entity, ChangeEntry.c.action, ChangeEntry.c.record_id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in found]  # type: ignore[misc]


def test_an_import_is_one_entry_per_table_and_reads_as_one_create_per_record(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Before", "--email", "before@example.com")
    before = tmp_path / "before.jsonl"
    crm.ok("export", "all", "-o", str(before))
    report = crm.json("import", "contacts", str(_file(tmp_path / "c.csv")))
    assert report["counts"]["new"] == ROWS
    ids = sorted(r["id"] for r in report["rows"])
    entries = [e for e in _entries(db_url) if e[1] == "create_many"]
    assert sorted(e[0] for e in entries) == ["company", "contact"]
    assert ("contact", "create_many", ids[0]) in entries

    # Each record's creation, with its fields, as for a record added by hand.
    last = crm.json("history", "contact", str(ids[-1]))
    fields = last[0]["changes"][0]["fields"]
    assert last[0]["changes"][0]["action"] == "create"
    assert fields["name"]["new"] == f"Person {ROWS - 1}"
    assert fields["emails"]["new"] == [f"p{ROWS - 1}@example.com"]
    assert fields["phones"]["new"] == [f"+4930{3000000 + ROWS - 1}"]
    assert fields["tags"]["new"] == [f"t{(ROWS - 1) % 2}"]
    whole = crm.json("history", "--last", "1")[0]["changes"]
    assert sorted(c["id"] for c in whole if c["entity"] == "contact") == ids
    assert len([c for c in whole if c["entity"] == "company"]) == 3

    # An edit after the import, undone, then the import undone: as before, to the byte.
    crm.ok("contact", "edit", str(ids[3]), "--title", "CTO")
    crm.ok("undo")
    crm.ok("undo")
    after = tmp_path / "after.jsonl"
    crm.ok("export", "all", "-o", str(after))
    assert after.read_bytes() == before.read_bytes()


def test_an_edited_import_is_refused_then_undone_once_the_edit_is(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    report = crm.json("import", "contacts", str(_file(tmp_path / "c.csv")))
    import_set = crm.json("history", "--last", "1")[0]["id"]
    ids = sorted(r["id"] for r in report["rows"])
    crm.ok("contact", "edit", str(ids[5]), "--title", "CTO")
    refused = crm("undo", str(import_set))
    assert refused.code != 0
    assert f"contact {ids[5]} has changed since" in refused.err
    crm.ok("undo")  # the edit
    crm.ok("undo", str(import_set))
    assert crm.json("contact", "list", "--all") == []


def test_a_packed_record_changed_in_the_same_transaction_gets_its_own_entry() -> None:
    from crm_cli.services.journal import CREATE, CREATE_MANY, Recorder, expand

    rec = Recorder(ctx=None)  # type: ignore[arg-type]
    rows = [{"id": i, "name": f"n{i}", "version": 1, "tags": []} for i in (7, 8, 9)]
    rec.note_created("contact", rows)
    rec.note_list("contact", 8, "tags", [], ["vip"])
    own = rec.entries[("contact", 8)]
    assert own.action == CREATE and own.new == {
        "id": 8,
        "name": "n8",
        "version": 1,
        "tags": ["vip"],
    }
    # Commit leaves out of the packed entry the records that got entries of their own.
    rec._settle_packed()
    packed = next(e for e in rec.entries.values() if e.action == CREATE_MANY)
    assert packed.new is not None and packed.new["ids"] == [[7, 7], [9, 9]]

    class Row:
        entity, action, record_id, old, change_set_id, position = (
            "contact", CREATE_MANY, 7, None, 1, 0,
        )  # fmt: skip
        new = packed.new

    made = expand([Row()])
    assert [(e.record_id, e.new) for e in made] == [
        (7, {"id": 7, "name": "n7", "version": 1, "tags": []}),
        (9, {"id": 9, "name": "n9", "version": 1, "tags": []}),
    ]
