"""`crm contact merge` and `crm company merge`: the plan first, everything moved onto the
kept record, the others removed (restorable), and `crm undo` putting the database back.

"Back exactly" is checked on the tables themselves: every row of every table before the
merge and after its undo, versions and the ids of email and phone rows included, on SQLite and
PostgreSQL. The journal and its change sets are left out (they record the merge and the undo).
tests/cli/test_undo_exact.py compares `crm export all` byte for byte.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import sqlalchemy as sa

from crm_cli.errors import ExitCode
from tests.conftest import Runner

_SKIP = {"change_set", "change_entry", "alembic_version"}


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a comparable form."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn, warnings.catch_warnings():
        # Indexes on expressions cannot be reflected; rows are what is compared here.
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        meta.reflect(conn)
        for table in meta.sorted_tables:
            if table.name in _SKIP or "_fts" in table.name or "search" in table.name:
                continue
            rows = conn.execute(sa.select(table)).all()
            tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
    engine.dispose()
    return tables


@pytest.fixture
def pair(db_url: str, crm: Runner) -> Runner:
    """Two records of one person, each with its own history."""
    crm.ok(
        "contact", "add", "Jonas Weber", "--email", "jonas@acme.de", "--phone", "+49 30 1234567",
        "--company", "Acme GmbH", "--tag", "vip", "--field", "city=Berlin",
    )  # fmt: skip
    crm.ok(
        "contact", "add", "Jonas Webr", "--email", "jw@acme.de", "--email", "jonas.w@gmail.com",
        "--phone", "+49 30 7654321", "--tag", "new", "--field", "city=Hamburg",
        "--field", "tier=gold", "--title", "CTO",
    )  # fmt: skip
    crm.ok("deal", "add", "Acme renewal", "--contact", "jw@acme.de", "--value", "1200")
    crm.ok("deal", "won", "1")  # makes contact 2 a customer: a lifecycle event on contact 2
    crm.ok("followup", "add", "Call Jonas", "--due", "2030-01-06 10:00", "--contact", "2")
    crm.ok("log", "call", "jw@acme.de", "Talked about the renewal")
    crm.ok("feedback", "add", "jw@acme.de", "--kind", "nps", "--score", "9")
    crm.ok("contact", "add", "Someone Else", "--email", "else@acme.de")
    return crm


def test_dry_run_shows_the_plan_and_writes_nothing(pair: Runner, db_url: str) -> None:
    before = dump(db_url)
    plan = pair.json("contact", "merge", "1", "2", "--dry-run")
    assert dump(db_url) == before
    assert plan["dry_run"] is True
    assert plan["keep"] == {"id": 1, "name": "Jonas Weber"}
    assert [o["id"] for o in plan["others"]] == [2]
    assert [e["value"] for e in plan["emails"]] == ["jw@acme.de", "jonas.w@gmail.com"]
    assert [p["value"] for p in plan["phones"]] == ["+49307654321"]
    assert [t["value"] for t in plan["tags"]] == ["new"]
    fields = {f["field"]: f for f in plan["fields"]}
    # KEEP wins a conflict; an empty field of KEEP is filled.
    assert fields["field.city"]["conflict"] is True
    assert fields["field.city"]["result"] == "Berlin"
    assert fields["title"] == {**fields["title"], "conflict": False, "result": "CTO"}
    assert fields["lifecycle"]["other"] == "customer"
    assert plan["conflicts"] == sum(1 for f in plan["fields"] if f["conflict"])
    assert plan["moved"]["deal"] == [1]
    assert len(plan["moved"]["followup"]) == 1
    assert len(plan["moved"]["interaction"]) == 1
    assert len(plan["moved"]["feedback"]) == 1
    assert len(plan["moved"]["event"]) == 1  # the lifecycle event
    text = pair.ok("contact", "merge", "1", "2", "--dry-run").out
    assert "field.city: conflict" in text
    assert "emails: + jw@acme.de (from contact 2)" in text


def test_merge_moves_everything_onto_the_kept_contact(pair: Runner) -> None:
    result = pair.json("contact", "merge", "1", "2", "--yes")
    assert result["dry_run"] is False
    kept = pair.json("contact", "show", "1")
    assert kept["emails"] == ["jonas@acme.de", "jw@acme.de", "jonas.w@gmail.com"]
    assert kept["phones"] == ["+49301234567", "+49307654321"]
    assert kept["tags"] == ["new", "vip"]
    assert kept["custom"] == {"city": "Berlin", "tier": "gold"}
    assert kept["title"] == "CTO"
    assert [d["title"] for d in kept["closed_deals"]] == ["Acme renewal"]
    assert [f["title"] for f in kept["followups"]] == ["Call Jonas"]
    assert [i["summary"] for i in kept["interactions"]] == ["Talked about the renewal"]
    assert len(kept["feedback"]) == 1
    merge_events = [t for t in kept["timeline"] if t["kind"] == "merge"]
    assert len(merge_events) == 1
    assert "contact 2 (Jonas Webr)" in merge_events[0]["summary"]
    # The other is removed, not gone: it can be restored, and its address now finds KEEP.
    removed = pair.json("contact", "list", "--removed")
    assert [c["id"] for c in removed] == [2]
    assert pair.json("contact", "show", "jw@acme.de")["id"] == 1
    assert [c["id"] for c in pair.json("contact", "list")] == [1, 3]


def test_prefer_other_takes_the_others_value_in_a_conflict(pair: Runner) -> None:
    pair.ok("contact", "merge", "1", "2", "--prefer", "other", "--yes")
    kept = pair.json("contact", "show", "1")
    assert kept["custom"]["city"] == "Hamburg"
    assert kept["name"] == "Jonas Webr"
    assert kept["lifecycle"] == "customer"


def test_undo_after_a_contact_merge_restores_every_table(pair: Runner, db_url: str) -> None:
    before = dump(db_url)
    pair.ok("contact", "merge", "jonas@acme.de", "jw@acme.de", "--yes")
    assert dump(db_url) != before
    pair.ok("undo")
    assert dump(db_url) == before


def test_merge_of_several_contacts_and_its_undo(pair: Runner, db_url: str) -> None:
    before = dump(db_url)
    result = pair.json("contact", "merge", "3", "1", "2", "--yes")
    assert [o["id"] for o in result["others"]] == [1, 2]
    kept = pair.json("contact", "show", "3")
    assert kept["emails"] == ["else@acme.de", "jonas@acme.de", "jw@acme.de", "jonas.w@gmail.com"]
    pair.ok("undo")
    assert dump(db_url) == before


def test_refused_merges_change_nothing(pair: Runner, db_url: str) -> None:
    before = dump(db_url)
    same = pair("contact", "merge", "1", "1", "--yes")
    assert same.code == ExitCode.USAGE
    assert same.err.startswith("crm: error: contact")
    missing = pair("contact", "merge", "1", "99", "--yes")
    assert missing.code == ExitCode.NOT_FOUND
    bad = pair("contact", "merge", "1", "2", "--prefer", "newest", "--yes")
    assert bad.code == ExitCode.USAGE and "prefer" in bad.err
    unasked = pair("contact", "merge", "1", "2")  # no terminal to ask on, no --yes
    assert unasked.code == ExitCode.FAILURE and "--yes" in unasked.err
    assert dump(db_url) == before


def test_company_merge_moves_contacts_and_deals_and_undoes(db_url: str, crm: Runner) -> None:
    crm.ok("company", "add", "Acme GmbH", "--domain", "acme.de", "--tag", "partner")
    crm.ok("company", "add", "ACME Inc", "--industry", "Tools", "--tag", "us")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com", "--company", "ACME Inc")
    crm.ok("deal", "add", "US rollout", "--contact", "ana@acme.com", "--company", "ACME Inc")
    before = dump(db_url)
    plan = crm.json("company", "merge", "Acme GmbH", "ACME Inc", "--dry-run")
    assert plan["moved"] == {"contact": [1], "deal": [1]}
    assert dump(db_url) == before
    crm.ok("company", "merge", "1", "2", "--yes")
    kept = crm.json("company", "show", "1")
    assert kept["industry"] == "Tools"
    assert kept["tags"] == ["partner", "us"]
    assert crm.json("contact", "show", "ana@acme.com")["company"] == "Acme GmbH"
    assert [c["id"] for c in crm.json("company", "list", "--removed")] == [2]
    crm.ok("undo")
    assert dump(db_url) == before


def test_undo_refuses_when_the_kept_contact_changed_since(pair: Runner, db_url: str) -> None:
    pair.ok("contact", "merge", "1", "2", "--yes")
    pair.ok("contact", "edit", "1", "--title", "CEO")
    after_edit = dump(db_url)
    refused = pair("undo", str(_merge_set(pair)))
    assert refused.code == ExitCode.CONFLICT
    assert "contact 1 has changed since" in refused.err
    assert dump(db_url) == after_edit


def test_a_merged_contact_can_be_restored(pair: Runner) -> None:
    pair.ok("contact", "merge", "1", "2", "--yes")
    restored = pair.json("contact", "restore", "2")
    assert restored["name"] == "Jonas Webr"
    assert restored["deleted_at"] is None
    # Its addresses stayed with the kept contact; its phones and tags are its own still.
    assert restored["emails"] == []
    assert restored["phones"] == ["+49307654321"]
    assert restored["tags"] == ["new"]


def _merge_set(crm: Runner) -> int:
    sets = crm.json("history", "--last", "5")
    return next(s["id"] for s in sets if "merge" in s["command"])
