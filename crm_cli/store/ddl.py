"""Schema pieces that more than one migration needs, written once.

The search triggers live here because SQLite drops a table's triggers with the table: every
migration that rebuilds `contact` or `company` (Alembic's batch mode copies, drops and renames)
must put them back exactly as `0001_initial` made them.
"""

from __future__ import annotations

# Every table with a `version` column: the records people change.
VERSIONED = (
    "user",
    "tag",
    "company",
    "contact",
    "pipeline",
    "stage",
    "deal",
    "followup",
    "interaction",
    "feedback",
)


def sqlite_search_triggers(table: str) -> list[str]:
    """The statements that keep `{table}_fts` in step with `table` (live records only)."""
    new = (
        f"INSERT INTO {table}_fts(rowid, search_name, search_doc) "
        "SELECT new.id, new.search_name, new.search_doc WHERE new.deleted_at IS NULL;"
    )
    old = (
        f"INSERT INTO {table}_fts({table}_fts, rowid, search_name, search_doc) "
        "SELECT 'delete', old.id, old.search_name, old.search_doc "
        "WHERE old.deleted_at IS NULL;"
    )
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_fts_ai AFTER INSERT ON {table} BEGIN {new} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_fts_ad AFTER DELETE ON {table} BEGIN {old} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_fts_au AFTER UPDATE OF search_name, search_doc, "
        f"deleted_at ON {table} BEGIN {old} {new} END",
    ]


def postgres_constraint_name(
    kind: str, table: str, columns: list[str], referred: str | None = None
) -> str:
    """The conventional name (store.models.NAMING_CONVENTION) of a constraint."""
    if kind == "pk":
        return f"pk_{table}"
    if kind == "uq":
        return f"uq_{table}_{'_'.join(columns)}"
    return f"fk_{table}_{columns[0]}_{referred}"


# The search indexes since `0004_search_deals`: each table's token columns (made by
# crm_cli.domain.text). Contacts and companies are also kept by `sqlite_search_triggers` above;
# a migration that rebuilds `deal` or `interaction` on SQLite must put their triggers back with
# `sqlite_fts_triggers`, as 0003 does for contacts and companies.
SEARCH_COLUMNS: dict[str, tuple[str, ...]] = {
    "contact": ("search_name", "search_doc"),
    "company": ("search_name", "search_doc"),
    "deal": ("search_name",),
    "interaction": ("search_doc",),
}


# The prefixes (in letters) the FTS5 indexes of contacts, companies and deals keep an entry
# list of their own for, since `0015_search_and_board`: every word of a search is a prefix, and
# without such a list FTS5 gathers every entry of every word that starts with it first.
SEARCH_PREFIXES = "1 2 3 4 5 6"


def sqlite_fts_table(table: str, prefixes: str | None = None) -> str:
    """The FTS5 table over `table`'s token columns, reading its text from `table` itself; with
    `prefixes` (SEARCH_PREFIXES), a prefix index of each of those lengths."""
    columns = ", ".join(SEARCH_COLUMNS[table])
    prefix = f", prefix='{prefixes}'" if prefixes else ""
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table}_fts USING fts5({columns}, "
        f"content='{table}', content_rowid='id', tokenize='unicode61 remove_diacritics 0'"
        f"{prefix})"
    )


def sqlite_fts_fill(table: str, where: str = "deleted_at IS NULL") -> str:
    """The statement that puts `table`'s rows matching `where` (live ones) into its FTS5 index,
    in id order. FTS5 writes ascending ids into one run of its index but starts a new run at
    every id lower than the one before, and the planner, asked only for live rows, may read them
    in name order through an index: then a bulk fill makes a run per row and merges them all
    (measured: 100,000 contacts, 3.5 s against 1.5 s in id order)."""
    columns = ", ".join(SEARCH_COLUMNS[table])
    return (
        f"INSERT INTO {table}_fts(rowid, {columns}) SELECT id, {columns} FROM {table} "
        f"WHERE {where} ORDER BY id"
    )


def sqlite_fts_triggers(table: str) -> list[str]:
    """The statements that keep `{table}_fts` in step with `table` (live records only), for
    any table of SEARCH_COLUMNS: the same triggers as `sqlite_search_triggers` makes."""
    columns = SEARCH_COLUMNS[table]
    names = ", ".join(columns)
    new = (
        f"INSERT INTO {table}_fts(rowid, {names}) "
        f"SELECT new.id, {', '.join(f'new.{c}' for c in columns)} WHERE new.deleted_at IS NULL;"
    )
    old = (
        f"INSERT INTO {table}_fts({table}_fts, rowid, {names}) "
        f"SELECT 'delete', old.id, {', '.join(f'old.{c}' for c in columns)} "
        "WHERE old.deleted_at IS NULL;"
    )
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_fts_ai AFTER INSERT ON {table} BEGIN {new} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_fts_ad AFTER DELETE ON {table} BEGIN {old} END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_fts_au AFTER UPDATE OF {names}, deleted_at "
        f"ON {table} BEGIN {old} {new} END",
    ]


def postgres_search_index(table: str) -> str:
    """The GIN index PostgreSQL searches `table`'s live records with: the `simple` tsvector of
    its token columns, only for rows not removed (the query repeats `deleted_at IS NULL`)."""
    document = " || ' ' || ".join(SEARCH_COLUMNS[table])
    return (
        f"CREATE INDEX IF NOT EXISTS ix_{table}_search ON {table} USING gin "
        f"(to_tsvector('simple'::regconfig, {document})) WHERE deleted_at IS NULL"
    )


# When a follow-up counts as due: its due time, or its snooze when that is later. The list is
# ordered by exactly this expression, and an expression index holds it (migration 0005): both
# databases use such an index only for the very same expression.
FOLLOWUP_EFFECTIVE_DUE = "(CASE WHEN snoozed_until > due_at THEN snoozed_until ELSE due_at END)"
