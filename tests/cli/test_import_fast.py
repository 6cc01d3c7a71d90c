"""A large import takes shortcuts: rows checked on two cores (the second half in a forked
process), matching keys read in one query from a small table, rows inserted with the driver's
executemany, the search index filled in one statement (SQLite). The database it leaves is the
one the statement-by-statement way leaves, to the byte of `crm export all` (times aside), on
SQLite and PostgreSQL; so is the report, row by row."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner

ROWS = 700  # above bulk.BULK_SEARCH_INDEX


def _file(path: Path) -> Path:
    lines = ["name,email,phone,company,tags,field.tier,external_id"]
    for i in range(ROWS):
        lines.append(
            f"Person {i} Ärger,p{i}@example.com,+49 30 {2000000 + i},Firm {i % 9},"
            f'"imported; b{i % 3}",{"gold" if i % 4 == 0 else ""},{"X" + str(i) if i % 5 else ""}'
        )
    lines.append("Existing By Email,existing@example.com,,,,,")  # matches by email
    lines.append("Existing By Phone,,+49 30 5550000,,,,")  # matches the same contact by phone
    lines.append("Bad,not-an-email,,,,,")  # rejected
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:?\d{2}|Z)?")


def _run(crm: Runner, csv: Path, out: Path) -> tuple[Any, str]:
    crm.ok("contact", "add", "Existing", "-e", "existing@example.com", "-p", "+49 30 5550000")
    report = crm("import", "contacts", str(csv), "--json")
    assert report.code != 0  # one row rejected
    crm.ok("export", "all", "-o", str(out))
    found = crm.json("contact", "list", "--search", f"p{ROWS - 1}")
    assert [c["name"] for c in found] == [f"Person {ROWS - 1} Ärger"]
    return report.json, _TIME.sub("T", out.read_text(encoding="utf-8"))


@pytest.fixture
def second_url(db_url: str, crm_home: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Another empty database of the same kind as `db_url`."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{crm_home / 'second.db'}"
        return
    import psycopg

    from tests.conftest import _db_url, _pg_admin_conninfo

    template = request.getfixturevalue("pg_template")
    name = f"crm_ioperf_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _db_url(name)
    finally:
        with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_shortcuts_leave_the_same_database(
    crm: Runner,
    db_url: str,
    second_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy import insert

    from crm_cli.services import bulk, importing

    csv = _file(tmp_path / "contacts.csv")
    forks = _count_forks(monkeypatch)
    monkeypatch.setattr(importing, "PARALLEL_ROWS", 100)
    crm.ok("contact", "list")  # the database made
    shape = _schema(db_url)
    assert shape or not db_url.startswith("sqlite")
    fast_report, fast = _run(crm, csv, tmp_path / "fast.jsonl")
    assert forks == [1]
    # Indexes and triggers dropped for the inserts are all back, exactly as they were.
    assert _schema(db_url) == shape

    def one_statement_per_chunk(session: Any, table: Any, rows: Any) -> None:
        for start in range(0, len(rows), bulk.CHUNK):
            session.execute(insert(table), list(rows[start : start + bulk.CHUNK]))

    def batches(session: Any, table: Any, keys: Any) -> Iterator[list[str]]:
        for start in range(0, len(keys), bulk.CHUNK):
            yield list(keys[start : start + bulk.CHUNK])

    monkeypatch.setattr(bulk, "insert_many", one_statement_per_chunk)
    monkeypatch.setattr(bulk, "key_batches", batches)
    monkeypatch.setattr(bulk, "BULK_SEARCH_INDEX", 10**9)
    monkeypatch.setattr(importing, "PARALLEL_ROWS", 10**9)
    monkeypatch.setenv("CRM_DATABASE_URL", second_url)
    slow_report, slow = _run(crm, csv, tmp_path / "slow.jsonl")

    assert fast_report["counts"] == slow_report["counts"]
    assert fast_report["counts"]["new"] == ROWS and fast_report["counts"]["update"] == 1
    assert fast_report["rows"] == slow_report["rows"]  # every decision, with its evidence
    assert fast.count("\n") > 3 * ROWS  # contacts, emails, phones, tags, companies
    assert fast == slow
    assert forks == [1]


def _schema(db_url: str) -> list[Any]:
    if not db_url.startswith("sqlite"):
        return []
    import sqlite3

    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def _count_forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import os

    forks = [0]
    real = os.fork

    def counted() -> int:
        forks[0] += 1
        return real()

    monkeypatch.setattr(os, "fork", counted)
    return forks


def test_rows_a_failed_checking_process_had_are_checked_again(
    crm: Runner, db_url: str, second_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forked process dies (here: it cannot send its rows back): the import checks those
    rows itself and gives the same report and database as the one-process way."""
    from crm_cli.services import importing

    csv = _file(tmp_path / "contacts.csv")
    monkeypatch.setattr(importing, "PARALLEL_ROWS", 10**9)
    one_report, one = _run(crm, csv, tmp_path / "one.jsonl")

    def broken() -> importing._Transfer:
        def pack(row: Any) -> Any:
            raise RuntimeError("cannot send")

        return importing._Transfer(pack, lambda rec, data: data)

    forks = _count_forks(monkeypatch)
    monkeypatch.setattr(importing, "PARALLEL_ROWS", 100)
    monkeypatch.setattr(importing, "_contact_transfer", broken)
    monkeypatch.setenv("CRM_DATABASE_URL", second_url)
    again_report, again = _run(crm, csv, tmp_path / "again.jsonl")
    assert forks == [1]
    assert again_report["rows"] == one_report["rows"]
    assert again == one
