"""Every listing reads through an index that matches its filter, on SQLite and PostgreSQL.

A page must cost the same at a hundred rows or a million (docs/performance.md): that holds only
while no statement of a listing reads a whole table. The data here is spread the way a team's
is (most deals closed, most follow-ups done, ten owners, a few removed records) and the
planner has its statistics (ANALYZE, as `PRAGMA optimize` and autovacuum keep them); then each
listing's statements, as the command ran them, are explained by the database itself. A scan
that reads the table, not an index, fails the test, unless it is a count stopped at the cap.
"""

from __future__ import annotations

import random
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from crm_cli.services.context import open_context
from tests.conftest import Runner

BIG = ("deal", "contact", "company", "followup", "interaction", "feedback")

# (listing, index the filter must be answered from on both databases, or None)
LISTINGS: list[tuple[list[str], str | None]] = [
    (["contact", "list"], None),
    (["contact", "list", "--company", "Company 7"], "ix_contact_company_id"),
    (["contact", "list", "--owner", "Owner 3"], None),
    (["contact", "list", "--lifecycle", "churned"], None),
    (["contact", "list", "--tag", "tag3"], None),
    (["contact", "list", "--removed"], "ix_contact_live_name"),
    (["contact", "list", "--search", "person 4"], None),
    (["company", "list"], None),
    (["company", "list", "--removed"], "ix_company_live_name"),
    (["company", "list", "--owner", "Owner 3"], None),
    (["deal", "list"], None),
    (["deal", "list", "--contact", "7"], "ix_deal_contact_id"),
    (["deal", "list", "--company", "Company 7"], "ix_deal_company_id"),
    (["deal", "list", "--owner", "Owner 3"], None),
    (["deal", "list", "--status", "won"], None),
    (["deal", "list", "--removed"], None),
    (["deal", "list", "--tag", "tag3"], None),
    (["deal", "list", "--search", "deal 4"], None),
    (["followup", "list"], None),
    (["followup", "list", "--contact", "7"], "ix_followup_contact_id"),
    (["followup", "list", "--deal", "7"], "ix_followup_deal_id"),
    (["followup", "list", "--due", "overdue"], None),
    (["log", "list"], None),
    (["log", "list", "--contact", "7"], "ix_interaction_contact_at"),
    (["log", "list", "--deal", "7"], "ix_interaction_deal_id"),
    (["log", "list", "--owner", "Owner 3"], None),
    (["feedback", "list"], "ix_feedback_live_created"),
    (["feedback", "list", "--contact", "7"], "ix_feedback_contact_id"),
    (["feedback", "list", "--kind", "complaint"], None),
]


