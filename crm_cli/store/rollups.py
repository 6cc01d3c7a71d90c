"""Rollup tables the reports read, kept by database triggers.

`deal_close_rollup` (crm_cli.store.sales.DealCloseRollup) holds the closed deals - won or lost,
with a close time, not deleted - counted and summed by UTC close day, status, pipeline, owner,
source, currency and sales cycle in whole days (a won deal's; 0 for every lost deal, whose
cycle no report shows). A trigger on `deal` adds a deal's row when it becomes counted and
takes it away when it stops being counted or changes, in the same transaction as the write, so
every path that writes deals (commands, import, bulk edits, merge, undo, `import all`) keeps it
right without code of its own. Rows whose count falls to zero are
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
# The sales report's orders of `deal_close_rollup`, as SQLite indexes. SQLite groups rows by
# sorting them; with sales cycles spread over months each won deal is nearly a row of its own,
# and sorting ~370,000 of them cost 175 of the report's 195 ms at a million deals. Read in
# one of these orders, a GROUP BY on a prefix of CLOSE_ORDER takes each row into its group
# as it comes: over all time the first index, a UTC month (CLOSE_MONTH equal to "2026-01")
# the second. PostgreSQL groups by hashing and gets neither. Both hold every column the
# report reads (a WITHOUT ROWID table's index holds its primary key too).
CLOSE_MONTH = "substr(close_day, 1, 7)"
CLOSE_ORDER = ("status", "currency", "cycle_days", "owner_id", "source", "pipeline_id")
SQLITE_CLOSE_INDEXES = {
    "ix_deal_close_order": ", ".join([*CLOSE_ORDER, "n", "value_minor"]),
    "ix_deal_close_month": ", ".join([CLOSE_MONTH, *CLOSE_ORDER, "n", "value_minor"]),
}


def sqlite_close_index_statements() -> list[str]:
    """Create the sales report's indexes (SQLite only; a batch rebuild of the table, which
    cannot reflect an expression, must run these again)."""
    return [
        f"CREATE INDEX IF NOT EXISTS {name} ON deal_close_rollup ({columns})"
        for name, columns in SQLITE_CLOSE_INDEXES.items()
    ]


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
        # Only won deals' cycles are reported: a lost deal's row keeps 0, so a day's lost
        # deals share a few rows instead of one per cycle length.
        f"CASE WHEN {row}.status = 'won' THEN {cycle} ELSE 0 END",
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
    groups = [
        ("deal_close_rollup", SQLITE_TRIGGERS, drop_statements, create_statements),
        (
            "funnel_reach_rollup",
            SQLITE_FUNNEL_TRIGGERS,
            funnel_drop_statements,
            funnel_create_statements,
        ),
        (
            "activity_rollup",
            SQLITE_ACTIVITY_TRIGGERS,
            activity_drop_statements,
            activity_create_statements,
        ),
        (
            "deal_touch_rollup",
            SQLITE_TOUCH_TRIGGERS,
            touch_drop_statements,
            touch_create_statements,
        ),
    ]
    for table, triggers, drop, create in groups:
        if table not in names or all(t in names for t in triggers):
            continue
        for statement in drop("sqlite") + create("sqlite"):
            connection.execute(text(statement))


def fill_statements(dialect: str) -> list[str]:
    """Rebuild the rollups from the deals (a migration, or a repair)."""
    return close_fill_statements(dialect) + _open_fill(None) + _customer_fill()


def close_fill_statements(dialect: str) -> list[str]:
    """Rebuild `deal_close_rollup` from the deals."""
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
    # PostgreSQL runs a statement's row triggers after the whole statement: deleting all of a
    # contact's won deals at once (an undo), the first row's trigger finds none left while
    # the others have yet to count down n. Their dates then stay until the last removes it.
    return (
        f"UPDATE customer_won_rollup SET n = n - 1, "
        f"value_minor = value_minor - {row}.value_minor WHERE {where}; "
        f"DELETE FROM customer_won_rollup WHERE {where} AND n = 0; "
        f"UPDATE customer_won_rollup "
        f"SET first_closed = coalesce((SELECT min(deal.closed_at) {deals}), first_closed), "
        f"last_closed = coalesce((SELECT max(deal.closed_at) {deals}), last_closed) "
        f"WHERE {where} AND (first_closed = {row}.closed_at OR last_closed = {row}.closed_at);"
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


# The funnel's rollups. ------------------------------------------------------------------------
#
# The funnel report counts the deals created in a period (a cohort, by creation time) in one
# pipeline. Two tables hold, per pipeline and UTC creation day of live deals:
#
# `funnel_reach_rollup` (pipeline_id, created_day, stages) -> n: how many deals visited exactly
# that set of stages, `stages` being the ids of the stages in the deal's stage history (every
# change's `to_stage_id`) and its current stage, ascending, comma-separated ("1,2,5"). A set
# and not a top rung: which rung is the top depends on the board order, which can change; the
# set does not, and the report ranks each set by the order of the day it runs.
#
# `funnel_stay_rollup` (pipeline_id, created_day, stage_id, days) -> n: the deals' completed
# stays, a stay being a stage change into `stage_id` and the deal's next change (by time, then
# id), `days` between them counted as the sales cycle is (rounded to whole days, per dialect as
# `_key_values`), so the report's average and median days in a stage are exact.
#
# Each trigger computes the changes it makes as (key, +1/-1) rows and applies them in one
# upsert in key order (two writers then lock shared rows in the same order), and deletes the
# rows left at zero. A stage change's trigger works on the deal's other changes (`id <>` the
# row's), so it is right whether it runs before the row is written (PostgreSQL, where a
# row-level AFTER trigger would see the rows the same statement writes after it) or after
# (SQLite, whose row triggers run as each row is written). A deal is removed BEFORE it is
# deleted, while its stage changes are still there to count; the stage changes deleted with it
# then find no live deal and change nothing.

FUNNEL_REACH_KEY = ("pipeline_id", "created_day", "stages")
FUNNEL_STAY_KEY = ("pipeline_id", "created_day", "stage_id", "days")
# Changing these moves a deal to other rows of the funnel's rollups.
FUNNEL_WATCHED = ("stage_id", "pipeline_id", "created_at", "deleted_at")
FUNNEL_CHANGE_WATCHED = ("deal_id", "to_stage_id", "changed_at")


def _created_day(row: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"({row}.created_at AT TIME ZONE 'UTC')::date"
    return f"date({row}.created_at)"


def _whole_days(start: str, end: str, dialect: str) -> str:
    """`end - start` in days rounded to whole days, as the sales cycle is counted."""
    if dialect == "postgresql":
        return f"round(extract(epoch FROM {end} - {start}) / 86400.0)::integer"
    return f"CAST(round(julianday({end}) - julianday({start})) AS INTEGER)"


def _stage_set(deal_id: str, stage: str, dialect: str, skip: str | None, extra: str | None) -> str:
    """The deal's visited stages as text: its changes' stages (but the change `skip`), its
    current stage `stage` and `extra`, distinct, ascending, comma-separated."""
    others = f"SELECT sc.to_stage_id AS s FROM stage_change sc WHERE sc.deal_id = {deal_id}"
    if skip is not None:
        others += f" AND sc.id <> {skip}"
    parts = [others, f"SELECT {stage}"] + ([f"SELECT {extra}"] if extra else [])
    union = " UNION ".join(parts)
    if dialect == "postgresql":
        return f"(SELECT string_agg(v.s::text, ',' ORDER BY v.s) FROM ({union}) v)"
    # SQLite 3.40 has no ORDER BY inside group_concat; a compound subquery is not flattened
    # into the aggregate, so its rows arrive in its ORDER BY.
    return f"(SELECT group_concat(v.s, ',') FROM ({union} ORDER BY 1) v)"


def _live(deal_id: str, dialect: str) -> str:
    return (
        f"(SELECT d.id, d.pipeline_id, {_created_day('d', dialect)} AS created_day, d.stage_id "
        f"FROM deal d WHERE d.id = {deal_id} AND d.deleted_at IS NULL)"
    )


def _apply(table: str, key: tuple[str, ...], deltas: str) -> str:
    """Add `deltas` ((key..., delta) rows) to `table` in key order; drop rows left at zero."""
    cols = ", ".join(key)
    return (
        f"INSERT INTO {table} ({cols}, n) SELECT {cols}, sum(x.delta) FROM ({deltas}) x "
        f"WHERE x.{key[-1]} IS NOT NULL GROUP BY {cols} HAVING sum(x.delta) <> 0 "
        f"ORDER BY {cols} ON CONFLICT ({cols}) DO UPDATE SET n = {table}.n + excluded.n; "
        f"DELETE FROM {table} WHERE n = 0 AND ({cols}) IN (SELECT {cols} FROM ({deltas}) x);"
    )


def _change_deltas(row: str, sign: str, dialect: str) -> tuple[str, str]:
    """(reach, stays) deltas of adding (sign "1") or taking away ("-1") the stage change `row`
    among the deal's other changes."""
    live = _live(f"{row}.deal_id", dialect)
    without = _stage_set("k.id", "k.stage_id", dialect, f"{row}.id", None)
    with_it = _stage_set("k.id", "k.stage_id", dialect, f"{row}.id", f"{row}.to_stage_id")
    reach = (
        f"SELECT k.pipeline_id, k.created_day, {without} AS stages, -({sign}) AS delta "
        f"FROM {live} k UNION ALL "
        f"SELECT k.pipeline_id, k.created_day, {with_it} AS stages, {sign} AS delta FROM {live} k"
    )
    near = (
        f"FROM stage_change sc WHERE sc.deal_id = {row}.deal_id AND sc.id <> {row}.id AND "
        f"(sc.changed_at {{0}} {row}.changed_at OR "
        f"(sc.changed_at = {row}.changed_at AND sc.id {{0}} {row}.id)) "
        f"ORDER BY sc.changed_at {{1}}, sc.id {{1}} LIMIT 1"
    )
    prev = f"(SELECT sc.to_stage_id, sc.changed_at {near.format('<', 'DESC')}) p"
    nxt = f"(SELECT sc.changed_at {near.format('>', 'ASC')}) nx"
    keys = "k.pipeline_id, k.created_day"

    def days(start: str, end: str) -> str:
        return _whole_days(start, end, dialect)

    stays = (
        f"SELECT {keys}, p.to_stage_id AS stage_id, "
        f"{days('p.changed_at', 'nx.changed_at')} AS days, -({sign}) AS delta "
        f"FROM {live} k, {prev}, {nxt} UNION ALL "
        f"SELECT {keys}, p.to_stage_id, {days('p.changed_at', f'{row}.changed_at')}, {sign} "
        f"FROM {live} k, {prev} UNION ALL "
        f"SELECT {keys}, {row}.to_stage_id, {days(f'{row}.changed_at', 'nx.changed_at')}, "
        f"{sign} FROM {live} k, {nxt}"
    )
    return reach, stays


