"""RFM segments over all time, scored against quintile boundaries read from the rollup's
indexes, equal the NTILE(5) scores computed from the deals, ties included.

Customers in several currencies, so one database holds counts that divide by five and counts
that do not (and fewer than five customers); values, close times and deal counts drawn from
a few values each, so boundaries fall inside runs of equal measures and the contact id
decides. Then, per currency:
- the segments report read from `customer_won_rollup` equals the one from the deals;
- each segment's members (what `crm contact list --segment` filters by) equal the contacts
  the NTILE scores put in it;
and `crm contact list --segment` lists those members for the main currency.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from crm_cli.store.engine import make_engine

# Customers per currency: EUR the most won deals (the main currency).
CUSTOMERS = {"EUR": 23, "USD": 10, "GBP": 7, "JPY": 3, "CHF": 1, "SEK": 5}
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def _seed(session: Session) -> None:
    from crm_cli.store.models import Contact
    from crm_cli.store.sales import Deal

    rng = random.Random(11)
    pipeline_id, stage_id = session.execute(
        text("SELECT pipeline_id, id FROM stage ORDER BY id LIMIT 1")
    ).one()
    now = datetime(2026, 5, 1, tzinfo=UTC)
    contacts = [Contact(name=f"Customer {i}", created_at=now, updated_at=now) for i in range(30)]
    session.add_all(contacts)
    session.flush()
    closes = [now - timedelta(days=d) for d in (3, 3, 40, 200)]
    for currency, count in CUSTOMERS.items():
        # Customers picked out of order, so contact ids do not follow the measures.
        for contact in rng.sample(contacts, count):
            for _ in range(rng.choice((1, 1, 2, 3))):
                session.add(
                    Deal(
                        title="won",
                        pipeline_id=pipeline_id,
                        stage_id=stage_id,
                        status="won",
                        contact_id=contact.id,
                        currency=currency,
                        value_minor=rng.choice((100, 100, 250)),
                        closed_at=rng.choice(closes),
                        created_at=now - timedelta(days=400),
                        updated_at=now,
                    )
                )
    session.commit()


def test_segments_from_quintile_boundaries_equal_ntile(crm: Any, db_url: str) -> None:
    from crm_cli.reports.base import Runner, period
    from crm_cli.reports.customers import ORDER, scored, segment_case, segment_members, segments

    crm.ok("pipeline", "list")
    engine = make_engine(db_url)
    everything = period(None, None, ZoneInfo("UTC"))
    with Session(engine) as session:
        _seed(session)
        compared = 0
        for currency in CUSTOMERS:
            got = segments(Runner(session), everything, currency=currency, as_of=AS_OF)
            want = segments(
                Runner(session), everything, currency=currency, as_of=AS_OF, from_deals=True
            )
            assert (got.data, got.working) == (want.data, want.working), currency
            assert sum(d["customers"] for d in got.data) == CUSTOMERS[currency]
            rfm = scored(everything, currency, from_deals=True)
            reference = {
                name: set(ids)
                for name, ids in _by_segment(
                    session.execute(select(segment_case(rfm), rfm.c.contact_id)).all()
                ).items()
            }
            for name in ORDER:
                members = segment_members(Runner(session), everything, currency, name)
                found = set(session.execute(members).scalars())
                assert found == reference.get(name, set()), (currency, name)
                compared += 1
        assert compared == len(CUSTOMERS) * len(ORDER)
        main = _by_segment(
            session.execute(
                select(segment_case(rfm := scored(everything, "EUR")), rfm.c.contact_id)
            ).all()
        )
    engine.dispose()
    for name, ids in main.items():
        slug = name.replace("'", "").replace(" ", "-")
        listed = crm.json("contact", "list", "--segment", slug, "--limit", "100")
        assert {row["id"] for row in listed} == set(ids), name


def _by_segment(rows: Any) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for name, contact_id in rows:
        out.setdefault(name, []).append(contact_id)
    return out