def _seed(seed: int = 5) -> None:
    """Ten owners; 200 companies, 5,000 contacts, 20,000 deals (a fifth open), 10,000
    follow-ups (one in twenty open), 10,000 interactions, 5,000 feedback answers."""
    from crm_cli.domain.text import index_tokens
    from crm_cli.store.models import Company, Contact, ContactTag, Tag, User
    from crm_cli.store.sales import Deal, DealTag, Feedback, Followup, Interaction, Stage

    rnd = random.Random(seed)
    now = datetime.now(UTC)
    stamp = {"created_at": now, "updated_at": now}
    ctx = open_context()
    try:
        with ctx.session(journal=False) as s:
            s.execute(insert(User), [{"name": f"Owner {i}", **stamp} for i in range(1, 10)])
            owners = list(s.scalars(select(User.id)))
            s.execute(insert(Tag), [{"name": f"tag{i}", **stamp} for i in range(20)])
            tags = list(s.scalars(select(Tag.id)))
            stages = s.execute(select(Stage.id, Stage.kind)).all()
            opened = [st for st in stages if st.kind == "open"]
            closed = [st for st in stages if st.kind != "open"]
            s.execute(
                insert(Company),
                [
                    {
                        "name": f"Company {i}",
                        "owner_id": rnd.choice(owners),
                        "custom": {},
                        "search_name": index_tokens(f"Company {i}"),
                        "deleted_at": now if i % 50 == 49 else None,
                        **stamp,
                    }
                    for i in range(200)
                ],
            )
            s.execute(
                insert(Contact),
                [
                    {
                        "name": f"Person {i}",
                        "company_id": 1 + i % 200,
                        "lifecycle": rnd.choice(["lead", "prospect", "customer", "churned"]),
                        "owner_id": rnd.choice(owners),
                        "custom": {},
                        "search_name": index_tokens(f"Person {i}"),
                        "deleted_at": now if i % 500 == 499 else None,
                        **stamp,
                    }
                    for i in range(5_000)
                ],
            )
            s.execute(
                insert(ContactTag),
                [{"contact_id": 1 + i, "tag_id": tags[i % 20]} for i in range(0, 5_000, 3)],
            )
            deals = []
            for i in range(20_000):
                st = rnd.choice(opened if rnd.random() < 0.2 else closed)
                contact = 1 + rnd.randrange(5_000)
                deals.append(
                    {
                        "title": f"Deal {i}",
                        "search_name": index_tokens(f"Deal {i}"),
                        "contact_id": contact,
                        "company_id": 1 + (contact - 1) % 200,
                        "pipeline_id": 1,
                        "stage_id": st.id,
                        "status": st.kind,
                        "value_minor": rnd.randrange(100, 10_000_000),
                        "expected_close": date.today() + timedelta(days=rnd.randrange(-300, 300)),
                        "owner_id": rnd.choice(owners),
                        "lost_reason": "price" if st.kind == "lost" else None,
                        "stage_entered_at": now,
                        "closed_at": None if st.kind == "open" else now,
                        "deleted_at": now if i % 1000 == 999 else None,
                        **stamp,
                    }
                )
            s.execute(insert(Deal), deals)
            s.execute(
                insert(DealTag),
                [{"deal_id": 1 + i, "tag_id": tags[i % 20]} for i in range(0, 20_000, 10)],
            )
            s.execute(
                insert(Followup),
                [
                    {
                        "title": f"Call {i}",
                        "due_at": now + timedelta(days=rnd.uniform(-600, 30)),
                        "contact_id": 1 + rnd.randrange(5_000),
                        "deal_id": 1 + rnd.randrange(20_000) if i % 2 else None,
                        "owner_id": rnd.choice(owners),
                        "done_at": None if i % 20 == 0 else now,
                        **stamp,
                    }
                    for i in range(10_000)
                ],
            )
            s.execute(
                insert(Interaction),
                [
                    {
                        "kind": "call",
                        "occurred_at": now - timedelta(days=rnd.uniform(0, 600)),
                        "summary": f"Talk {i}",
                        "contact_id": 1 + rnd.randrange(5_000),
                        "deal_id": 1 + rnd.randrange(20_000) if i % 2 else None,
                        "owner_id": rnd.choice(owners),
                        **stamp,
                    }
                    for i in range(10_000)
                ],
            )
            s.execute(
                insert(Feedback),
                [
                    {
                        "kind": ["nps", "csat", "complaint", "praise"][i % 4],
                        "score": 7 if i % 4 < 2 else None,
                        "contact_id": 1 + rnd.randrange(5_000),
                        "deal_id": 1 + rnd.randrange(20_000) if i % 2 else None,
                        "owner_id": rnd.choice(owners),
                        "created_at": now - timedelta(days=rnd.uniform(0, 600)),
                        "updated_at": now,
                    }
                    for i in range(5_000)
                ],
            )
        with ctx.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    finally:
        ctx.close()