def _deal_deltas(row: str, sign: str, dialect: str) -> tuple[str, str]:
    """(reach, stays) deltas of adding or taking away the whole deal `row` (when live)."""
    day = _created_day(row, dialect)
    stages = _stage_set(f"{row}.id", f"{row}.stage_id", dialect, None, None)
    live = f"{row}.deleted_at IS NULL"
    reach = (
        f"SELECT {row}.pipeline_id AS pipeline_id, {day} AS created_day, {stages} AS stages, "
        f"{sign} AS delta WHERE {live}"
    )
    following = (
        "(SELECT n.changed_at FROM stage_change n WHERE n.deal_id = c.deal_id AND "
        "(n.changed_at > c.changed_at OR (n.changed_at = c.changed_at AND n.id > c.id)) "
        "ORDER BY n.changed_at, n.id LIMIT 1)"
    )
    stays = (
        f"SELECT {row}.pipeline_id AS pipeline_id, {day} AS created_day, s.to_stage_id AS "
        f"stage_id, {_whole_days('s.changed_at', 's.left_at', dialect)} AS days, "
        f"{sign} AS delta FROM (SELECT c.to_stage_id, c.changed_at, {following} AS left_at "
        f"FROM stage_change c WHERE c.deal_id = {row}.id) s "
        f"WHERE s.left_at IS NOT NULL AND {live}"
    )
    return reach, stays


