"""`crm report` against figures computed here from the raw files with plain Python.

The CRM Sales Opportunities deals (../shared/data) are loaded into a real database, then
every figure of `crm report sales` is compared with one this file computes from the CSV
without any crm code.
"""

from __future__ import annotations

import csv
import io
import math
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


def load_sales(crm: Any, path: Path) -> list[dict[str, str]]:
    """The file's deals through `crm import`, with flags only (as docs/importing.md shows)."""
    from tests.integration.test_import_realdata import MAVEN

    crm.ok("import", "deals", str(path), *MAVEN)
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


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
    rows = load_sales(crm, shared_data / SALES)
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


REPORT_NAMES = (
    "pipeline", "forecast", "sales", "funnel", "activity", "feedback", "segments", "clv", "churn",
)  # fmt: skip


def _undefined_ratios(data: Any, path: str = "") -> list[str]:
    """Where the JSON gives a number that cannot be right: NaN or infinity, or a ratio whose
    denominator is 0 that is not null."""
    bad = []
    if isinstance(data, float) and not math.isfinite(data):
        bad.append(f"{path}={data}")
    elif isinstance(data, list):
        for i, item in enumerate(data):
            bad += _undefined_ratios(item, f"{path}[{i}]")
    elif isinstance(data, dict):
        for key, value in data.items():
            bad += _undefined_ratios(value, f"{path}.{key}")
            name = key.removesuffix("_denominator")
            if name != key and value == 0 and data.get(name) is not None:
                bad.append(f"{path}.{name}={data[name]} over a denominator of 0")
    return bad


def _every_report(crm: Any, *period: str) -> dict[str, tuple[Any, str]]:
    """Each report's JSON and text, each run insisting on exit code 0."""
    out = {}
    for name in REPORT_NAMES:
        data = crm.json("report", name, *period)
        text = crm.ok("report", name, *period).out
        assert not _undefined_ratios(data), (name, _undefined_ratios(data))
        words = text.replace("%", " ").split()
        assert not {"nan", "NaN", "inf", "None", "null"} & set(words), (name, text)
        assert "Traceback" not in text
        out[name] = (data, text)
    return out


def test_sparse_data_gives_every_report_a_dash_and_its_reason(crm: Any, db_url: str) -> None:
    """An empty database, one open deal with no value or dates, one won deal without a value,
    and a period in which nothing closed: every report answers, and a figure that cannot be
    computed is a dash with the reason, never 0% or an error."""
    empty = _every_report(crm)
    assert "win rate — (no deals closed all time)" in empty["sales"][1]
    assert "churn — (no customers at the start" in empty["churn"][1]
    assert empty["segments"][0] == []

    crm.ok("deal", "add", "Bare")  # no value, no contact, no expected close
    crm.ok("contact", "add", "Bo", "--email", "bo@example.com")
    crm.ok("deal", "add", "Won without a value", "--contact", "bo@example.com")
    crm.ok("deal", "won", "2")
    one = _every_report(crm)
    sales = one["sales"][0]
    assert (sales["won_count"], sales["lost_count"], sales["win_rate"]) == (1, 0, 1.0)
    assert sales["won_value"] == 0 and sales["median_cycle_days"] == 0.0
    forecast = one["forecast"][0]
    assert sum(row["count"] for row in forecast) == 1  # the bare deal, under "no close date"
    assert "1 have none" in one["forecast"][1]

    later = _every_report(crm, "--from", "2030-01-01", "--to", "2030-03-31")
    assert later["sales"][0]["win_rate"] is None
    assert "win rate — (no deals closed 2030-01-01..2030-03-31)" in later["sales"][1]
    months = crm.json(
        "report", "sales", "--from", "2030-01-01", "--to", "2030-03-31", "--by", "month"
    )
    assert [(m["key"], m["won_count"], m["win_rate"]) for m in months] == [
        ("2030-01", 0, None),
        ("2030-02", 0, None),
        ("2030-03", 0, None),
    ]


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


CDNOW = Path("rfm_cdnow_lifetimes/files/lifetimes/datasets/CDNOW_master.txt")
SEGMENT_TABLE = {
    5: ("new", "potential loyalist", "potential loyalist", "champions", "champions"),
    4: ("promising", "potential loyalist", "potential loyalist", "loyal", "champions"),
    3: ("about to sleep", "need attention", "need attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at risk", "at risk", "can't lose them"),
    1: ("lost", "hibernating", "at risk", "can't lose them", "can't lose them"),
}


