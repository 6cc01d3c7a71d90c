"""Users, companies, contacts with their emails, phones and tags, and search.

Revision ID: 0001_initial
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store.types import UTCDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "company",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("domain", sa.String(), nullable=True),
        sa.Column("industry", sa.String(), nullable=True),
        sa.Column("size", sa.String(), nullable=True),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("search_name", sa.String(), nullable=False),
        sa.Column("search_doc", sa.String(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_company_domain"), "company", ["domain"], unique=False)
    op.create_index(op.f("ix_company_name"), "company", ["name"], unique=False)
    op.create_index(op.f("ix_company_owner_id"), "company", ["owner_id"], unique=False)
    op.create_table(
        "company_tag",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("company_id", "tag_id"),
    )
    op.create_index(op.f("ix_company_tag_tag_id"), "company_tag", ["tag_id"], unique=False)
    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("given_name", sa.String(), nullable=True),
        sa.Column("family_name", sa.String(), nullable=True),
        sa.Column("title", sa.String(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("lifecycle", sa.String(), nullable=False),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("custom", sa.JSON(), nullable=False),
        sa.Column("cadence_days", sa.Integer(), nullable=True),
        sa.Column("last_contacted_at", UTCDateTime(), nullable=True),
        sa.Column("search_name", sa.String(), nullable=False),
        sa.Column("search_doc", sa.String(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_contact_company_id"), "contact", ["company_id"], unique=False)
    op.create_index(op.f("ix_contact_lifecycle"), "contact", ["lifecycle"], unique=False)
    op.create_index(op.f("ix_contact_name"), "contact", ["name"], unique=False)
    op.create_index(op.f("ix_contact_owner_id"), "contact", ["owner_id"], unique=False)
    op.create_table(
        "contact_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index(
        op.f("ix_contact_email_contact_id"), "contact_email", ["contact_id"], unique=False
    )
    op.create_table(
        "contact_phone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_contact_phone_contact_id"), "contact_phone", ["contact_id"], unique=False
    )
    op.create_index(op.f("ix_contact_phone_phone"), "contact_phone", ["phone"], unique=False)
    op.create_table(
        "contact_tag",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "tag_id"),
    )
    op.create_index(op.f("ix_contact_tag_tag_id"), "contact_tag", ["tag_id"], unique=False)
    # ### end Alembic commands ###
    _create_search()


def downgrade() -> None:
    _drop_search()
    op.drop_table("contact_tag")
    op.drop_table("contact_phone")
    op.drop_table("contact_email")
    op.drop_table("contact")
    op.drop_table("company_tag")
    op.drop_table("company")
    op.drop_table("user")
    op.drop_table("tag")


# Search: SQLite keeps an FTS5 index of the pre-tokenised `search_name` / `search_doc` columns
# in step by triggers; PostgreSQL indexes the same columns as a `simple` tsvector. Both see the
# same tokens (crm_cli.domain.text), so both find the same records.
_FTS_TABLES = ("contact", "company")


def _create_search() -> None:
    bind = op.get_bind()
    for table in _FTS_TABLES:
        if bind.dialect.name == "sqlite":
            op.execute(
                f"CREATE VIRTUAL TABLE {table}_fts USING fts5(search_name, search_doc, "
                f"content='{table}', content_rowid='id', "
                "tokenize='unicode61 remove_diacritics 0')"
            )
            # Only live records are indexed: removing one takes it out, restoring puts it back.
            # One trigger per event, statements in order: SQLite does not promise an order
            # between triggers.
            new = (
                f"INSERT INTO {table}_fts(rowid, search_name, search_doc) "
                "SELECT new.id, new.search_name, new.search_doc WHERE new.deleted_at IS NULL;"
            )
            old = (
                f"INSERT INTO {table}_fts({table}_fts, rowid, search_name, search_doc) "
                "SELECT 'delete', old.id, old.search_name, old.search_doc "
                "WHERE old.deleted_at IS NULL;"
            )
            op.execute(f"CREATE TRIGGER {table}_fts_ai AFTER INSERT ON {table} BEGIN {new} END")
            op.execute(f"CREATE TRIGGER {table}_fts_ad AFTER DELETE ON {table} BEGIN {old} END")
            op.execute(
                f"CREATE TRIGGER {table}_fts_au AFTER UPDATE OF search_name, search_doc, "
                f"deleted_at ON {table} BEGIN {old} {new} END"
            )
        else:
            op.execute(
                f"CREATE INDEX ix_{table}_search ON {table} USING gin "
                "(to_tsvector('simple'::regconfig, search_name || ' ' || search_doc))"
            )
            op.execute(
                f"CREATE INDEX ix_{table}_search_name ON {table} USING gin "
                "(to_tsvector('simple'::regconfig, search_name))"
            )


def _drop_search() -> None:
    bind = op.get_bind()
    for table in _FTS_TABLES:
        if bind.dialect.name == "sqlite":
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        else:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_name")