def _both(deltas: tuple[str, str], more: tuple[str, str] | None = None) -> str:
    reach, stays = deltas
    if more is not None:
        reach, stays = f"{reach} UNION ALL {more[0]}", f"{stays} UNION ALL {more[1]}"
    return (
        _apply("funnel_reach_rollup", FUNNEL_REACH_KEY, reach)
        + " "
        + _apply("funnel_stay_rollup", FUNNEL_STAY_KEY, stays)
    )


def _funnel_key_changed(dialect: str) -> str:
    day_old, day_new = _created_day("OLD", dialect), _created_day("NEW", dialect)
    distinct = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return (
        f"(OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) "
        f"OR OLD.pipeline_id {distinct} NEW.pipeline_id OR {day_old} {distinct} {day_new}"
    )


def funnel_create_statements(dialect: str) -> list[str]:
    """The statements that create the triggers keeping the funnel's rollups."""
    deal_watched = ", ".join(FUNNEL_WATCHED)
    change_watched = ", ".join(FUNNEL_CHANGE_WATCHED)
    moved = _funnel_key_changed(dialect)
    distinct = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    stage_moved = f"OLD.stage_id {distinct} NEW.stage_id"
    # A deal's stays move only with its key; its set of stages also with its stage.
    reach_old, _ = _deal_deltas("OLD", "-1", dialect)
    reach_new, _ = _deal_deltas("NEW", "1", dialect)
    reach_only = _apply(
        "funnel_reach_rollup", FUNNEL_REACH_KEY, f"{reach_old} UNION ALL {reach_new}"
    )
    whole_move = _both(_deal_deltas("OLD", "-1", dialect), _deal_deltas("NEW", "1", dialect))
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION funnel_rollup_deal() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'INSERT' THEN {_both(_deal_deltas('NEW', '1', dialect))} "
            f"ELSIF TG_OP = 'DELETE' THEN {_both(_deal_deltas('OLD', '-1', dialect))} "
            f"ELSIF {moved} THEN {whole_move} "
            f"ELSIF {stage_moved} THEN {reach_only} "
            "END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NULL; END $$",
            "CREATE TRIGGER funnel_rollup_deal AFTER INSERT OR UPDATE OF "
            f"{deal_watched} ON deal FOR EACH ROW EXECUTE FUNCTION funnel_rollup_deal()",
            "CREATE TRIGGER funnel_rollup_deal_delete BEFORE DELETE ON deal "
            "FOR EACH ROW EXECUTE FUNCTION funnel_rollup_deal()",
            "CREATE OR REPLACE FUNCTION funnel_rollup_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'INSERT' THEN {_both(_change_deltas('NEW', '1', dialect))} "
            f"ELSIF TG_OP = 'DELETE' THEN {_both(_change_deltas('OLD', '-1', dialect))} "
            f"ELSE {_both(_change_deltas('OLD', '-1', dialect))} "
            f"{_both(_change_deltas('NEW', '1', dialect))} "
            "END IF; "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER funnel_rollup_change BEFORE INSERT OR DELETE OR UPDATE OF "
            f"{change_watched} ON stage_change FOR EACH ROW "
            "EXECUTE FUNCTION funnel_rollup_change()",
        ]
    return [
        "CREATE TRIGGER funnel_rollup_deal_ai AFTER INSERT ON deal WHEN NEW.deleted_at IS NULL "
        f"BEGIN {_both(_deal_deltas('NEW', '1', dialect))} END",
        "CREATE TRIGGER funnel_rollup_deal_bd BEFORE DELETE ON deal WHEN OLD.deleted_at IS NULL "
        f"BEGIN {_both(_deal_deltas('OLD', '-1', dialect))} END",
        f"CREATE TRIGGER funnel_rollup_deal_au AFTER UPDATE OF {deal_watched} ON deal "
        f"WHEN {moved} BEGIN {whole_move} END",
        f"CREATE TRIGGER funnel_rollup_deal_stage AFTER UPDATE OF {deal_watched} ON deal "
        f"WHEN NOT ({moved}) AND {stage_moved} BEGIN {reach_only} END",
        "CREATE TRIGGER funnel_rollup_change_ai AFTER INSERT ON stage_change "
        f"BEGIN {_both(_change_deltas('NEW', '1', dialect))} END",
        "CREATE TRIGGER funnel_rollup_change_ad AFTER DELETE ON stage_change "
        f"BEGIN {_both(_change_deltas('OLD', '-1', dialect))} END",
        f"CREATE TRIGGER funnel_rollup_change_au AFTER UPDATE OF {change_watched} "
        "ON stage_change BEGIN "
        f"{_both(_change_deltas('OLD', '-1', dialect))} "
        f"{_both(_change_deltas('NEW', '1', dialect))} END",
    ]


