"""Alembic environment: runs migrations on the engine crm opened, in one transaction."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import crm_cli.store.models
import crm_cli.store.sales  # noqa: F401  (registers the sales tables)
from crm_cli.store.migrate import lock_for_migration

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from crm_cli.store.engine import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.execution_options(crm_write=True).connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            transaction_per_migration=False,
            compare_type=True,
        )
        with context.begin_transaction():
            lock_for_migration(connection)
            # Another process may have migrated while this one waited for the lock.
            context.run_migrations()
        if connection.dialect.name == "sqlite":
            connection.execute(text("PRAGMA optimize"))


run_migrations_online()