def load_cdnow(crm: Any, path: Path, tmp_path: Path) -> list[tuple[int, date, int]]:
    """CDNOW purchases as won deals of one contact per customer (USD), through `crm import`.
    The file is fixed-width; it becomes a CSV first, as a user would with awk."""
    purchases = []
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order", "customer", "date", "dollars"])
    for i, line in enumerate(path.read_text().splitlines()[1:]):
        cust, day, _n, dollars = line.split()
        when = datetime.strptime(day, "%Y%m%d").date()
        purchases.append((int(cust), when, round(float(dollars) * 100)))
        writer.writerow([f"cdnow-{i}", f"customer {int(cust):05d}", when.isoformat(), dollars])
    converted = tmp_path / "cdnow.csv"
    converted.write_text(out.getvalue(), encoding="utf-8")
    crm.ok(
        "import", "deals", str(converted), "--create-missing",
        "--map", "external_id=order", "--map", "title=order", "--map", "contact=customer",
        "--map", "closed_at=date", "--map", "created_at=date", "--map", "value=dollars",
        "--set", "status=won", "--set", "currency=USD",
    )  # fmt: skip
    return purchases


def ntile(order: list[int], buckets: int = 5) -> dict[int, int]:
    """SQL's NTILE over `order`: equal groups, the first ones one larger."""
    n = len(order)
    size, extra = divmod(n, buckets)
    out, i = {}, 0
    for b in range(1, buckets + 1):
        take = size + (1 if b <= extra else 0)
        for key in order[i : i + take]:
            out[key] = b
        i += take
    return out


