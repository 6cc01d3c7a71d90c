"""The 360-degree views: `contact show` and `deal show` carry everything about the record."""

from __future__ import annotations

from typing import Any


def _setup(crm: Any) -> dict[str, Any]:
    crm.ok(
        "contact",
        "add",
        "Ana Lima",
        "--email",
        "ana@acme.com",
        "--company",
        "Acme",
        "--tag",
        "vip",
        "--field",
        "tier=gold",
    )
    deal = crm.json(
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
    other = crm.json(
        "deal",
        "add",
        "Acme expansion",
        "--contact",
        "ana@acme.com",
        "--value",
        "5000.50",
        "--currency",
        "USD",
    )
    crm.ok("log", "call", "ana@acme.com", "Discussed renewal", "--deal", str(deal["id"]))
    crm.ok(
        "followup",
        "add",
        "Send contract",
        "--due",
        "+2d",
        "--contact",
        "ana@acme.com",
        "--deal",
        str(deal["id"]),
    )
    crm.ok("feedback", "add", "ana@acme.com", "--kind", "nps", "--score", "9")
    return {"deal": deal["id"], "other": other["id"]}


def test_contact_show_carries_everything(crm: Any, db_url: str) -> None:
    ids = _setup(crm)
    crm.ok("deal", "won", str(ids["other"]))
    shown = crm.json("contact", "show", "ana@acme.com")
    assert shown["name"] == "Ana Lima"
    assert shown["company_detail"]["name"] == "Acme"
    assert shown["tags"] == ["vip"] and shown["custom"] == {"tier": "gold"}
    assert [d["id"] for d in shown["open_deals"]] == [ids["deal"]]
    assert shown["open_deals"][0]["stage"] == "lead"
    assert shown["open_deals"][0]["value"] == 12000
    assert [d["id"] for d in shown["closed_deals"]] == [ids["other"]]
    assert [f["title"] for f in shown["followups"]] == ["Send contract"]
    assert [i["summary"] for i in shown["interactions"]] == ["Discussed renewal"]
    assert [(f["kind"], f["score"]) for f in shown["feedback"]] == [("nps", 9)]
    kinds = [entry["kind"] for entry in shown["timeline"]]
    assert {"call", "stage_change", "lifecycle", "feedback"} <= set(kinds)
    # Newest first.
    times = [entry["at"] for entry in shown["timeline"]]
    assert times == sorted(times, reverse=True)
    # The first won deal made Ana a customer, and the timeline says so.
    assert shown["lifecycle"] == "customer"
    lifecycle = [e for e in shown["timeline"] if e["kind"] == "lifecycle"]
    assert len(lifecycle) == 1 and "customer" in lifecycle[0]["summary"]
    assert lifecycle[0]["deal_id"] == ids["other"]


def test_contact_show_table_has_sections(crm: Any, db_url: str) -> None:
    _setup(crm)
    out = crm.ok("contact", "show", "ana@acme.com").out
    for heading in ("Open deals:", "Next follow-ups:", "Timeline:", "Feedback:"):
        assert heading in out
    assert "12,000.00 EUR" in out


def test_deal_show_carries_everything(crm: Any, db_url: str) -> None:
    ids = _setup(crm)
    for stage in ("qualified", "proposal"):
        crm.ok("deal", "move", str(ids["deal"]), stage)
    crm.ok("deal", "won", str(ids["deal"]))
    shown = crm.json("deal", "show", str(ids["deal"]))
    moves = [(c["from"], c["to"]) for c in shown["stage_changes"]]
    assert moves == [
        (None, "lead"),
        ("lead", "qualified"),
        ("qualified", "proposal"),
        ("proposal", "won"),
    ]
    assert all(c["by"] == "Test User" and c["at"] for c in shown["stage_changes"])
    assert [f["title"] for f in shown["followups"]] == ["Send contract"]
    assert [i["summary"] for i in shown["interactions"]] == ["Discussed renewal"]
    assert [e["kind"] for e in shown["timeline"]].count("stage_change") == 4
    assert crm.json("contact", "show", "ana@acme.com")["lifecycle"] == "customer"
