"""Database administration: migrations, integrity checks, backup and restore.

A restore never works on the live database until the backup has proved itself: the file is
copied (or decrypted) into a private temporary file beside the live one, checked (a sound
SQLite file, a schema revision this crm knows, exactly that revision's tables and columns),
migrated to the current schema and checked again. Only then is it copied in, through SQLite's
backup API, which other processes see as one transaction. Until that last step the live
database is not touched at all, so any failure leaves it byte for byte as it was.

Backups are written under a temporary name and renamed when complete, on SQLite and on
PostgreSQL (pg_dump) alike; an encrypted backup's plaintext exists only in a private
temporary file in crm's own directory, removed when the encrypted file is written.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from crm_cli import paths
from crm_cli.errors import Conflict, CrmError, DatabaseError, InvalidValue
from crm_cli.services.context import sqlite_file
from crm_cli.store import backup as backups
from crm_cli.store import migrate as migrations

if TYPE_CHECKING:
    from crm_cli.services.context import Context


def migrate(ctx: Context) -> tuple[list[dict[str, Any]], str | None]:
    engine = ctx.engine  # opening applies what is pending
    rows = [
        {
            "revision": r.revision,
            "status": "applied" if r.applied else "pending",
            "description": r.description.strip().splitlines()[0] if r.description else "",
        }
        for r in migrations.revisions(engine)
    ]
    return rows, ctx.migration_backup


# --- check ---------------------------------------------------------------------------------


def check(ctx: Context) -> dict[str, Any]:
    """What `crm db check` reports. `damaged` is true when the file itself is corrupt; then
    the database is not opened (opening would migrate a damaged file) and `problems` says
    what SQLite found."""
    file = sqlite_file(ctx.url)
    checked = False
    if file is not None and file.exists() and file.stat().st_size > 0:
        damage = [p for p in backups.sqlite_problems(file) if backups.is_damage(p)]
        if damage:
            return _damaged(file, damage)
        checked = True
    try:
        return _check_open(ctx, integrity_checked=checked)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        first = reason[0] if reason else type(exc).__name__
        if file is None:
            raise DatabaseError(f"checking the database failed: {first}") from None
        # SQLite read a damaged page while counting: damage all the same.
        return _damaged(file, [first])


def _damaged(file: Path, problems: list[str]) -> dict[str, Any]:
    return {
        "database": str(file),
        "dialect": "sqlite",
        "schema": backups.stored_revision(file),
        "expected_schema": migrations.HEAD,
        "integrity": "; ".join(" ".join(p.split()) for p in problems[:5]),
        "damaged": True,
        "problems": [" ".join(p.split()) for p in problems],
    }


def _check_open(ctx: Context, *, integrity_checked: bool = False) -> dict[str, Any]:
    from crm_cli.store.models import Company, Contact

    engine = ctx.engine
    problems: list[str] = []
    revision = migrations.current_revision(engine)
    if revision != migrations.HEAD:
        problems.append(f"schema revision {revision}, expected {migrations.HEAD}")
    report: dict[str, Any] = {
        "database": str(sqlite_file(ctx.url) or ctx.safe_url),
        "dialect": engine.dialect.name,
        "schema": revision,
        "expected_schema": migrations.HEAD,
        "damaged": False,
    }
    with ctx.session(write=False) as session:
        if engine.dialect.name == "sqlite":
            # integrity_check reads every page: not twice when the file was checked above.
            result = (
                ["ok"]
                if integrity_checked
                else [r[0] for r in session.execute(text("PRAGMA integrity_check"))]
            )
            report["integrity"] = "ok" if result == ["ok"] else "; ".join(result[:5])
            if result != ["ok"]:
                problems.extend(result[:20])
                report["damaged"] = True
            fk = session.execute(text("PRAGMA foreign_key_check")).all()
            report["foreign_keys"] = "ok" if not fk else f"{len(fk)} broken reference(s)"
            if fk:
                problems.append(f"{len(fk)} rows point at records that do not exist")
            # The index's own structure; it holds live records only, so it is not compared
            # row for row with the tables.
            for table in ("contact_fts", "company_fts"):
                session.execute(text(f"INSERT INTO {table}({table}) VALUES ('integrity-check')"))
            report["search_index"] = "ok"
            report["journal_mode"] = session.execute(text("PRAGMA journal_mode")).scalar()
        report["contacts"] = session.scalar(
            select(func.count()).select_from(Contact).where(col(Contact.deleted_at).is_(None))
        )
        report["companies"] = session.scalar(
            select(func.count()).select_from(Company).where(col(Company.deleted_at).is_(None))
        )
    report["problems"] = problems
    return report


# --- backup --------------------------------------------------------------------------------


def backup(
    ctx: Context, target: Path, *, overwrite: bool = False, passphrase: str | None = None
) -> Path:
    """Write a backup of the database to `target` (0600): SQLite's backup API for a SQLite
    file, pg_dump's custom format for PostgreSQL; encrypted when `passphrase` is given."""
    target = target.expanduser()
    if target.is_dir():
        raise InvalidValue("path", str(target), "is a directory; give a file name")
    if target.exists() and not overwrite:
        raise Conflict(f"{target} exists already; use --force to overwrite it")
    if passphrase is not None and not passphrase:
        raise InvalidValue("passphrase", "", "must not be empty")
    ctx.engine  # noqa: B018  (opens and migrates, so the backup is of a current schema)
    source = sqlite_file(ctx.url)
    if source is not None:
        if passphrase is None:
            backups.sqlite_backup(source, target)
            return target
        # The plaintext snapshot lives beside the live database (which holds the same data
        # in the clear already), never beside the encrypted file.
        plain = backups.private_temp(source.parent, f".{source.name}.backup-")
        try:
            backups.sqlite_snapshot(source, plain)
            backups.encrypt_file(plain, target, passphrase)
        finally:
            backups.remove_database(plain)
        return target
    if passphrase is None:
        with backups.atomic_private_file(target) as partial:
            _pg_dump(ctx, partial)
        return target
    plain = backups.private_temp(paths.private_dir(paths.data_dir()), ".pg-dump-")
    try:
        _pg_dump(ctx, plain)
        backups.encrypt_file(plain, target, passphrase)
    finally:
        plain.unlink(missing_ok=True)
    return target