@pytest.mark.realdata
def test_rfm_segments_and_clv_match_cdnow(
    crm: Any, db_url: str, shared_data: Path, tmp_path: Path
) -> None:
    crm.ok("config", "set", "defaults.timezone", "UTC")
    crm.ok("contact", "list")
    purchases = load_cdnow(crm, shared_data / CDNOW, tmp_path)
    last: dict[int, date] = {}
    count: dict[int, int] = defaultdict(int)
    money: dict[int, int] = defaultdict(int)
    for c, d, v in purchases:
        last[c] = max(last.get(c, d), d)
        count[c] += 1
        money[c] += v
    customers = sorted(last)
    r = ntile(sorted(customers, key=lambda c: (last[c], c)))
    f = ntile(sorted(customers, key=lambda c: (count[c], c)))
    m = ntile(sorted(customers, key=lambda c: (money[c], c)))
    want: dict[str, int] = defaultdict(int)
    for c in customers:
        want[SEGMENT_TABLE[r[c]][(f[c] + m[c] + 1) // 2 - 1]] += 1

    got = {s["segment"]: s for s in crm.json("report", "segments", "--to", "1998-06-30")}
    assert {k: v["customers"] for k, v in got.items()} == dict(want)
    assert sum(v["monetary_minor"] for v in got.values()) == sum(money.values())

    # The contact listing filters by segment with the same rule.
    at_risk = crm.json("contact", "list", "--segment", "at-risk", "--all")
    assert len(at_risk) == want["at risk"]
    assert {c["name"] for c in at_risk} == {
        f"customer {c:05d}"
        for c in customers
        if SEGMENT_TABLE[r[c]][(f[c] + m[c] + 1) // 2 - 1] == "at risk"
    }
    bad = crm("contact", "list", "--segment", "sleepy")
    assert bad.code == 2 and "sleepy" in bad.err

    clv = crm.json("report", "clv", "--to", "1998-06-30")
    assert clv["customers"] == len(customers) == 23570
    assert clv["won_deals"] == len(purchases)
    assert clv["purchase_frequency"] == pytest.approx(len(purchases) / len(customers))
    assert clv["value_per_customer"] == pytest.approx(
        sum(money.values()) / len(customers) / 100, abs=0.01
    )


def test_funnel_counts_stages_passed_through(crm: Any, db_url: str) -> None:
    ids = [crm.json("deal", "add", f"D{i}", "--value", "100")["id"] for i in range(5)]
    # Default board: lead, qualified, proposal, negotiation, won, lost.
    crm.ok("deal", "move", str(ids[0]), str(ids[1]), str(ids[2]), "qualified")
    crm.ok("deal", "move", str(ids[0]), "won")  # skips proposal and negotiation
    crm.ok("deal", "move", str(ids[1]), "lost", "--reason", "price")
    rungs = {r["stage"]: r for r in crm.json("report", "funnel")}
    assert list(rungs) == ["lead", "qualified", "proposal", "negotiation", "won"]
    assert rungs["lead"]["reached"] == 5
    assert rungs["qualified"]["reached"] == 3  # 0, 1 (lost later) and 2
    assert rungs["proposal"]["reached"] == 1  # only the won one passed it
    assert rungs["won"]["reached"] == 1
    assert rungs["lead"]["to_next"] == pytest.approx(3 / 5)
    assert rungs["qualified"]["to_won"] == pytest.approx(1 / 3)
    assert rungs["lead"]["stays"] == 3  # three deals left lead; two still there


def test_churn_from_lifecycle_changes(crm: Any, db_url: str) -> None:
    from crm_cli.store.models import Contact
    from crm_cli.store.sales import Event

    crm.ok("contact", "list")
    engine = make_engine(db_url)
    past = datetime(2025, 6, 1, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(Contact),
                [
                    {"name": n, "lifecycle": lc, "created_at": past, "updated_at": past}
                    for n, lc in [
                        ("A", "customer"),
                        ("B", "churned"),
                        ("C", "customer"),
                        ("D", "customer"),
                        ("E", "churned"),
                        ("F", "churned"),
                    ]
                ],
            )
            ids = dict(conn.execute(select(Contact.name, Contact.id)).all())  # type: ignore[call-overload]
            events = [
                ("B", "customer", "churned", datetime(2026, 2, 10, tzinfo=UTC)),
                ("D", "lead", "customer", datetime(2026, 3, 1, tzinfo=UTC)),
                ("E", "customer", "churned", datetime(2025, 12, 1, tzinfo=UTC)),
                ("F", "customer", "churned", datetime(2026, 8, 1, tzinfo=UTC)),
            ]
            conn.execute(
                insert(Event),
                [
                    {
                        "at": at,
                        "kind": "lifecycle",
                        "detail": f"lifecycle {a} -> {b}",
                        "contact_id": ids[n],
                    }
                    for n, a, b, at in events
                ],
            )
    finally:
        engine.dispose()
    got = crm.json("report", "churn", "--from", "2026-01-01", "--to", "2026-06-30")
    # At the start: A, B, C and F were customers (D was a lead, E had churned); B left.
    assert (got["customers_at_start"], got["lost"]) == (4, 1)
    assert got["churn_rate"] == pytest.approx(0.25)
    everything = crm.json("report", "churn")
    assert (everything["customers_at_start"], everything["lost"]) == (6, 3)


def test_a_lifecycle_change_is_dated_on_the_timeline(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--lifecycle", "customer")
    crm.ok("contact", "edit", "Ana Lima", "--lifecycle", "churned")
    got = crm.json("report", "churn", "--from", "2000-01-01")
    assert got["customers_at_start"] == 0  # she became a customer today
    assert crm.json("report", "churn")["lost"] == 1


def test_activity_per_owner_and_kind_and_idle_deals(crm: Any, db_url: str) -> None:
    from crm_cli.store.sales import Deal

    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("log", "call", "ana@acme.com", "Intro call")
    crm.ok("log", "call", "ana@acme.com", "Second call")
    crm.ok("log", "email", "ana@acme.com", "Sent the offer")
    fid = crm.json("followup", "add", "Call back", "--due", "tomorrow", "-c", "ana@acme.com")["id"]
    crm.ok("followup", "done", str(fid))
    busy = crm.json("deal", "add", "Busy", "--value", "10")["id"]
    crm.ok("log", "note", "ana@acme.com", "About the deal", "--deal", str(busy))
    engine = make_engine(db_url)
    old = datetime(2020, 1, 1, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            pipeline_id, stage_id = conn.execute(
                select(Deal.pipeline_id, Deal.stage_id).where(Deal.id == busy)  # type: ignore[arg-type]
            ).one()
            conn.execute(
                insert(Deal),
                [
                    {
                        "title": "Forgotten",
                        "pipeline_id": pipeline_id,
                        "stage_id": stage_id,
                        "created_at": old,
                        "updated_at": old,
                        "stage_entered_at": old,
                    },
                ],
            )
            conn.execute(
                Deal.__table__.update()  # type: ignore[attr-defined]
                .where(Deal.__table__.c.id == busy)  # type: ignore[attr-defined]
                .values(created_at=old)
            )
    finally:
        engine.dispose()
    got = crm.json("report", "activity", "--idle", "30")
    (row,) = got["rows"]
    assert row["key"] == "Test User"
    assert (row["call"], row["email"], row["note"], row["follow-up done"]) == (2, 1, 1, 1)
    assert row["total"] == 5
    assert got["idle_deals"] == 1 and [d["title"] for d in got["idle"]] == ["Forgotten"]


# --- real datasets through `crm import`, figures checked against plain Python ------------------

DATA_NPS = Path("nps_survey_sudzilla_prepbench/files/data/case_040/inputs/input_02.csv")
DATA_NPS_TRUTH = Path("nps_survey_sudzilla_prepbench/files/src/evaluate/gt/case_040/output_01.csv")
DATA_TICKETS = Path("feedback_customer_support_tickets/original/files/customer_support_tickets.csv")
DATA_TELCO = Path("churn_telco_ibm/files/data/Telco-Customer-Churn.csv")
NPS_QUESTION = "On a scale of 0-10, how would you rate Sudzilla?"


@pytest.mark.realdata
def test_nps_of_the_sudzilla_survey(crm: Any, db_url: str, shared_data: Path) -> None:
    crm.ok(
        "import", "feedback", str(shared_data / DATA_NPS), "--set", "kind=nps",
        "--map", f"score={NPS_QUESTION}", "--map", "text=...why?", "--map", "created_at=Timestamp",
    )  # fmt: skip
    with (shared_data / DATA_NPS).open(newline="", encoding="utf-8") as fh:
        scores = [int(r[NPS_QUESTION]) for r in csv.DictReader(fh)]
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    got = crm.json("report", "feedback")
    assert got["nps_responses"] == len(scores)
    assert (got["promoters"], got["detractors"]) == (promoters, detractors)
    assert got["nps"] == pytest.approx((promoters - detractors) * 100 / len(scores))
    with (shared_data / DATA_NPS_TRUTH).open(newline="", encoding="utf-8") as fh:
        truth = next(csv.DictReader(fh))  # the challenge's own answer
    assert round(got["nps"], 1) == float(truth["NPS Score"])
    assert got["nps_responses"] == int(truth["Total Respondents"])


@pytest.mark.realdata
def test_csat_of_the_support_tickets(crm: Any, db_url: str, shared_data: Path) -> None:
    path = shared_data / DATA_TICKETS
    result = crm(
        "import", "feedback", str(path), "--set", "kind=csat",
        "--map", "score=Customer Satisfaction Rating", "--map", "category=Ticket Type",
        "--map", "text=Ticket Subject", "--map", "contact=Customer Email", "--create-missing",
        "--json",
    )  # fmt: skip
    assert result.code in (0, 6), result  # unrated tickets are refused: a CSAT needs a score
    with path.open(newline="", encoding="utf-8") as fh:
        rated = [r for r in csv.DictReader(fh) if r["Customer Satisfaction Rating"].strip()]
    ratings = [int(float(r["Customer Satisfaction Rating"])) for r in rated]
    got = crm.json("report", "feedback")
    assert got["csat_responses"] == len(ratings)
    assert got["csat_avg"] == pytest.approx(sum(ratings) / len(ratings), abs=1e-4)
    assert got["csat_satisfied"] == sum(r >= 4 for r in ratings)
    assert got["csat_distribution"] == {str(n): ratings.count(n) for n in range(1, 6)}
    by_type = {item["key"]: item for item in crm.json("report", "feedback", "--by", "category")}
    for kind in {r["Ticket Type"] for r in rated}:
        mine = [
            int(float(r["Customer Satisfaction Rating"])) for r in rated if r["Ticket Type"] == kind
        ]
        assert by_type[kind]["csat_responses"] == len(mine)
        assert by_type[kind]["csat_avg"] == pytest.approx(sum(mine) / len(mine), abs=1e-4)


@pytest.mark.realdata
def test_churn_of_the_telco_customers(
    crm: Any, sqlite_url: str, shared_data: Path, tmp_path: Path
) -> None:
    mapping = tmp_path / "telco.toml"
    mapping.write_text(
        '[columns]\nexternal_id = "customerID"\nname = "customerID"\nlifecycle = "Churn"\n\n'
        '[values.lifecycle]\nYes = "churned"\nNo = "customer"\n',
        encoding="utf-8",
    )
    crm.ok("import", "contacts", str(shared_data / DATA_TELCO), "--mapping", str(mapping))
    with (shared_data / DATA_TELCO).open(newline="", encoding="utf-8") as fh:
        churn = [r["Churn"] for r in csv.DictReader(fh)]
    got = crm.json("report", "churn")
    assert got["customers_at_start"] == len(churn) == 7043
    assert got["lost"] == churn.count("Yes") == 1869
    assert got["churn_rate"] == pytest.approx(1869 / 7043)


def test_the_funnel_speaks_of_one_deal_in_the_singular(crm: Any, db_url: str) -> None:
    crm.ok("deal", "add", "Only one")
    text = crm.ok("report", "funnel").out
    assert "1 deal created" in " ".join(text.split())
    assert "1 deals" not in text
