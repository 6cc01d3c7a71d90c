"""`crm report` against figures computed here from the raw files with plain Python.

The CRM Sales Opportunities deals (../shared/data) are loaded into a real database, then
every figure of `crm report sales` is compared with one this file computes from the CSV
without any crm code.
"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from crm_cli.store.engine import make_engine

SALES = Path("crm_sales_opportunities_maven/original_crlf/sales_pipeline.csv")


def _midnight(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)


def load_sales(db_url: str, path: Path) -> list[dict[str, str]]:
    """The file's deals, written straight into the tables (the report must not care how
    they got there): Won and Lost deals closed on their close date."""
    from crm_cli.store.models import User
    from crm_cli.store.sales import Deal, Pipeline, Stage

    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Pipeline), [{"name": "sales", "position": 1}])
            pid = conn.execute(select(Pipeline.id).where(Pipeline.name == "sales")).scalar_one()  # type: ignore[arg-type]
            kinds = {"Prospecting": "open", "Engaging": "open", "Won": "won", "Lost": "lost"}
            conn.execute(
                insert(Stage),
                [
                    {"pipeline_id": pid, "name": n, "position": i, "kind": k, "probability": p}
                    for i, (n, k, p) in enumerate(
                        [
                            ("Prospecting", "open", 10),
                            ("Engaging", "open", 50),
                            ("Won", "won", 100),
                            ("Lost", "lost", 0),
                        ]
                    )
                ],
            )
            stages = dict(conn.execute(select(Stage.name, Stage.id)).all())  # type: ignore[call-overload]
            agents = sorted({r["sales_agent"] for r in rows})
            conn.execute(insert(User), [{"name": a} for a in agents])
            users = dict(conn.execute(select(User.name, User.id)).all())  # type: ignore[call-overload]
            now = datetime(2018, 1, 1, tzinfo=UTC)
            deals = []
            for r in rows:
                kind = kinds[r["deal_stage"]]
                created = _midnight(r["engage_date"]) if r["engage_date"] else now
                closed = _midnight(r["close_date"]) if kind != "open" and r["close_date"] else None
                deals.append(
                    {
                        "title": r["opportunity_id"],
                        "pipeline_id": pid,
                        "stage_id": stages[r["deal_stage"]],
                        "status": kind,
                        "value_minor": int(r["close_value"] or 0) * 100,
                        "currency": "USD",
                        "owner_id": users[r["sales_agent"]],
                        "external_id": r["opportunity_id"],
                        "created_at": created,
                        "updated_at": created,
                        "stage_entered_at": closed or created,
                        "closed_at": closed,
                        "lost_reason": "lost" if kind == "lost" else None,
                    }
                )
            conn.execute(insert(Deal), deals)
    finally:
        engine.dispose()
    return rows


def expected_sales(rows: list[dict[str, str]], first: str, last: str) -> dict[str, dict[str, Any]]:
    """Plain Python from the CSV: per sales agent and for everyone."""
    groups: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        if r["deal_stage"] in ("Won", "Lost") and first <= r["close_date"] <= last:
            groups[r["sales_agent"]].append(r)
            groups["*"].append(r)
    out = {}
    for key, items in groups.items():
        won = [r for r in items if r["deal_stage"] == "Won"]
        lost = [r for r in items if r["deal_stage"] == "Lost"]
        cycles = [
            (date.fromisoformat(r["close_date"]) - date.fromisoformat(r["engage_date"])).days
            for r in won
        ]
        out[key] = {
            "won_count": len(won),
            "lost_count": len(lost),
            "won_value": sum(int(r["close_value"]) for r in won),
            "win_rate": len(won) / (len(won) + len(lost)),
            "avg_cycle_days": statistics.mean(cycles) if cycles else None,
            "median_cycle_days": statistics.median(cycles) if cycles else None,
        }
    return out


@pytest.mark.realdata
def test_sales_report_matches_the_file(crm: Any, db_url: str, shared_data: Path) -> None:
    crm.ok("config", "set", "defaults.timezone", "UTC")
    crm.ok("contact", "list")  # creates and migrates the database
    rows = load_sales(db_url, shared_data / SALES)
    first, last = "2017-01-01", "2017-06-30"
    want = expected_sales(rows, first, last)

    got = crm.json("report", "sales", "--from", first, "--to", last)
    assert got["period"] == {"from": first, "to": last}
    for key in ("won_count", "lost_count", "won_value", "win_rate"):
        assert got[key] == pytest.approx(want["*"][key]), key
    assert got["avg_cycle_days"] == pytest.approx(want["*"]["avg_cycle_days"], abs=1e-3)
    assert got["median_cycle_days"] == pytest.approx(want["*"]["median_cycle_days"])
    assert got["win_rate_numerator"] == want["*"]["won_count"]
    assert got["win_rate_denominator"] == want["*"]["won_count"] + want["*"]["lost_count"]

    by_owner = {
        item["key"]: item
        for item in crm.json("report", "sales", "--from", first, "--to", last, "--by", "owner")
    }
    assert set(by_owner) == set(want) - {"*"}
    for agent, figures in by_owner.items():
        for key in ("won_count", "lost_count", "won_value", "win_rate"):
            assert figures[key] == pytest.approx(want[agent][key]), (agent, key)
        assert figures["median_cycle_days"] == pytest.approx(want[agent]["median_cycle_days"])

    # The working in the terminal names the denominator.
    text = crm.ok("report", "sales", "--from", first, "--to", last).out
    w = want["*"]
    assert (
        f"{w['won_count']:,} won / ({w['won_count']:,} won + {w['lost_count']:,} lost), "
        f"closed {first}..{last}"
    ) in text

    # By month: the months add up to the period.
    months = crm.json("report", "sales", "--from", first, "--to", last, "--by", "month")
    assert [m["key"] for m in months] == [f"2017-0{n}" for n in range(1, 7)]
    assert sum(m["won_count"] for m in months) == w["won_count"]


def test_empty_database_gives_dashes_not_zero_percent(crm: Any, db_url: str) -> None:
    got = crm.json("report", "sales")
    assert got["win_rate"] is None and got["won_count"] == 0
    assert got["avg_cycle_days"] is None and got["median_cycle_days"] is None
    text = crm.ok("report", "sales").out
    assert "win rate — (no deals closed all time)" in text
    assert "0%" not in text
    fb = crm.json("report", "feedback")
    assert fb["nps"] is None and fb["nps_responses"] == 0 and fb["csat_avg"] is None
    assert crm.json("report", "forecast") == []
    assert all(item["count"] == 0 for item in crm.json("report", "pipeline"))


def test_pipeline_and_forecast_keep_currencies_apart(crm: Any, db_url: str) -> None:
    crm.ok("deal", "add", "A", "--value", "1000", "--currency", "EUR", "--stage", "lead")
    crm.ok(
        "deal",
        "add",
        "B",
        "--value",
        "3000",
        "--currency",
        "EUR",
        "--stage",
        "lead",
        "--close",
        "2030-01-15",
    )
    crm.ok(
        "deal",
        "add",
        "C",
        "--value",
        "5000",
        "--currency",
        "USD",
        "--stage",
        "lead",
        "--close",
        "2030-01-20",
        "--probability",
        "40",
    )
    items = crm.json("report", "pipeline")
    lead = {i["currency"]: i for i in items if i["stage"] == "lead"}
    assert lead["EUR"]["count"] == 2 and lead["EUR"]["value"] == 4000
    assert lead["EUR"]["weighted_value"] == 400  # 10% of each
    assert lead["USD"]["value"] == 5000 and lead["USD"]["weighted_value"] == 2000
    months = {(m["month"], m["currency"]): m for m in crm.json("report", "forecast")}
    assert months[("no close date", "EUR")]["count"] == 1
    assert months[("2030-01", "EUR")]["value"] == 3000
    assert months[("2030-01", "USD")]["weighted_value"] == 2000


def test_feedback_report_counts(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    for score in ("10", "9", "8", "3"):
        crm.ok("feedback", "add", "ana@acme.com", "--kind", "nps", "--score", score)
    for score in ("5", "4", "2"):
        crm.ok("feedback", "add", "ana@acme.com", "--kind", "csat", "--score", score)
    got = crm.json("report", "feedback")
    assert (got["promoters"], got["passives"], got["detractors"]) == (2, 1, 1)
    assert got["nps"] == pytest.approx(25.0)  # 50% - 25%
    assert got["csat_avg"] == pytest.approx(11 / 3, abs=1e-4)
    assert got["csat_share"] == pytest.approx(2 / 3)
    assert got["csat_distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}


def test_bad_options_name_the_value(crm: Any, db_url: str) -> None:
    r = crm("report", "sales", "--by", "colour")
    assert r.code == 2 and "by" in r.err and "colour" in r.err
    r = crm("report", "sales", "--from", "2026-13-01")
    assert r.code == 2 and "2026-13-01" in r.err
    r = crm("report", "nope")
    assert r.code == 2 and "nope" in r.err


def test_explain_prints_the_sql(crm: Any, db_url: str) -> None:
    out = crm.ok("report", "sales", "--explain").out
    assert "SELECT" in out and "FROM deal" in out
