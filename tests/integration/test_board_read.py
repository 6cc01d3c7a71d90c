"""The board's hand-written SQL (crm_cli/services/board_read.py) against a database `crm`
migrated itself, on SQLite and PostgreSQL: each statement runs and answers what the ORM
services answer; on SQLite none reads a whole deal or follow-up table."""

from __future__ import annotations

import sqlite3
from zoneinfo import ZoneInfo

from crm_cli.services import board_read

NOW = "2026-11-24T09:00:00+01:00"
BERLIN = ZoneInfo("Europe/Berlin")


def _seed(crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("company", "add", "Acme GmbH")
    add = ["deal", "add"]
    crm.ok(*add, "No date", "--value", "100", "--contact", "ana@acme.com")  # 1
    crm.ok(*add, "Late", "--value", "200", "--close", "2027-03-01", "--company", "Acme GmbH")
    crm.ok(*add, "Early", "--value", "300", "--currency", "USD", "--close", "2026-12-01")  # 3
    crm.ok(*add, "Also no date", "--value", "400")  # 4
    crm.ok(*add, "Elsewhere", "--value", "500", "--stage", "won")  # 5
    crm.ok(*add, "Removed", "--value", "600")  # 6
    crm.ok("deal", "rm", "6", "--yes")
    crm.ok("followup", "add", "Overdue", "--deal", "1", "--due", "2026-11-23 10:00")
    crm.ok("followup", "add", "Later still", "--deal", "1", "--due", "2026-12-20 10:00")
    crm.ok("followup", "add", "Today", "--deal", "2", "--due", "2026-11-24 18:00")
    crm.ok("followup", "add", "Later", "--deal", "3", "--due", "2026-11-30 10:00")
    crm.ok("followup", "add", "Done already", "--deal", "4", "--due", "2026-11-20 10:00")
    crm.ok("followup", "done", "5")


def test_every_statement_answers_on_the_migrated_schema(db_url, crm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRM_NOW", NOW)
    _seed(crm)
    reader = board_read.connect(db_url)
    assert reader is not None
    try:
        pipelines = reader.pipelines()
        pid, name, stages = board_read.choose_pipeline(pipelines, None, "default", False)
        assert name == "default"
        assert [s.name for s in stages] == [
            "lead",
            "qualified",
            "proposal",
            "negotiation",
            "won",
            "lost",
        ]
        lead, won = stages[0].id, stages[4].id
        # Close date first, then the deals without one, each by id; the removed one not at all.
        assert list(reader.column_ids(lead)) == [3, 2, 1, 4]
        assert list(reader.column_ids(won)) == [5]
        totals = reader.totals(pid)
        assert totals[lead] == [("EUR", 3, 70000), ("USD", 1, 30000)]
        assert totals[won] == [("EUR", 1, 50000)]
        cards = reader.cards([1, 2, 3, 4, 6], BERLIN)
        assert sorted(cards) == [1, 2, 3, 4, 6]  # by id: a removed deal is read if asked
        assert {i: cards[i].next_step for i in (1, 2, 3, 4)} == {
            1: "overdue",  # the soonest open follow-up counts
            2: "today",
            3: "later",
            4: "none",  # its only follow-up is done
        }
        assert (cards[1].party, cards[2].party, cards[3].party) == ("Ana Lima", "Acme GmbH", "")
        assert (cards[3].value_minor, cards[3].currency, cards[3].version) == (30000, "USD", 1)
        assert cards[1].days == 0 and cards[1].stage_id == lead
        assert reader.change_stamp() is not None
    finally:
        reader.close()


def test_a_pipeline_is_chosen_as_the_services_choose_it(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from crm_cli.errors import NotFound

    crm.ok("pipeline", "add", "Hiring")
    crm.ok("pipeline", "add", "Vendas São Paulo")
    reader = board_read.connect(sqlite_url)
    assert reader is not None
    try:
        pipelines = reader.pipelines()
        assert board_read.choose_pipeline(pipelines, "hiring", "default", False)[1] == "Hiring"
        # Accents folded, as `crm deal list --pipeline` folds them.
        assert (
            board_read.choose_pipeline(pipelines, "vendas sao paulo", "default", False)[1]
            == "Vendas São Paulo"
        )
        chosen = board_read.choose_pipeline(pipelines, None, "Hiring", True)
        assert board_read.choose_pipeline(pipelines, f"#{chosen[0]}", "x", False) == chosen
        # A configured default that is gone: an error, as `crm deal list` gives.
        with pytest.raises(NotFound):
            board_read.choose_pipeline(pipelines, None, "Sales", True)
        assert board_read.choose_pipeline(pipelines, None, "Sales", False)[1] == "default"
    finally:
        reader.close()


def test_no_statement_reads_a_whole_deal_or_followup_table(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)
    reader = board_read.connect(sqlite_url)
    assert reader is not None
    conn = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    # The planner's figures as a grown database has them (100,000 rows a table): at a few
    # rows, as seeded, reading a whole table costs SQLite less than a seek, and it says so.
    conn.execute("ANALYZE")
    conn.execute(
        "UPDATE sqlite_stat1 SET stat = '100000' || CASE WHEN instr(stat, ' ') > 0"
        " THEN substr(stat, instr(stat, ' ')) ELSE '' END"
        " WHERE tbl IN ('deal', 'followup', 'contact', 'company', 'stage_change')"
    )
    conn.commit()
    conn.execute("ANALYZE sqlite_schema")  # read the figures again
    try:
        for name in board_read.SQL:
            sql = reader.statement(name)
            params = [1] * sql.count("?")
            if "json_each" in sql:
                params = ["[1, 2]"]
            plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            for table in ("d", "f", "deal", "followup"):
                assert f"SCAN {table} " not in plan + " ", (name, plan)
            if name.startswith(("ids", "totals")):
                assert "COVERING INDEX" in plan, (name, plan)  # the table itself is not read
            if name == "cards":
                assert "ix_followup_deal_id" in plan, plan
    finally:
        conn.close()
        reader.close()
