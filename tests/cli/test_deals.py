"""Deals through the real command, on SQLite and PostgreSQL: the salesperson's scenario, the
stage history, money, refusals that change nothing, listing filters and totals."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from crm_cli.errors import ExitCode
from crm_cli.store.engine import make_engine


def sql(db_url: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query), params)]
    finally:
        engine.dispose()


def history(db_url: str, deal_id: int) -> list[tuple[str | None, str]]:
    """(from, to) stage names of a deal's stage changes, oldest first."""
    return [
        (f, t)
        for f, t in sql(
            db_url,
            """
        SELECT f.name, t.name FROM stage_change c
        LEFT JOIN stage f ON f.id = c.from_stage_id JOIN stage t ON t.id = c.to_stage_id
        WHERE c.deal_id = :d ORDER BY c.changed_at, c.id""",
            d=deal_id,
        )
    ]


def add(crm: Any, *args: str) -> dict[str, Any]:
    record: dict[str, Any] = crm.json("deal", "add", *args)
    return record


def test_scenario_one_salesperson_at_the_shell(crm: Any, db_url: str) -> None:
    crm.ok(
        "contact",
        "add",
        "Ana Lima",
        "--email",
        "ana@acme.com",
        "--company",
        "Acme",
        "--lifecycle",
        "prospect",
    )
    added = crm.ok(
        "deal",
        "add",
        "Acme renewal",
        "--contact",
        "ana@acme.com",
        "--value",
        "12000",
        "--close",
        "2027-01-31",
    )
    (deal_id,) = [r[0] for r in sql(db_url, "SELECT id FROM deal")]
    assert added.out.splitlines() == [
        f"Added deal {deal_id}: Acme renewal (lead, 12,000.00 EUR, close 2027-01-31)"
    ]

    crm.ok("deal", "move", str(deal_id), "proposal")
    listed = crm.json("deal", "list", "--stage", "proposal")
    assert [d["id"] for d in listed] == [deal_id]
    deal = listed[0]
    assert (deal["contact"], deal["company"], deal["value"], deal["currency"]) == (
        "Ana Lima",
        "Acme",
        12000,
        "EUR",
    )
    assert (deal["value_minor"], deal["probability"], deal["weighted_value"]) == (1200000, 50, 6000)
    assert deal["expected_close"] == "2027-01-31"

    crm.ok("deal", "move", str(deal_id), "negotiation")
    crm.ok("deal", "won", str(deal_id))
    won = crm.json("deal", "show", str(deal_id))
    assert (won["stage"], won["status"], won["probability"]) == ("won", "won", 100)
    assert won["closed_at"] is not None
    assert crm.json("deal", "list") == []  # the default listing shows open deals
    assert [d["id"] for d in crm.json("deal", "list", "--status", "won")] == [deal_id]


def test_stage_history_and_the_contact_becoming_a_customer(crm: Any, db_url: str) -> None:
    contact = crm.json(
        "contact", "add", "Ana Lima", "--email", "ana@acme.com", "--lifecycle", "prospect"
    )
    deal = add(crm, "Acme renewal", "--contact", "ana@acme.com", "--value", "12000")
    for stage in ("qualified", "proposal"):
        crm.ok("deal", "move", str(deal["id"]), stage)
    won = crm.ok("deal", "won", str(deal["id"]))
    assert "now a customer" in won.err

    shown = crm.json("deal", "show", str(deal["id"]))
    changes = shown["stage_changes"]
    # The creation is the first entry, from no stage.
    assert [(c["from"], c["to"]) for c in changes] == [
        (None, "lead"),
        ("lead", "qualified"),
        ("qualified", "proposal"),
        ("proposal", "won"),
    ]
    times = [datetime.fromisoformat(c["at"]) for c in changes]
    assert all(t.utcoffset() is not None for t in times)
    assert times == sorted(times)
    assert {c["by"] for c in changes} == {"Test User"}

    assert crm.json("contact", "show", "ana@acme.com")["lifecycle"] == "customer"
    events = sql(db_url, "SELECT kind, detail, contact_id, deal_id, user_id FROM event")
    assert len(events) == 1
    kind, detail, contact_id, deal_id, user_id = events[0]
    assert (kind, contact_id, deal_id) == ("lifecycle", contact["id"], deal["id"])
    assert detail == f"lifecycle prospect -> customer (deal {deal['id']} won)"
    assert user_id is not None

    # A second win for a customer records nothing more.
    other = add(crm, "Upsell", "--contact", "ana@acme.com")
    crm.ok("deal", "won", str(other["id"]))
    assert len(sql(db_url, "SELECT id FROM event")) == 1


