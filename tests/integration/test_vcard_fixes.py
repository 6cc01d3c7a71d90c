"""Real exporters' vCards (../shared/data) that crm once refused whole: a typed ADR (iPhone,
Gmail, Outlook, RFC 6350's own example) or a category with a space (every Android export)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Runner

EZVCARD = "vcard_ezvcard_realworld/files/src/test/resources/ezvcard/io/text"


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "cards"),
    [
        ("John_Doe_IPHONE.vcf", 1),
        ("gmail-single.vcf", 1),
        ("outlook-2007.vcf", 1),
        ("rfc6350-example.vcf", 1),
        ("John_Doe_ANDROID.vcf", 6),
    ],
)
def test_every_card_goes_in(
    crm: Runner, db_url: str, shared_data: Path, name: str, cards: int
) -> None:
    path = shared_data / EZVCARD / name
    report = crm("import", "contacts", str(path), "--json")
    assert report.code == 0, report
    assert report.json["counts"]["new"] == cards
    contacts = crm.json("contact", "list", "--all")
    assert len(contacts) == cards
    if name == "John_Doe_IPHONE.vcf":
        assert any(k.startswith("address.") for k in contacts[0]["custom"]), contacts
    if name == "John_Doe_ANDROID.vcf":
        assert any("my-contacts" in c["tags"] for c in contacts), contacts
