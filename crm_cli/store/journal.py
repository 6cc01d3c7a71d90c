"""The change journal's tables: one `change_set` per command that wrote, one `change_entry`
per record it created, changed or removed, with the old and new value of each changed field.

Plain Core tables: the journal is written in bulk at commit time and read by column, never as
objects. Entries hold JSON so that any table's fields fit without a column per field; values
are the database values (times as ISO 8601 in UTC), decoded again by the column's type when a
change is undone.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table
from sqlmodel import SQLModel

from crm_cli.store.types import UTCDateTime

ChangeSet = Table(
    "change_set",
    SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("user_id", Integer, ForeignKey("user.id", ondelete="SET NULL"), index=True),
    # The command line as typed (`crm deal move 42 won`), or what the TUI or an import did.
    Column("command", String, nullable=False),
    Column("source", String, nullable=False),  # cli, tui, import
    # An undo is a change set of its own that points at the one it reverted; the reverted one
    # points back, so it is not undone twice.
    Column("undoes_id", Integer, ForeignKey("change_set.id", ondelete="SET NULL")),
    Column("undone_by_id", Integer, ForeignKey("change_set.id", ondelete="SET NULL")),
)

ChangeEntry = Table(
    "change_entry",
    SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "change_set_id",
        Integer,
        ForeignKey("change_set.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("position", Integer, nullable=False),
    Column("entity", String, nullable=False),  # the table: contact, deal, stage_change, ...
    Column("record_id", Integer, nullable=False),
    Column("action", String, nullable=False),  # create, update, remove
    Column("old", JSON),  # update: the changed fields before; remove: the whole row
    Column("new", JSON),  # update: the changed fields after; create: the whole row
    # `crm history contact 12` reads a record's entries newest first from this.
    Index("ix_change_entry_record", "entity", "record_id", "change_set_id"),
)
