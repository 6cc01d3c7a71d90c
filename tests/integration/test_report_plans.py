"""Each report reads through an index (EXPLAIN, as the report ran its statements): on SQLite
the index made for it; on PostgreSQL, no statement reads a whole big table (its planner picks
among several indexes by the data's size, so which one is not pinned)."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from tests.conftest import Runner
from tests.integration.test_query_plans import (  # noqa: F401
    _PG_FULL_SCAN,
    _plans,
    _seed,
    statements,
)

# (report, the indexes or rollup tables its plans together must name). Sales, pipeline,
# forecast, funnel, and segments and clv over all time read their rollups
# (crm_cli/store/rollups.py); sales reads the deals too, through ix_deal_closed, for the
# hours of a split day (the tests run in Berlin) and the first and last close of an open
# period; a period's segments read the deals.
REPORTS: list[tuple[list[str], list[str]]] = [
    (["pipeline"], ["deal_open_rollup"]),
    (["forecast", "--by", "owner"], ["deal_open_rollup"]),
    # SQLite groups the rollup's rows as they come in the order of ix_deal_close_order (all
    # time) or ix_deal_close_month (a UTC month), instead of sorting them.
    (["sales"], ["ix_deal_close_order"]),
    (["sales", "--by", "source"], ["ix_deal_close_order"]),
    (
        ["sales", "--from", "2026-01-01", "--to", "2026-03-31", "--by", "owner"],
        ["ix_deal_close_month", "ix_deal_closed"],
    ),
    (["sales", "--by", "month"], ["ix_deal_close_month", "ix_deal_closed"]),
    (["sales", "--from", "2025-12-20", "--by", "quarter"], ["ix_deal_close_month"]),
    (["segments"], ["customer_won_rollup"]),
    (["segments", "--from", "2026-01-01"], ["ix_deal_customer"]),
    (["clv"], ["customer_won_rollup"]),
    (["funnel"], ["funnel_reach_rollup", "funnel_stay_rollup"]),
    # A period's bounds split UTC days in Berlin: the deals created in those hours are read
    # through ix_deal_pipeline_created, their histories through ix_stage_change_deal_at.
    (
        ["funnel", "--from", "2026-01-01", "--to", "2026-03-31"],
        ["funnel_reach_rollup", "ix_deal_pipeline_created", "ix_stage_change_deal_at"],
    ),
    # Feedback counts from an index that holds every column it reads.
    (["feedback"], ["COVERING INDEX ix_feedback_report"]),
    (["feedback", "--from", "2026-01-01", "--by", "category"], ["ix_feedback_report"]),
    # Activity: the rollup in owner order; the idle deals a range of their last touches, the
    # first of them by id, whatever the window.
    (["activity"], ["ix_activity_owner", "ix_deal_touch_at", "deal_touch_rollup"]),
    (["activity", "--idle", "365"], ["ix_deal_touch_at", "deal_touch_rollup"]),
    # By month in Berlin: the rollup by day, and the interactions of each month's split hours.
    (
        ["activity", "--by", "month", "--from", "2026-01-01", "--to", "2026-03-31"],
        ["activity_rollup USING PRIMARY KEY", "ix_interaction_live_at"],
    ),
]


def test_each_report_uses_its_index(
    db_url: str,
    crm: Runner,
    statements: list[tuple[str, Any]],  # noqa: F811
) -> None:
    crm.ok("pipeline", "list")
    _seed()
    failures = []
    for args, indexes in REPORTS:
        statements.clear()
        crm.ok("report", *args, "--json")
        text = "\n---\n".join(_plans(db_url, list(statements)))
        if not db_url.startswith("sqlite"):
            scans = sorted({m.group(1) for m in _PG_FULL_SCAN.finditer(text)})
            if scans:
                failures.append(f"crm report {' '.join(args)}: reads all of {scans}:\n{text}")
            continue
        for index in indexes:
            if index not in text:
                failures.append(f"crm report {' '.join(args)}: does not use {index}:\n{text}")
    assert not failures, "\n\n".join(failures)


# What `PRAGMA optimize` leaves in sqlite_stat1 at a million deals, follow-ups and interactions
# (bench/scale.py's large database, its analysis limited to 400 rows an index): planned with
# these, a read of many time ranges in one OR became one open-ended range ("done_at>?")
# through every completed follow-up or closed deal, 3 to 6 s.
_MILLION_STATS = [
    ("deal", "ix_deal_closed", "952560 401 2 2 2 1 1 1"),
    ("deal", "ix_deal_company_id", "1189122 101"),
    ("deal", "ix_deal_contact_id", "1263888 10"),
    ("deal", "ix_deal_customer", "706734 401 4 3 3 2 1"),
    ("deal", "ix_deal_expected_close", "3689728 401"),
    ("deal", "ix_deal_external_id", "1043072 401"),
    ("deal", "ix_deal_live_stage_close", "2112522 401 401 1"),
    ("deal", "ix_deal_live_updated", "555984 401 1"),
    ("deal", "ix_deal_live_value", "1308624 1 1"),
    ("deal", "ix_deal_owner_id", "1224423 401"),
    ("deal", "ix_deal_owner_live", "1227600 401 401 401"),
    ("deal", "ix_deal_pipeline_created", "518700 401 1 1 1"),
    ("deal", "ix_deal_pipeline_id", "1043072 401"),
    ("deal", "ix_deal_stage_close", "2060630 401 401 401 1"),
    ("deal", "ix_deal_stage_status", "1218360 401 401"),
    ("deal", "ix_deal_status", "1096260 401"),
    ("deal", "ix_deal_totals", "1357785 401 134 58 1 1"),
    ("followup", "ix_followup_contact_id", "1227264 10"),
    ("followup", "ix_followup_deal_id", "1394448 3"),
    ("followup", "ix_followup_open_due", "2830424 2 1"),
    ("followup", "ix_followup_open_effective", "2928420 2 2 1"),
    ("followup", "ix_followup_owner_id", "1252710 401"),
    ("followup", "ix_followup_owner_live_due", "625600 401 1 1"),
    ("followup", "ix_followup_owner_open", "2261175 401 401 401 1"),
    ("interaction", "ix_interaction_contact_at", "605085 11 1"),
    ("interaction", "ix_interaction_deal_id", "1267680 3"),
    ("interaction", "ix_interaction_live_at", "572468 401 1"),
    ("interaction", "ix_interaction_live_deal", "582920 401 1 1"),
    ("interaction", "ix_interaction_occurred_at", "1008000 1"),
    ("interaction", "ix_interaction_owner_at", "603801 401 401 1"),
    ("interaction", "ix_interaction_owner_id", "1239240 401"),
]

_TIME_RANGE = re.compile(r"\b(closed_at|done_at|occurred_at)([<>]=?)\?")


def test_split_hours_are_read_as_closed_ranges_at_a_million_rows(
    db_url: str,
    crm: Runner,
    statements: list[tuple[str, Any]],  # noqa: F811
) -> None:
    """By month in Berlin, the deals, interactions and follow-ups of each month's split hours
    are read by a range of their time index bounded on both sides, with the statistics of a
    million-row database: never an open-ended range tested against every part."""
    crm.ok("pipeline", "list")
    _seed()
    sqlite = db_url.startswith("sqlite")
    if sqlite:
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        with conn:
            conn.execute("ANALYZE")
            conn.execute(
                "DELETE FROM sqlite_stat1 WHERE tbl IN ('deal', 'followup', 'interaction')"
            )
            conn.executemany(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", _MILLION_STATS
            )
        conn.close()
    failures = []
    for args in (["sales", "--by", "month"], ["activity", "--by", "month"]):
        statements.clear()
        crm.ok("report", *args, "--json")
        run = list(statements)
        for (sql, _params), plan in zip(run, _plans(db_url, run), strict=True):
            if sql.startswith(("SELECT min(", "SELECT max(")):
                continue  # the first or last in the period: one seek, whatever its range
            if not sqlite:
                scans = sorted({m.group(1) for m in _PG_FULL_SCAN.finditer(plan)})
                if scans:
                    failures.append(f"crm report {' '.join(args)}: reads all of {scans}")
                continue
            for line in plan.splitlines():
                bounds = _TIME_RANGE.findall(line)
                if bounds and {op[0] for _column, op in bounds} != {"<", ">"}:
                    failures.append(f"crm report {' '.join(args)}: open-ended: {line}")
    assert not failures, "\n".join(failures)
