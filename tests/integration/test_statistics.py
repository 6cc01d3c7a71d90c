"""SQLite's planner statistics after a command grew a table: `PRAGMA optimize`, run as each
command closes, reads whole indexes, so the counts it leaves are the table's own. Analysing
only the first 400 entries of an index on a column with few values made SQLite take one
lifecycle or stage for a few hundred rows of a million, and choose plans that read them all."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import Runner


def test_statistics_after_an_import_are_the_tables_own(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps its statistics with autovacuum and ANALYZE (migrations)")
    rows = 3000
    path = tmp_path / "people.csv"
    lines = ["name,email"] + [f"Person {i},p{i}@example.com" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    crm.ok("import", "contacts", str(path))
    crm.ok("contact", "list", "--lifecycle", "lead")  # a command that reads the table, then closes
    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    try:
        stats = dict(
            conn.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'contact'").fetchall()
        )
    finally:
        conn.close()
    # Every contact is a lead: one value, all rows.
    assert stats["ix_contact_lifecycle"] == f"{rows} {rows}"
    assert stats["ix_contact_owner_id"].split()[0] == str(rows)
