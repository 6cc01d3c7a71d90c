"""The tables. The schema itself is created and changed only by migrations (store/migrations);
a test checks that the migrated schema matches these models.

Every table has an integer id and `created_at` / `updated_at` in UTC. Records people remove
are soft-deleted (`deleted_at`), so `restore` can bring them back. Money is integer minor units.

Every record carries a `version`: the ORM turns each change into an UPDATE of the changed
columns `WHERE id = ? AND version = ?` and raises when another writer got there first, so a
change made from a stale read is refused instead of silently overwriting a newer one.

Every constraint and index is named by `NAMING_CONVENTION`, the same on SQLite and PostgreSQL,
so a migration can address any of them by name on both.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from crm_cli.store.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Before any table is defined: the names are given as the tables are built.
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def _fk(target: str, *, ondelete: str = "RESTRICT", index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column_args=[ForeignKey(target, ondelete=ondelete)],
        index=index,
    )


def _time(*, nullable: bool = True, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=index)


_LIVE = "deleted_at IS NULL"
_LIVE_INDEXES: list[Index] = []


def live_index(name: str, *columns: Any) -> Index:
    """A partial index over the live rows (`deleted_at IS NULL`).

    Only its SQLite condition is named here: naming `postgresql_where` makes SQLAlchemy load
    its whole PostgreSQL dialect to check the argument, some 20 ms of every SQLite process's
    start-up. `postgresql_conditions()` adds it where the models meet PostgreSQL as DDL:
    migrations and the schema comparison."""
    index = Index(name, *columns, sqlite_where=text(_LIVE))
    _LIVE_INDEXES.append(index)
    return index


def postgresql_conditions() -> None:
    """Give every `live_index` its PostgreSQL condition too (idempotent)."""
    for index in _LIVE_INDEXES:
        index.dialect_kwargs["postgresql_where"] = text(_LIVE)


class Base(SQLModel):
    # Build pydantic validators on first use, not at import: saves ~1 ms a table at start-up.
    model_config = SQLModelConfig(defer_build=True)


class Stamped(Base):
    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _time(nullable=False)
    updated_at: datetime = _time(nullable=False)
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})

    @declared_attr  # type: ignore[arg-type]
    def __mapper_args__(cls) -> dict[str, Any]:
        # The guard against lost updates: see the module docstring.
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class User(Stamped, table=True):
    __tablename__ = "user"
    name: str
    email: str | None = Field(default=None, unique=True)
    role: str = Field(default="member")


class Tag(Stamped, table=True):
    __tablename__ = "tag"
    name: str = Field(unique=True)


class Company(Stamped, table=True):
    __tablename__ = "company"
    # Live companies by name (the listing's order and its count); removed ones (--removed).
    __table_args__ = (Index("ix_company_live_name", "deleted_at", "name"),)
    name: str = Field(index=True)
    domain: str | None = Field(default=None, index=True)
    industry: str | None = None
    size: str | None = None
    address: str | None = None
    owner_id: int | None = _fk("user.id", ondelete="SET NULL")
    custom: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    external_id: str | None = Field(default=None, index=True)  # the id another system gave it
    search_name: str = ""
    search_doc: str = ""
    deleted_at: datetime | None = _time()


class Contact(Stamped, table=True):
    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_live_name", "deleted_at", "name"),
        # --sort created / -created: live contacts by creation time, ties by id (0013).
        live_index("ix_contact_live_created", "created_at", "id"),
    )
    name: str = Field(index=True)
    given_name: str | None = None
    family_name: str | None = None
    title: str | None = None
    company_id: int | None = _fk("company.id", ondelete="SET NULL")
    lifecycle: str = Field(default="lead", index=True)
    source: str | None = None
    owner_id: int | None = _fk("user.id", ondelete="SET NULL")
    custom: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    cadence_days: int | None = None
    external_id: str | None = Field(default=None, index=True)  # the id another system gave it
    last_contacted_at: datetime | None = _time()
    search_name: str = ""
    search_doc: str = ""
    deleted_at: datetime | None = _time()


# Child and link tables are plain SQLAlchemy Core tables on the same metadata: they are
# written in bulk and read by column, never as objects, and a Core table costs a tenth of an
# ORM class at start-up.
ContactEmail = Table(
    "contact_email",
    SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "contact_id",
        Integer,
        ForeignKey("contact.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # Addresses are unique: a contact is found by any of them.
    Column("email", String, nullable=False, unique=True),
    Column("label", String),
    Column("position", Integer, nullable=False),
)

ContactPhone = Table(
    "contact_phone",
    SQLModel.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "contact_id",
        Integer,
        ForeignKey("contact.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("phone", String, nullable=False, index=True),  # E.164
    Column("label", String),
    Column("position", Integer, nullable=False),
)

ContactTag = Table(
    "contact_tag",
    SQLModel.metadata,
    Column("contact_id", Integer, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "tag_id", Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)

CompanyTag = Table(
    "company_tag",
    SQLModel.metadata,
    Column("company_id", Integer, ForeignKey("company.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "tag_id", Integer, ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)


class DupeIgnore(Stamped, table=True):
    """A pair of contacts or companies someone said are not duplicates ("keep separate"):
    `crm dupes` leaves the pair out from then on. The pair is stored in id order, once.

    No foreign keys: `kind` says which table the ids are in, and a removed record keeps its
    pairs (restoring it must not bring the pair back as a duplicate)."""

    __tablename__ = "dupe_ignore"
    __table_args__ = (UniqueConstraint("kind", "first_id", "second_id"),)
    kind: str  # contact, company
    first_id: int
    second_id: int
    user_id: int | None = _fk("user.id", ondelete="SET NULL", index=False)