SQLITE_FUNNEL_TRIGGERS = (
    "funnel_rollup_deal_ai",
    "funnel_rollup_deal_bd",
    "funnel_rollup_deal_au",
    "funnel_rollup_deal_stage",
    "funnel_rollup_change_ai",
    "funnel_rollup_change_ad",
    "funnel_rollup_change_au",
)


def funnel_drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS funnel_rollup_deal ON deal",
            "DROP TRIGGER IF EXISTS funnel_rollup_deal_delete ON deal",
            "DROP FUNCTION IF EXISTS funnel_rollup_deal()",
            "DROP TRIGGER IF EXISTS funnel_rollup_change ON stage_change",
            "DROP FUNCTION IF EXISTS funnel_rollup_change()",
        ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_FUNNEL_TRIGGERS]


def funnel_fill_statements(dialect: str) -> list[str]:
    """Rebuild the funnel's rollups from the deals and their stage changes."""
    day = _created_day("deal", dialect)
    stages = _stage_set("deal.id", "deal.stage_id", dialect, None, None)
    reach = ", ".join(FUNNEL_REACH_KEY)
    stay = ", ".join(FUNNEL_STAY_KEY)
    left = "lead(c.changed_at) OVER (PARTITION BY c.deal_id ORDER BY c.changed_at, c.id)"
    return [
        "DELETE FROM funnel_reach_rollup",
        f"INSERT INTO funnel_reach_rollup ({reach}, n) "
        f"SELECT pipeline_id, created_day, stages, count(*) FROM (SELECT deal.pipeline_id, "
        f"{day} AS created_day, {stages} AS stages FROM deal WHERE deal.deleted_at IS NULL) r "
        "GROUP BY pipeline_id, created_day, stages",
        "DELETE FROM funnel_stay_rollup",
        f"INSERT INTO funnel_stay_rollup ({stay}, n) "
        f"SELECT deal.pipeline_id, {day}, s.to_stage_id, "
        f"{_whole_days('s.changed_at', 's.left_at', dialect)}, count(*) "
        f"FROM (SELECT c.deal_id, c.to_stage_id, c.changed_at, {left} AS left_at "
        "FROM stage_change c) s JOIN deal ON deal.id = s.deal_id "
        "WHERE s.left_at IS NOT NULL AND deal.deleted_at IS NULL "
        f"GROUP BY deal.pipeline_id, {day}, s.to_stage_id, "
        f"{_whole_days('s.changed_at', 's.left_at', dialect)}",
    ]


