"""What a command runs against: the settings, the database, and who is using it.

A Context is opened once, under a lock, before anything uses it: the engine is made, the schema
migrated and the current user resolved, all up front. After that it holds no mutable state, so
any number of threads (the TUI's workers) can take sessions from it at once. The display zone
travels with each session (`session.info["tz"]`), never through module state.

Write sessions carry the change journal's recorder: what the block changed is written as one
change set in the same transaction, just before it commits.
"""

from __future__ import annotations

import getpass
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crm_cli import config as config_mod
from crm_cli import paths
from crm_cli.errors import Conflict, DatabaseError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from crm_cli.config import Config


def database_url(cfg: Config, *, demo: bool = False) -> str:
    if demo:
        return paths.sqlite_url(paths.demo_db_path())
    return cfg.database_url or paths.sqlite_url(paths.default_db_path())


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    return paths.sqlite_path(url)


@dataclass
class Context:
    config: Config
    url: str
    # What the journal records as the command of each change set, and where it came from.
    command: str = "crm"
    source: str = "cli"
    migration_backup: str | None = None
    _engine: Engine | None = field(default=None, repr=False)
    _user_id: int | None = field(default=None, repr=False)
    _tz: ZoneInfo | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def open(self) -> Context:
        """Open the database, migrate it and resolve the current user; idempotent and
        thread-safe. Every session is handed out only after this has finished."""
        if self._user_id is not None:
            return self
        with self._lock:
            if self._user_id is not None:
                return self
            from crm_cli.domain.dates import zone

            tz = zone(self.config.timezone, field="defaults.timezone")
            engine = self._engine or self._connect()
            self._engine = engine
            self._tz = tz
            self._user_id = self._resolve_user(engine)
        return self

    def _connect(self) -> Engine:
        from crm_cli.store.engine import make_engine
        from crm_cli.store.migrate import ensure_current

        path = sqlite_file(self.url)
        if path is not None:
            try:
                paths.private_dir(path.parent)
                paths.private_sqlite(path)
            except OSError as exc:
                raise DatabaseError(f"cannot create {path}: {exc.strerror}") from None
        try:
            engine = make_engine(self.url)
            self.migration_backup = ensure_current(engine, path)
        except DatabaseError:
            raise
        except Exception as exc:  # connection refused, bad credentials, not a database
            reason = str(getattr(exc, "orig", None) or exc).strip()
            first = reason.splitlines()[0] if reason else type(exc).__name__
            raise DatabaseError(f"cannot open the database {self.safe_url}: {first}") from None
        return engine

    def _resolve_user(self, engine: Engine) -> int:
        from crm_cli.services.users import ensure_user, find_user
        from crm_cli.store.engine import session_scope

        name = self.config.user_name or _login_name()
        email = self.config.user_email
        # Almost always the user exists: look without taking the write lock.
        with session_scope(engine, write=False) as session:
            found = find_user(session, name, email)
        if found is not None:
            return found
        try:
            with session_scope(engine, write=True) as session:
                return ensure_user(session, name, email)
        except Conflict:
            # Another process created the same user a moment ago: use theirs.
            with session_scope(engine, write=False) as session:
                found = find_user(session, name, email)
            if found is None:
                raise
            return found

    @property
    def engine(self) -> Engine:
        self.open()
        assert self._engine is not None
        return self._engine

    @property
    def tz(self) -> ZoneInfo:
        if self._tz is None:
            from crm_cli.domain.dates import zone

            return zone(self.config.timezone, field="defaults.timezone")
        return self._tz

    def close(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
            self._user_id = None
        if engine is not None:
            from crm_cli.store.engine import optimize

            optimize(engine)
            engine.dispose()

    @property
    def safe_url(self) -> str:
        if "@" in self.url and "://" in self.url:
            scheme, rest = self.url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}@{host}"
        return self.url

    @contextmanager
    def session(self, *, write: bool = True, journal: bool = True) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises. A write
        session records what it changed as one change set of the journal (unless
        `journal=False` or `journal.enabled` is off)."""
        from crm_cli.store.engine import session_scope

        self.open()
        assert self._engine is not None
        recorder = None
        if write and journal and self.config.journal_enabled:
            from crm_cli.services.journal import Recorder

            recorder = Recorder(self)
        with session_scope(
            self._engine,
            write=write,
            before_commit=recorder.commit if recorder is not None else None,
        ) as session:
            session.info["tz"] = self.tz
            session.info["write"] = write
            if recorder is not None:
                recorder.attach(session)
            yield session

    def user_id(self, session: Session | None = None) -> int:
        """The current user's id (resolved when the context was opened)."""
        self.open()
        assert self._user_id is not None
        return self._user_id


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "me"


def open_context(*, demo: bool = False, cfg: Config | None = None) -> Context:
    """A context for the configured database. It opens on first use (or `open()`)."""
    cfg = cfg or config_mod.load()
    return Context(config=cfg, url=database_url(cfg, demo=demo))
