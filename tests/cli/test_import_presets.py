"""Vendor presets: each reads its vendor's export layout as the vendor writes it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Runner


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8", newline="")
    return str(path)


def test_google_current_and_legacy_layouts(sqlite_url: str, crm: Runner, tmp_path: Path) -> None:
    current = _write(
        tmp_path / "google.csv",
        "First Name,Middle Name,Last Name,Organization Name,Organization Title,"
        "E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value,Labels\n"
        "Ana,,Lima,Acme,CTO,* Work,ana@acme.com ::: ana.lima@gmail.com,Mobile,"
        "+49 30 1234567,* myContacts\n",
    )
    legacy = _write(
        tmp_path / "legacy.csv",
        "Name,Given Name,Family Name,Group Membership,E-mail 1 - Type,E-mail 1 - Value,"
        "Organization 1 - Name\n"
        "张伟,伟,张,* myContacts,* Home,zhang@yunhai.cn,云海\n",
    )
    crm.ok("import", "contacts", current, "--preset", "google")
    crm.ok("import", "contacts", legacy, "--preset", "google")
    contacts = {c["name"]: c for c in crm.json("contact", "list", "--all")}
    assert contacts["Ana Lima"]["emails"] == ["ana@acme.com", "ana.lima@gmail.com"]
    assert contacts["Ana Lima"]["company"] == "Acme"
    assert contacts["Ana Lima"]["title"] == "CTO"
    assert contacts["张伟"]["emails"] == ["zhang@yunhai.cn"]
    assert contacts["张伟"]["given_name"] == "伟"


def test_outlook_german_headers(sqlite_url: str, crm: Runner, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "outlook.csv",
        "Anrede,Vorname,Nachname,Firma,Position,E-Mail-Adresse,Mobiltelefon\n"
        "Herr,Jonas,Weber,Acme GmbH,Einkauf,jonas@acme.de,+49 170 1234567\n",
    )
    crm.ok("import", "contacts", path, "--preset", "outlook")
    [jonas] = crm.json("contact", "list")
    assert jonas["name"] == "Jonas Weber"
    assert jonas["title"] == "Einkauf" and jonas["company"] == "Acme GmbH"
    assert jonas["phones"] == ["+491701234567"]


def test_linkedin_preamble(sqlite_url: str, crm: Runner, tmp_path: Path) -> None:
    path = _write(
        tmp_path / "Connections.csv",
        "Notes:\n"
        '"When exporting your connection data, you may notice that some of the email '
        'addresses are missing."\n'
        "\n"
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        "Mia,Schmidt,https://www.linkedin.com/in/mia,,Initech,CFO,15 Mar 2024\n",
    )
    crm.ok("import", "contacts", path, "--preset", "linkedin")
    [mia] = crm.json("contact", "list")
    assert mia["name"] == "Mia Schmidt" and mia["source"] == "linkedin"
    assert mia["custom"]["linkedin"] == "https://www.linkedin.com/in/mia"


def test_pipedrive_deals_status_beside_open_stage(
    sqlite_url: str, crm: Runner, tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "deals.csv",
        "Deal - ID,Deal - Title,Deal - Value,Deal - Currency,Deal - Status,Deal - Stage,"
        "Deal - Organization,Deal - Won time,Deal - Lost time,Deal - Deal created,"
        "Deal - Lost reason\n"
        "17,Big one,5000,EUR,won,Proposal Made,Acme,2024-05-02 10:00:00,,2024-03-01 09:00:00,\n"
        "18,Gone,100,EUR,lost,Qualified,Initech,,2024-04-01 12:00:00,2024-03-05 09:00:00,"
        "Price\n"
        "19,Open one,250,EUR,open,Negotiations Started,Acme,,,2024-03-07 09:00:00,\n",
    )
    report = crm.json("import", "deals", path, "--preset", "pipedrive")
    assert report["counts"]["new"] == 3
    deals = {d["title"]: d for d in crm.json("deal", "list", "--all", "--status", "all")}
    assert deals["Big one"]["status"] == "won" and deals["Big one"]["external_id"] == "17"
    assert deals["Gone"]["status"] == "lost" and deals["Gone"]["lost_reason"] == "Price"
    assert deals["Open one"]["stage"] == "negotiation"
    won = crm.json("deal", "show", str(deals["Big one"]["id"]))
    assert sorted((c["from"] or "", c["to"]) for c in won["stage_changes"]) == [
        ("", "proposal"),
        ("proposal", "won"),
    ]
    assert won["created_at"].startswith("2024-03-01")
    assert crm.json("import", "deals", path, "--preset", "pipedrive")["counts"]["unchanged"] == 3


def test_preset_that_does_not_fit_is_refused(sqlite_url: str, crm: Runner, tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", "foo,bar\n1,2\n")
    result = crm("import", "contacts", path, "--preset", "hubspot")
    assert result.code == 2 and "none of the columns" in result.err


def test_vcard_files_go_through_the_same_import(
    sqlite_url: str, crm: Runner, tmp_path: Path
) -> None:
    import importlib.util

    import pytest

    if importlib.util.find_spec("crm_cli.io.vcard") is None:
        pytest.skip("the vCard reader (crm_cli.io.vcard) is not on this branch")
    path = tmp_path / "cards.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:张伟\r\nEMAIL:zhang@yunhai.cn\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    crm.ok("import", "contacts", str(path))
    assert [c["name"] for c in crm.json("contact", "list")] == ["张伟"]