# The activity report's rollup. ---------------------------------------------------------------
#
# `activity_rollup` (day, kind, owner_id) -> n: live interactions by UTC day of `occurred_at`,
# owner (none: 0) and kind, and live completed follow-ups by UTC day of `done_at` and owner,
# under the kind `follow-up done`. One trigger per table adds a row's count and takes it away
# as `deal_close_rollup`'s does.

ACTIVITY_KEY = ("day", "kind", "owner_id")
FOLLOWUP_DONE = "follow-up done"
INTERACTION_WATCHED = ("occurred_at", "owner_id", "kind", "deleted_at")
FOLLOWUP_WATCHED = ("done_at", "owner_id", "deleted_at")


def _activity_sources(
    dialect: str,
) -> dict[str, tuple[Callable[[str], str], Callable[[str], list[str]]]]:
    def day(column: str) -> str:
        if dialect == "postgresql":
            return f"({column} AT TIME ZONE 'UTC')::date"
        return f"date({column})"

    return {
        "interaction": (
            lambda row: f"{row}.deleted_at IS NULL AND {row}.occurred_at IS NOT NULL",
            lambda row: [day(f"{row}.occurred_at"), f"{row}.kind", f"coalesce({row}.owner_id, 0)"],
        ),
        "followup": (
            lambda row: f"{row}.deleted_at IS NULL AND {row}.done_at IS NOT NULL",
            lambda row: [
                day(f"{row}.done_at"),
                f"'{FOLLOWUP_DONE}'",
                f"coalesce({row}.owner_id, 0)",
            ],
        ),
    }


