"""No query of a listing takes one bind parameter per row: scripts get every row now (`--json`
has no page), and `WHERE id IN (...)` over every listed record failed past 65,535 rows on
PostgreSQL (SQLite's limit depends on how it was built). The details of a listing (emails,
tags, names) are read a chunk of records at a time; this counts the parameters of every
statement a listing runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine

from crm_cli.services.bulk import add_contacts, check_contact
from crm_cli.services.common import RECORDS_CHUNK
from crm_cli.services.contacts import ContactInput
from crm_cli.services.context import open_context
from tests.conftest import Runner

ROWS = 2_500  # well past one chunk


@pytest.fixture
def largest_statement() -> Iterator[list[int]]:
    """The parameter counts of the single statements run while the fixture is active."""
    seen: list[int] = []

    def count(_conn: Any, _cursor: Any, _sql: str, params: Any, _ctx: Any, many: bool) -> None:
        if not many and isinstance(params, list | tuple | dict):
            seen.append(len(params))

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def test_listings_bind_a_bounded_number_of_parameters(
    db_url: str, crm: Runner, largest_statement: list[int]
) -> None:
    ctx = open_context()
    try:
        checked = [
            check_contact(ctx, ContactInput(name=f"P{i}", emails=[f"p{i}@example.com"]))
            for i in range(ROWS)
        ]
        with ctx.session(journal=False) as session:
            add_contacts(ctx, session, checked)
            from crm_cli.store.sales import Deal

            now = datetime.now(UTC)
            session.execute(
                insert(Deal),
                [
                    {
                        "title": f"D{i}",
                        "pipeline_id": 1,
                        "stage_id": 1,
                        "contact_id": 1 + i,
                        "created_at": now,
                        "updated_at": now,
                        "stage_entered_at": now,
                    }
                    for i in range(ROWS)
                ],
            )
    finally:
        ctx.close()
    largest_statement.clear()
    contacts = json.loads(crm.ok("contact", "list", "--json").out)
    deals = json.loads(crm.ok("deal", "list", "--json").out)
    assert sorted(e for c in contacts for e in c["emails"]) == sorted(
        f"p{i}@example.com" for i in range(ROWS)
    )
    assert len(deals) == ROWS and all(d["contact"] for d in deals)
    assert largest_statement and max(largest_statement) <= RECORDS_CHUNK + 10
