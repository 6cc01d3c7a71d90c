"""`crm undo` of an import takes its new records back with set-based statements (one
`create_many` entry at a time, by id runs): the database is as before to the byte of
`crm export all`, the search index is right, a record changed since or pointed at since stops
it with the reason, and undoing the undo puts the import back exactly. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm_cli.errors import ExitCode
from tests.cli.test_undo_exact import archive, assert_same
from tests.conftest import Runner

ROWS = 240


def _file(path: Path, rows: int = ROWS, first: int = 0) -> str:
    lines = ["name,email,phone,company,tags,field.tier"]
    for i in range(first, first + rows):
        lines.append(
            f"Person{i} Ärger,p{i}@example.com,+49 30 {2000000 + i},Firm {i % 7},"
            f'"imported; b{i % 3}",{"gold" if i % 4 == 0 else ""}'
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def small_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Create_many entries of at most 50 ids: an import of 240 rows writes several per
    table, as 100,000 rows do with the real span."""
    from crm_cli.services import journal

    monkeypatch.setattr(journal, "MANY_SPAN", 50)


def _entries(db_url: str, set_id: int) -> list[tuple[str, str]]:
    import sqlalchemy as sa

    from crm_cli.store.journal import ChangeEntry

    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(ChangeEntry.c.entity, ChangeEntry.c.action).where(
                ChangeEntry.c.change_set_id == set_id
            )
        ).all()
    engine.dispose()
    return [(str(e), str(a)) for e, a in found]


def _fts_ok(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        return
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        for table in ("contact", "company"):
            conn.exec_driver_sql(
                f"INSERT INTO {table}_fts({table}_fts, rank) VALUES ('integrity-check', 1)"
            )
    engine.dispose()


@pytest.mark.parametrize("existing", [3, 300])
def test_undo_of_a_big_import_restores_the_archive(
    db_url: str, crm: Runner, tmp_path: Path, small_spans: None, existing: int
) -> None:
    """With few records before the import (the search index emptied and refilled on SQLite)
    and with more than it adds (the index's delete trigger)."""
    crm.ok("import", "contacts", _file(tmp_path / "old.csv", existing, first=10_000))
    crm.ok("contact", "edit", "1", "--title", "Founder")
    before = archive(crm, tmp_path, "before")
    crm.ok("import", "contacts", _file(tmp_path / "new.csv"))
    imported = archive(crm, tmp_path, "imported")
    import_set = crm.json("history", "--last", "1")[0]["id"]
    assert ("contact", "create_many") in _entries(db_url, import_set)
    undo = crm.json("undo")
    assert undo["undone"] == import_set
    assert len([r for r in undo["records"] if r.startswith("contact ")]) == ROWS
    assert_same(before, archive(crm, tmp_path, "after"))
    _fts_ok(db_url)
    assert crm.json("contact", "list", "--search", "Person10000") != []
    assert crm.json("contact", "list", "--search", f"Person{ROWS - 1}") == []
    assert crm.json("contact", "list", "--search", "imported") == (
        crm.json("contact", "list", "--tag", "imported")
    )
    actions = {a for _e, a in _entries(db_url, undo["change_set"])}
    assert "remove_many" in actions and "remove" not in actions
    # The undo of the undo puts the import back exactly (in bulk: journaled as create_many
    # again), and it undoes again.
    again = crm.json("undo", str(undo["change_set"]))
    assert_same(imported, archive(crm, tmp_path, "again"))
    redone = _entries(db_url, again["change_set"])
    assert ("contact", "create_many") in redone and ("contact", "create") not in redone
    _fts_ok(db_url)
    assert [c["name"] for c in crm.json("contact", "list", "--search", f"Person{ROWS - 1}")] == [
        f"Person{ROWS - 1} Ärger"
    ]
    crm.ok("undo")
    assert_same(before, archive(crm, tmp_path, "after-again"))


def test_history_of_a_record_shows_its_bulk_removal(
    db_url: str, crm: Runner, tmp_path: Path, small_spans: None
) -> None:
    crm.ok("import", "contacts", _file(tmp_path / "new.csv"))
    crm.ok("undo")
    found = crm.json("history", "contact", "120")
    assert [c["action"] for s in found for c in s["changes"]] == ["remove", "create"]
    assert found[0]["changes"][0]["fields"]["name"]["old"] == "Person119 Ärger"


def _refused(crm: Runner) -> str:
    result = crm("undo")
    assert result.code == ExitCode.CONFLICT, result
    return result.err


def test_undo_refuses_when_an_imported_record_changed_since(
    db_url: str, crm: Runner, tmp_path: Path, small_spans: None
) -> None:
    crm.ok("import", "contacts", _file(tmp_path / "new.csv"))
    import_set = crm.json("history", "--last", "1")[0]["id"]
    crm.ok("contact", "edit", "77", "--title", "CTO")
    edited = archive(crm, tmp_path, "edited")
    edit_set = crm.json("history", "--last", "1")[0]["id"]
    result = crm("undo", str(import_set))
    assert result.code == ExitCode.CONFLICT
    assert f"contact 77 has changed since (change set {edit_set}" in result.err
    assert_same(edited, archive(crm, tmp_path, "refused"))
    # Once that change is undone, the import undoes.
    crm.ok("undo")
    crm.ok("undo")
    assert crm.json("contact", "list") == []


def test_undo_refuses_when_a_record_points_at_an_imported_one(
    db_url: str, crm: Runner, tmp_path: Path, small_spans: None
) -> None:
    crm.ok("import", "contacts", _file(tmp_path / "new.csv"))
    crm.ok("deal", "add", "Renewal", "--contact", "p150@example.com", "--value", "100")
    import_set = min(s["id"] for s in crm.json("history", "--last", "5"))
    result = crm("undo", str(import_set))
    assert result.code == ExitCode.CONFLICT
    assert "contact 151 has deal 1 pointing at it, added since" in result.err
    assert len(crm.json("contact", "list", "--limit", "1000")) == ROWS


def test_undo_refuses_when_an_imported_record_is_gone(
    db_url: str, crm: Runner, tmp_path: Path, small_spans: None, monkeypatch: Any
) -> None:
    crm.ok("import", "contacts", _file(tmp_path / "new.csv"))
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM contact_email WHERE contact_id = 200")
        conn.exec_driver_sql("DELETE FROM contact_phone WHERE contact_id = 200")
        conn.exec_driver_sql("DELETE FROM contact_tag WHERE contact_id = 200")
        conn.exec_driver_sql("DELETE FROM contact WHERE id = 200")
    engine.dispose()
    assert "contact 200 no longer exists" in _refused(crm)
    assert len(crm.json("contact", "list", "--limit", "1000")) == ROWS - 1
