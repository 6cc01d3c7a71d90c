"""Rollup tables the reports read, kept by database triggers.

`deal_close_rollup` (crm_cli.store.sales.DealCloseRollup) holds the closed deals - won or lost,
with a close time, not deleted - counted and summed by UTC close day, status, pipeline, owner,
source, currency and sales cycle in whole days. A trigger on `deal` adds a deal's row when it
becomes counted and takes it away when it stops being counted or changes, in the same
transaction as the write, so every path that writes deals (commands, import, bulk edits, merge,
undo, `import all`) keeps it right without code of its own. Rows whose count falls to zero are
deleted.

`deal_open_rollup` (DealOpenRollup) holds the live deals in open stages counted and summed by
stage, owner, currency and expected close day (no date: `NO_CLOSE`), with the weighted value
as the pipeline report defines it (each deal's value x its own probability, else its stage's,
rounded half up to the minor unit). A trigger on `deal` keeps it as deals change; one on
`stage` recounts a stage's rows when its probability or kind changes.

`customer_won_rollup` (CustomerWonRollup) holds, per contact and currency, the contact's won
deals (live, with a close time): how many, their value, the first and the last close time.
Taking a deal away recomputes the first and last close from that contact's deals (one seek in
`ix_deal_customer`) when the deal held either.

The sales cycle is computed exactly as the sales report computes it from the deals
(crm_cli.reports.base.days_between, rounded), per dialect, so a figure read from the rollup
equals the one read from the deals.

SQLite drops a table's triggers with the table, and Alembic's batch mode rebuilds a table by
copying, dropping and renaming it; its rename also refuses a trigger that names a table absent
at that moment (the deal triggers read `stage`, the stage trigger `deal`). So migrations on
SQLite run with `PRAGMA legacy_alter_table = ON` and end with `restore_sqlite_triggers`, which
puts back any trigger a rebuild dropped (crm_cli/store/migrations/env.py). The rows the
rebuild copied are unchanged, so the rollups stay right; a migration that also changes deals
after rebuilding `deal` must run `fill_statements` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text

KEY = ("close_day", "status", "pipeline_id", "owner_id", "source", "currency", "cycle_days")
# Any change to these can move a deal in or out of the rollup, or to another of its rows.
WATCHED = (
    "status",
    "closed_at",
    "deleted_at",
    "value_minor",
    "currency",
    "owner_id",
    "source",
    "pipeline_id",
    "created_at",
)


def _counted(row: str) -> str:
    return (
        f"{row}.deleted_at IS NULL AND {row}.status IN ('won', 'lost') "
        f"AND {row}.closed_at IS NOT NULL"
    )


def _key_values(row: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        day = f"({row}.closed_at AT TIME ZONE 'UTC')::date"
        cycle = f"round(extract(epoch FROM {row}.closed_at - {row}.created_at) / 86400.0)::integer"
    else:
        day = f"date({row}.closed_at)"
        cycle = f"CAST(round(julianday({row}.closed_at) - julianday({row}.created_at)) AS INTEGER)"
    return [
        day,
        f"{row}.status",
        f"{row}.pipeline_id",
        f"coalesce({row}.owner_id, 0)",
        f"coalesce({row}.source, '')",
        f"{row}.currency",
        cycle,
    ]


def _match(row: str, dialect: str) -> str:
    return " AND ".join(f"{c} = {v}" for c, v in zip(KEY, _key_values(row, dialect), strict=True))


def _add(row: str, dialect: str, guard: str | None) -> str:
    values = ", ".join([*_key_values(row, dialect), "1", f"{row}.value_minor"])
    source = f"SELECT {values} WHERE {guard}" if guard else f"VALUES ({values})"
    table = "deal_close_rollup"
    return (
        f"INSERT INTO {table} ({', '.join(KEY)}, n, value_minor) {source} "
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET n = {table}.n + 1, "
        f"value_minor = {table}.value_minor + excluded.value_minor;"
    )


def _remove(row: str, dialect: str, guard: str | None) -> str:
    where = _match(row, dialect) + (f" AND {guard}" if guard else "")
    return (
        f"UPDATE deal_close_rollup SET n = n - 1, value_minor = value_minor - {row}.value_minor "
        f"WHERE {where}; DELETE FROM deal_close_rollup WHERE {where} AND n = 0;"
    )


def _pg_keep(
    counted: Callable[[str], str], keys: Callable[[str], list[str]], remove: str, add: str
) -> str:
    """A PostgreSQL trigger body taking OLD's contribution away and adding NEW's.

    When a deal moves from one rollup row to another, the two rows are written in the order
    of their keys, whichever way the deal moves: two writers moving two deals between the same
    rows in opposite directions then lock them in the same order and queue, where writing
    the old row first would let each hold one row and wait for the other (a deadlock, which
    PostgreSQL resolves by failing one of them)."""
    both = f"TG_OP = 'UPDATE' AND {counted('OLD')} AND {counted('NEW')}"
    descending = f"ROW({', '.join(keys('NEW'))}) < ROW({', '.join(keys('OLD'))})"
    return (
        f"IF {both} AND {descending} THEN {add} {remove} ELSE "
        f"IF TG_OP <> 'INSERT' AND {counted('OLD')} THEN {remove} END IF; "
        f"IF TG_OP <> 'DELETE' AND {counted('NEW')} THEN {add} END IF; "
        "END IF;"
    )


def create_statements(dialect: str) -> list[str]:
    """The statements that create the triggers keeping the rollups."""
    return _close_triggers(dialect) + _open_triggers(dialect) + _customer_triggers(dialect)


def _close_triggers(dialect: str) -> list[str]:
    watched = ", ".join(WATCHED)
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION deal_close_rollup_keep() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            + _pg_keep(
                _counted,
                lambda row: _key_values(row, dialect),
                _remove("OLD", dialect, None),
                _add("NEW", dialect, None),
            )
            + " RETURN NULL; END $$",
            "CREATE TRIGGER deal_close_rollup_keep AFTER INSERT OR DELETE OR UPDATE OF "
            f"{watched} ON deal FOR EACH ROW EXECUTE FUNCTION deal_close_rollup_keep()",
        ]
    old, new = _counted("OLD"), _counted("NEW")
    return [
        f"CREATE TRIGGER deal_close_rollup_ai AFTER INSERT ON deal WHEN {new} "
        f"BEGIN {_add('NEW', dialect, None)} END",
        f"CREATE TRIGGER deal_close_rollup_ad AFTER DELETE ON deal WHEN {old} "
        f"BEGIN {_remove('OLD', dialect, None)} END",
        f"CREATE TRIGGER deal_close_rollup_au AFTER UPDATE OF {watched} ON deal "
        f"WHEN ({old}) OR ({new}) "
        f"BEGIN {_remove('OLD', dialect, old)} {_add('NEW', dialect, new)} END",
    ]


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS deal_close_rollup_keep ON deal",
            "DROP FUNCTION IF EXISTS deal_close_rollup_keep()",
            "DROP TRIGGER IF EXISTS deal_open_rollup_keep ON deal",
            "DROP FUNCTION IF EXISTS deal_open_rollup_keep()",
            "DROP TRIGGER IF EXISTS deal_open_rollup_stage ON stage",
            "DROP FUNCTION IF EXISTS deal_open_rollup_stage()",
            "DROP TRIGGER IF EXISTS customer_won_rollup_keep ON deal",
            "DROP FUNCTION IF EXISTS customer_won_rollup_keep()",
        ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]


SQLITE_TRIGGERS = (
    "deal_close_rollup_ai",
    "deal_close_rollup_ad",
    "deal_close_rollup_au",
    "deal_open_rollup_ai",
    "deal_open_rollup_ad",
    "deal_open_rollup_au",
    "deal_open_rollup_stage",
    "customer_won_rollup_ai",
    "customer_won_rollup_ad",
    "customer_won_rollup_au",
)


def restore_sqlite_triggers(connection: Any) -> None:
    """Create again, on SQLite, the rollup triggers a table rebuild dropped (when the rollups
    exist at all: a migration before them has none)."""
    names = {
        row[0]
        for row in connection.execute(
            text("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
        )
    }
    if "deal_close_rollup" not in names or all(t in names for t in SQLITE_TRIGGERS):
        return
    for statement in drop_statements("sqlite") + create_statements("sqlite"):
        connection.execute(text(statement))


def fill_statements(dialect: str) -> list[str]:
    """Rebuild the rollups from the deals (a migration, or a repair)."""
    return _close_fill(dialect) + _open_fill(None) + _customer_fill()


def _close_fill(dialect: str) -> list[str]:
    keys = _key_values("deal", dialect)
    return [
        "DELETE FROM deal_close_rollup",
        f"INSERT INTO deal_close_rollup ({', '.join(KEY)}, n, value_minor) "
        f"SELECT {', '.join(keys)}, count(*), sum(deal.value_minor) FROM deal "
        f"WHERE {_counted('deal')} GROUP BY {', '.join(keys)}",
    ]


# The open deals' rollup. ---------------------------------------------------------------------

OPEN_KEY = ("stage_id", "owner_id", "currency", "expected_close")
# Stands for "no expected close date" in the key (which cannot hold NULL).
NO_CLOSE = "0001-01-01"
OPEN_WATCHED = (
    "stage_id",
    "deleted_at",
    "value_minor",
    "currency",
    "owner_id",
    "expected_close",
    "probability",
)


def _stage_kind(row: str) -> str:
    return f"(SELECT kind FROM stage WHERE stage.id = {row}.stage_id)"


def _open_counted(row: str) -> str:
    return f"{row}.deleted_at IS NULL AND {_stage_kind(row)} = 'open'"


def _open_key_values(row: str) -> list[str]:
    return [
        f"{row}.stage_id",
        f"coalesce({row}.owner_id, 0)",
        f"{row}.currency",
        f"coalesce({row}.expected_close, '{NO_CLOSE}')",
    ]


def _worth(row: str) -> str:
    """As crm_cli.reports.pipeline._worth: value x probability, rounded half up."""
    stage_probability = f"(SELECT probability FROM stage WHERE stage.id = {row}.stage_id)"
    return f"({row}.value_minor * coalesce({row}.probability, {stage_probability}) + 50) / 100"


def _open_add(row: str, guard: str | None) -> str:
    values = ", ".join([*_open_key_values(row), "1", f"{row}.value_minor", _worth(row)])
    source = f"SELECT {values} WHERE {guard}" if guard else f"VALUES ({values})"
    table = "deal_open_rollup"
    return (
        f"INSERT INTO {table} ({', '.join(OPEN_KEY)}, n, value_minor, worth_minor) {source} "
        f"ON CONFLICT ({', '.join(OPEN_KEY)}) DO UPDATE SET n = {table}.n + 1, "
        f"value_minor = {table}.value_minor + excluded.value_minor, "
        f"worth_minor = {table}.worth_minor + excluded.worth_minor;"
    )


def _open_remove(row: str, guard: str | None) -> str:
    match = " AND ".join(f"{c} = {v}" for c, v in zip(OPEN_KEY, _open_key_values(row), strict=True))
    where = match + (f" AND {guard}" if guard else "")
    return (
        f"UPDATE deal_open_rollup SET n = n - 1, value_minor = value_minor - {row}.value_minor, "
        f"worth_minor = worth_minor - {_worth(row)} "
        f"WHERE {where}; DELETE FROM deal_open_rollup WHERE {where} AND n = 0;"
    )


def _open_fill(stage: str | None) -> list[str]:
    """Recount the rollup (or one stage's rows) from the deals."""
    keys = _open_key_values("deal")
    only = f" AND deal.stage_id = {stage}" if stage else ""
    return [
        "DELETE FROM deal_open_rollup" + (f" WHERE stage_id = {stage}" if stage else ""),
        f"INSERT INTO deal_open_rollup ({', '.join(OPEN_KEY)}, n, value_minor, worth_minor) "
        f"SELECT {', '.join(keys)}, count(*), sum(deal.value_minor), sum({_worth('deal')}) "
        f"FROM deal WHERE {_open_counted('deal')}{only} GROUP BY {', '.join(keys)}",
    ]


def _open_triggers(dialect: str) -> list[str]:
    watched = ", ".join(OPEN_WATCHED)
    recount = " ".join(f"{s};" for s in _open_fill("NEW.id"))
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION deal_open_rollup_keep() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            + _pg_keep(
                _open_counted, _open_key_values, _open_remove("OLD", None), _open_add("NEW", None)
            )
            + " RETURN NULL; END $$",
            "CREATE TRIGGER deal_open_rollup_keep AFTER INSERT OR DELETE OR UPDATE OF "
            f"{watched} ON deal FOR EACH ROW EXECUTE FUNCTION deal_open_rollup_keep()",
            "CREATE OR REPLACE FUNCTION deal_open_rollup_stage() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {recount} RETURN NULL; END $$",
            "CREATE TRIGGER deal_open_rollup_stage AFTER UPDATE OF probability, kind ON stage "
            "FOR EACH ROW WHEN (OLD.probability IS DISTINCT FROM NEW.probability "
            "OR OLD.kind IS DISTINCT FROM NEW.kind) "
            "EXECUTE FUNCTION deal_open_rollup_stage()",
        ]
    old, new = _open_counted("OLD"), _open_counted("NEW")
    return [
        f"CREATE TRIGGER deal_open_rollup_ai AFTER INSERT ON deal WHEN {new} "
        f"BEGIN {_open_add('NEW', None)} END",
        f"CREATE TRIGGER deal_open_rollup_ad AFTER DELETE ON deal WHEN {old} "
        f"BEGIN {_open_remove('OLD', None)} END",
        f"CREATE TRIGGER deal_open_rollup_au AFTER UPDATE OF {watched} ON deal "
        f"WHEN ({old}) OR ({new}) "
        f"BEGIN {_open_remove('OLD', old)} {_open_add('NEW', new)} END",
        "CREATE TRIGGER deal_open_rollup_stage AFTER UPDATE OF probability, kind ON stage "
        "WHEN OLD.probability IS NOT NEW.probability OR OLD.kind IS NOT NEW.kind "
        f"BEGIN {recount} END",
    ]