@pytest.fixture
def statements() -> Iterator[list[tuple[str, Any]]]:
    """The SELECT statements run while the fixture is active, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if not many and sql.lstrip().upper().startswith("SELECT"):
            seen.append((sql, params))

    event.listen(Engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", keep)


def _plans(url: str, run: list[tuple[str, Any]], pg_settings: tuple[str, ...] = ()) -> list[str]:
    plans = []
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            for sql, params in run:
                rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
                plans.append("\n".join(str(r[-1]) for r in rows))
        finally:
            conn.close()
        return plans
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        # At test size a sequential scan is often cheapest; at a million rows it is not. With
        # seq scans priced out, one remains only where no index can answer the statement.
        conn.execute("SET enable_seqscan = off")
        for setting in pg_settings:
            conn.execute(f"SET {setting}")  # type: ignore[arg-type]
        for sql, params in run:
            rows = conn.execute("EXPLAIN " + sql, params).fetchall()  # type: ignore[arg-type]
            plans.append("\n".join(r[0] for r in rows))
    return plans


_SQLITE_FULL_SCAN = re.compile(rf"\bSCAN ({'|'.join(BIG)})\b(?! USING)")
_PG_FULL_SCAN = re.compile(rf"Seq Scan on ({'|'.join(BIG)})\b")


def test_each_filtered_listing_uses_an_index(
    db_url: str, crm: Runner, statements: list[tuple[str, Any]]
) -> None:
    crm.ok("pipeline", "list")
    _seed()
    failures = []
    for args, index in LISTINGS:
        statements.clear()
        crm.ok(*args, "--limit", "50") if args[0] != "history" else crm.ok(*args)
        plans = _plans(db_url, list(statements))
        text = "\n---\n".join(plans)
        full = _SQLITE_FULL_SCAN if db_url.startswith("sqlite") else _PG_FULL_SCAN
        scans = sorted({m.group(1) for m in full.finditer(text)})
        if scans:
            failures.append(f"crm {' '.join(args)}: reads all of {', '.join(scans)}:\n{text}")
        if index is not None and index not in text:
            failures.append(f"crm {' '.join(args)}: does not use {index}:\n{text}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("sort", ["-value", "value"])
def test_a_sort_by_value_reads_the_index_in_either_direction(
    db_url: str, crm: Runner, statements: list[tuple[str, Any]], sort: str
) -> None:
    """The biggest (or smallest) deals first, ties by id the same way: the page is read from
    ix_deal_live_value, forwards or backwards, and never sorted. With the tie-break always
    ascending, PostgreSQL sorted every open deal for `-value`."""
    crm.ok("pipeline", "list")
    _seed()
    statements.clear()
    listed = crm.json("deal", "list", "--sort", sort, "--limit", "50", "--json")
    values = [(d["value_minor"], d["id"]) for d in listed]
    assert len(values) == 50
    assert values == sorted(values, reverse=sort.startswith("-"))
    page = [(sql, params) for sql, params in statements if "ORDER BY deal.value_minor" in sql]
    assert len(page) == 1, statements
    # At test size a top-N sort of the open deals is cheapest; at a million deals it is not.
    # With sorts priced out, one remains only where no index gives the order.
    plan = _plans(db_url, page, ("enable_sort = off", "enable_incremental_sort = off"))[0]
    assert "ix_deal_live_value" in plan, plan
    if db_url.startswith("sqlite"):
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert re.search(r"\bSort\b", plan) is None, plan
        assert ("Backward" in plan) == sort.startswith("-"), plan


def _done_when_due() -> None:
    """Each done follow-up done at its own due time, as people tick them off: then no two
    share a done time, and SQLite's statistics count `done_at IS NULL` as a single row. Every
    other open one gets a deal too."""
    from sqlalchemy import update

    from crm_cli.store.sales import Followup

    ctx = open_context()
    try:
        with ctx.session(journal=False) as s:
            s.execute(
                update(Followup)
                .where(Followup.done_at.is_not(None))  # type: ignore[union-attr]
                .values(done_at=Followup.due_at)
            )
            s.execute(
                update(Followup)
                .where(Followup.done_at.is_(None), Followup.id % 40 == 1)  # type: ignore[union-attr,operator]
                .values(deal_id=Followup.id)
            )
        with ctx.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    finally:
        ctx.close()


def _page_plan(db_url: str, statements: list[tuple[str, Any]], table: str) -> str:
    """The plan of the statement that read the page of `table` (ordered and limited), with
    PostgreSQL's sorts priced out: at test size a top-N sort is cheapest, at a million rows
    it is not, so a sort remains only where no index gives the order."""
    page = [
        (sql, params)
        for sql, params in statements
        if f"FROM {table}" in sql and "ORDER BY" in sql and "LIMIT" in sql
    ]
    assert len(page) == 1, statements
    return _plans(db_url, page, ("enable_sort = off", "enable_incremental_sort = off"))[0]


# (listing, the table of its page, the index the page must be read from)
ORDERED_PAGES: list[tuple[list[str], str, str]] = [
    # One record's follow-ups are read by its index and the few sorted; SQLite, misled by
    # `done_at IS NULL` (see _done_when_due), walked every open follow-up in due order instead
    # (50,000 at a million: 170 ms).
    (["followup", "list", "--deal", "{deal}"], "followup", "ix_followup_deal_id"),
    (["followup", "list", "--contact", "{contact}"], "followup", "ix_followup_contact_id"),
    # Read in order from an index (migration 0013) where every match was sorted: one owner's
    # 100,000 follow-ups, 100,000 contacts at a million rows.
    (["followup", "list", "--done"], "followup", "ix_followup_owner_live_due"),
    (["contact", "list", "--sort", "-created"], "contact", "ix_contact_live_created"),
    (["contact", "list", "--sort", "created"], "contact", "ix_contact_live_created"),
]


def test_each_page_is_read_from_the_index_of_its_filter_and_order(
    db_url: str, crm: Runner, statements: list[tuple[str, Any]]
) -> None:
    crm.ok("pipeline", "list")
    _seed()
    _done_when_due()
    from crm_cli.store.sales import Followup

    ctx = open_context()
    try:
        with ctx.session(journal=False) as s:
            deal, contact = s.execute(
                select(Followup.deal_id, Followup.contact_id)
                .where(Followup.done_at.is_(None), Followup.deal_id.is_not(None))  # type: ignore[union-attr]
                .limit(1)
            ).one()
    finally:
        ctx.close()
    failures = []
    for template, table, index in ORDERED_PAGES:
        args = [a.format(deal=deal, contact=contact) for a in template]
        statements.clear()
        listed = crm.json(*args, "--limit", "50")
        assert listed, args
        if "--done" not in args:
            assert all(f.get("status") != "done" for f in listed), args
        plan = _page_plan(db_url, statements, table)
        if index not in plan:
            failures.append(f"crm {' '.join(args)}: does not use {index}:\n{plan}")
        ordered = "--sort" in args or "--done" in args
        sorted_ = "TEMP B-TREE" in plan if db_url.startswith("sqlite") else "Sort" in plan
        if ordered and sorted_:
            failures.append(f"crm {' '.join(args)}: sorts its matches:\n{plan}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize(
    ("args", "table"),
    [
        (["deal", "list", "--search", "deal 4"], "deal"),
        (["contact", "list", "--search", "person 4"], "contact"),
        (["company", "list", "--search", "company 7"], "company"),
    ],
)
def test_a_search_reads_the_listed_table_once(
    db_url: str,
    crm: Runner,
    statements: list[tuple[str, Any]],
    args: list[str],
    table: str,
) -> None:
    """A listing's `--search` is a condition on the listed row: as `id IN (SELECT id FROM
    deal WHERE ...)`, PostgreSQL read the table twice and looked each match up again by id
    (50,000 lookups to count a page of `deal list --search "deal 4"` at a million deals)."""
    crm.ok("pipeline", "list")
    _seed()
    statements.clear()
    listed = crm.json(*args, "--limit", "50")
    assert listed
    reads = re.compile(
        rf"\b(?:SCAN|SEARCH) {table}\b(?!_)"
        if db_url.startswith("sqlite")
        else rf"\bScan(?: Backward)?(?: using \w+)? on {table}\b(?!_)"
    )
    own = [(sql, p) for sql, p in statements if f"FROM {table} WHERE" in " ".join(sql.split())]
    assert own, statements
    for plan in _plans(db_url, own):
        assert len(reads.findall(plan)) == 1, plan


def test_a_broad_search_reads_its_page_in_board_order_and_counts_from_the_index(
    db_url: str,
    crm: Runner,
    statements: list[tuple[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the count's cap, `deal list --search` reads its page in board order and checks
    each deal's own words (search.matching_words): at a million deals "deal 4" has 111,000
    matches, which the index gathered in full for the page (40 ms on SQLite). The page is the
    one the index gives. On SQLite the count walks the search index and looks each match up,
    so it stops at the cap, instead of gathering every match into a list first."""
    from crm_cli.services import common

    crm.ok("pipeline", "list")
    _seed()
    # The board order without a search too: PostgreSQL reads a stage's live deals in order
    # from ix_deal_live_stage_close (0015), where it sorted them.
    statements.clear()
    assert len(crm.json("deal", "list", "--limit", "50")) == 50
    board = [
        (sql, p) for sql, p in statements if " ".join(sql.split()).startswith("SELECT deal.id,")
    ]
    plan = _plans(db_url, board[:1], ("enable_sort = off", "enable_incremental_sort = off"))[0]
    if not db_url.startswith("sqlite"):
        assert "ix_deal_live_stage_close" in plan and re.search(r"\bSort\b", plan) is None, plan
    through_index = crm.json("deal", "list", "--search", "deal 4", "--limit", "50")
    assert len(through_index) == 50
    assert all(d["title"].split()[1].startswith("4") for d in through_index)
    monkeypatch.setattr(common, "COUNT_CAP", 100)  # the seed's open "deal 4" are ~220
    statements.clear()
    result = crm.ok("deal", "list", "--search", "deal 4", "--limit", "50", "--json")
    assert [d["id"] for d in result.json] == [d["id"] for d in through_index]
    assert "more than 100" in result.err
    flat = [(" ".join(sql.split()), p) for sql, p in statements]
    page = [(sql, p) for sql, p in flat if sql.startswith("SELECT deal.id,") and "LIMIT" in sql]
    assert page, statements
    plan = _plans(db_url, page[:1], ("enable_sort = off", "enable_incremental_sort = off"))[0]
    if db_url.startswith("sqlite"):
        assert "ix_deal_stage_close" in plan or "ix_deal_live_stage_close" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    else:
        assert "ix_deal_live_stage_close" in plan and re.search(r"\bSort\b", plan) is None, plan
    assert "deal_fts" not in plan and "ix_deal_search" not in plan, plan
    if db_url.startswith("sqlite"):
        count = [(sql, p) for sql, p in flat if "FROM deal_fts JOIN deal" in sql]
        assert len(count) == 1, statements
        plan = _plans(db_url, count)[0]
        assert "LIST SUBQUERY" not in plan, plan
        assert plan.index("SCAN deal_fts") < plan.index("SEARCH deal USING INTEGER PRIMARY KEY")


@pytest.mark.parametrize(
    "query", ["acme 20", "ren", "Müll", "张伟", "续约", "deal 4", "2026 acme", "münchen"]
)
def test_a_page_checked_row_by_row_finds_what_the_index_finds(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    """The words of a deal checked on its row (search.matching_words, a page past the cap)
    match exactly the deals the search index matches: prefixes of words, not of the title's
    middle, CJK characters and pairs, folded accents."""
    from crm_cli.services import common

    for title in [
        "Acme renewal 2026",
        "Acme 2027 upsell",
        "Deal 14",
        "Deal 4711",
        "Dealer 4",
        "Müller GmbH Muenchen",
        "München office",
        "张伟公司续约",
        "Renault fleet",
        "Brenner",
    ]:
        crm.ok("deal", "add", title, "--value", "100")
    by_index = sorted(d["id"] for d in crm.json("deal", "list", "--search", query))
    assert by_index
    monkeypatch.setattr(common, "COUNT_CAP", 0)  # every search is past the cap
    result = crm.ok("deal", "list", "--search", query, "--limit", "50", "--json")
    assert "more than 0" in result.err  # read row by row
    assert sorted(d["id"] for d in result.json) == by_index


def test_a_page_of_open_followups_is_read_in_due_order(
    db_url: str, crm: Runner, statements: list[tuple[str, Any]]
) -> None:
    """Everyone's open follow-ups, and one owner's, are read in due order from an index:
    PostgreSQL sorted every open one for a page of everyone's (130 ms at a million), as it
    takes an order from an index only past columns fixed by an equality and `done_at IS
    NULL` is none. Ties on the due time are put in id order, a few rows at a time
    (PostgreSQL's incremental sort; SQLite's indexes end with the id)."""
    crm.ok("pipeline", "list")
    _seed()
    _done_when_due()
    owner = crm.json("followup", "list", "--all", "--limit", "1")[0]["owner"]
    failures = []
    for args, index in (
        (["followup", "list", "--all"], "ix_followup_open_effective"),
        (["followup", "list", "--owner", owner], "ix_followup_owner_open"),
        (["followup", "list", "--all", "--due", "overdue"], "ix_followup_open_effective"),
    ):
        statements.clear()
        listed = crm.json(*args, "--limit", "50")
        assert listed and all(f["status"] != "done" for f in listed), args
        page = [
            (sql, params)
            for sql, params in statements
            if "FROM followup" in sql and "ORDER BY" in sql and "LIMIT" in sql
        ]
        assert len(page) == 1, statements
        plan = _plans(db_url, page, ("enable_sort = off",))[0]
        full_sort = (
            "TEMP B-TREE" in plan
            if db_url.startswith("sqlite")
            else re.search(r"(^|->)\s*Sort\s+\(", plan, re.MULTILINE)
        )
        if index not in plan or full_sort:
            failures.append(f"crm {' '.join(args)}: not read in order from {index}:\n{plan}")
    assert not failures, "\n\n".join(failures)
