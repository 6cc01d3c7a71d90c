"""Customer feedback through the real command, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.errors import ExitCode
from crm_cli.store.engine import make_engine
from crm_cli.store.sales import Feedback
from tests.cli.test_followups import make_deal


def stored(db_url: str) -> list[Feedback]:
    engine = make_engine(db_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            return list(session.scalars(select(Feedback).order_by(col(Feedback.id))))
    finally:
        engine.dispose()


def test_add_and_the_record(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    deal_id = make_deal(db_url)
    out = crm.ok(
        "feedback",
        "add",
        "ana@acme.com",
        "--kind",
        "nps",
        "--score",
        "9",
        "--text",
        "Great support",
        "--channel",
        "survey",
        "--deal",
        str(deal_id),
    ).out
    assert out.splitlines() == ["Added feedback 1: nps 9 from Ana Lima"]
    record = crm.json("feedback", "show", "1")
    expected = {
        "id",
        "contact_id",
        "contact",
        "deal_id",
        "kind",
        "score",
        "text",
        "category",
        "status",
        "resolved_at",
        "resolution_note",
        "channel",
        "owner_id",
        "owner",
        "created_at",
        "updated_at",
    }
    assert expected <= set(record)
    assert (record["contact"], record["deal_id"], record["kind"], record["score"]) == (
        "Ana Lima",
        deal_id,
        "nps",
        9,
    )
    assert (record["status"], record["channel"], record["owner"]) == (
        "closed",
        "survey",
        "Test User",
    )

    anonymous = crm.json("feedback", "add", "--kind", "csat", "--score", "4")
    assert anonymous["contact_id"] is None and anonymous["contact"] is None
    praise = crm.json("feedback", "add", "Ana Lima", "--kind", "praise", "--text", "谢谢！")
    assert (praise["score"], praise["text"], praise["status"]) == (None, "谢谢！", "closed")


def test_scores_are_checked_per_kind(crm: Any, db_url: str) -> None:
    for kind, good, bad in [
        ("nps", ["0", "7", "10"], ["11", "-1", "100"]),
        ("csat", ["1", "5"], ["0", "6"]),
    ]:
        for score in good:
            assert crm.json("feedback", "add", "--kind", kind, "--score", score)["score"] == int(
                score
            )
        for score in bad:
            result = crm("feedback", "add", "--kind", kind, "--score", score)
            assert result.code == ExitCode.USAGE, (kind, score, result)
            assert score in result.err
        missing = crm("feedback", "add", "--kind", kind)
        assert missing.code == ExitCode.USAGE and "needs --score" in missing.err
    for kind in ("complaint", "suggestion", "praise"):
        result = crm("feedback", "add", "--kind", kind, "--score", "5", "--text", "x")
        assert result.code == ExitCode.USAGE and "no score" in result.err
        no_text = crm("feedback", "add", "--kind", kind)
        assert no_text.code == ExitCode.USAGE and "--text" in no_text.err
    assert len(stored(db_url)) == 5


def test_complaints_are_open_until_resolved(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    complaint = crm.json(
        "feedback",
        "add",
        "ana@acme.com",
        "--kind",
        "complaint",
        "--text",
        "Invoice was wrong",
        "--category",
        "billing",
    )
    suggestion = crm.json("feedback", "add", "--kind", "suggestion", "--text", "Dark mode")
    assert (complaint["status"], complaint["resolved_at"]) == ("open", None)
    assert [f["id"] for f in crm.json("feedback", "list", "--open")] == [complaint["id"]]

    resolved = crm.json("feedback", "resolve", str(complaint["id"]), "--note", "Refunded")
    assert (resolved["status"], resolved["resolution_note"]) == ("resolved", "Refunded")
    assert resolved["resolved_at"] is not None
    assert crm.json("feedback", "list", "--open") == []
    row = stored(db_url)[0]
    assert row.status == "resolved" and row.resolved_at is not None

    again = crm("feedback", "resolve", str(complaint["id"]), "--note", "Again")
    assert again.code == ExitCode.CONFLICT and "already resolved" in again.err
    other = crm("feedback", "resolve", str(suggestion["id"]), "--note", "Done")
    assert other.code == ExitCode.CONFLICT and "only complaints" in other.err
    assert crm("feedback", "resolve", str(complaint["id"])).code == ExitCode.USAGE  # no --note

    reopened = crm.json("feedback", "reopen", str(complaint["id"]))
    assert (reopened["status"], reopened["resolved_at"]) == ("open", None)


def test_nps_note_on_table_listings(crm: Any, db_url: str) -> None:
    for score in ("10", "9", "9", "7", "2"):
        crm.ok("feedback", "add", "--kind", "nps", "--score", score)
    crm.ok("feedback", "add", "--kind", "complaint", "--text", "Slow")
    table = crm.ok("feedback", "list")
    assert "NPS +40 from 5 answers" in table.err
    assert "3 promoters (60%), 1 passives (20%), 1 detractors (20%)" in table.err
    # The note counts every matching answer, not only the page shown.
    assert "NPS +40 from 5 answers" in crm.ok("feedback", "list", "--limit", "2").err
    assert "NPS" not in crm.ok("feedback", "list", "--kind", "complaint").err
    assert "NPS" not in crm("feedback", "list", "--json").err  # data forms stay pure


def test_list_filters_and_csv(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    deal_id = make_deal(db_url)
    first = crm.json("feedback", "add", "ana@acme.com", "--kind", "nps", "--score", "8")
    second = crm.json("feedback", "add", "--kind", "csat", "--score", "3", "--deal", str(deal_id))
    third = crm.json("feedback", "add", "ana@acme.com", "--kind", "praise", "--text", "=1+1")

    def ids(*args: str) -> list[int]:
        return [int(f["id"]) for f in crm.json("feedback", "list", *args)]

    assert ids() == [third["id"], second["id"], first["id"]]  # newest first
    assert ids("--kind", "nps") == [first["id"]]
    assert ids("--contact", "ana@acme.com") == [third["id"], first["id"]]
    assert ids("--deal", str(deal_id)) == [second["id"]]
    assert ids("--since", "today") == [third["id"], second["id"], first["id"]]
    assert ids("--since", "+1d") == []
    assert ids("--mine") == [third["id"], second["id"], first["id"]]
    parsed = list(csv.DictReader(io.StringIO(crm.ok("feedback", "list", "--csv").out)))
    assert parsed[0]["text"] == "'=1+1"  # made inert for spreadsheets


def test_edit_and_rm(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    added = crm.json("feedback", "add", "--kind", "nps", "--score", "6", "--category", "ux")
    edited = crm.json(
        "feedback",
        "edit",
        str(added["id"]),
        "--score",
        "8",
        "--category",
        "",
        "--contact",
        "ana@acme.com",
        "--text",
        "Better now",
    )
    assert (edited["score"], edited["category"], edited["contact"], edited["text"]) == (
        8,
        None,
        "Ana Lima",
        "Better now",
    )
    assert crm("feedback", "edit", str(added["id"]), "--score", "11").code == ExitCode.USAGE
    crm.ok("feedback", "rm", str(added["id"]))
    assert crm.json("feedback", "list") == []
    assert crm("feedback", "show", str(added["id"])).code == ExitCode.NOT_FOUND
    assert stored(db_url)[0].deleted_at is not None


def test_bad_values_change_nothing(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("feedback", "add", "ana@acme.com", "--kind", "complaint", "--text", "Late delivery")
    cases = [
        (["feedback", "add", "--kind", "nps", "--score", "11"], ExitCode.USAGE, "11"),
        (["feedback", "add", "--kind", "review", "--text", "x"], ExitCode.USAGE, "review"),
        (["feedback", "add", "--score", "5"], ExitCode.USAGE, "--kind"),
        (
            ["feedback", "add", "nobody@acme.com", "--kind", "nps", "--score", "9"],
            ExitCode.NOT_FOUND,
            "nobody@acme.com",
        ),
        (
            ["feedback", "add", "--kind", "nps", "--score", "9", "--deal", "999"],
            ExitCode.NOT_FOUND,
            "999",
        ),
        (["feedback", "add", "--kind", "nps", "--score", "ten"], ExitCode.USAGE, "ten"),
        (["feedback", "edit", "1", "--text", ""], ExitCode.USAGE, "text"),
        (["feedback", "edit", "1", "--score", "3"], ExitCode.USAGE, "3"),
        (["feedback", "edit", "1", "--deal", "999"], ExitCode.NOT_FOUND, "999"),
        (["feedback", "edit", "99", "--text", "x"], ExitCode.NOT_FOUND, "99"),
        (["feedback", "resolve", "1", "--note", " "], ExitCode.USAGE, "note"),
        (["feedback", "list", "--kind", "review"], ExitCode.USAGE, "review"),
        (["feedback", "list", "--since", "someday"], ExitCode.USAGE, "someday"),
    ]
    before = crm.json("feedback", "list", "--all")
    for args, code, named in cases:
        result = crm(*args)
        assert result.code == code, (args, result)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("crm: error: "), result
        assert named in lines[0], (args, result)
    assert crm.json("feedback", "list", "--all") == before
    assert len(stored(db_url)) == 1 and stored(db_url)[0].status == "open"
