"""Two shells on one PostgreSQL database adding the same company name or email at once: one
succeeds, the other gets the message it gets when run after the first (PostgreSQL does not
serialise writers as SQLite does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

pytestmark = pytest.mark.postgres

ROUNDS = 12

WRITER = """
import sys
from crm_cli.cli import main
tag, rounds = sys.argv[1], int(sys.argv[2])
for i in range(rounds):
    main(["company", "add", f"Solo {i}"])
    email = f"p{i}{tag}@x.com"
    main(["contact", "add", f"P{i} {tag}", "--email", email, "--company", f"New Co {i}"])
    main(["deal", "add", f"Deal {i} {tag}", "--company", f"Fresh Co {i}"])
    main(["contact", "add", f"Dup {i} {tag}", "--email", f"dup{i}@x.com"])
"""


def _crm_json(env: dict[str, str], *args: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "crm_cli", *args, "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return list(json.loads(done.stdout))


def test_same_company_and_email_from_two_shells(pg_url: str) -> None:
    env = dict(os.environ, CRM_DATABASE_URL=pg_url)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, tag, str(ROUNDS)],
            env=dict(env, CRM_USER_NAME=tag),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("ana", "bo")
    ]
    errors = "".join(p.communicate(timeout=300)[1] for p in procs)
    names = Counter(str(c["name"]) for c in _crm_json(env, "company", "list"))
    assert {n: k for n, k in names.items() if k > 1} == {}
    for i in range(ROUNDS):
        assert names[f"Solo {i}"] == names[f"New Co {i}"] == names[f"Fresh Co {i}"] == 1
    # Every loser is refused by name, never by the database's index.
    assert "refused the change" not in errors
    lines = [line for line in errors.splitlines() if line.strip()]
    assert len(lines) == 2 * ROUNDS, errors
    assert sum("exists already" in line for line in lines) == ROUNDS
    assert sum("belongs to contact" in line for line in lines) == ROUNDS
    # The contacts and deals of both shells point at the one company of each name.
    contacts = _crm_json(env, "contact", "list")
    assert len(contacts) == 3 * ROUNDS


def test_an_email_added_at_the_same_moment_is_named(pg_url: str) -> None:
    """When the database's unique index is what refuses an email (a writer that does not
    take turns on it, such as an import), the message is the one the check gives."""
    from sqlalchemy import text

    from crm_cli.errors import Conflict
    from crm_cli.store.engine import make_engine, session_scope

    env = dict(os.environ, CRM_DATABASE_URL=pg_url)
    subprocess.run(
        [sys.executable, "-m", "crm_cli", "contact", "add", "Ana Lima", "--email", "dup7@x.com"],
        env=env,
        check=True,
        capture_output=True,
    )
    engine = make_engine(pg_url)
    try:
        with pytest.raises(Conflict) as refused, session_scope(engine) as session:
            session.execute(
                text(
                    "INSERT INTO contact_email (contact_id, email, position) "
                    "VALUES (1, 'dup7@x.com', 1)"
                )
            )
    finally:
        engine.dispose()
    assert str(refused.value) == "email 'dup7@x.com' belongs to contact 1 (Ana Lima)"