def test_a_churned_contact_winning_becomes_a_customer_again(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Bo", "--email", "bo@x.com", "--lifecycle", "churned")
    deal = add(crm, "Win back", "--contact", "bo@x.com", "--stage", "won")
    assert deal["status"] == "won" and deal["closed_at"] is not None
    assert crm.json("contact", "show", "bo@x.com")["lifecycle"] == "customer"
    assert sql(db_url, "SELECT detail FROM event") == [
        (f"lifecycle churned -> customer (deal {deal['id']} won)",)
    ]


def test_status_follows_the_stage_and_every_change_is_recorded(crm: Any, db_url: str) -> None:
    deal = add(crm, "Deal", "--stage", "proposal", "--value", "100")
    did = str(deal["id"])
    assert deal["status"] == "open" and deal["closed_at"] is None

    refused = crm("deal", "move", did, "lost")
    assert refused.code == ExitCode.USAGE and "reason" in refused.err
    lost = crm.json("deal", "lost", did, "--reason", "price")
    assert (lost["status"], lost["lost_reason"], lost["probability"]) == ("lost", "price", 0)
    assert lost["closed_at"] is not None and lost["weighted_value"] == 0

    reopened = crm.json("deal", "reopen", did)
    assert (reopened["stage"], reopened["status"]) == ("proposal", "open")
    assert reopened["closed_at"] is None and reopened["lost_reason"] is None
    assert crm("deal", "reopen", did).code == ExitCode.CONFLICT  # it is open

    edited = crm.json("deal", "edit", did, "--stage", "won")
    assert (edited["status"], edited["closed_at"] is not None) == ("won", True)
    reopened = crm.json("deal", "reopen", did, "--stage", "qualified")
    assert reopened["stage"] == "qualified"
    assert crm("deal", "reopen", did).code == ExitCode.CONFLICT
    crm.ok("deal", "won", did)
    assert crm("deal", "reopen", did, "--stage", "lost").code == ExitCode.USAGE

    assert history(db_url, deal["id"]) == [
        (None, "proposal"),
        ("proposal", "lost"),
        ("lost", "proposal"),
        ("proposal", "won"),
        ("won", "qualified"),
        ("qualified", "won"),
    ]
    # Winning a won deal and moving to the stage it is in change nothing.
    crm.ok("deal", "won", did)
    crm.ok("deal", "move", did, "won")
    assert len(history(db_url, deal["id"])) == 6


def test_days_in_stage_restart_on_each_change(crm: Any, db_url: str) -> None:
    deal = add(crm, "Old deal")
    from sqlalchemy import update

    from crm_cli.store.sales import Deal

    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(update(Deal).values(stage_entered_at=datetime(2020, 1, 1, tzinfo=UTC)))
    engine.dispose()
    assert crm.json("deal", "show", str(deal["id"]))["days_in_stage"] > 365
    moved = crm.json("deal", "move", str(deal["id"]), "qualified")
    assert moved["days_in_stage"] == 0


def test_money_in_minor_units(crm: Any, db_url: str) -> None:
    yen = add(crm, "Tokyo", "--value", "1500", "--currency", "jpy")
    assert (yen["value"], yen["value_minor"], yen["currency"]) == (1500, 1500, "JPY")
    assert sql(db_url, "SELECT value_minor, currency FROM deal WHERE id = :i", i=yen["id"]) == [
        (1500, "JPY")
    ]
    refused = crm("deal", "add", "Tokyo 2", "--value", "1500.5", "--currency", "JPY")
    assert refused.code == ExitCode.USAGE and "1500.5" in refused.err

    euro = add(crm, "Berlin", "--value", "12,000.50", "--probability", "33")
    assert (euro["value"], euro["value_minor"]) == (12000.5, 1200050)
    # 1200050 * 33 / 100 = 396016.5, rounded half up to a whole cent.
    assert (euro["probability"], euro["probability_override"]) == (33, 33)
    assert euro["weighted_value"] == 3960.17
    assert add(crm, "Default currency")["currency"] == "EUR"
    crm.ok("config", "set", "defaults.currency", "USD")
    assert add(crm, "Dollars", "--value", "5")["currency"] == "USD"

    # A new currency never changes the value silently: a rate, or --keep-amount (which refuses
    # when the new currency has too few decimals for the number).
    eid = str(euro["id"])
    refused = crm("deal", "edit", eid, "--currency", "USD")
    assert refused.code == ExitCode.USAGE and "--convert-at RATE" in refused.err
    assert crm.json("deal", "show", eid)["currency"] == "EUR"
    kept = crm.json("deal", "edit", eid, "--currency", "USD", "--keep-amount")
    assert (kept["value_minor"], kept["currency"]) == (1200050, "USD")
    converted = crm.json("deal", "edit", eid, "--currency", "EUR", "--convert-at", "0,5")
    assert (converted["value_minor"], converted["currency"]) == (600025, "EUR")
    bad = crm("deal", "edit", eid, "--currency", "JPY", "--keep-amount")
    assert bad.code == ExitCode.USAGE
    crm.ok("deal", "edit", eid, "--value", "12000")
    assert (
        crm.json("deal", "edit", eid, "--currency", "JPY", "--keep-amount")["value_minor"] == 12000
    )


def _state(db_url: str) -> list[Any]:
    return [
        sql(db_url, f"SELECT * FROM {table} ORDER BY 1")
        for table in ("deal", "stage_change", "deal_tag", "company", "contact", "event")
    ]


BAD_VALUES = [
    (["deal", "add", "X", "--stage", "nope"], ExitCode.NOT_FOUND, "nope"),
    (["deal", "add", "X", "--value=-5"], ExitCode.USAGE, "-5"),
    (["deal", "add", "X", "--value", "12k"], ExitCode.USAGE, "12k"),
    (["deal", "add", "X", "--value", "1", "--currency", "XXX"], ExitCode.USAGE, "XXX"),
    (["deal", "add", "X", "--contact", "nobody@x.com"], ExitCode.NOT_FOUND, "nobody@x.com"),
    (["deal", "add", "X", "--probability", "101"], ExitCode.USAGE, "101"),
    (["deal", "add", "X", "--close", "someday"], ExitCode.USAGE, "someday"),
    (["deal", "add", "X", "--close", "2027-02-30"], ExitCode.USAGE, "2027-02-30"),
    (["deal", "add", "X", "--pipeline", "nope"], ExitCode.NOT_FOUND, "nope"),
    (["deal", "add", "X", "--owner", "nobody"], ExitCode.NOT_FOUND, "nobody"),
    (["deal", "add", "X", "--stage", "lost"], ExitCode.USAGE, "reason"),
    (["deal", "add", "X", "--tag", "two words"], ExitCode.USAGE, "two words"),
    (["deal", "add", "X", "--company", "NewCo", "--close", "someday"], ExitCode.USAGE, "someday"),
    (["deal", "add", " "], ExitCode.USAGE, "title"),
    (["deal", "move", "1", "nope"], ExitCode.NOT_FOUND, "nope"),
    (["deal", "move", "999", "lead"], ExitCode.NOT_FOUND, "999"),
    (["deal", "move", "1", "lost"], ExitCode.USAGE, "reason"),
    (["deal", "move", "1", "qualified", "--reason", "x"], ExitCode.USAGE, "reason"),
    (["deal", "lost", "1", "--reason", " "], ExitCode.USAGE, "reason"),
    (["deal", "edit", "1", "--value=-1"], ExitCode.USAGE, "-1"),
    (["deal", "edit", "1", "--probability", "101"], ExitCode.USAGE, "101"),
    (["deal", "edit", "1", "--title", "New", "--close", "bad"], ExitCode.USAGE, "bad"),
    (["deal", "edit", "1", "--title", "New", "--stage", "nope"], ExitCode.NOT_FOUND, "nope"),
    (
        ["deal", "edit", "1", "--title", "New", "--contact", "no@x.com"],
        ExitCode.NOT_FOUND,
        "no@x.com",
    ),
    (["deal", "edit", "1", "--reason", "why"], ExitCode.USAGE, "not lost"),
    (["deal", "show", "abc"], ExitCode.NOT_FOUND, "no deal 'abc'"),  # a title word, none matches
    (["deal", "list", "--status", "maybe"], ExitCode.USAGE, "maybe"),
    (["deal", "list", "--sort", "shoe"], ExitCode.USAGE, "shoe"),
    (["deal", "list", "--min-value", "lots"], ExitCode.USAGE, "lots"),
    (["deal", "list", "--close-before", "soon-ish"], ExitCode.USAGE, "soon-ish"),
    (["deal", "list", "--stage", "nope"], ExitCode.NOT_FOUND, "nope"),
]


def test_bad_values_are_refused_and_change_nothing(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com", "--lifecycle", "prospect")
    add(crm, "Existing", "--contact", "ana@acme.com", "--value", "10")
    before = _state(db_url)
    for args, code, named in BAD_VALUES:
        result = crm(*args)
        assert result.code == code, (args, result)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("crm: error: "), (args, result)
        assert named in lines[0], (args, result)
        assert result.out == ""
    assert _state(db_url) == before


def test_owners_and_mine(crm: Any, db_url: str) -> None:
    crm.ok("user", "add", "Bo Chen", "--email", "bo@example.com")
    mine = add(crm, "Mine")
    theirs = add(crm, "Theirs", "--owner", "bo@example.com")
    assert mine["owner"] == "Test User" and theirs["owner"] == "Bo Chen"
    assert [d["id"] for d in crm.json("deal", "list", "--mine")] == [mine["id"]]
    assert [d["id"] for d in crm.json("deal", "list", "--owner", "Bo Chen")] == [theirs["id"]]
    moved = crm.json("deal", "edit", str(mine["id"]), "--owner", "bo@example.com")
    assert moved["owner_id"] == theirs["owner_id"]


def test_list_filters(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com", "--company", "Acme")
    crm.ok("contact", "add", "Bo", "--email", "bo@globex.com", "--company", "Globex")
    a = add(
        crm,
        "Acme renewal",
        "--contact",
        "ana@acme.com",
        "--value",
        "12000",
        "--close",
        "2027-01-31",
        "--tag",
        "renewal",
        "--stage",
        "proposal",
    )
    b = add(
        crm,
        "Acme upsell",
        "--contact",
        "ana@acme.com",
        "--value",
        "500",
        "--close",
        "2027-03-01",
        "--tag",
        "upsell",
        "--tag",
        "renewal",
    )
    c = add(
        crm,
        "Globex pilot",
        "--contact",
        "bo@globex.com",
        "--value",
        "100000",
        "--currency",
        "JPY",
        "--source",
        "fair",
    )
    d = add(crm, "Old win", "--value", "7", "--stage", "won")

    def ids(*args: str) -> list[int]:
        return sorted(r["id"] for r in crm.json("deal", "list", *args))

    assert ids() == sorted([a["id"], b["id"], c["id"]])
    assert ids("--status", "all") == sorted([a["id"], b["id"], c["id"], d["id"]])
    assert ids("--status", "won") == [d["id"]]
    assert ids("--stage", "won") == [d["id"]]  # a stage implies its status
    assert ids("--stage", "proposal") == [a["id"]]
    assert ids("--contact", "ana@acme.com") == sorted([a["id"], b["id"]])
    assert ids("--company", "Globex") == [c["id"]]
    assert ids("--close-before", "2027-02-01") == [a["id"]]
    assert ids("--close-before", "2027-01-31") == [a["id"]]  # on or before
    assert ids("--close-after", "2027-02-01") == [b["id"]]
    assert ids("--min-value", "600") == sorted([a["id"], c["id"]])  # 100,000 JPY >= 600
    assert ids("--min-value", "12000.01") == [c["id"]]
    assert ids("--min-value", "100001") == []
    assert ids("--currency", "jpy") == [c["id"]]
    assert ids("--tag", "renewal") == sorted([a["id"], b["id"]])
    assert ids("--tag", "renewal", "--tag", "upsell") == [b["id"]]
    assert ids("--search", "ACME") == sorted([a["id"], b["id"]])
    assert ids("--search", "%") == []
    assert ids("--pipeline", "default") == sorted([a["id"], b["id"], c["id"]])


def test_totals_per_currency(crm: Any, db_url: str) -> None:
    add(crm, "A", "--value", "1000", "--stage", "proposal")  # 50%: 500
    add(crm, "B", "--value", "0.05", "--probability", "50")  # 2.5 cents: rounds to 3
    add(crm, "C", "--value", "1500", "--currency", "JPY", "--stage", "qualified")  # 25%: 375
    add(crm, "D", "--value", "999", "--stage", "lost", "--reason", "no budget")
    result = crm.ok("deal", "list", "--json")
    assert len(result.json) == 3
    note = result.err
    assert "3 deals" in note
    assert "1,000.05 EUR (weighted 500.03 EUR)" in note
    assert "1,500 JPY (weighted 375 JPY)" in note

    from crm_cli.services.context import open_context
    from crm_cli.services.deal_views import DealFilter, list_deals

    ctx = open_context()
    try:
        with ctx.session(write=False) as session:
            page = list_deals(ctx, session, DealFilter(status="all", limit=1))
    finally:
        ctx.close()
    assert page.total == 4 and len(page.rows) == 1
    assert page.totals == {
        "count": 4,
        "by_currency": [
            {
                "currency": "EUR",
                "count": 3,
                "value": 1999.05,
                "value_minor": 199905,
                "weighted_value": 500.03,
                "weighted_value_minor": 50003,
            },
            {
                "currency": "JPY",
                "count": 1,
                "value": 1500,
                "value_minor": 1500,
                "weighted_value": 375,
                "weighted_value_minor": 375,
            },
        ],
    }
    # In a pipe every stdout line is a deal (header aside); the totals are a note on stderr.
    plain = crm.ok("deal", "list")
    assert len(plain.out.strip().splitlines()) == 1 + 3
    assert "Total" not in plain.out and "3 deals" in plain.err


def test_default_order_sort_and_paging(crm: Any, db_url: str) -> None:
    later = add(crm, "Later", "--close", "2027-06-01")
    undated = add(crm, "Undated")
    sooner = add(crm, "Sooner", "--close", "2027-01-01", "--value", "5")
    prop = add(crm, "In proposal", "--stage", "proposal", "--value", "9")
    qual = add(crm, "In qualified", "--stage", "qualified", "--close", "2026-01-01")
    # Board order (lead, qualified, proposal, ...), then close date, undated last.
    expected = [sooner["id"], later["id"], undated["id"], qual["id"], prop["id"]]
    assert [d["id"] for d in crm.json("deal", "list")] == expected
    assert [d["id"] for d in crm.json("deal", "list", "--sort", "-value")][:2] == [
        prop["id"],
        sooner["id"],
    ]
    # Undated deals come last on both databases, then by id.
    assert [d["id"] for d in crm.json("deal", "list", "--sort", "close")] == [
        qual["id"],
        sooner["id"],
        later["id"],
        undated["id"],
        prop["id"],
    ]
    # Descending: ties (here the undated deals) by id descending too, the way an index runs.
    assert [d["id"] for d in crm.json("deal", "list", "--sort", "-close")] == [
        later["id"],
        sooner["id"],
        qual["id"],
        prop["id"],
        undated["id"],
    ]
    assert [d["id"] for d in crm.json("deal", "list", "--sort", "title")] == [
        prop["id"],
        qual["id"],
        later["id"],
        sooner["id"],
        undated["id"],
    ]
    assert [d["id"] for d in crm.json("deal", "list", "--sort", "-stage,id")] == [
        prop["id"],
        qual["id"],
        later["id"],
        undated["id"],
        sooner["id"],
    ]

    page = crm("deal", "list", "--limit", "2", "--json")
    assert [d["id"] for d in page.json] == expected[:2]
    assert "showing 2 of 5" in page.err
    crm.ok("config", "set", "defaults.page_size", "3")
    # The page is for a terminal; a script gets every row, and --ids only the ids.
    assert len(crm.json("deal", "list")) == 5
    assert crm.ok("deal", "list", "--ids").out.split() == [str(i) for i in expected]


def test_edit(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com", "--company", "Acme")
    deal = add(crm, "Deal", "--value", "10", "--close", "2027-01-31", "--tag", "a")
    did = str(deal["id"])
    edited = crm.json(
        "deal",
        "edit",
        did,
        "--title",
        "Renamed",
        "--contact",
        "ana@acme.com",
        "--probability",
        "80",
        "--close",
        "",
        "--tag",
        "b",
        "--untag",
        "a",
        "--source",
        "web",
        "--external-id",
        "X-1",
    )
    assert (edited["title"], edited["contact"], edited["company"]) == ("Renamed", "Ana", "Acme")
    assert (edited["probability"], edited["probability_override"]) == (80, 80)
    assert edited["expected_close"] is None and edited["tags"] == ["b"]
    assert (edited["source"], edited["external_id"]) == ("web", "X-1")
    back = crm.json("deal", "edit", did, "--probability", "stage", "--contact", "", "--company", "")
    assert (back["probability"], back["probability_override"]) == (10, None)
    assert back["contact_id"] is None and back["company_id"] is None
    moved = crm.json("deal", "edit", did, "--stage", "proposal")
    assert moved["stage"] == "proposal"
    assert history(db_url, deal["id"]) == [(None, "lead"), ("lead", "proposal")]
    close = crm.json("deal", "edit", did, "--close", "+30d")["expected_close"]
    assert date.fromisoformat(close) > date.today() + timedelta(days=25)


def test_remove_and_restore(crm: Any, db_url: str) -> None:
    one, two = add(crm, "One"), add(crm, "Two")
    removed = crm.ok("deal", "rm", str(one["id"]))
    assert "crm deal restore" in removed.out
    assert [d["id"] for d in crm.json("deal", "list")] == [two["id"]]
    assert [d["id"] for d in crm.json("deal", "list", "--removed")] == [one["id"]]
    assert crm("deal", "show", str(one["id"])).code == ExitCode.NOT_FOUND
    assert crm("deal", "rm", str(two["id"]), "999").code == ExitCode.FAILURE  # asks first
    assert sql(db_url, "SELECT deleted_at FROM deal WHERE id = :i", i=one["id"])[0][0] is not None
    restored = crm.json("deal", "restore", str(one["id"]))
    assert restored["deleted_at"] is None
    assert crm("deal", "restore", str(one["id"])).code == ExitCode.NOT_FOUND


def test_company_defaults_to_the_contacts_and_can_be_named(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@acme.com", "--company", "Acme")
    assert add(crm, "D1", "--contact", "ana@acme.com")["company"] == "Acme"
    other = add(crm, "D2", "--contact", "ana@acme.com", "--company", "Initech")
    assert other["company"] == "Initech"
    assert crm.json("company", "show", "Initech")["id"] == other["company_id"]


def test_default_pipeline_from_config(crm: Any, db_url: str) -> None:
    crm.ok("pipeline", "add", "partners", "--stages", "intro,trial")
    crm.ok("config", "set", "defaults.pipeline", "partners")
    deal = add(crm, "Partner deal")
    assert (deal["pipeline"], deal["stage"]) == ("partners", "intro")
    assert add(crm, "Direct", "--pipeline", "default")["pipeline"] == "default"
    crm.ok("config", "set", "defaults.pipeline", "gone")
    assert crm("deal", "add", "X").code == ExitCode.NOT_FOUND


def test_show_lists_stage_changes_in_text_too(crm: Any, db_url: str) -> None:
    deal = add(crm, "Deal", "--value", "1")
    crm.ok("deal", "move", str(deal["id"]), "qualified")
    out = crm.ok("deal", "show", str(deal["id"])).out
    assert "Stage changes" in out and "qualified" in out


# --- speed and start-up ----------------------------------------------------------------------


def test_list_reads_pages_and_totals_from_indexes(tmp_path: Any) -> None:
    """EXPLAIN QUERY PLAN on SQLite: the default page is read in index order (no sort of the
    whole set) and the totals come from a covering index (no table reads)."""
    from sqlalchemy.dialects import sqlite
    from sqlmodel import col

    from crm_cli.services.deal_views import stage_page_queries, totals_query
    from crm_cli.services.pipelines import load_board
    from crm_cli.store.engine import session_scope
    from crm_cli.store.migrate import ensure_current
    from crm_cli.store.sales import Deal

    engine = make_engine(f"sqlite:///{tmp_path}/plan.db")
    ensure_current(engine, None)
    conds = [col(Deal.deleted_at).is_(None), col(Deal.stage_id).in_([1, 2, 3, 4])]
    with session_scope(engine, write=False) as session:
        board = load_board(session)
    queries = [*stage_page_queries(1, conds, 50), totals_query(conds, board)]
    plans = []
    with engine.connect() as conn:
        for query in queries:
            compiled = str(
                query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
            )
            plans.append(
                " | ".join(
                    str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
                )
            )
    engine.dispose()
    dated, undated, totals = plans
    for plan in (dated, undated):
        assert "ix_deal_stage_close" in plan and "TEMP B-TREE" not in plan, plan
    assert "COVERING INDEX ix_deal_totals" in totals and "TEMP B-TREE" not in totals, totals


def test_deal_commands_leave_heavy_modules_out_until_run() -> None:
    script = (
        "import sys, json, contextlib, io\n"
        "from crm_cli.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['deal', 'add', '--help'])\n"
        "    main(['pipeline', '--help'])\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert not loaded & {"sqlalchemy", "sqlmodel", "alembic", "rich.table"}


@pytest.mark.parametrize("module", ["crm_cli.cli.deal", "crm_cli.cli.pipeline"])
def test_every_command_has_help_with_an_example(module: str) -> None:
    import importlib

    import typer

    app = importlib.import_module(module).app
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert commands
    for name, command in commands.items():
        assert command.help and "Example: crm " in command.help, name
        assert command.help.split("\n")[0].strip().endswith("."), name
