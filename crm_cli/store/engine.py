"""The engine and session factory.

SQLite gets, on every connection: WAL (readers never block the writer), `synchronous=NORMAL`
(durable at each checkpoint, safe against crashes in WAL mode), foreign keys, and a busy
timeout, so cron, the TUI and a shell command can all write to one file. Write transactions
start with `BEGIN IMMEDIATE`: taking the write lock up front means a second writer waits for
the busy timeout instead of failing with "database is locked" when it upgrades a read lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from crm_cli.errors import Conflict, DatabaseError, InvalidValue

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT_MS = 15_000


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    # The forms PostgreSQL hosts hand out (postgres://, postgresql://) mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url.removeprefix(prefix)
    return create_engine(url, pool_pre_ping=False)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN, instead of the sqlite3 module's own.
    dbapi_connection.isolation_level = None
    # SQLite's own lower() folds only ASCII; names are compared with Python's lower(), so
    # "Škoda" must be lowered the same way in SQL.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get("crm_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises.

    Either everything the block wrote is in the database afterwards, or none of it is.
    """
    bind = engine.execution_options(crm_write=True) if write else engine
    session = Session(bind=bind, expire_on_commit=False, autoflush=True)
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise _database_error(exc) from exc
    except IntegrityError as exc:
        # Checks in the services catch these first; this is the race where another process
        # wrote the same unique value in between.
        session.rollback()
        raise Conflict(f"the database refused the change: {_first_line(exc)}") from exc
    except DataError as exc:
        session.rollback()
        raise InvalidValue("value", _first_line(exc), "out of range for the database") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _database_error(exc: OperationalError) -> DatabaseError:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    if "locked" in text or "busy" in text:
        return DatabaseError(f"the database stayed busy for {BUSY_TIMEOUT_MS // 1000} s: {text}")
    return DatabaseError(f"database error: {text.splitlines()[0] if text else exc}")
