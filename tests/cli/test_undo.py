"""`crm undo` puts records back exactly as they were, and refuses when they changed since.

Each case: take the records' `--json` before a write, write, undo, and compare. Runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest

from crm_cli.errors import ExitCode
from tests.conftest import Runner


def _state(crm: Runner) -> dict[str, Any]:
    """Everything a user could look at: every record of every kind, removed ones too."""
    return {
        "contacts": crm.json("contact", "list", "--all"),
        "removed_contacts": crm.json("contact", "list", "--all", "--removed"),
        "companies": crm.json("company", "list", "--all"),
        "deals": [
            crm.json("deal", "show", str(d["id"]))
            for d in crm.json("deal", "list", "--all", "--status", "all")
        ],
        "removed_deals": crm.json("deal", "list", "--all", "--removed", "--status", "all"),
        "followups": crm.json("followup", "list", "--all", "--done"),
        "log": crm.json("log", "list", "--all"),
        "pipelines": crm.json("pipeline", "list"),
    }


@pytest.fixture
def seeded(db_url: str, crm: Runner) -> Runner:
    crm.ok(
        "contact",
        "add",
        "Jonas Weber",
        "--email",
        "jonas@acme.de",
        "--company",
        "Acme GmbH",
        "--tag",
        "vip",
    )
    crm.ok(
        "contact", "add", "张伟", "--email", "zhang.wei@yunhai.cn", "--phone", "+86 10 1234 5678"
    )
    crm.ok(
        "deal",
        "add",
        "Acme renewal",
        "--contact",
        "jonas@acme.de",
        "--value",
        "12000",
        "--tag",
        "q1",
    )
    crm.ok(
        "followup",
        "add",
        "Call Jonas",
        "--due",
        "2030-01-06 10:00",
        "--contact",
        "jonas@acme.de",
        "--repeat",
        "weekly",
    )
    return crm


WRITES = [
    ["contact", "add", "Ana Lima", "--email", "ana@acme.com", "--tag", "new"],
    [
        "contact",
        "edit",
        "jonas@acme.de",
        "--name",
        "Jonas W.",
        "--title",
        "CTO",
        "--field",
        "tier=gold",
        "--add-email",
        "j@acme.de",
        "--rm-phone",
        "+86 10 1234 5678",
    ],
    [
        "contact",
        "edit",
        "zhang.wei@yunhai.cn",
        "--rm-phone",
        "+86 10 1234 5678",
        "--company",
        "北京云海科技",
    ],
    ["contact", "tag", "jonas@acme.de", "+hot", "-vip"],
    ["contact", "rm", "zhang.wei@yunhai.cn"],
    ["company", "edit", "Acme GmbH", "--domain", "acme.de", "--tag", "partner"],
    [
        "deal",
        "add",
        "Yunhai pilot",
        "--contact",
        "zhang.wei@yunhai.cn",
        "--value",
        "12,50",
        "--currency",
        "EUR",
    ],
    ["deal", "edit", "1", "--value", "15000", "--tag", "big", "--close", "2031-01-31"],
    ["deal", "move", "1", "proposal"],
    ["deal", "won", "1"],
    ["deal", "lost", "1", "--reason", "price"],
    ["deal", "rm", "1"],
    ["followup", "done", "1"],
    ["followup", "snooze", "1", "--until", "2030-02-01 09:00"],
    ["log", "call", "jonas@acme.de", "Discussed the renewal"],
    ["pipeline", "add-stage", "demo", "--after", "qualified"],
]


@pytest.mark.parametrize("args", WRITES, ids=lambda a: " ".join(a[:2]))
def test_undo_restores_the_exact_previous_state(seeded: Runner, args: list[str]) -> None:
    crm = seeded
    if args[:2] == ["contact", "edit"] and "--rm-phone" in args and args[2] == "jonas@acme.de":
        args = [a for a in args if a not in ("--rm-phone", "+86 10 1234 5678")]
    before = _state(crm)
    crm.ok(*args)
    assert _state(crm) != before, "the write changed nothing: the case tests nothing"
    undone = crm.json("undo")
    assert undone["command"].startswith("crm " + " ".join(args[:2]))
    assert _state(crm) == before


def test_won_deal_undo_takes_the_contact_back_to_lead(seeded: Runner) -> None:
    crm = seeded
    assert crm.json("contact", "show", "jonas@acme.de")["lifecycle"] == "lead"
    crm.ok("deal", "won", "1")
    assert crm.json("contact", "show", "jonas@acme.de")["lifecycle"] == "customer"
    crm.ok("undo")
    contact = crm.json("contact", "show", "jonas@acme.de")
    assert contact["lifecycle"] == "lead"
    assert [e for e in contact.get("timeline", []) if e.get("kind") == "lifecycle"] == []
    deal = crm.json("deal", "show", "1")
    assert deal["status"] == "open" and [c["to"] for c in deal["stage_changes"]] == ["lead"]


def test_undo_refuses_when_the_record_changed_since(seeded: Runner) -> None:
    crm = seeded
    crm.ok("contact", "edit", "jonas@acme.de", "--title", "CTO")
    target = crm.json("history", "--last", "1")[0]["id"]
    crm.ok("contact", "edit", "jonas@acme.de", "--title", "CEO")
    before = _state(crm)
    refused = crm("undo", str(target))
    assert refused.code == ExitCode.CONFLICT
    assert "contact 1 has changed since" in refused.err and "--title CEO" in refused.err
    assert refused.err.count("\n") == 1
    assert _state(crm) == before


def test_undo_of_a_creation_refuses_when_something_points_at_it(seeded: Runner) -> None:
    crm = seeded
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    target = crm.json("history", "--last", "1")[0]["id"]
    crm.ok("deal", "add", "Ana's deal", "--contact", "ana@acme.com")
    refused = crm("undo", str(target))
    assert refused.code == ExitCode.CONFLICT
    assert "deal" in refused.err
    assert crm.json("contact", "show", "ana@acme.com")["name"] == "Ana Lima"


def test_undo_walks_back_and_an_undo_can_be_undone(seeded: Runner) -> None:
    crm = seeded
    start = _state(crm)
    crm.ok("contact", "edit", "jonas@acme.de", "--title", "CTO")
    after_first = _state(crm)
    crm.ok("contact", "tag", "jonas@acme.de", "+hot")
    first = crm.json("undo")
    second = crm.json("undo")
    assert _state(crm) == start
    assert first["undone"] > second["undone"]
    # Undoing the undo re-applies the title change.
    crm.ok("undo", str(second["change_set"]))
    assert _state(crm) == after_first
    # The undo that was undone cannot be undone twice; the re-applied change can be undone.
    twice = crm("undo", str(second["change_set"]))
    assert twice.code == ExitCode.CONFLICT and "undone already" in twice.err
    crm.ok("undo", str(second["undone"]))
    assert _state(crm) == start


def test_history_shows_what_changed_with_old_and_new_values(seeded: Runner) -> None:
    crm = seeded
    crm.ok("contact", "edit", "jonas@acme.de", "--title", "CTO", "--field", "tier=gold")
    crm.ok("contact", "tag", "jonas@acme.de", "+hot")
    history = crm.json("history", "contact", "jonas@acme.de")
    assert [h["command"].split()[1:3] for h in history] == [
        ["contact", "tag"],
        ["contact", "edit"],
        ["contact", "add"],
    ]
    assert history[0]["changes"][0]["fields"] == {"tags": {"old": ["vip"], "new": ["hot", "vip"]}}
    assert history[1]["changes"][0]["fields"] == {
        "title": {"old": None, "new": "CTO"},
        "custom": {"old": {}, "new": {"tier": "gold"}},
    }
    assert history[0]["user"] == "Test User"
    plain = crm.ok("history", "--last", "2").out
    assert "crm contact tag jonas@acme.de +hot" in plain and '["vip"] -> ["hot", "vip"]' in plain


def test_nothing_to_undo(db_url: str, crm: Runner) -> None:
    result = crm("undo")
    assert result.code == ExitCode.NOT_FOUND
    assert result.err.startswith("crm: error: nothing to undo")


def test_a_redone_change_can_be_undone_again(db_url: str, crm: Runner) -> None:
    """Undoing an undo puts the change back in force: a later `crm undo` reverts it, not an
    older change (which would silently wipe out the re-applied value)."""
    crm.ok("deal", "add", "D1", "--value", "100")
    crm.ok("deal", "edit", "1", "--value", "200")
    crm.ok("deal", "edit", "1", "--value", "300")
    first = crm.json("undo")
    assert crm.json("deal", "show", "1")["value"] == 200
    crm.ok("undo", str(first["change_set"]))  # redo
    assert crm.json("deal", "show", "1")["value"] == 300
    again = crm.json("undo")
    assert again["undone"] == first["undone"]  # the re-applied edit, not the one before it
    assert crm.json("deal", "show", "1")["value"] == 200
    history = crm.json("history", "deal", "1")
    assert [h["undone_by"] is not None for h in history if h["undoes"] is None] == [
        True,  # the 200 -> 300 edit, undone again
        False,
        False,
    ]


def test_pipeline_rm_is_undone_with_what_hung_on_its_deals(db_url: str, crm: Runner) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@example.com")
    crm.ok("pipeline", "add", "partners")
    crm.ok("deal", "add", "D1", "--pipeline", "partners", "--contact", "ana@example.com")
    crm.ok("followup", "add", "Call", "--due", "tomorrow", "--deal", "1")
    crm.ok("log", "call", "ana@example.com", "hello", "--deal", "1")
    crm.ok(
        "feedback", "add", "ana@example.com", "--kind", "praise", "--text", "good", "--deal", "1"
    )
    crm.ok("deal", "rm", "1")
    before = _state(crm)
    crm.ok("pipeline", "rm", "partners", "--yes")
    assert crm.json("followup", "list", "--all", "--done") == []
    crm.ok("undo")
    assert _state(crm) == before
    assert [f["deal_id"] for f in crm.json("feedback", "list")] == [1]
