"""`crm db restore` proves a backup before it touches the live database; `crm db check` reports
a damaged file; backups (plain and encrypted, SQLite and PostgreSQL) appear complete or not at
all.

"Unchanged" is checked twice: the live file's bytes, and its logical content (`iterdump`).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crm_cli.errors import ExitCode
from crm_cli.store import backup as backups
from crm_cli.store.migrate import HEAD

PAGE = 4096


@pytest.fixture(autouse=True)
def fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2**17 costs half a second per key; the format stores the cost, so tests may lower it.
    monkeypatch.setattr(backups, "SCRYPT_LOG2_N", 14)


@pytest.fixture
def live(crm: Any, crm_home: Path) -> Path:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com")
    crm.ok("company", "add", "Acme")
    return crm_home / "crm.db"


@pytest.fixture
def good_backup(crm: Any, live: Path, tmp_path: Path) -> Path:
    """A real backup holding Ana; the live database gains Bo afterwards."""
    target = tmp_path / "good.db"
    crm.ok("db", "backup", str(target))
    crm.ok("contact", "add", "Bo", "--email", "bo@acme.com")
    return target


def state(path: Path) -> tuple[str, str]:
    """The live database's bytes (hashed) and its logical content."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    conn = sqlite3.connect(path)
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    return digest, hashlib.sha256(dump.encode()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    """Temporary files a restore or backup may have left behind."""
    return sorted(
        p.name
        for p in directory.iterdir()
        if ".restore-" in p.name or ".partial" in p.name or ".backup-" in p.name
    )


def names(crm: Any) -> list[str]:
    return sorted(c["name"] for c in crm.json("contact", "list", "--all"))


# --- the bad backups ---------------------------------------------------------------------------


def garbage_page(good: Path, out: Path) -> None:
    data = bytearray(good.read_bytes())
    rng = __import__("random").Random(7)
    for page in (3, 4):  # page 3 onwards: past the schema, into tables and indexes
        data[(page - 1) * PAGE : page * PAGE] = bytes(rng.randrange(256) for _ in range(PAGE))
    out.write_bytes(bytes(data))


def truncated(good: Path, out: Path) -> None:
    out.write_bytes(good.read_bytes()[: good.stat().st_size // 2])


def not_sqlite(good: Path, out: Path) -> None:
    out.write_bytes(os.urandom(64 * 1024))


def forged(good: Path, out: Path) -> None:
    """Looks like crm at a glance: alembic_version at the right revision, contact, company."""
    conn = sqlite3.connect(out)
    conn.executescript(
        f"""
        CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
        INSERT INTO alembic_version VALUES ('{HEAD}');
        CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE company (id INTEGER PRIMARY KEY, name TEXT);
        INSERT INTO contact (name) VALUES ('Mallory');
        """
    )
    conn.close()


def _edited(good: Path, out: Path, sql: str) -> None:
    out.write_bytes(good.read_bytes())
    conn = sqlite3.connect(out)
    conn.executescript(sql)
    conn.close()


def renamed_column(good: Path, out: Path) -> None:
    """Every table there, one column renamed: not the schema its revision claims."""
    _edited(good, out, "ALTER TABLE company RENAME COLUMN industry TO sector;")


def extra_table(good: Path, out: Path) -> None:
    _edited(good, out, "CREATE TABLE intruder (x);")


def newer_revision(good: Path, out: Path) -> None:
    _edited(good, out, "UPDATE alembic_version SET version_num = '9999_future';")


def broken_references(good: Path, out: Path) -> None:
    _edited(good, out, "PRAGMA foreign_keys = OFF; DELETE FROM contact;")


BAD: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "garbage page": (garbage_page, "damaged"),
    "truncated": (truncated, "damaged"),
    "not sqlite": (not_sqlite, "not a crm database"),
    "forged": (forged, "not a crm database"),
    "renamed column": (renamed_column, "lacks the column 'industry'"),
    "extra table": (extra_table, "'intruder'"),
    "newer revision": (newer_revision, "9999_future"),
    "broken references": (broken_references, "do not exist"),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_a_bad_backup_is_refused_and_changes_nothing(
    crm: Any, live: Path, good_backup: Path, tmp_path: Path, kind: str
) -> None:
    make, reason = BAD[kind]
    bad = tmp_path / f"bad-{kind.replace(' ', '-')}.db"
    make(good_backup, bad)
    before = state(live)
    result = crm("db", "restore", str(bad), "--yes")
    assert result.code == ExitCode.DATABASE, result
    assert result.err.startswith("crm: error:") and result.err.count("\n") == 1, result
    assert reason in result.err and "nothing was changed" in result.err, result
    assert state(live) == before
    assert leftovers(live.parent) == []
    assert not list(live.parent.glob("*.before-restore-*"))
    assert names(crm) == ["Ana", "Bo"]


def make_old_backup(path: Path) -> None:
    """A crm database at 0001_initial holding one contact."""
    from alembic import command

    from crm_cli.store.engine import make_engine
    from crm_cli.store.migrate import alembic_config

    engine = make_engine(f"sqlite:///{path}")
    command.upgrade(alembic_config(engine), "0001_initial")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO contact (name, lifecycle, custom, search_name, search_doc, created_at,"
            " updated_at) VALUES ('Old Friend', 'lead', '{}', 'old friend', '',"
            " '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
        )
    engine.dispose()
    backups.to_rollback_journal(path)


def test_a_backup_whose_migration_fails_changes_nothing(
    crm: Any, live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old.db"
    make_old_backup(old)
    before = state(live)
    calls: list[str | None] = []

    def failing_upgrade(engine: Any, sqlite_path: Any, current: str | None) -> None:
        calls.append(current)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("crm_cli.store.migrate.upgrade", failing_upgrade)
    result = crm("db", "restore", str(old), "--yes")
    assert calls == ["0001_initial"]  # the copy was being migrated when it failed
    assert result.code == ExitCode.DATABASE, result
    assert "disk on fire" in result.err and result.err.count("\n") == 1, result
    assert state(live) == before
    assert leftovers(live.parent) == []
    monkeypatch.undo()
    # The same backup restores once migrations work: the failure above was the migration's.
    crm.ok("db", "restore", str(old), "--yes")
    assert names(crm) == ["Old Friend"]
    assert crm.json("db", "check")["schema"] == HEAD
    assert backups.stored_revision(old) == "0001_initial"  # the backup itself is untouched


def test_restore_replaces_the_data_and_keeps_the_old_database(
    crm: Any, live: Path, good_backup: Path
) -> None:
    backup_bytes = good_backup.read_bytes()
    result = crm.ok("db", "restore", str(good_backup), "--yes")
    assert names(crm) == ["Ana"]
    kept = list(live.parent.glob("crm.db.before-restore-*.bak"))
    assert len(kept) == 1 and str(kept[0]) in result.out
    conn = sqlite3.connect(kept[0])
    assert sorted(r[0] for r in conn.execute("SELECT name FROM contact")) == ["Ana", "Bo"]
    conn.close()
    assert good_backup.read_bytes() == backup_bytes
    assert leftovers(live.parent) == []
    assert crm.json("db", "check")["problems"] == []


def test_another_connection_sees_the_restored_data(crm: Any, live: Path, good_backup: Path) -> None:
    # A process that has the database open (the TUI, cron) keeps a working connection.
    other = sqlite3.connect(live)
    try:
        assert other.execute("SELECT count(*) FROM contact").fetchone() == (2,)
        crm.ok("db", "restore", str(good_backup), "--yes")
        assert other.execute("SELECT name FROM contact").fetchall() == [("Ana",)]
    finally:
        other.close()


def test_restore_over_a_damaged_database(crm: Any, live: Path, good_backup: Path) -> None:
    garbage_page(live, live)
    damaged = live.read_bytes()[2 * PAGE : 4 * PAGE]
    crm.ok("db", "restore", str(good_backup), "--yes")
    assert names(crm) == ["Ana"]
    kept = list(live.parent.glob("crm.db.before-restore-*.bak"))
    # Kept page for page, damage included (the backup API copies pages without reading them).
    assert len(kept) == 1 and kept[0].read_bytes()[2 * PAGE : 4 * PAGE] == damaged


def test_restore_over_a_file_that_is_not_sqlite(crm: Any, live: Path, good_backup: Path) -> None:
    live.write_bytes(b"this is not sqlite" * 100)
    crm.ok("db", "restore", str(good_backup), "--yes")
    assert names(crm) == ["Ana"]
    kept = list(live.parent.glob("crm.db.before-restore-*.bak"))
    assert kept[0].read_bytes() == b"this is not sqlite" * 100


def test_restore_into_a_new_home(
    crm: Any, good_backup: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    home = tmp_path / "fresh-home"
    monkeypatch.setenv("CRM_HOME", str(home))
    result = crm.ok("db", "restore", str(good_backup), "--yes")
    assert "kept" not in result.out
    assert names(crm) == ["Ana"]


def test_confirmation_comes_after_the_checks(
    crm: Any, live: Path, good_backup: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "forged.db"
    forged(good_backup, bad)
    # Without --yes and without a terminal: a bad file is refused for what it is, not for the
    # missing confirmation.
    assert "not a crm database" in crm("db", "restore", str(bad)).err
    refused = crm("db", "restore", str(good_backup))
    assert refused.code == ExitCode.FAILURE and "--yes" in refused.err
    assert names(crm) == ["Ana", "Bo"]
    assert leftovers(live.parent) == []


def test_a_backup_with_other_page_size_is_restored(crm: Any, live: Path, good_backup: Path) -> None:
    # The backup API cannot copy into a WAL database with other pages: converted first.
    conn = sqlite3.connect(good_backup)
    conn.execute("PRAGMA page_size = 1024")
    conn.execute("VACUUM")
    conn.close()
    assert backups.page_size(good_backup) == 1024
    crm.ok("db", "restore", str(good_backup), "--yes")
    assert names(crm) == ["Ana"] and backups.page_size(live) == PAGE


def test_a_copy_of_a_live_database_with_its_wal_is_restored(
    crm: Any, live: Path, tmp_path: Path
) -> None:
    other = sqlite3.connect(live)  # keeps the -wal from being folded in and removed
    try:
        other.execute("SELECT 1 FROM contact").fetchall()
        crm.ok("contact", "add", "Only In The Wal")
        assert b"Only In The Wal" not in live.read_bytes()
        copy = tmp_path / "copy.db"
        copy.write_bytes(live.read_bytes())
        (tmp_path / "copy.db-wal").write_bytes((live.parent / "crm.db-wal").read_bytes())
    finally:
        other.close()
    crm.ok("contact", "rm", "1")
    crm.ok("db", "restore", str(copy), "--yes")
    assert "Only In The Wal" in names(crm)


# --- crm db check on a damaged database --------------------------------------------------------


def test_check_reports_a_damaged_database(crm: Any, live: Path) -> None:
    crm.ok("contact", "list")
    garbage_page(live, live)
    result = crm("db", "check", "--json")
    assert result.code == ExitCode.DATABASE, result
    report = result.json
    assert report["damaged"] is True and report["problems"], report
    assert "malformed" in report["problems"][0]
    assert result.err.startswith("crm: error: the database is damaged")
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    text = crm("db", "check")
    assert text.code == ExitCode.DATABASE and "problem: " in text.out


def test_check_reports_a_file_that_is_not_sqlite(crm: Any, live: Path) -> None:
    live.write_bytes(b"\x00" * 8192)
    result = crm("db", "check", "--json")
    assert result.code == ExitCode.DATABASE, result
    assert "not a SQLite database" in result.json["problems"][0]


def test_check_of_a_healthy_database_says_so(crm: Any, live: Path) -> None:
    report = crm.json("db", "check")
    assert report["damaged"] is False and report["problems"] == []


# --- encrypted backups -------------------------------------------------------------------------


@pytest.fixture
def passphrase(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRM_BACKUP_PASSPHRASE", "correct horse battery staple")
    return "correct horse battery staple"


def test_encrypted_backup_roundtrip(crm: Any, live: Path, tmp_path: Path, passphrase: str) -> None:
    target = tmp_path / "out" / "backup.crm"
    target.parent.mkdir()
    crm.ok("db", "backup", str(target), "--encrypt")
    data = target.read_bytes()
    assert data.startswith(backups.MAGIC)
    assert b"SQLite format 3" not in data and b"ana@acme.com" not in data
    assert sorted(p.name for p in target.parent.iterdir()) == ["backup.crm"]  # no plaintext
    assert leftovers(live.parent) == []
    crm.ok("contact", "add", "Bo")
    crm.ok("db", "restore", str(target), "--yes")
    assert names(crm) == ["Ana"]
    assert leftovers(live.parent) == []


def test_wrong_passphrase_changes_nothing(
    crm: Any, live: Path, tmp_path: Path, passphrase: str, monkeypatch: Any
) -> None:
    target = tmp_path / "backup.crm"
    crm.ok("db", "backup", str(target), "--encrypt")
    crm.ok("contact", "add", "Bo")
    before = state(live)
    monkeypatch.setenv("CRM_BACKUP_PASSPHRASE", "wrong")
    result = crm("db", "restore", str(target), "--yes")
    assert result.code == ExitCode.DATABASE, result
    assert "wrong passphrase" in result.err and result.err.count("\n") == 1
    assert state(live) == before and leftovers(live.parent) == []


@pytest.mark.parametrize("where", ["header", "middle", "end", "cut", "appended"])
def test_a_tampered_encrypted_backup_is_refused(
    crm: Any, live: Path, tmp_path: Path, passphrase: str, where: str
) -> None:
    target = tmp_path / "backup.crm"
    crm.ok("db", "backup", str(target), "--encrypt")
    data = bytearray(target.read_bytes())
    if where == "header":
        data[12] ^= 0x01  # inside the salt
    elif where == "middle":
        data[len(data) // 2] ^= 0x01
    elif where == "end":
        data[-1] ^= 0x01
    elif where == "cut":
        del data[-100:]
    else:
        data += b"more"
    target.write_bytes(bytes(data))
    crm.ok("contact", "add", "Bo")
    before = state(live)
    result = crm("db", "restore", str(target), "--yes")
    assert result.code == ExitCode.DATABASE, result
    assert result.err.count("\n") == 1 and "nothing was changed" in result.err
    expected = "wrong passphrase" if where == "header" else "damaged or was changed"
    assert expected in result.err, result
    assert state(live) == before and leftovers(live.parent) == []


def test_a_large_file_spans_many_chunks(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(backups, "CHUNK", 1000)
    plain = tmp_path / "plain"
    for size in (0, 1, 999, 1000, 1001, 5000, 12345):
        payload = os.urandom(size)
        plain.write_bytes(payload)
        backups.encrypt_file(plain, tmp_path / "enc", "pw")
        out = tmp_path / "dec"
        backups.decrypt_file(tmp_path / "enc", out, "pw")
        assert out.read_bytes() == payload, size
    # Chunks cannot be reordered.
    plain.write_bytes(b"a" * 1000 + b"b" * 1000 + b"c" * 10)
    backups.encrypt_file(plain, tmp_path / "enc", "pw")
    data = (tmp_path / "enc").read_bytes()
    head, body = data[: backups._HEADER.size], data[backups._HEADER.size :]
    swapped = head + body[1016:2032] + body[:1016] + body[2032:]
    (tmp_path / "enc").write_bytes(swapped)
    with pytest.raises(Exception, match="damaged or was changed"):
        backups.decrypt_file(tmp_path / "enc", tmp_path / "dec", "pw")


def test_the_default_key_derivation_is_stored_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.undo()  # the real cost, once
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    backups.encrypt_file(plain, tmp_path / "enc", "pw")
    header = (tmp_path / "enc").read_bytes()[: backups._HEADER.size]
    assert backups._HEADER.unpack(header)[2] == 17  # scrypt n = 2**17


def test_without_a_passphrase_and_a_terminal_encryption_is_refused(
    crm: Any, live: Path, tmp_path: Path
) -> None:
    target = tmp_path / "backup.crm"
    result = crm("db", "backup", str(target), "--encrypt")
    assert result.code == ExitCode.USAGE and "CRM_BACKUP_PASSPHRASE" in result.err, result
    assert not target.exists() and leftovers(tmp_path) == []


def test_the_passphrase_is_asked_hidden_and_twice_for_a_new_backup(
    crm: Any, live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import typer

    asked: list[dict[str, Any]] = []

    def prompt(text: str, **kwargs: Any) -> str:
        asked.append(kwargs)
        return "from the terminal"

    monkeypatch.setattr(typer, "prompt", prompt)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    target = tmp_path / "backup.crm"
    crm.ok("db", "backup", str(target), "--encrypt")
    crm.ok("db", "restore", str(target), "--yes")
    assert [a["hide_input"] for a in asked] == [True, True]
    assert [a["confirmation_prompt"] for a in asked] == [True, False]
    assert all(a.get("err") for a in asked)  # the prompt is not data: stderr


def test_decrypt_writes_a_private_plain_file(
    crm: Any, live: Path, tmp_path: Path, passphrase: str
) -> None:
    enc, plain = tmp_path / "backup.crm", tmp_path / "backup.db"
    crm.ok("db", "backup", str(enc), "--encrypt")
    crm.ok("db", "decrypt", str(enc), str(plain))
    assert backups.is_sqlite_file(plain) and plain.stat().st_mode & 0o777 == 0o600
    assert crm("db", "decrypt", str(enc), str(plain)).code == ExitCode.CONFLICT
    assert crm("db", "decrypt", str(plain), str(tmp_path / "x")).code == ExitCode.USAGE


# --- PostgreSQL backups ------------------------------------------------------------------------


@pytest.fixture
def on_postgres(pg_url: str, monkeypatch: pytest.MonkeyPatch, crm: Any) -> str:
    import shutil

    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not on the PATH")
    monkeypatch.setenv("CRM_DATABASE_URL", pg_url)
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com")
    return pg_url


@pytest.mark.postgres
def test_a_failed_pg_dump_leaves_nothing(
    crm: Any, on_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "pg_dump"
    fake.parent.mkdir()
    # Writes part of a dump, then fails, as pg_dump does when the connection drops.
    fake.write_text(
        '#!/bin/sh\nfor a in "$@"; do case "$a" in --file=*) printf PGDMP-half > "${a#--file=}";;'
        " esac; done\necho 'pg_dump: error: connection lost' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    out.mkdir()
    result = crm("db", "backup", str(out / "team.dump"))
    assert result.code == ExitCode.DATABASE and "connection lost" in result.err, result
    assert list(out.iterdir()) == []


@pytest.mark.postgres
def test_an_interrupted_pg_dump_leaves_nothing(
    crm: Any, on_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(args: list[str], **kwargs: Any) -> Any:
        dest = next(a for a in args if a.startswith("--file=")).removeprefix("--file=")
        Path(dest).write_bytes(b"PGDMP" + b"\0" * 100)
        raise KeyboardInterrupt

    monkeypatch.setattr(subprocess, "run", interrupted)
    out = tmp_path / "out"
    out.mkdir()
    result = crm("db", "backup", str(out / "team.dump"))
    assert result.code == ExitCode.INTERRUPTED, result
    assert list(out.iterdir()) == []


@pytest.mark.postgres
def test_encrypted_pg_dump_roundtrip(
    crm: Any, on_postgres: str, tmp_path: Path, passphrase: str, crm_home: Path
) -> None:
    enc = tmp_path / "team.dump.crm"
    crm.ok("db", "backup", str(enc), "--encrypt")
    assert enc.read_bytes().startswith(backups.MAGIC) and enc.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in enc.parent.iterdir() if p.name.startswith("team")] == [enc.name]
    assert [p for p in crm_home.iterdir() if p.name.startswith(".pg-dump-")] == []
    plain = tmp_path / "team.dump"
    crm.ok("db", "decrypt", str(enc), str(plain))
    assert plain.read_bytes()[:5] == b"PGDMP"
    listing = subprocess.run(
        ["pg_restore", "--list", str(plain)], capture_output=True, text=True, check=True
    )
    assert "TABLE DATA public contact" in listing.stdout
