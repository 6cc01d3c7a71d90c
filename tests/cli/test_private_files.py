"""Files holding customer data are private whatever the umask: 0600 files, 0700 directories.

Every test here runs under umask 022, the usual default that would leave files world-readable.
Also here: the demo database, which is made complete or not at all.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crm_cli import paths
from crm_cli.store.migrate import HEAD


@pytest.fixture(autouse=True)
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_database_and_its_wal_are_private(crm: Any, crm_home: Path) -> None:
    crm_home.chmod(0o755)
    crm.ok("contact", "add", "Ana")
    db = crm_home / "crm.db"
    # Another connection keeps the -wal and -shm in place after crm's own close.
    other = sqlite3.connect(db)
    try:
        other.execute("SELECT count(*) FROM contact").fetchone()
        crm.ok("contact", "add", "Bo")
        assert (crm_home / "crm.db-wal").exists() and (crm_home / "crm.db-shm").exists()
        found = {name: mode(crm_home / name) for name in ("crm.db", "crm.db-wal", "crm.db-shm")}
    finally:
        other.close()
    assert found == {"crm.db": 0o600, "crm.db-wal": 0o600, "crm.db-shm": 0o600}
    assert mode(crm_home) == 0o700


def test_an_existing_readable_database_is_narrowed(crm: Any, crm_home: Path) -> None:
    crm.ok("contact", "add", "Ana")
    (crm_home / "crm.db").chmod(0o644)
    crm.ok("contact", "list")
    assert mode(crm_home / "crm.db") == 0o600


def test_the_config_file_is_private(crm: Any, crm_home: Path) -> None:
    crm_home.chmod(0o755)
    crm.ok("config", "set", "user.name", "Ana")
    assert mode(crm_home / "config.toml") == 0o600
    assert mode(crm_home / "config.toml.lock") == 0o600
    assert mode(crm_home) == 0o700
    (crm_home / "config.toml").chmod(0o644)
    crm.ok("config", "set", "user.name", "Bo")
    assert mode(crm_home / "config.toml") == 0o600
    assert sorted(p.name for p in crm_home.iterdir()) == ["config.toml", "config.toml.lock"]


def test_backups_are_private(crm: Any, crm_home: Path, tmp_path: Path, monkeypatch: Any) -> None:
    crm.ok("contact", "add", "Ana")
    plain, encrypted = tmp_path / "plain.db", tmp_path / "enc.crm"
    crm.ok("db", "backup", str(plain))
    monkeypatch.setenv("CRM_BACKUP_PASSPHRASE", "pw")
    monkeypatch.setattr("crm_cli.store.backup.SCRYPT_LOG2_N", 14)
    crm.ok("db", "backup", str(encrypted), "--encrypt")
    crm.ok("db", "restore", str(plain), "--yes")
    kept = list(crm_home.glob("crm.db.before-restore-*.bak"))
    assert [mode(p) for p in (plain, encrypted, *kept)] == [0o600, 0o600, 0o600]


def test_the_copy_made_before_a_migration_is_private(crm: Any, crm_home: Path) -> None:
    from alembic import command

    from crm_cli.store.engine import make_engine
    from crm_cli.store.migrate import alembic_config

    db = crm_home / "crm.db"
    engine = make_engine(f"sqlite:///{db}")
    command.upgrade(alembic_config(engine), "0001_initial")
    engine.dispose()
    crm.ok("contact", "list")
    made = list(crm_home.glob(f"crm.db.before-{HEAD}-*.bak"))
    assert len(made) == 1 and mode(made[0]) == 0o600


def test_the_demo_database_is_private(crm: Any, crm_home: Path) -> None:
    crm.ok("demo")
    assert mode(crm_home / "demo.db") == 0o600
    assert mode(crm_home) == 0o700


def test_private_dir_narrows_only_its_own_directory(tmp_path: Path, monkeypatch: Any) -> None:
    leaf = tmp_path / "made" / "for" / "crm"
    paths.private_dir(leaf)
    assert mode(leaf) == 0o700
    assert mode(tmp_path / "made") == 0o755 and mode(tmp_path / "made" / "for") == 0o755
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    monkeypatch.setenv("HOME", str(home))
    paths.private_dir(home)  # CRM_HOME=~ must not lock the user out of their own home
    assert mode(home) == 0o755


def test_private_file_creates_and_narrows(tmp_path: Path) -> None:
    new = tmp_path / "new"
    paths.private_file(new)
    assert new.read_bytes() == b"" and mode(new) == 0o600
    old = tmp_path / "old"
    old.write_text("kept")
    old.chmod(0o644)
    paths.private_file(old)
    assert old.read_text() == "kept" and mode(old) == 0o600


# --- the demo database: complete or not at all -------------------------------------------------


@pytest.mark.parametrize("first", [["--demo", "contact", "list"], ["demo"]])
def test_an_interrupted_demo_is_made_again(
    crm: Any, crm_home: Path, monkeypatch: pytest.MonkeyPatch, first: list[str]
) -> None:
    import crm_cli.services.demo as demo

    def half_way(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # contacts and companies are in, the deals are not

    monkeypatch.setattr(demo, "seed_sales", half_way)
    assert crm(*first).code != 0
    assert not (crm_home / "demo.db").exists()
    assert [p.name for p in crm_home.iterdir() if p.name.startswith("demo.db.partial")] == []
    monkeypatch.undo()
    listed = crm.json("--demo", "contact", "list", "--all")
    assert len(listed) == len(demo.CONTACTS)
    open_deals = [d for d in demo.DEALS if d[4] not in ("won", "lost")]
    assert len(crm.json("--demo", "deal", "list", "--all")) == len(open_deals)


def test_a_partial_file_left_by_a_killed_run_is_replaced(crm: Any, crm_home: Path) -> None:
    (crm_home / "demo.db.partial").write_bytes(b"left by kill -9")
    listed = crm.json("--demo", "contact", "list", "--all")
    assert len(listed) > 0
    assert not (crm_home / "demo.db.partial").exists()
