"""`crm db`: path, migrate, check, backup and restore."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from crm_cli.errors import ExitCode
from crm_cli.store.migrate import HEAD


def test_migrate_lists_applied_revisions(crm: Any, db_url: str) -> None:
    rows = crm.json("db", "migrate")
    assert [r["status"] for r in rows] == ["applied"] * len(rows)
    assert rows[-1]["revision"] == HEAD


def test_check_reports_a_healthy_database(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana")
    report = crm.json("db", "check")
    assert report["problems"] == []
    assert report["schema"] == HEAD
    assert report["contacts"] == 1
    if db_url.startswith("sqlite"):
        assert report["integrity"] == "ok"
        assert report["journal_mode"] == "wal"


def test_backup_and_restore_roundtrip(crm: Any, crm_home: Path, tmp_path: Path) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com")
    backup = tmp_path / "backup.db"
    crm.ok("db", "backup", str(backup))
    assert backup.exists()
    assert crm("db", "backup", str(backup)).code == ExitCode.CONFLICT  # no silent overwrite
    crm.ok("contact", "add", "Bo", "--email", "bo@acme.com")
    crm.ok("contact", "rm", "ana@acme.com")
    crm.ok("db", "restore", str(backup), "--yes")
    names = [c["name"] for c in crm.json("contact", "list", "--all")]
    assert names == ["Ana"]
    kept = list(crm_home.glob("crm.db.before-restore-*.bak"))
    assert len(kept) == 1  # the replaced database is kept


def test_restore_refuses_a_file_that_is_not_a_crm_database(crm: Any, tmp_path: Path) -> None:
    crm.ok("contact", "add", "Ana")
    junk = tmp_path / "junk.db"
    junk.write_text("hello")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    for path in (junk, other, tmp_path / "missing.db"):
        result = crm("db", "restore", str(path), "--yes")
        assert result.code != 0 and "crm: error:" in result.err, result
    assert [c["name"] for c in crm.json("contact", "list")] == ["Ana"]


def test_opening_an_old_database_migrates_it_after_a_backup(crm: Any, crm_home: Path) -> None:
    from crm_cli.store.engine import make_engine
    from crm_cli.store.migrate import alembic_config

    db = crm_home / "crm.db"
    engine = make_engine(f"sqlite:///{db}")
    from alembic import command

    command.upgrade(alembic_config(engine), "0001_initial")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO contact (name, lifecycle, custom, search_name, search_doc, created_at,"
            " updated_at) VALUES ('Old Friend', 'lead', '{}', 'old friend', '',"
            " '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
        )
    engine.dispose()
    assert [c["name"] for c in crm.json("contact", "list")] == ["Old Friend"]
    backups = list(crm_home.glob(f"crm.db.before-{HEAD}-*.bak"))
    assert len(backups) == 1
    conn = sqlite3.connect(backups[0])
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001_initial",)
    conn.close()
    assert crm.json("db", "check")["schema"] == HEAD


def test_a_newer_schema_is_refused(crm: Any, crm_home: Path) -> None:
    crm.ok("contact", "add", "Ana")
    conn = sqlite3.connect(crm_home / "crm.db")
    conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    conn.commit()
    conn.close()
    result = crm("contact", "list")
    assert result.code == ExitCode.DATABASE and "9999_future" in result.err


def test_not_a_database_is_a_clear_error(crm: Any, crm_home: Path) -> None:
    (crm_home / "crm.db").write_text("this is not sqlite" * 100)
    result = crm("contact", "list")
    assert result.code == ExitCode.DATABASE
    assert result.err.startswith("crm: error:") and result.err.count("\n") == 1


def test_unreachable_postgres_is_a_clear_error(crm: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = crm("contact", "list")
    assert result.code == ExitCode.DATABASE
    assert "127.0.0.1:1" in result.err and result.err.count("\n") == 1


@pytest.mark.postgres
def test_backup_of_postgres_uses_pg_dump(
    crm: Any, pg_url: str, monkeypatch: Any, tmp_path: Path
) -> None:
    import shutil

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not on the PATH")
    monkeypatch.setenv("CRM_DATABASE_URL", pg_url)
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com")
    target = tmp_path / "team.dump"
    crm.ok("db", "backup", str(target))
    assert target.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir() if ".partial" in p.name] == []  # renamed
    refused = crm("db", "restore", str(target), "--yes")
    assert refused.code == ExitCode.FAILURE and "pg_restore" in refused.err
