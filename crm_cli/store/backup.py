"""Backups of SQLite databases through SQLite's online backup API.

The backup API copies a consistent snapshot even while other processes write, which copying
the file (and its -wal) by hand does not.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crm_cli.errors import DatabaseError


def _read_only(path: Path) -> str:
    """A read-only SQLite URI; `as_uri` escapes the # and ? a file name may hold."""
    return f"{path.resolve().as_uri()}?mode=ro"


def sqlite_backup(source: Path, target: Path) -> None:
    """Copy `source` to `target` atomically: a partial copy never appears under `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(_read_only(source), uri=True, timeout=15)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            # A backup is one file: fold the WAL in so the copy stands alone.
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise DatabaseError(f"backup of {source} failed: {exc}") from None
    finally:
        src.close()
    partial.replace(target)


def is_crm_database(path: Path) -> str | None:
    """The schema revision of a crm SQLite file, or None when it is not one."""
    try:
        with path.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return None
        conn = sqlite3.connect(_read_only(path), uri=True)
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        return None
    if not row or not {"contact", "company"} <= tables:
        return None
    return str(row[0])


def sqlite_restore(source: Path, target: Path) -> None:
    """Replace the database at `target` with the backup `source`, in one step for readers."""
    src = sqlite3.connect(_read_only(source), uri=True)
    try:
        dst = sqlite3.connect(target, timeout=15)
        try:
            # The backup API writes through SQLite's locks, so a process that has the database
            # open sees either the old or the restored content, never a mix.
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"restore from {source} failed: {exc}") from None
    finally:
        src.close()