def _activity_add(keys: list[str], guard: str | None) -> str:
    values = ", ".join([*keys, "1"])
    source = f"SELECT {values} WHERE {guard}" if guard else f"VALUES ({values})"
    cols = ", ".join(ACTIVITY_KEY)
    return (
        f"INSERT INTO activity_rollup ({cols}, n) {source} "
        f"ON CONFLICT ({cols}) DO UPDATE SET n = activity_rollup.n + 1;"
    )


def _activity_remove(keys: list[str], guard: str | None) -> str:
    where = " AND ".join(f"{c} = {v}" for c, v in zip(ACTIVITY_KEY, keys, strict=True))
    where += f" AND {guard}" if guard else ""
    return (
        f"UPDATE activity_rollup SET n = n - 1 WHERE {where}; "
        f"DELETE FROM activity_rollup WHERE {where} AND n = 0;"
    )


def activity_create_statements(dialect: str) -> list[str]:
    """The statements that create the triggers keeping `activity_rollup`."""
    out = []
    for table, (counted, keys) in _activity_sources(dialect).items():
        watched = ", ".join(INTERACTION_WATCHED if table == "interaction" else FOLLOWUP_WATCHED)
        name = f"activity_rollup_{table}"
        if dialect == "postgresql":
            out += [
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN "
                + _pg_keep(
                    counted,
                    keys,
                    _activity_remove(keys("OLD"), None),
                    _activity_add(keys("NEW"), None),
                )
                + " RETURN NULL; END $$",
                f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF {watched} "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
            ]
            continue
        old, new = counted("OLD"), counted("NEW")
        out += [
            f"CREATE TRIGGER {name}_ai AFTER INSERT ON {table} WHEN {new} "
            f"BEGIN {_activity_add(keys('NEW'), None)} END",
            f"CREATE TRIGGER {name}_ad AFTER DELETE ON {table} WHEN {old} "
            f"BEGIN {_activity_remove(keys('OLD'), None)} END",
            f"CREATE TRIGGER {name}_au AFTER UPDATE OF {watched} ON {table} "
            f"WHEN ({old}) OR ({new}) BEGIN {_activity_remove(keys('OLD'), old)} "
            f"{_activity_add(keys('NEW'), new)} END",
        ]
    return out


SQLITE_ACTIVITY_TRIGGERS = tuple(
    f"activity_rollup_{table}_{event}"
    for table in ("interaction", "followup")
    for event in ("ai", "ad", "au")
)


def activity_drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        out = []
        for t in ("interaction", "followup"):
            out.append(f"DROP TRIGGER IF EXISTS activity_rollup_{t} ON {t}")
            out.append(f"DROP FUNCTION IF EXISTS activity_rollup_{t}()")
        return out
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_ACTIVITY_TRIGGERS]


