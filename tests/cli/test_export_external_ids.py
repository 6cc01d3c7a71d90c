"""The id another system gave a contact or a company (its external id, from an import) is in
every export of it (CSV as the last fixed column, JSON, JSON lines) and in `show --json`, so
crm's own export goes back into another database with it. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import Runner


@pytest.fixture
def imported(crm: Runner, db_url: str, tmp_path: Path) -> str:
    companies = tmp_path / "companies.csv"
    companies.write_text("name,domain,external_id\nAcme,acme.com,HS-C-9\n", "utf-8")
    crm.ok("import", "companies", str(companies))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(
        "name,email,company,external_id\nAna Lima,ana@acme.com,Acme,HS-17\nBo Chen,bo@acme.com,,\n",
        "utf-8",
    )
    crm.ok("import", "contacts", str(contacts))
    return db_url


@pytest.mark.parametrize("kind", ["contacts", "companies"])
def test_csv_and_json_exports_keep_the_external_id(
    crm: Runner, imported: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_cli.services import exporting

    want = {"contacts": "HS-17", "companies": "HS-C-9"}[kind]
    out = crm.ok("export", kind, "--csv").out
    header = out.splitlines()[0].split(",")
    assert header[0] == "id" and "external_id" in header
    assert header[header.index("external_id") - 1] == "deleted_at"  # the others stay put
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert rows[0]["external_id"] == want
    for flag in ("--json", "--jsonl"):
        text = crm.ok("export", kind, flag).out
        records = (
            json.loads(text) if flag == "--json" else [json.loads(x) for x in text.splitlines()]
        )
        assert records[0]["external_id"] == want
    if kind == "contacts":  # the one-query CSV and the listing's records agree
        assert rows[1]["external_id"] == ""
        monkeypatch.setattr(exporting, "_plain_separators", lambda session: False)
        assert crm.ok("export", kind, "--csv").out == out


def test_show_json_has_the_external_id(crm: Runner, imported: str) -> None:
    assert crm.json("contact", "show", "ana@acme.com")["external_id"] == "HS-17"
    assert crm.json("company", "show", "Acme")["external_id"] == "HS-C-9"


def test_the_export_goes_back_into_an_empty_database_with_its_external_ids(
    crm: Runner, imported: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {}
    for kind in ("companies", "contacts"):
        files[kind] = tmp_path / f"out-{kind}.csv"
        crm.ok("export", kind, "-o", str(files[kind]))
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    for kind in ("companies", "contacts"):
        crm.ok("import", kind, str(files[kind]))
    assert crm.json("contact", "show", "ana@acme.com")["external_id"] == "HS-17"
    assert crm.json("company", "show", "Acme")["external_id"] == "HS-C-9"
    # And a second import of the same file matches by it: nothing changes.
    report = crm.json("import", "contacts", str(files["contacts"]))
    assert report["counts"]["unchanged"] == 2
