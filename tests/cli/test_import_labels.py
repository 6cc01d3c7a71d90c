"""`crm import` keeps the labels a file gives its emails and phones (`email:work`, a vCard's
`TYPE=home`) in the `label` column of their rows, so `crm export contacts --vcf` writes them
back and importing that export again changes nothing. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.conftest import Runner


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _labels(db_url: str) -> dict[str, str | None]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT email, label FROM contact_email UNION ALL "
                    "SELECT phone, label FROM contact_phone"
                )
            ).all()
    finally:
        engine.dispose()
    return {str(value): label for value, label in rows}


CSV = "name,email:work,phone:mobile\nAna Lima,ana@acme.com,+49 30 1234567\n"
VCF = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bo Chen\r\nN:Chen;Bo;;;\r\n"
    "EMAIL;TYPE=home:bo@example.org\r\nEND:VCARD\r\n"
)


def test_labels_from_a_csv_header_and_a_vcard_type_are_stored_and_round_trip(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("import", "contacts", _write(tmp_path / "a.csv", CSV))
    crm.ok("import", "contacts", _write(tmp_path / "b.vcf", VCF))
    assert _labels(db_url) == {
        "ana@acme.com": "work",
        "+49301234567": "mobile",
        "bo@example.org": "home",
    }
    exported = crm.ok("export", "contacts", "--vcf").out
    assert "EMAIL;TYPE=work:ana@acme.com" in exported
    assert "EMAIL;TYPE=home:bo@example.org" in exported
    before = crm.json("contact", "list", "--all")
    again = crm.json("import", "contacts", _write(tmp_path / "out.vcf", exported))
    assert again["counts"]["unchanged"] == 2
    assert again["counts"]["new"] == again["counts"]["update"] == 0
    assert crm.json("contact", "list", "--all") == before
    assert _labels(db_url)["bo@example.org"] == "home"


def test_an_update_adds_labelled_rows_and_keeps_the_labels_a_contact_has(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("import", "contacts", _write(tmp_path / "a.csv", CSV))
    more = "name,email,email:home,phone:work\nAna Lima,ana@acme.com,ana@home.org,+49 30 999999\n"
    report = crm.json("import", "contacts", _write(tmp_path / "more.csv", more))
    assert report["counts"]["update"] == 1
    assert _labels(db_url) == {
        "ana@acme.com": "work",
        "+49301234567": "mobile",
        "ana@home.org": "home",
        "+4930999999": "work",
    }
    assert crm.json("contact", "show", "ana@acme.com")["emails"] == [
        "ana@acme.com",
        "ana@home.org",
    ]
    crm.ok("undo")
    assert _labels(db_url) == {"ana@acme.com": "work", "+49301234567": "mobile"}
