"""`crm import` on files other people made (../shared/data): skipped when the folder is absent."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from crm_cli.io.cells import neutralise
from tests.conftest import Runner

MAVEN = [
    "--map", "external_id=opportunity_id",
    "--map", "owner=sales_agent",
    "--map", "company=account",
    "--map", "title=account",
    "--map", "title=product",
    "--map", "stage=deal_stage",
    "--map", "created_at=engage_date",
    "--map", "closed_at=close_date",
    "--map", "value=close_value",
    "--set", "currency=USD",
    "--stage-map", "Won=won",
    "--stage-map", "Lost=lost",
    "--stage-map", "Engaging=proposal",
    "--stage-map", "Prospecting=qualified",
]  # fmt: skip


def _export(crm: Runner) -> list[dict[str, object]]:
    deals = crm.json("deal", "list", "--all", "--status", "all")
    return sorted(deals, key=lambda d: str(d["external_id"]))


def test_maven_pipeline_imports_as_8800_deals_and_again_changes_nothing(
    db_url: str, crm: Runner, shared_data: Path
) -> None:
    path = shared_data / "crm_sales_opportunities_maven" / "original_crlf" / "sales_pipeline.csv"
    report = crm.json("import", "deals", str(path), *MAVEN)
    assert report["counts"]["new"] == 8800
    assert report["counts"]["rejected"] == 0
    assert len(report["created"]["companies"]) == 85
    deals = _export(crm)
    assert len(deals) == 8800
    by_id = {d["external_id"]: d for d in deals}
    first = by_id["1C1I7A6R"]  # Moses Frase,GTX Plus Basic,Cancity,Won,2016-10-20,2017-03-01,1054
    assert first["owner"] == "Moses Frase"
    assert first["company"] == "Cancity"
    assert first["status"] == "won" and first["stage"] == "won"
    assert first["value"] == 1054 and first["currency"] == "USD"
    assert first["closed_at"].startswith("2017-03-01")
    assert first["created_at"].startswith("2016-10-20")
    statuses = [d["status"] for d in deals]
    assert statuses.count("won") == 4238 and statuses.count("lost") == 2473
    before = crm.ok("export", "all").out
    again = crm.json("import", "deals", str(path), *MAVEN)
    assert crm.ok("export", "all").out == before  # byte for byte: nothing changed
    assert again["counts"]["unchanged"] == 8800
    assert again["counts"]["new"] == again["counts"]["update"] == 0
    assert again["created"] == {}
    assert _export(crm) == deals
    # Nothing written: no change set recorded for the second import.
    assert "import" in crm.json("history", "-n", "1")[0]["command"]
    assert len(crm.json("history", "-n", "5")) == 1


def test_salesforce_accounts_latin1_names_intact(
    sqlite_url: str, crm: Runner, shared_data: Path
) -> None:
    path = next((shared_data / "salesforce_dataloader_samples").rglob("accountData.csv"))
    result = crm(
        "import", "companies", str(path),
        "--map", "name=NAME", "--map", "external_id=ID", "--map", "industry=INDUSTRY",
        "--json",
    )  # fmt: skip
    report = result.json
    assert report["source"]["encoding"] == "cp1252"
    names = {c["name"] for c in crm.json("company", "list", "--all")}
    assert "Pébéo of America" in names
    assert report["counts"]["new"] == len(names)
    # What was not taken is said, with the reason (two accounts with the same name).
    assert (
        report["counts"]["new"] + report["counts"]["duplicate"]
        == 423 - report["counts"]["rejected"]
    )
    # Importing it again: everything is found by its Salesforce id.
    again = crm(
        "import", "companies", str(path), "--map", "name=NAME", "--map", "external_id=ID",
        "--map", "industry=INDUSTRY", "--json",
    ).json  # fmt: skip
    assert again["counts"]["new"] == 0
    assert again["counts"]["unchanged"] == report["counts"]["new"]


def _payloads(shared_data: Path) -> list[str]:
    found: list[str] = json.loads(
        (shared_data / "naughty_strings_blns" / "files" / "blns.json").read_text("utf-8")
    )
    payload_file = (
        shared_data / "csv_injection_payloadbox" / "files" / "Intruder" / "csv-payload.txt"
    )
    found += payload_file.read_text("utf-8").splitlines()
    return [p for p in found if p.strip() and "\x00" not in p]


def test_injection_and_naughty_strings_import_as_text(
    db_url: str,
    crm: Runner,
    tmp_path: Path,
    shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payloads = _payloads(shared_data)
    for form, cell in (("raw", lambda p: p), ("neutralised", neutralise)):
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["name", "field.payload"])
        for i, payload in enumerate(payloads):
            writer.writerow([f"{form} {i}", cell(payload)])
        path = tmp_path / f"{form}.csv"
        path.write_text(out.getvalue(), encoding="utf-8", newline="")
        crm.ok("import", "companies", str(path))
    stored = {c["name"]: c["custom"].get("payload") for c in crm.json("company", "list", "--all")}
    for i, payload in enumerate(payloads):
        assert stored[f"neutralised {i}"] == payload
        if not payload.startswith("'"):
            assert stored[f"raw {i}"] == payload

    # Export: every cell a spreadsheet would run starts with a quote; importing the export into
    # an empty database gives every payload back unchanged.
    exported = tmp_path / "companies.csv"
    crm.ok("export", "companies", "-o", str(exported))
    with exported.open(newline="", encoding="utf-8") as fh:
        cells = [row["field.payload"] for row in csv.DictReader(fh) if row["field.payload"]]
    assert cells and all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'second.db'}")
    assert crm.json("company", "list", "--all") == []
    crm.ok("import", "companies", str(exported))
    again = {c["name"]: c["custom"].get("payload") for c in crm.json("company", "list", "--all")}
    assert again == stored