# Each customer's won deals. ------------------------------------------------------------------

CUSTOMER_WATCHED = ("status", "closed_at", "deleted_at", "value_minor", "currency", "contact_id")


def _won_counted(row: str) -> str:
    return (
        f"{row}.deleted_at IS NULL AND {row}.status = 'won' AND {row}.contact_id IS NOT NULL "
        f"AND {row}.closed_at IS NOT NULL"
    )


def _customer_add(row: str, dialect: str, guard: str | None) -> str:
    values = (
        f"{row}.contact_id, {row}.currency, 1, {row}.value_minor, {row}.closed_at, {row}.closed_at"
    )
    source = f"SELECT {values} WHERE {guard}" if guard else f"VALUES ({values})"
    least, greatest = ("least", "greatest") if dialect == "postgresql" else ("min", "max")
    t = "customer_won_rollup"
    return (
        f"INSERT INTO {t} (contact_id, currency, n, value_minor, first_closed, last_closed) "
        f"{source} ON CONFLICT (contact_id, currency) DO UPDATE SET n = {t}.n + 1, "
        f"value_minor = {t}.value_minor + excluded.value_minor, "
        f"first_closed = {least}({t}.first_closed, excluded.first_closed), "
        f"last_closed = {greatest}({t}.last_closed, excluded.last_closed);"
    )


