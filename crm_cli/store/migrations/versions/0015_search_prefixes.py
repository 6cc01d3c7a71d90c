"""Search by the first letters of a word reads one list, however many words start so.

Every word of a search is a prefix (`deal 4` finds "Deal 4711"). SQLite's FTS5 answers a
prefix by gathering, in memory, every entry of every word that starts with it before the first
match comes out: at a million deals `"deal"*` copied 999,000 entries and `"4"*` merged 111,111
words of one entry each, so `deal list --search "deal 4"` spent about 150 ms in the search
index at a million deals, against 1 ms at a hundred. With a prefix index (`prefix=` in the
table's definition, store/ddl.py SEARCH_PREFIXES) FTS5 keeps one entry list per prefix of one
to six letters; a prefix that short is then read like a word, lazily and in order, and the
list stops where the listing stops. A longer prefix is read as before (such words are few).

The index of contacts, companies and deals is made again with those prefixes, from the live
records (only those are indexed: store/ddl.py); the triggers that keep it in step name the
table and stay as they are. The interaction log's index is left alone: notes are long, a
prefix index would be several times the log's, and the log is searched only when asked.
PostgreSQL's GIN indexes already hold each word once; nothing changes there.

Revision ID: 0015_search_prefixes
Revises: 0014_listing_indexes
"""

from __future__ import annotations

from alembic import op

from crm_cli.store.ddl import SEARCH_COLUMNS, SEARCH_PREFIXES, sqlite_fts_table

revision = "0015_search_prefixes"
down_revision = "0014_listing_indexes"
branch_labels = None
depends_on = None

TABLES = ("contact", "company", "deal")


def _remake(prefixes: str | None) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        names = ", ".join(SEARCH_COLUMNS[table])
        op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        op.execute(sqlite_fts_table(table, prefixes))
        op.execute(
            f"INSERT INTO {table}_fts(rowid, {names}) "
            f"SELECT id, {names} FROM {table} WHERE deleted_at IS NULL"
        )


def upgrade() -> None:
    _remake(SEARCH_PREFIXES)


def downgrade() -> None:
    _remake(None)
