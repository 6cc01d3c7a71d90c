"""Fixtures shared by every test.

- Every test runs with CRM_HOME in its own temporary folder: no test touches the real user's
  config or database.
- `db_url` runs a test on SQLite (a real file) and on PostgreSQL (a real server, a fresh
  database per test, cloned from a migrated template). Without a reachable server the
  PostgreSQL half skips with the reason, unless CRM_REQUIRE_POSTGRES=1 (as in CI), where it
  fails instead.
- `crm` runs the real command in-process, `main(argv)`, and returns its exit code, stdout and
  stderr.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PG_URL = os.environ.get(
    "CRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def crm_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "crm-home"
    home.mkdir()
    monkeypatch.setenv("CRM_HOME", str(home))
    for var in (
        "CRM_DATABASE_URL",
        "CRM_USER_NAME",
        "CRM_USER_EMAIL",
        "CRM_TIMEZONE",
        "NO_COLOR",
        "CRM_DEBUG",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CRM_USER_NAME", "Test User")
    monkeypatch.setenv("CRM_USER_EMAIL", "tester@example.com")
    monkeypatch.setenv("CRM_TIMEZONE", "Europe/Berlin")
    return home


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_admin_conninfo() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test clones it (fast) instead of migrating."""
    try:
        import psycopg

        admin = psycopg.connect(_pg_admin_conninfo(), autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        reason = f"PostgreSQL not reachable at {PG_URL}: {str(exc).strip().splitlines()[0]}"
        if os.environ.get("CRM_REQUIRE_POSTGRES"):
            pytest.fail(reason + " (CRM_REQUIRE_POSTGRES is set)")
        pytest.skip(reason)
    name = f"crm_tpl_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = _db_url(name)
    from crm_cli.store.engine import make_engine
    from crm_cli.store.migrate import ensure_current

    engine = make_engine(url)
    ensure_current(engine, None)
    engine.dispose()
    try:
        yield name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _db_url(name: str) -> str:
    base = PG_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    import psycopg

    name = f"crm_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield _db_url(name)
    finally:
        with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, crm_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The database a test runs on; CRM_DATABASE_URL points `crm` at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{crm_home / 'test.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    return url


@pytest.fixture
def sqlite_url(crm_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file only: for tests of SQLite's own behaviour (query plans, PRAGMAs)."""
    url = f"sqlite:///{crm_home / 'test.db'}"
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    return url


# --- running crm ----------------------------------------------------------------------------


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out[:500]!r}, err={self.err[:500]!r})"


class Runner:
    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        import io
        import sys

        from crm_cli.cli import main

        self.capsys.readouterr()
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main([str(a) for a in args])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *args: str, stdin: str | None = None) -> Result:
        """Run and insist on success; returns the result."""
        result = self(*args, stdin=stdin)
        assert result.code == 0, result
        return result

    def json(self, *args: str, stdin: str | None = None) -> Any:
        return self.ok(*args, "--json", stdin=stdin).json


@pytest.fixture
def crm(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Runner:
    return Runner(capsys, monkeypatch)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party test files not present at {SHARED_DATA}")
    return SHARED_DATA
