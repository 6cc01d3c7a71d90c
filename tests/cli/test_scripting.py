"""What scripts rely on: no silent cap, --ids, silence on empty, several records at once, ids
from stdin, one change set (one undo) for a command that changes several records."""

from __future__ import annotations

import pytest

from crm_cli.errors import ExitCode
from tests.conftest import Runner


def test_scripts_get_every_row_and_people_get_a_page(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(60):
        crm.ok("contact", "add", f"Person {i:02}", "--email", f"p{i}@example.com")
    assert len(crm.json("contact", "list")) == 60
    csv_lines = crm.ok("contact", "list", "--csv").out.strip().splitlines()
    assert len(csv_lines) == 61  # header and every row
    plain = crm.ok("contact", "list")  # stdout is not a terminal here: a pipe
    assert len(plain.out.strip().splitlines()) == 61 and "showing" not in plain.err
    assert len(crm.json("contact", "list", "--limit", "10")) == 10
    # An explicit --limit holds with --all too (on `followup list`, --all is everyone's).
    assert len(crm.json("contact", "list", "--all", "--limit", "7")) == 7
    monkeypatch.setattr("crm_cli.render.output.stdout_is_tty", lambda: True)
    page = crm.ok("contact", "list")
    assert "showing 50 of 60" in page.err


def test_ids_and_an_empty_listing(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = crm.ok("deal", "list")
    assert empty.out == ""  # a cron job mails any output
    for kind in ("contact", "company", "followup", "log", "feedback"):
        assert crm.ok(kind, "list").out == "", kind
    crm.ok("contact", "add", "Ana", "--email", "ana@example.com")
    crm.ok("contact", "add", "Bo", "--email", "bo@example.com")
    assert crm.ok("contact", "list", "--ids").out.split() == ["1", "2"]
    both = crm("contact", "list", "--ids", "--json")
    assert both.code == ExitCode.USAGE and "--json --ids" in both.err
    monkeypatch.setattr("crm_cli.render.output.stdout_is_tty", lambda: True)
    none = crm.ok("deal", "list")
    assert none.out == "" and "no records" in none.err


def test_several_deals_move_at_once_and_one_undo_takes_them_back(db_url: str, crm: Runner) -> None:
    ids = [str(crm.json("deal", "add", f"Deal {i}")["id"]) for i in range(4)]
    moved = crm.json("deal", "move", ids[0], ids[2], ids[3], "proposal")
    assert [d["stage"] for d in moved] == ["proposal"] * 3
    piped = crm.ok("deal", "list", "--stage", "proposal", "--ids").out
    assert piped.split() == [ids[0], ids[2], ids[3]]
    crm.ok("deal", "move", "-", "negotiation", stdin=piped)
    stages = {d["id"]: d["stage"] for d in crm.json("deal", "list")}
    assert [stages[int(i)] for i in ids] == ["negotiation", "lead", "negotiation", "negotiation"]
    undone = crm.json("undo")
    assert undone["command"] == "crm deal move - negotiation"
    stages = {d["id"]: d["stage"] for d in crm.json("deal", "list")}
    assert [stages[int(i)] for i in ids] == ["proposal", "lead", "proposal", "proposal"]


def test_a_bad_id_among_several_changes_nothing(db_url: str, crm: Runner) -> None:
    crm.ok("deal", "add", "Only")
    result = crm("deal", "won", "1", "999")
    assert result.code == ExitCode.NOT_FOUND and "999" in result.err
    assert crm.json("deal", "show", "1")["status"] == "open"


def test_tags_on_several_contacts(db_url: str, crm: Runner) -> None:
    for name in ("Ana", "Bo", "Cy"):
        crm.ok("contact", "add", name, "--email", f"{name.lower()}@example.com", "--tag", "old")
    crm.ok("contact", "tag", "1", "2", "cy@example.com", "+hot", "-old")
    assert [c["tags"] for c in crm.json("contact", "list")] == [["hot"], ["hot"], ["hot"]]
    # Not a record and not +tag/-tag: refused, with the likely intent, and nothing changes.
    typo = crm("contact", "tag", "1", "vip")
    assert typo.code == ExitCode.USAGE and "give at least one +tag" in typo.err
    wrong = crm("contact", "tag", "1", "vip", "+x")
    assert wrong.code == ExitCode.USAGE and "write +vip" in wrong.err
    assert crm.json("contact", "show", "1")["tags"] == ["hot"]


def test_several_followups_done_at_once(db_url: str, crm: Runner) -> None:
    for title in ("A", "B", "C"):
        crm.ok("followup", "add", title, "--due", "tomorrow 9:00")
    done = crm.json("followup", "done", "1", "3")
    assert [d["done"]["title"] for d in done] == ["A", "C"]
    assert [f["title"] for f in crm.json("followup", "list")] == ["B"]
