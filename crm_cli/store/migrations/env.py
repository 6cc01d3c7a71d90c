"""Alembic environment: runs migrations on the engine crm opened, in one transaction.

On SQLite the connection runs with foreign keys OFF while migrating. Alembic changes a SQLite
table by copying it, dropping the original and renaming the copy; with foreign keys on, the
drop deletes every child row through ON DELETE CASCADE (stage changes, tags, follow-ups...).
Instead, `PRAGMA foreign_key_check` runs before the commit, and any broken reference rolls the
whole migration back (sqlite-utils' `Table.transform` does the same).
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import crm_cli.store.journal
import crm_cli.store.models
import crm_cli.store.sales
from crm_cli.errors import DatabaseError
from crm_cli.store.migrate import lock_for_migration
from crm_cli.store.rollups import restore_sqlite_triggers

config = context.config
crm_cli.store.sales.load_all()  # every table on the metadata, with the journal's
crm_cli.store.models.postgresql_conditions()
target_metadata = SQLModel.metadata


def _pragma(connection: Any, statement: str) -> None:
    # On the driver's connection, outside any transaction: inside one SQLite ignores it.
    connection.connection.driver_connection.execute(statement)


def check_foreign_keys(connection: Any) -> None:
    broken = connection.execute(text("PRAGMA foreign_key_check")).all()
    if broken:
        first = broken[0]
        raise DatabaseError(
            f"migration refused: {len(broken)} row(s) would point at records that do not "
            f"exist (first: {first[0]} row {first[1]} -> {first[2]}); nothing was changed"
        )


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from crm_cli.store.engine import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.execution_options(crm_write=True).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _pragma(connection, "PRAGMA foreign_keys = OFF")
            # A table rebuild's rename must not refuse the report rollups' triggers, which
            # name other tables (crm_cli/store/rollups.py); they are put back after.
            _pragma(connection, "PRAGMA legacy_alter_table = ON")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                # SQLite's DDL is transactional, though Alembic assumes otherwise and would
                # commit each revision on its own: all pending revisions, and the foreign-key
                # check after them, are one transaction.
                transactional_ddl=True,
                transaction_per_migration=False,
                compare_type=True,
            )
            with context.begin_transaction():
                lock_for_migration(connection)
                # Another process may have migrated while this one waited for the lock.
                context.run_migrations()
                if sqlite:
                    restore_sqlite_triggers(connection)
                    check_foreign_keys(connection)
        finally:
            if sqlite:
                _pragma(connection, "PRAGMA legacy_alter_table = OFF")
                _pragma(connection, "PRAGMA foreign_keys = ON")
        if sqlite:
            connection.execute(text("PRAGMA optimize"))
            connection.commit()


run_migrations_online()