def activity_fill_statements(dialect: str) -> list[str]:
    """Rebuild `activity_rollup` from the interactions and follow-ups."""
    cols = ", ".join(ACTIVITY_KEY)
    parts = []
    for table, (counted, keys) in _activity_sources(dialect).items():
        k = keys(table)
        parts.append(
            f"SELECT {k[0]} AS day, {k[1]} AS kind, {k[2]} AS owner_id FROM {table} "
            f"WHERE {counted(table)}"
        )
    return [
        "DELETE FROM activity_rollup",
        f"INSERT INTO activity_rollup ({cols}, n) SELECT {cols}, count(*) FROM "
        f"({' UNION ALL '.join(parts)}) a GROUP BY {cols}",
    ]


# The idle deals' rollup. ---------------------------------------------------------------------
#
# `deal_touch_rollup` (deal_id) -> touched_at: every live open deal (status `open`) with the
# last time it was touched, the later of its creation and its latest live interaction. A deal
# is idle for N days when that time is before now - N days (created before the cutoff and no
# interaction since): the activity report counts them as one range of `ix_deal_touch_at` and
# lists the first by id from the primary key, instead of reading the interactions of the last
# N days.
#
# A trigger on `deal` adds or removes the deal's row as it opens, closes, is removed or
# restored; one on `interaction` moves the time forward when a later interaction names the
# deal, and recomputes it from the deal's interactions (`ix_interaction_deal_id`) only when
# the interaction taken away or moved could have been the latest. The recomputation keeps the
# old time when the deal is gone (its interactions deleted with it, before its own trigger
# removes the row).

TOUCH_WATCHED = ("status", "deleted_at", "created_at")
TOUCH_INTERACTION_WATCHED = ("occurred_at", "deleted_at", "deal_id")


def _touch_counted(row: str) -> str:
    return f"{row}.deleted_at IS NULL AND {row}.status = 'open'"


def _touched(row: str, dialect: str) -> str:
    """The later of the deal `row`'s creation and its latest live interaction."""
    greatest = "greatest" if dialect == "postgresql" else "max"
    latest = (
        f"(SELECT max(i.occurred_at) FROM interaction i WHERE i.deal_id = {row}.id "
        "AND i.deleted_at IS NULL)"
    )
    return f"{greatest}({row}.created_at, coalesce({latest}, {row}.created_at))"


def _touch_recount(deal_id: str, dialect: str, guard: str = "") -> str:
    found = f"(SELECT {_touched('d', dialect)} FROM deal d WHERE d.id = {deal_id})"
    return (
        f"UPDATE deal_touch_rollup SET touched_at = coalesce({found}, touched_at) "
        f"WHERE deal_id = {deal_id}{guard};"
    )


def _touch_later(row: str) -> str:
    """Move the deal's time forward to the interaction `row`'s, when it is live and later."""
    return (
        f"UPDATE deal_touch_rollup SET touched_at = {row}.occurred_at "
        f"WHERE deal_id = {row}.deal_id AND touched_at < {row}.occurred_at "
        f"AND {row}.deleted_at IS NULL;"
    )


def _touch_deal_add(row: str, dialect: str) -> str:
    return (
        f"INSERT INTO deal_touch_rollup (deal_id, touched_at) "
        f"SELECT {row}.id, {_touched(row, dialect)} WHERE {_touch_counted(row)};"
    )


