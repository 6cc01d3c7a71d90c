"""What a command runs against: the settings, the database, and who is using it."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crm_cli import config as config_mod
from crm_cli import paths
from crm_cli.errors import DatabaseError

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
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    return Path(path) if path and path != ":memory:" else None


@dataclass
class Context:
    config: Config
    url: str
    _engine: Engine | None = field(default=None, repr=False)
    _user_id: int | None = field(default=None, repr=False)
    migration_backup: str | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from crm_cli.store.engine import make_engine
            from crm_cli.store.migrate import ensure_current

            path = sqlite_file(self.url)
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DatabaseError(f"cannot create {path.parent}: {exc.strerror}") from None
            try:
                engine = make_engine(self.url)
                self.migration_backup = ensure_current(engine, path)
            except DatabaseError:
                raise
            except Exception as exc:  # connection refused, bad credentials, not a database
                reason = str(getattr(exc, "orig", None) or exc).strip()
                first = reason.splitlines()[0] if reason else type(exc).__name__
                raise DatabaseError(f"cannot open the database {self.safe_url}: {first}") from None
            self._engine = engine
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def safe_url(self) -> str:
        if "@" in self.url and "://" in self.url:
            scheme, rest = self.url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}@{host}"
        return self.url

    @property
    def tz(self) -> ZoneInfo:
        from crm_cli.domain.dates import zone

        return zone(self.config.timezone, field="defaults.timezone")

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        from crm_cli.services.common import display_zone
        from crm_cli.store.engine import session_scope

        token = display_zone.set(self.tz)
        try:
            with session_scope(self.engine, write=write) as session:
                yield session
        finally:
            display_zone.reset(token)

    def user_id(self, session: Session) -> int:
        """The current user's id, creating their user record on first use."""
        if self._user_id is None:
            from crm_cli.services.users import ensure_user

            name = self.config.user_name or _login_name()
            self._user_id = ensure_user(session, name, self.config.user_email)
        return self._user_id


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "me"


def open_context(*, demo: bool = False, cfg: Config | None = None) -> Context:
    cfg = cfg or config_mod.load()
    return Context(config=cfg, url=database_url(cfg, demo=demo))
