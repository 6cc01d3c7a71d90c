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


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("relative", "check"),
    [
        # CATEGORIES:category1\, category2\, category3 (the escaped commas are in the value)
        (f"{EZVCARD}/thunderbird-MoreFunctionsForAddressBook-extension.vcf", "tags"),
        # An IMPP with an Apple item label: custom field im.LABEL
        ("vcard_davx5_vcard4android/files/lib/src/test/resources/allfields-vcard3.vcf", "im"),
    ],
)
def test_odd_categories_and_labelled_im_go_in(
    crm: Runner, db_url: str, shared_data: Path, relative: str, check: str
) -> None:
    report = crm("import", "contacts", str(shared_data / relative), "--json")
    assert report.code == 0, report
    assert report.json["counts"]["rejected"] == 0
    (contact,) = crm.json("contact", "list", "--all")
    if check == "tags":
        assert {"category1", "category2", "category3"} <= set(contact["tags"]), contact
    else:
        assert any(k.startswith("im.") for k in contact["custom"]), contact