def touch_create_statements(dialect: str) -> list[str]:
    """The statements that create the triggers keeping `deal_touch_rollup`."""
    deal_watched = ", ".join(TOUCH_WATCHED)
    inter_watched = ", ".join(TOUCH_INTERACTION_WATCHED)
    remove = "DELETE FROM deal_touch_rollup WHERE deal_id = OLD.id;"
    # The interaction taken away could have been the deal's latest only if the deal's time
    # is not after it.
    old_latest = " AND touched_at <= OLD.occurred_at AND OLD.deleted_at IS NULL"
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION deal_touch_rollup_deal() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'INSERT' THEN {remove} END IF; "
            f"IF TG_OP <> 'DELETE' THEN {_touch_deal_add('NEW', dialect)} END IF; "
            "RETURN NULL; END $$",
            "CREATE TRIGGER deal_touch_rollup_deal AFTER INSERT OR DELETE OR UPDATE OF "
            f"{deal_watched} ON deal FOR EACH ROW EXECUTE FUNCTION deal_touch_rollup_deal()",
            "CREATE OR REPLACE FUNCTION deal_touch_rollup_interaction() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "IF TG_OP <> 'INSERT' AND OLD.deal_id IS NOT NULL THEN "
            f"{_touch_recount('OLD.deal_id', dialect, old_latest)} END IF; "
            f"IF TG_OP <> 'DELETE' AND NEW.deal_id IS NOT NULL THEN {_touch_later('NEW')} "
            "END IF; RETURN NULL; END $$",
            "CREATE TRIGGER deal_touch_rollup_interaction AFTER INSERT OR DELETE OR UPDATE OF "
            f"{inter_watched} ON interaction FOR EACH ROW "
            "EXECUTE FUNCTION deal_touch_rollup_interaction()",
        ]
    old, new = _touch_counted("OLD"), _touch_counted("NEW")
    return [
        f"CREATE TRIGGER deal_touch_rollup_ai AFTER INSERT ON deal WHEN {new} "
        f"BEGIN {_touch_deal_add('NEW', dialect)} END",
        f"CREATE TRIGGER deal_touch_rollup_ad AFTER DELETE ON deal WHEN {old} BEGIN {remove} END",
        f"CREATE TRIGGER deal_touch_rollup_au AFTER UPDATE OF {deal_watched} ON deal "
        f"WHEN ({old}) OR ({new}) BEGIN {remove} {_touch_deal_add('NEW', dialect)} END",
        "CREATE TRIGGER deal_touch_rollup_interaction_ai AFTER INSERT ON interaction "
        f"WHEN NEW.deal_id IS NOT NULL BEGIN {_touch_later('NEW')} END",
        "CREATE TRIGGER deal_touch_rollup_interaction_ad AFTER DELETE ON interaction "
        "WHEN OLD.deal_id IS NOT NULL AND OLD.deleted_at IS NULL "
        f"BEGIN {_touch_recount('OLD.deal_id', dialect, old_latest)} END",
        f"CREATE TRIGGER deal_touch_rollup_interaction_au AFTER UPDATE OF {inter_watched} "
        "ON interaction BEGIN "
        f"{_touch_recount('OLD.deal_id', dialect, old_latest)} {_touch_later('NEW')} END",
    ]


SQLITE_TOUCH_TRIGGERS = (
    "deal_touch_rollup_ai",
    "deal_touch_rollup_ad",
    "deal_touch_rollup_au",
    "deal_touch_rollup_interaction_ai",
    "deal_touch_rollup_interaction_ad",
    "deal_touch_rollup_interaction_au",
)


def touch_drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            "DROP TRIGGER IF EXISTS deal_touch_rollup_deal ON deal",
            "DROP FUNCTION IF EXISTS deal_touch_rollup_deal()",
            "DROP TRIGGER IF EXISTS deal_touch_rollup_interaction ON interaction",
            "DROP FUNCTION IF EXISTS deal_touch_rollup_interaction()",
        ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TOUCH_TRIGGERS]


def touch_fill_statements(dialect: str) -> list[str]:
    """Rebuild `deal_touch_rollup` from the deals and their interactions."""
    greatest = "greatest" if dialect == "postgresql" else "max"
    return [
        "DELETE FROM deal_touch_rollup",
        "INSERT INTO deal_touch_rollup (deal_id, touched_at) "
        f"SELECT deal.id, {greatest}(deal.created_at, coalesce(t.latest, deal.created_at)) "
        "FROM deal LEFT JOIN (SELECT i.deal_id, max(i.occurred_at) AS latest FROM interaction i "
        "WHERE i.deleted_at IS NULL AND i.deal_id IS NOT NULL GROUP BY i.deal_id) t "
        f"ON t.deal_id = deal.id WHERE {_touch_counted('deal')}",
    ]
