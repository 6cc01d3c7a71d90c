"""Opening is safe with a crowd: threads sharing one Context and processes opening a database
nobody has opened before, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import _db_url, _pg_admin_conninfo

BOTH = pytest.mark.parametrize(
    "blank_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database no crm has opened yet: no file at all, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new' / 'crm.db'}"
        return
    import psycopg

    try:
        admin = psycopg.connect(_pg_admin_conninfo(), autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CRM_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"crm_blank_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _db_url(name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@BOTH
def test_eight_threads_share_one_context_on_a_fresh_database(
    blank_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TUI's workers share one Context: the first to use it opens, migrates and resolves
    the user for all of them, under a lock; the others wait and then work."""
    from crm_cli.services.contacts import ContactFilter, ContactInput, add_contact, list_contacts
    from crm_cli.services.context import open_context

    monkeypatch.setenv("CRM_DATABASE_URL", blank_url)
    ctx = open_context()
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait(timeout=30)
            with ctx.session() as session:
                add_contact(
                    ctx, session, ContactInput(name=f"Thread {i}", emails=[f"t{i}@example.com"])
                )
            with ctx.session(write=False) as session:
                list_contacts(ctx, session, ContactFilter(limit=None))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert errors == []
        with ctx.session(write=False) as session:
            # Every row is streamed while the session is open.
            rows = list(list_contacts(ctx, session, ContactFilter(limit=None)).rows)
        assert sorted(r["name"] for r in rows) == [f"Thread {i}" for i in range(8)]
        # One user, resolved once: every contact is owned by the same person.
        assert {r["owner"] for r in rows} == {"Test User"}
    finally:
        ctx.close()


@BOTH
def test_four_processes_open_a_brand_new_database_at_once(blank_url: str, crm_home: Path) -> None:
    env = dict(os.environ, CRM_DATABASE_URL=blank_url, CRM_HOME=str(crm_home))
    go = crm_home / "go"
    script = (
        "import os, sys, time\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.005)\n"
        "from crm_cli.cli import main\n"
        "sys.exit(main(['contact', 'add', 'P' + sys.argv[1], '--email', "
        "'p' + sys.argv[1] + '@example.com']))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(i)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    go.touch()
    results: list[Any] = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [r for r in results if r[0] != 0] == []
    listed = subprocess.run(
        [sys.executable, "-m", "crm_cli", "contact", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    import json

    assert sorted(c["name"] for c in json.loads(listed.stdout)) == ["P0", "P1", "P2", "P3"]


def test_postgresql_connections_run_without_jit_and_keep_the_urls_options(pg_url: str) -> None:
    """A report's statement over a million deals is costed high enough for PostgreSQL to
    compile it, which took longer than the statement; the URL's own options still apply."""
    from sqlalchemy import text

    from crm_cli.store.engine import make_engine

    cases = (
        (pg_url, "off", "0"),
        (f"{pg_url}?options=-c%20statement_timeout%3D5000", "off", "5s"),
        (f"{pg_url}?options=-c%20jit%3Don", "on", "0"),  # the user's choice wins
    )
    for url, jit, timeout in cases:
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar() == jit
            assert conn.execute(text("SHOW statement_timeout")).scalar() == timeout
        engine.dispose()