def _customer_remove(row: str, guard: str | None) -> str:
    match = f"contact_id = {row}.contact_id AND currency = {row}.currency"
    where = match + (f" AND {guard}" if guard else "")
    deals = (
        f"FROM deal WHERE {_won_counted('deal')} AND deal.contact_id = {row}.contact_id "
        f"AND deal.currency = {row}.currency"
    )
    return (
        f"UPDATE customer_won_rollup SET n = n - 1, "
        f"value_minor = value_minor - {row}.value_minor WHERE {where}; "
        f"DELETE FROM customer_won_rollup WHERE {where} AND n = 0; "
        f"UPDATE customer_won_rollup SET first_closed = (SELECT min(deal.closed_at) {deals}), "
        f"last_closed = (SELECT max(deal.closed_at) {deals}) WHERE {where} "
        f"AND (first_closed = {row}.closed_at OR last_closed = {row}.closed_at);"
    )


def _customer_fill() -> list[str]:
    return [
        "DELETE FROM customer_won_rollup",
        "INSERT INTO customer_won_rollup "
        "(contact_id, currency, n, value_minor, first_closed, last_closed) "
        "SELECT deal.contact_id, deal.currency, count(*), sum(deal.value_minor), "
        "min(deal.closed_at), max(deal.closed_at) "
        f"FROM deal WHERE {_won_counted('deal')} GROUP BY deal.contact_id, deal.currency",
    ]


