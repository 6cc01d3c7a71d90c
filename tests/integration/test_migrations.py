"""Migrations keep every row: seeded upgrades from each shipped revision, a batch migration on
every table that has children, the foreign-key check before commit, conventional names.

Runs on SQLite (a real file) and PostgreSQL. Rows are generated from the schema as it is at
each revision (reflected), so every table and every column gets data, children included.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from crm_cli.errors import DatabaseError
from crm_cli.store.engine import make_engine
from crm_cli.store.migrate import HEAD, MIGRATIONS_DIR, alembic_config, current_revision

SKIP_TABLES = {"alembic_version"}


def _upgrade(engine: sa.Engine, revision: str, script_location: Path | None = None) -> None:
    from alembic import command

    config = alembic_config(engine)
    if script_location is not None:
        config.set_main_option("script_location", str(script_location))
    command.upgrade(config, revision)


def _tables(conn: sa.Connection) -> list[sa.Table]:
    meta = sa.MetaData()
    meta.reflect(conn)
    return [t for t in meta.sorted_tables if t.name not in SKIP_TABLES and "_fts" not in t.name]


def _value(column: sa.Column[Any], i: int, table: str) -> Any:
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return datetime(2026, 1, 1 + i, 12, 30, tzinfo=UTC)
    if isinstance(kind, sa.Date):
        return date(2026, 2, 1 + i)
    if isinstance(kind, sa.JSON):
        return {"seed": i, "名前": "张伟"}
    if isinstance(kind, sa.Boolean):
        return bool(i % 2)
    if isinstance(kind, sa.Integer):
        return 1000 + i
    return f"{table}.{column.name}.{i}@seed 张伟"


SEED_BASE = 100  # ids of seeded rows: clear of the rows migrations create themselves


def _seed(engine: sa.Engine, rows_per_table: int = 3) -> None:
    """Give every table that exists (and is still empty of seed rows) rows_per_table rows, each
    foreign key pointing at a seeded parent."""
    with engine.begin() as conn:
        for table in _tables(conn):
            if conn.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(*[c >= SEED_BASE for c in table.primary_key.columns if c.name == "id"])
            ).scalar():
                continue  # seeded at an earlier revision
            rows = []
            for i in range(rows_per_table):
                row: dict[str, Any] = {}
                for column in table.columns:
                    if column.foreign_keys or column.name == "id":
                        row[column.name] = SEED_BASE + i
                    else:
                        row[column.name] = _value(column, i, table.name)
                rows.append(row)
            conn.execute(table.insert(), rows)
        if engine.dialect.name == "postgresql":
            # Keep the id sequences ahead of the seeded ids, as real inserts would.
            for table in _tables(conn):
                if "id" in table.c and table.c.id.autoincrement:
                    conn.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                            f'(SELECT coalesce(max(id), 1) FROM "{table.name}"))'
                        )
                    )


def _snapshot(engine: sa.Engine, columns_of: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Every row of every table, by the given columns (default: all), ordered by key."""
    result: dict[str, Any] = {}
    with engine.connect() as conn:
        for table in _tables(conn):
            if columns_of is not None and table.name not in columns_of:
                continue  # a table the upgrade added
            names = columns_of[table.name] if columns_of else [c.name for c in table.columns]
            order = list(table.primary_key.columns) or [table.c[names[0]]]
            rows = conn.execute(sa.select(*[table.c[n] for n in names]).order_by(*order))
            result[table.name] = [tuple(_plain(v) for v in r) for r in rows]
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _columns(engine: sa.Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        return {t.name: [c.name for c in t.columns] for t in _tables(conn)}


@pytest.fixture
def engine(db_url: str) -> Any:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def fresh_engine(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """An empty database (SQLite file, or a new PostgreSQL database), not yet migrated."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'up.db'}")
        yield eng
        eng.dispose()
        return
    import uuid

    import psycopg

    from tests.conftest import _db_url, _pg_admin_conninfo

    try:
        admin = psycopg.connect(_pg_admin_conninfo(), autocommit=True, connect_timeout=3)
    except Exception as exc:  # noqa: BLE001
        import os

        if os.environ.get("CRM_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"crm_up_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    eng = make_engine(_db_url(name))
    try:
        yield eng
    finally:
        eng.dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


BOTH = pytest.mark.parametrize(
    "fresh_engine",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@BOTH
@pytest.mark.parametrize("start", ["0001_initial", "0002_sales"])
def test_seeded_upgrade_keeps_every_row(fresh_engine: sa.Engine, start: str) -> None:
    """Seed every table at each older revision, upgrade to head: every row and value stays."""
    _upgrade(fresh_engine, "0001_initial")
    _seed(fresh_engine)
    if start == "0002_sales":
        _upgrade(fresh_engine, "0002_sales")
        _seed(fresh_engine)
    before_columns = _columns(fresh_engine)
    before = _snapshot(fresh_engine)
    counts = {t: len(rows) for t, rows in before.items()}
    assert all(counts.values()), counts  # every table really had rows

    _upgrade(fresh_engine, "head")

    assert current_revision(fresh_engine) == HEAD
    assert _snapshot(fresh_engine, before_columns) == before
    with fresh_engine.connect() as conn:
        for table in ("contact", "deal", "company", "followup"):
            if table in before:
                versions = conn.execute(sa.text(f'SELECT DISTINCT version FROM "{table}"')).all()
                assert [tuple(v) for v in versions] == [(1,)]


@BOTH
def test_seeded_upgrade_keeps_search_working(fresh_engine: sa.Engine) -> None:
    """SQLite drops a table's triggers with it: the rebuilt contact table must still feed the
    search index, and the index must still match the rows."""
    _upgrade(fresh_engine, "0002_sales")
    _seed(fresh_engine)
    _upgrade(fresh_engine, "head")
    if fresh_engine.dialect.name != "sqlite":
        return
    with fresh_engine.begin() as conn:
        triggers = {
            r[0]
            for r in conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type='trigger'"))
        }
        assert {f"{t}_fts_{e}" for t in ("contact", "company") for e in ("ai", "ad", "au")} <= (
            triggers
        )
        conn.execute(
            sa.text(
                "INSERT INTO contact (created_at, updated_at, name, lifecycle, custom, "
                "search_name, search_doc) VALUES ('2026-01-01', '2026-01-01', 'Zoë', 'lead', "
                "'{}', 'zoe', '')"
            )
        )
        found = conn.execute(
            sa.text("SELECT rowid FROM contact_fts WHERE contact_fts MATCH 'zoe'")
        ).all()
        assert len(found) == 1
        conn.execute(sa.text("INSERT INTO contact_fts(contact_fts) VALUES ('integrity-check')"))


@BOTH
def test_upgrade_fills_the_search_words_of_deals_and_notes(fresh_engine: sa.Engine) -> None:
    """0004 gives every existing deal and log entry its search words (removed ones too, for
    a later restore) and indexes the live ones; later writes keep the index in step."""
    from sqlalchemy.orm import Session

    from crm_cli.domain.text import index_tokens
    from crm_cli.services.search import ranked_ids

    _upgrade(fresh_engine, "0003_trust")
    _seed(fresh_engine)  # every seeded row is removed: each column has a value
    with fresh_engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE deal SET deleted_at = NULL, title = 'Acme 张伟公司 renewal' WHERE id = 100"
            )
        )
        conn.execute(
            sa.text("UPDATE interaction SET deleted_at = NULL, body = 'Budget ok' WHERE id = 101")
        )
    _upgrade(fresh_engine, "0004_search_deals")

    with fresh_engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT title, search_name FROM deal ORDER BY id")).all()
        assert [r[1] for r in rows] == [index_tokens(r[0]) for r in rows]
        notes = conn.execute(sa.text("SELECT summary, body, search_doc FROM interaction")).all()
        assert [r[2] for r in notes] == [index_tokens(r[0], r[1]) for r in notes]
    with Session(fresh_engine) as session:
        for query in ("renewal", "acme", "公司", "张伟"):
            assert [i for i, _ in ranked_ids(session, "deal", query, 10)] == [100], query
        assert ranked_ids(session, "deal", "seed", 10) == []  # the removed ones
        assert [i for i, _ in ranked_ids(session, "interaction", "budget", 10)] == [101]
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE deal SET deleted_at = NULL WHERE id = 102"))
        conn.execute(sa.text("UPDATE deal SET deleted_at = '2026-05-01' WHERE id = 100"))
    with Session(fresh_engine) as session:
        assert [i for i, _ in ranked_ids(session, "deal", "seed", 10)] == [102]
        assert ranked_ids(session, "deal", "renewal", 10) == []
    if fresh_engine.dialect.name == "sqlite":
        with fresh_engine.begin() as conn:
            for table in ("deal", "interaction"):
                check = f"INSERT INTO {table}_fts({table}_fts) VALUES ('integrity-check')"
                conn.execute(sa.text(check))


def _tables_with_children() -> list[str]:
    from sqlmodel import SQLModel

    import crm_cli.store.journal
    import crm_cli.store.sales

    crm_cli.store.sales.load_all()
    parents = {
        fk.column.table.name for t in SQLModel.metadata.tables.values() for fk in t.foreign_keys
    }
    return sorted(parents)


def _throwaway(tmp_path: Path, body: str) -> Path:
    """A copy of the shipped migrations with one more revision on top."""
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, location, ignore=shutil.ignore_patterns("__pycache__"))
    (location / "versions" / "9999_throwaway.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = '9999_throwaway'\ndown_revision = {HEAD!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade() -> None:\n" + body
    )
    return location


@BOTH
def test_batch_migration_on_every_parent_table_loses_no_child(
    fresh_engine: sa.Engine, tmp_path: Path
) -> None:
    """The way Alembic changes a SQLite table (copy, drop, rename) used to cascade the drop to
    every child row. A throw-away migration rebuilds every table that has children."""
    _upgrade(fresh_engine, "head")
    _seed(fresh_engine)
    before_columns = _columns(fresh_engine)
    before = _snapshot(fresh_engine)
    assert all(len(rows) for rows in before.values())
    parents = _tables_with_children()
    assert {"contact", "deal", "company", "user", "stage", "pipeline"} <= set(parents)
    recreate = "always" if fresh_engine.dialect.name == "sqlite" else "auto"
    body = "".join(
        f"    with op.batch_alter_table({t!r}, recreate={recreate!r}) as batch:\n"
        f"        batch.add_column(sa.Column('scratch', sa.String(), nullable=True))\n"
        for t in parents
    )
    _upgrade(fresh_engine, "head", _throwaway(tmp_path, body))
    assert current_revision(fresh_engine) == "9999_throwaway"
    assert _snapshot(fresh_engine, before_columns) == before


def test_migration_that_breaks_a_reference_is_rolled_back(sqlite_url: str, tmp_path: Path) -> None:
    """With foreign keys off during migrations, the check before commit is what stands
    between a bad migration and orphaned rows: it must refuse, and nothing may change."""
    engine = make_engine(sqlite_url)
    try:
        _upgrade(engine, "head")
        _seed(engine)
        before = _snapshot(engine)
        body = (
            '    op.execute("INSERT INTO contact_email (contact_id, email, position) '
            "VALUES (999999, 'orphan@example.com', 0)\")\n"
        )
        with pytest.raises(DatabaseError, match="would point at records that do not exist"):
            _upgrade(engine, "head", _throwaway(tmp_path, body))
        assert current_revision(engine) == HEAD
        assert _snapshot(engine) == before
        with engine.connect() as conn:
            # The application's connections still enforce foreign keys afterwards.
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_every_constraint_has_its_conventional_name(engine: sa.Engine) -> None:
    """The same names on SQLite and PostgreSQL, so later migrations can address them."""
    from crm_cli.store.migrate import ensure_current

    ensure_current(engine, None)
    inspector = sa.inspect(engine)
    seen = 0
    for table in inspector.get_table_names():
        if table in SKIP_TABLES or "_fts" in table:
            continue
        pk = inspector.get_pk_constraint(table)
        if engine.dialect.name == "postgresql":  # SQLite does not report a primary key's name
            assert pk["name"] == f"pk_{table}", (table, pk)
        for fk in inspector.get_foreign_keys(table):
            col = fk["constrained_columns"][0]
            assert fk["name"] == f"fk_{table}_{col}_{fk['referred_table']}", (table, fk)
            seen += 1
        for uq in inspector.get_unique_constraints(table):
            assert uq["name"] is not None and uq["name"].startswith(f"uq_{table}_"), (table, uq)
        for ix in inspector.get_indexes(table):
            if ix.get("duplicates_constraint"):
                continue  # PostgreSQL's index behind a unique constraint: named with it
            assert ix["name"] is not None and ix["name"].startswith("ix_"), (table, ix)
    assert seen > 20


@BOTH
def test_lost_deals_share_their_days_rows_after_the_upgrade(fresh_engine: sa.Engine) -> None:
    """0017: a day's lost deals of different cycle lengths, stored a row each as the rollup
    used to, end in one row of `deal_close_rollup` (cycle 0); won deals keep their cycle; the
    triggers follow."""
    from crm_cli.store.rollups import close_fill_statements

    _upgrade(fresh_engine, "0016_idle_rollup")
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with fresh_engine.begin() as conn:
        stages = dict(conn.execute(sa.text("SELECT kind, min(id) FROM stage GROUP BY kind")).all())
        pipeline = conn.execute(sa.text("SELECT min(id) FROM pipeline")).scalar()
        for i, (status, created) in enumerate(
            [("lost", "2026-01-10"), ("lost", "2026-02-20"), ("won", "2026-02-01")]
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO deal (title, pipeline_id, stage_id, status, value_minor, "
                    "currency, created_at, updated_at, stage_entered_at, closed_at, version, "
                    "search_name) VALUES (:title, :pipeline, :stage, :status, 100, 'EUR', "
                    ":created, :t, :t, :t, 1, '')"
                ),
                {
                    "title": f"D{i}",
                    "pipeline": pipeline,
                    "stage": stages[status],
                    "status": status,
                    "created": datetime.fromisoformat(created).replace(hour=12, tzinfo=UTC),
                    "t": now,
                },
            )
        # The rows as the rollup stored them before: each lost deal under its own cycle.
        conn.execute(sa.text("UPDATE deal_close_rollup SET n = 1, cycle_days = 18 WHERE n = 2"))
        conn.execute(
            sa.text(
                "INSERT INTO deal_close_rollup SELECT close_day, status, pipeline_id, owner_id, "
                "source, currency, 59, n, value_minor FROM deal_close_rollup WHERE status = 'lost'"
            )
        )
    query = "SELECT status, cycle_days, n FROM deal_close_rollup ORDER BY status, cycle_days"
    with fresh_engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(sa.text(query))] == [
            ("lost", 18, 1),
            ("lost", 59, 1),
            ("won", 37, 1),
        ]
    _upgrade(fresh_engine, "head")
    with fresh_engine.begin() as conn:
        assert [tuple(r) for r in conn.execute(sa.text(query))] == [("lost", 0, 2), ("won", 37, 1)]
        conn.execute(
            sa.text("UPDATE deal SET status = 'lost', stage_id = :s WHERE title = 'D2'"),
            {"s": stages["lost"]},
        )
        assert [tuple(r) for r in conn.execute(sa.text(query))] == [("lost", 0, 3)]
        rollup = sorted(tuple(r) for r in conn.execute(sa.text("SELECT * FROM deal_close_rollup")))
        fill = close_fill_statements(fresh_engine.dialect.name)[1].split(") ", 1)[1]
        assert rollup == sorted(tuple(r) for r in conn.execute(sa.text(fill)))


POSTGRES_ONLY = pytest.mark.parametrize(
    "fresh_engine", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@POSTGRES_ONLY
def test_an_upgrade_on_postgresql_leaves_fresh_planner_statistics(fresh_engine: sa.Engine) -> None:
    """After crm migrates a database that holds data, every table has been analysed by the
    migration (`last_analyze`; autovacuum's own runs are counted apart), so new indexes are
    planned on true estimates at once."""
    from crm_cli.store.migrate import upgrade

    def analysed() -> dict[str, Any]:
        with fresh_engine.connect() as conn:
            query = "SELECT relname, last_analyze FROM pg_stat_user_tables"
            return dict(conn.execute(sa.text(query)).all())

    _upgrade(fresh_engine, "0018_sales_order")
    _seed(fresh_engine)
    before = analysed()
    assert None in before.values()  # some tables never analysed so far

    upgrade(fresh_engine, None, "0018_sales_order")

    assert current_revision(fresh_engine) == HEAD
    after = analysed()
    assert {"deal", "contact", "feedback"} <= set(after)
    stale = [t for t, at in after.items() if at is None or (before.get(t) and at <= before[t])]
    assert stale == []
