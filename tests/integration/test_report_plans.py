"""Each report reads through an index (EXPLAIN, as the report ran its statements): on SQLite
the index made for it; on PostgreSQL, no statement reads a whole big table (its planner picks
among several indexes by the data's size, so which one is not pinned)."""

from __future__ import annotations

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
    (["feedback", "--from", "2026-01-01"], ["ix_feedback_live_created"]),
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
