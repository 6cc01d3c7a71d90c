"""Schema migrations: applied automatically when a database is opened.

Every command checks the stored revision against `HEAD`, the newest revision this package
ships, with one query and without importing Alembic (~100 ms beyond SQLAlchemy). Only when
they differ is Alembic loaded to upgrade. A SQLite database that already holds data is copied
aside first, so a failed upgrade can always be undone by `crm db restore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from crm_cli.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection, Engine

# The newest revision in migrations/versions. A test keeps this equal to Alembic's head.
HEAD = "0020_feedback_report"

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            conn.rollback()
    except (OperationalError, ProgrammingError) as exc:
        message = str(exc.orig)
        if "alembic_version" in message and (
            "no such table" in message or "does not exist" in message
        ):
            return None
        raise
    return str(row[0]) if row else None


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config treats % as interpolation: a URL-encoded password must be escaped.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["engine"] = engine
    return config


@dataclass(frozen=True)
class Revision:
    revision: str
    description: str
    applied: bool


def revisions(engine: Engine) -> list[Revision]:
    """Every migration this package ships, oldest first, and whether it is applied here."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    current = current_revision(engine)
    applied: set[str] = set()
    if current is not None:
        for rev in script.iterate_revisions(current, "base"):
            applied.add(rev.revision)
    ordered = list(reversed(list(script.walk_revisions("base", "heads"))))
    return [Revision(r.revision, r.doc or "", r.revision in applied) for r in ordered]


def script_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def ensure_current(engine: Engine, sqlite_path: Path | None) -> str | None:
    """Bring the schema to HEAD if it is behind. Returns the backup path made, if any."""
    current = current_revision(engine)
    if current == HEAD:
        return None
    return upgrade(engine, sqlite_path, current)


def upgrade(engine: Engine, sqlite_path: Path | None, current: str | None) -> str | None:
    from alembic import command
    from alembic.script import ScriptDirectory

    config = alembic_config(engine)
    known = {r.revision for r in ScriptDirectory.from_config(config).walk_revisions()}
    if current is not None and current not in known:
        raise DatabaseError(
            f"the database is at schema revision {current!r}, newer than this crm knows; "
            "upgrade crm"
        )
    backup_path: str | None = None
    if sqlite_path is not None and current is not None and sqlite_path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = sqlite_path.with_name(f"{sqlite_path.name}.before-{HEAD}-{stamp}.bak")
        from crm_cli.store.backup import sqlite_backup

        sqlite_backup(sqlite_path, target)
        backup_path = str(target)
    command.upgrade(config, "head")
    if current is not None and engine.dialect.name == "postgresql":
        analyze(engine)
    return backup_path


def analyze(engine: Engine) -> None:
    """PostgreSQL: fresh planner statistics for every table, after a migration changed the
    schema or the rows of a database that holds data. A new index or a rewritten table is
    otherwise planned on the old estimates until autovacuum's next analysis, minutes later
    (SQLite's `PRAGMA optimize` runs as each command's connection closes). ANALYZE reads a
    sample of each table (30,000 rows at the default statistics target), so it costs seconds
    at a million rows, against the minutes such a migration takes."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def lock_for_migration(conn: Connection) -> None:
    """Serialise concurrent first runs: only one process migrates, the others wait."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7232431)"))
