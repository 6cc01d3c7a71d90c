"""Real files other people made: a Salesforce account export (Latin-1) as companies.

Skipped cleanly when ../shared/data is absent.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from crm_cli import config
from crm_cli.errors import Conflict
from crm_cli.services.companies import CompanyFilter, CompanyInput, add_company, list_companies
from crm_cli.services.context import Context
from crm_cli.services.search import search

ACCOUNTS = "salesforce_dataloader_samples/files/src/main/resources/samples/data/accountData.csv"


def _accounts(shared_data: Path) -> list[dict[str, str]]:
    path = shared_data / ACCOUNTS
    if not path.exists():
        pytest.skip(f"{ACCOUNTS} not present")
    text = path.read_bytes().decode("latin-1")
    return list(csv.DictReader(io.StringIO(text)))


def test_salesforce_accounts_become_searchable_companies(shared_data: Path, db_url: str) -> None:
    rows = _accounts(shared_data)
    assert len(rows) > 400
    ctx = Context(config=config.Config({}, Path("/nonexistent")), url=db_url)
    added: dict[str, int] = {}
    duplicates = 0
    with ctx.session() as session:
        for row in rows:
            name = row["NAME"].strip()
            address = ", ".join(
                p
                for p in (row["BILLINGSTREET"], row["BILLINGCITY"], row["BILLINGCOUNTRY"])
                if p.strip()
            )
            try:
                record = add_company(
                    ctx,
                    session,
                    CompanyInput(
                        name=name, industry=row["INDUSTRY"] or None, address=address or None
                    ),
                )
            except Conflict:
                duplicates += 1  # the export repeats some names; crm keeps names unique
                continue
            added[name] = record["id"]
    with ctx.session(write=False) as session:
        listed = list(list_companies(ctx, session, CompanyFilter(limit=None)).rows)
        assert len(listed) == len(added) == len(rows) - duplicates
        stored = {r["name"] for r in listed}
        assert stored == set(added)  # Latin-1 text survives intact
        for name in sorted(added)[::20]:
            hits = search(session, name, kinds=("company",), limit=50)
            assert added[name] in [h["id"] for h in hits], name
        # Accents in the export are folded for search: "credito" finds "Crédito ...".
        for query, name in (
            ("credito", "Crédito Inmobiliario Terras"),
            ("pebeo", "Pébéo of America"),
        ):
            if name in added:
                hits = search(session, query, kinds=("company",))
                assert added[name] in [h["id"] for h in hits], query
    ctx.close()
