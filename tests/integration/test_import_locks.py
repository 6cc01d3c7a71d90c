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


def test_the_import_locks_the_keys_company_add_and_contact_add_lock(db_url: str) -> None:
    """The import's batched locks are the very advisory locks of `lookups.lock_values`
    (same classes, same keys from the same folding), or the two would not take turns."""
    if not db_url.startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's")
    from sqlalchemy.orm import Session

    from crm_cli.services.importing import lock_values_at_once
    from crm_cli.services.lookups import lock_values

    values = {"company": ["Acme  GmbH", "云海科技", "Über Café"], "email": ["a@b.example"]}
    engine = sa.create_engine(db_url)
    held = []
    try:
        for lock in (lock_values, lock_values_at_once):
            with Session(engine) as session:
                session.info["write"] = True
                for kind, names in values.items():
                    lock(session, kind, names)
                held.append(
                    sorted(
                        session.execute(
                            sa.text(
                                "SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' "
                                "AND pid = pg_backend_pid()"
                            )
                        ).all()
                    )
                )
                session.rollback()
    finally:
        engine.dispose()
    assert len(held[0]) == 4
    assert held[0] == held[1]