def _pg_dump(ctx: Context, dest: Path) -> None:
    """Run pg_dump into `dest`, an existing private file it overwrites (keeping the mode)."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise CrmError("backing up PostgreSQL needs pg_dump on the PATH")
    url = ctx.engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        # In the environment, not on the command line, where `ps` would show it.
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(
        [pg_dump, "--format=custom", f"--file={dest}", url.set(password=None).render_as_string()],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise DatabaseError(f"pg_dump failed: {lines[-1] if lines else done.returncode}")


def decrypt(source: Path, target: Path, passphrase: str) -> Path:
    """Write the plaintext of the encrypted backup `source` to `target` (0600, atomically):
    for PostgreSQL dumps, which `pg_restore` then reads."""
    source, target = source.expanduser(), target.expanduser()
    if not source.is_file():
        raise InvalidValue("backup", str(source), "no such file")
    if not backups.is_encrypted(source):
        raise InvalidValue("backup", str(source), "is not encrypted by crm")
    with backups.atomic_private_file(target) as partial:
        backups.decrypt_file(source, partial, passphrase)
    return target


# --- restore -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreSource:
    path: Path
    encrypted: bool


@dataclass(frozen=True)
class StagedRestore:
    """A backup copied beside the live database, verified and migrated, ready to swap in."""

    source: Path
    live: Path
    staged: Path
    revision: str  # the backup's schema revision, before it was migrated
    encrypted: bool


def check_restorable(ctx: Context, source: Path) -> RestoreSource:
    """The cheap checks before anything is asked or copied: a local SQLite database to
    restore into, and a file that is a SQLite database or a crm-encrypted backup."""
    source = source.expanduser()
    if sqlite_file(ctx.url) is None:
        raise CrmError("restore works on the local SQLite database; for PostgreSQL use pg_restore")
    if not source.is_file():
        raise InvalidValue("backup", str(source), "no such file")
    if backups.is_encrypted(source):
        return RestoreSource(source, True)
    if not backups.is_sqlite_file(source):
        raise DatabaseError(
            f"{source} is not a crm database (neither SQLite nor a crm-encrypted backup); "
            "nothing was changed"
        )
    return RestoreSource(source, False)


@contextmanager
def staged_restore(
    ctx: Context, source: Path, *, passphrase: str | None = None
) -> Iterator[StagedRestore]:
    """Copy `source` beside the live database, verify it, migrate the copy and verify it
    again; yield it for `swap_in`. The copy is removed when the block ends, whatever happens.
    Raises DatabaseError (the live database untouched) when the backup does not hold up."""
    found = check_restorable(ctx, source)
    live = sqlite_file(ctx.url)
    assert live is not None
    _database_dir(live)
    staged = backups.private_temp(live.parent, f".{live.name}.restore-")
    try:
        try:
            revision = _stage(found, staged, live, passphrase)
        except DatabaseError as exc:
            raise DatabaseError(f"{exc.message}; nothing was changed") from None
        except OSError as exc:  # a full disk while copying or decrypting
            raise DatabaseError(
                f"cannot copy {found.path} beside the database: {exc.strerror or exc}; "
                "nothing was changed"
            ) from None
        yield StagedRestore(found.path, live, staged, revision, found.encrypted)
    finally:
        backups.remove_database(staged)


def _stage(found: RestoreSource, staged: Path, live: Path, passphrase: str | None) -> str:
    label = f"the backup {found.path}"
    if found.encrypted:
        if not passphrase:
            raise InvalidValue(
                "passphrase", "", f"{found.path} is encrypted; a passphrase is needed"
            )
        backups.decrypt_file(found.path, staged, passphrase)
    else:
        try:
            backups.raw_copy(found.path, staged)
        except OSError as exc:
            raise DatabaseError(f"cannot read {found.path}: {exc.strerror}") from None
    revision = backups.verify_crm_database(staged, label)
    _migrate_copy(staged, label)
    backups.verify_crm_database(staged, f"{label} (migrated)", revision=migrations.HEAD)
    backups.to_rollback_journal(staged)
    live_pages = backups.page_size(live) if live.exists() else None
    if live_pages is not None and live_pages != backups.page_size(staged):
        backups.set_page_size(staged, live_pages)
    return revision


def _migrate_copy(staged: Path, label: str) -> None:
    """Bring the staged copy to the current schema (no .bak: the copy is itself the spare)."""
    from crm_cli.store.engine import make_engine

    engine = make_engine(paths.sqlite_url(staged))
    try:
        migrations.ensure_current(engine, None)
    except CrmError as exc:
        raise DatabaseError(f"migrating {label} failed: {exc.message}") from None
    except Exception as exc:  # noqa: BLE001  (any failure of a migration refuses the restore)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        first = reason[0] if reason else type(exc).__name__
        raise DatabaseError(f"migrating {label} failed: {first}") from None
    finally:
        engine.dispose()


def swap_in(staged: StagedRestore) -> Path | None:
    """Keep the live database as `NAME.before-restore-STAMP.bak`, then copy the staged one in.
    Returns the kept copy (None when there was no database to keep)."""
    live = staged.live
    kept: Path | None = None
    if live.exists() and live.stat().st_size > 0:
        kept = _kept_name(live)
        try:
            backups.keep_copy(live, kept)
        except (CrmError, OSError) as exc:
            raise DatabaseError(
                f"cannot keep a copy of the current database at {kept}: {exc}; nothing was changed"
            ) from None
    if kept is None or backups.is_sqlite_file(live):
        try:
            backups.sqlite_restore(staged.staged, live)
        except DatabaseError as exc:
            # The backup API copies in one transaction: a failure leaves the old content.
            raise DatabaseError(f"{exc.message}; the database was not changed") from None
    else:
        # Not a SQLite file (it was kept byte for byte above): nothing can have it open as a
        # database, so it is replaced whole, after its stale -wal/-shm, which SQLite would
        # otherwise try to apply to the restored file.
        for suffix in backups.SIDECARS:
            live.with_name(live.name + suffix).unlink(missing_ok=True)
        staged.staged.replace(live)
    return kept


def _kept_name(live: Path) -> Path:
    """`NAME.before-restore-STAMP.bak`, numbered when two restores fall in one second, so an
    earlier kept copy is never overwritten."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = live.with_name(f"{live.name}.before-restore-{stamp}.bak")
    number = 1
    while kept.exists():
        number += 1
        kept = live.with_name(f"{live.name}.before-restore-{stamp}-{number}.bak")
    return kept


def restore(ctx: Context, source: Path, *, passphrase: str | None = None) -> Path | None:
    """Replace the live database with a verified, migrated copy of `source`; returns where the
    previous database was kept."""
    with staged_restore(ctx, source, passphrase=passphrase) as staged:
        return swap_in(staged)


def _database_dir(live: Path) -> None:
    # crm's own data directory is private; a directory the user chose is only created.
    if live.parent == paths.data_dir():
        paths.private_dir(live.parent)
    else:
        live.parent.mkdir(parents=True, exist_ok=True)
