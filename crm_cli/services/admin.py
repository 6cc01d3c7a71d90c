"""Database administration: migrations, integrity checks, backup and restore."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlmodel import col

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


def check(ctx: Context) -> dict[str, Any]:
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
    }
    with ctx.session(write=False) as session:
        if engine.dialect.name == "sqlite":
            result = [r[0] for r in session.execute(text("PRAGMA integrity_check"))]
            report["integrity"] = "ok" if result == ["ok"] else "; ".join(result[:5])
            if result != ["ok"]:
                problems.extend(result[:20])
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


def backup(ctx: Context, target: Path, *, overwrite: bool = False) -> Path:
    target = target.expanduser()
    if target.exists() and not overwrite:
        raise Conflict(f"{target} exists already; use --force to overwrite it")
    if target.is_dir():
        raise InvalidValue("path", str(target), "is a directory; give a file name")
    ctx.engine  # noqa: B018  (opens and migrates, so the backup is of a current schema)
    source = sqlite_file(ctx.url)
    if source is not None:
        backups.sqlite_backup(source, target)
        return target
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise CrmError("backing up PostgreSQL needs pg_dump on the PATH")
    url = ctx.engine.url.set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        # In the environment, not on the command line, where `ps` would show it.
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(
        [pg_dump, "--format=custom", f"--file={target}", url.set(password=None).render_as_string()],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise DatabaseError(f"pg_dump failed: {lines[-1] if lines else done.returncode}")
    return target


def check_restorable(ctx: Context, source: Path) -> str:
    source = source.expanduser()
    if sqlite_file(ctx.url) is None:
        raise CrmError("restore works on the local SQLite database; for PostgreSQL use pg_restore")
    if not source.is_file():
        raise InvalidValue("backup", str(source), "no such file")
    revision = backups.is_crm_database(source)
    if revision is None:
        raise DatabaseError(f"{source} is not a crm database; nothing was changed")
    from crm_cli.store.migrate import MIGRATIONS_DIR

    known = {p.stem for p in (MIGRATIONS_DIR / "versions").glob("*.py")}
    if revision not in known:
        raise DatabaseError(f"{source} has schema {revision!r}, newer than this crm knows")
    return revision


def restore(ctx: Context, source: Path) -> Path:
    check_restorable(ctx, source)
    current = sqlite_file(ctx.url)
    assert current is not None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = current.with_name(f"{current.name}.before-restore-{stamp}.bak")
    if current.exists():
        backups.sqlite_backup(current, kept)
    backups.sqlite_restore(source.expanduser(), current)
    # An older backup is brought up to date now, not on the next command.
    from crm_cli.store.engine import make_engine

    engine = make_engine(ctx.url)
    try:
        migrations.ensure_current(engine, None)
    finally:
        engine.dispose()
    return kept
