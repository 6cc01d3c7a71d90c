"""An import takes turns with `crm company add` and `crm contact add` on the company names it
creates and the emails it inserts (PostgreSQL's advisory locks, the ones those commands take),
so a company added by hand at the moment an import creates it exists once, not twice.

PostgreSQL only: SQLite's write lock already makes every writer wait for the other.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import Runner
from tests.integration.test_lost_updates import _race

ROUNDS = 30


def _companies(db_url: str) -> dict[str, int]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT name, count(*) FROM company WHERE deleted_at IS NULL GROUP BY name")
            ).all()
    finally:
        engine.dispose()
    return {str(name): int(n) for name, n in rows}


def test_an_import_and_a_company_add_of_the_same_name_at_once_make_one_company(
    db_url: str, crm: Runner, crm_home: Path, tmp_path: Path
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite's write lock serialises the two writers already")
    crm.ok("contact", "add", "Someone", "--email", "someone@example.com")  # a migrated database
    imports, adds = [], []
    for i in range(ROUNDS):
        name = f"Racer {i}"
        path = tmp_path / f"c{i}.csv"
        if i % 2:  # a company file, and a contact file naming the company
            path.write_text(f"name,domain\n{name},racer{i}.example\n", encoding="utf-8")
            imports.append(["import", "companies", str(path)])
        else:
            path.write_text(f"name,email,company\nP {i},p{i}@example.com,{name}\n", "utf-8")
            imports.append(["import", "contacts", str(path)])
        adds.append(["company", "add", name.upper() if i % 3 == 0 else name])
    results = _race(db_url, crm_home, imports, adds)
    # Every import went in; an add that came second was refused, naming the company.
    assert all(code == 0 or "exists already" in err for code, err in results), results
    counts = _companies(db_url)
    folded: dict[str, int] = {}
    for name, n in counts.items():
        folded[name.lower()] = folded.get(name.lower(), 0) + n
    twice = sorted(name for name, n in folded.items() if n > 1)
    assert twice == []
    assert sorted(folded) == sorted(f"racer {i}" for i in range(ROUNDS))


def test_an_import_holds_one_lock_for_every_name_and_email(db_url: str) -> None:
    """However many companies and emails an import creates, it holds one advisory lock for
    them (PostgreSQL's lock table holds about 6,400 for all sessions together), and a
    `company add` checking a name waits behind it."""
    if not db_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    from sqlalchemy.orm import Session

    from crm_cli.services.lookups import lock_all_values, lock_values

    engine = sa.create_engine(db_url)
    held = "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    try:
        with Session(engine) as importing, Session(engine) as adding:
            importing.info["write"] = adding.info["write"] = True
            lock_all_values(importing)
            assert importing.execute(sa.text(held)).scalars().all() == ["ExclusiveLock"]
            adding.execute(sa.text("SET lock_timeout = '200ms'"))
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                lock_values(adding, "company", ["Acme GmbH"])
            adding.rollback()
            importing.rollback()  # the import ends: the add goes through
            adding.execute(sa.text("SET lock_timeout = '2s'"))
            lock_values(adding, "company", ["Acme GmbH"])
            assert sorted(adding.execute(sa.text(held)).scalars()) == [
                "ExclusiveLock",
                "ShareLock",
            ]
            adding.rollback()
    finally:
        engine.dispose()
