"""The engine and session factory.

SQLite gets, on every connection: WAL (readers never block the writer), `synchronous=NORMAL`
(durable at each checkpoint, safe against crashes in WAL mode), foreign keys, and a busy
timeout, so cron, the TUI and a shell command can all write to one file. Write transactions
start with `BEGIN IMMEDIATE`: taking the write lock up front means a second writer waits for
the busy timeout instead of failing with "database is locked" when it upgrades a read lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

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
    # No JIT: PostgreSQL compiles a statement whose estimated cost is high, as a report's over
    # a million deals is, and the compiling costs more than the query (the sales report by
    # month: 478 ms of compiling for 100 ms of work). Set at connection start, so it costs
    # no round trip. Options the URL gives are kept and come last, so `-c jit=on` there wins.
    parsed = make_url(url)
    given = parsed.query.get("options")
    given = " ".join(given) if isinstance(given, tuple) else given
    options = " ".join(filter(None, ["-c jit=off", given]))
    return create_engine(
        parsed.difference_update_query(["options"]),
        pool_pre_ping=False,
        connect_args={"options": options},
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN, instead of the sqlite3 module's own.
    dbapi_connection.isolation_level = None
    # SQLite's own lower() folds only ASCII; names are compared with Python's lower(), so
    # "Škoda" must be lowered the same way in SQL.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    _wal(cursor)
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _wal(cursor: Any) -> None:
    """Switch to WAL once per database file. Switching needs the file to itself and SQLite
    does not wait for that (no busy handler), so processes opening a brand-new database at
    the same moment retry here instead of failing with "database is locked"."""
    import sqlite3

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_on_begin(conn: Connection) -> None:
    if conn.get_execution_options().get("crm_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


@contextmanager
def session_scope(
    engine: Engine,
    *,
    write: bool = True,
    before_commit: Callable[[Session], None] | None = None,
) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises.

    Either everything the block wrote is in the database afterwards, or none of it is.
    `before_commit` runs inside the transaction after the block (the journal writes there).

    A session that only reads (`write=False`) reads one snapshot: on SQLite every transaction
    does; on PostgreSQL it runs at REPEATABLE READ, so a listing's statements (its totals, its
    rows stage by stage, the names it reads beforehand) all see the database as it was when
    the first began, even while another command commits.
    """
    bind: Engine
    if write:
        bind = engine.execution_options(crm_write=True)
    elif engine.dialect.name == "postgresql":
        bind = engine.execution_options(isolation_level="REPEATABLE READ")
    else:
        bind = engine
    session = Session(bind=bind, expire_on_commit=False, autoflush=True)
    try:
        yield session
        if before_commit is not None:
            before_commit(session)
        session.commit()
    except StaleDataError as exc:
        # The version guard: another writer changed the record after this one read it.
        message = _stale_message(exc, session)
        session.rollback()
        raise Conflict(message) from exc
    except IntegrityError as exc:
        # Checks in the services catch these first; this is the race where another process
        # wrote the same unique value in between.
        session.rollback()
        raise Conflict(_unique_message(exc, session)) from exc
    except DataError as exc:
        session.rollback()
        raise InvalidValue("value", _first_line(exc), "out of range for the database") from exc
    except DBAPIError as exc:
        session.rollback()
        if _sqlstate(exc) in _RETRYABLE:
            raise Conflict(
                "another command was changing the same records at the same moment; nothing "
                "was saved: run it again"
            ) from exc
        if isinstance(exc, OperationalError):
            raise _database_error(exc) from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# PostgreSQL's deadlock_detected and serialization_failure: two writers crossed; the loser
# is rolled back whole and may simply run again.
_RETRYABLE = {"40P01", "40001"}


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def _stale_message(exc: StaleDataError, session: Session) -> str:
    import re

    match = re.search(r"table '(\w+)'", str(exc))
    table = match.group(1) if match else ""
    stale = sorted(
        int(obj.id)
        for obj in list(session.dirty) + list(session.deleted)
        if getattr(obj, "__tablename__", None) == table and getattr(obj, "id", None) is not None
    )
    what = f"{table.replace('_', ' ')} {', '.join(map(str, stale))}" if stale else "a record"
    return (
        f"{what} was changed by someone else while this command ran; nothing was saved. "
        "Look at it again and repeat the change"
    )


def optimize(engine: Engine) -> None:
    """Keep SQLite's planner statistics fresh: `PRAGMA optimize` is cheap when nothing needs
    analysing, and analyses a table only when it was never analysed or has grown 25 times
    since. Run as a connection closes, as SQLite recommends; a busy database is left for the
    next time.

    The analysis reads whole indexes (`analysis_limit = 0`), not their first 400 entries: on
    a column with few values those all hold one value, so SQLite took a stage or a lifecycle
    for a few hundred rows of a million and chose plans that read every row (`deal list
    --sort -value` 1.9x, `deal list --company` 1.8x the same listing on a 100-row database,
    at a million deals). Reading them whole costs 80 ms for 100,000 contacts, once per 25x
    growth."""
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as conn:
            raw: Any = conn.connection.driver_connection
            # Never hold up the end of a command for statistics: give up at once when busy.
            raw.execute("PRAGMA busy_timeout = 50")
            raw.execute("PRAGMA analysis_limit = 0")
            raw.execute("PRAGMA optimize")
            raw.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except Exception:  # noqa: BLE001  (statistics are an optimisation, never a failure)
        pass


def _unique_message(exc: IntegrityError, session: Session) -> str:
    """What the services' own check says, where the value is known: `email 'x' belongs to
    contact 24 (Ana Lima)` for an email another command added at the same moment."""
    import re

    from sqlalchemy import text

    detail = getattr(getattr(exc.orig, "diag", None), "message_detail", None) or ""
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
    match = re.match(r"Key \(email\)=\((.*)\) already exists", detail)
    if constraint == "uq_contact_email_email" and match:
        email = match.group(1)
        try:
            row = session.execute(
                text(
                    "SELECT c.id, c.name FROM contact c JOIN contact_email e "
                    "ON e.contact_id = c.id WHERE e.email = :email"
                ),
                {"email": email},
            ).first()
        except DBAPIError:
            row = None
        finally:
            session.rollback()
        if row is not None:
            return f"email {email!r} belongs to contact {row[0]} ({row[1]})"
        return f"email {email!r} belongs to another contact"
    return f"the database refused the change: {_first_line(exc)}"


def _first_line(exc: DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def _database_error(exc: OperationalError) -> DatabaseError:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    if "locked" in text or "busy" in text:
        return DatabaseError(f"the database stayed busy for {BUSY_TIMEOUT_MS // 1000} s: {text}")
    return DatabaseError(f"database error: {text.splitlines()[0] if text else exc}")