def _customer_triggers(dialect: str) -> list[str]:
    watched = ", ".join(CUSTOMER_WATCHED)
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION customer_won_rollup_keep() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' AND {_won_counted('OLD')} THEN "
            f"{_customer_remove('OLD', None)} END IF; "
            f"IF TG_OP <> 'DELETE' AND {_won_counted('NEW')} THEN "
            f"{_customer_add('NEW', dialect, None)} END IF; "
            "RETURN NULL; END $$",
            "CREATE TRIGGER customer_won_rollup_keep AFTER INSERT OR DELETE OR UPDATE OF "
            f"{watched} ON deal FOR EACH ROW EXECUTE FUNCTION customer_won_rollup_keep()",
        ]
    old, new = _won_counted("OLD"), _won_counted("NEW")
    return [
        f"CREATE TRIGGER customer_won_rollup_ai AFTER INSERT ON deal WHEN {new} "
        f"BEGIN {_customer_add('NEW', dialect, None)} END",
        f"CREATE TRIGGER customer_won_rollup_ad AFTER DELETE ON deal WHEN {old} "
        f"BEGIN {_customer_remove('OLD', None)} END",
        f"CREATE TRIGGER customer_won_rollup_au AFTER UPDATE OF {watched} ON deal "
        f"WHEN ({old}) OR ({new}) "
        f"BEGIN {_customer_remove('OLD', old)} {_customer_add('NEW', dialect, new)} END",
    ]
