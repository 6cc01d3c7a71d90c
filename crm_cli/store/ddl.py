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
