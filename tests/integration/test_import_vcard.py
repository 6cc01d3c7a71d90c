"""`crm import contacts FILE.vcf` on every real address book in ../shared/data: each card is
imported or reported with its reason, the counts add up to the cards in the file, and no file
stops the import with a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_cli.io.vcard import count_cards
from tests.conftest import Runner

FOLDERS = ("vcard_", "csv_vcf_thunderbird_import_tests")


def _files(shared: Path) -> list[Path]:
    return sorted(
        p
        for folder in shared.iterdir()
        if folder.name.startswith(FOLDERS)
        for p in folder.rglob("*")
        if p.suffix.lower() in (".vcf", ".vcard") and p.is_file()
    )


@pytest.mark.realdata
def test_every_card_is_imported_or_reported(
    crm: Runner, sqlite_url: str, shared_data: Path
) -> None:
    files = _files(shared_data)
    assert len(files) > 100
    failures = []
    for path in files:
        result = crm("import", "contacts", str(path), "--dry-run", "--json")
        if result.code not in (0, 6):  # 6: some rows rejected, each with its reason
            failures.append(f"{path}: exit {result.code}: {result.err.strip()[:300]}")
            continue
        report = result.json
        counts = report["counts"]
        total = sum(counts.values())
        cards = count_cards(path.read_bytes())
        if total != cards:
            failures.append(f"{path}: {counts} add up to {total}, the file has {cards} cards")
        for row in report["rows"]:
            if row["decision"] == "rejected" and not row.get("error"):
                failures.append(f"{path}: card {row['line']} rejected without a reason")
    assert not failures, "\n".join(failures)


@pytest.mark.realdata
def test_cjk_names_come_through_intact(crm: Runner, db_url: str, shared_data: Path) -> None:
    raw = shared_data / "vcard_aosp_android_tests/files/tests/res/raw"
    crm("import", "contacts", str(raw / "v30_japanese.vcf"))  # Shift_JIS
    crm("import", "contacts", str(raw / "v40_sort_as.vcf"))
    folker = shared_data / "vcard_folkerkinzel_tests/files/src/FolkerKinzel.VCards.Tests"
    crm("import", "contacts", str(folker / "TestFiles/MultiAnsiFilterTests/utf-8.vcf"))
    names = {c["name"] for c in crm.json("contact", "list", "--all")}
    assert {"伊能 圭一 伊予", "安藤 ロイド", "孔夫子"} <= names, names


@pytest.mark.realdata
def test_a_bad_phone_or_email_costs_the_value_not_the_card(
    crm: Runner, db_url: str, shared_data: Path
) -> None:
    """khard's card has a phone in national form (no country, no region configured); AOSP's
    2.1 card an EMAIL that is a display name and an address. Each card goes in without that
    value, and the report names the card, the property and the value."""
    khard = shared_data / "vcard_khard_fixtures/files/test/fixture/vcards/contact1.vcf"
    report = crm.json("import", "contacts", str(khard))
    assert report["counts"]["new"] == 1
    assert "card 1: TEL '0123456789' skipped" in report["notes"][0]
    second = crm.json("contact", "show", "user@example.com")
    assert second["name"] == "second contact"
    assert second["phones"] == []
    aosp = (
        shared_data / "vcard_aosp_android_tests/files/tests/res/raw/v21_invalid_multiple_line.vcf"
    )
    result = crm("import", "contacts", str(aosp))
    assert result.code == 0
    assert "card 1: EMAIL '\"Omega\" <omega@example.com>' skipped" in result.err
    assert [c["name"] for c in crm.json("contact", "list", "--search", "Omega")] == ["Omega"]


@pytest.mark.realdata
def test_cards_left_with_nothing_are_still_reported(
    crm: Runner, sqlite_url: str, shared_data: Path
) -> None:
    """ezvcard's Android export: card 5's EMAIL is not an address. Every card is counted once,
    and the skipped value is named."""
    path = shared_data / "vcard_ezvcard_realworld/files/src/test/resources/ezvcard/io/text"
    report = crm("import", "contacts", str(path / "John_Doe_ANDROID.vcf"), "--json")
    assert report.code in (0, 6)
    data = report.json
    assert sum(data["counts"].values()) == count_cards((path / "John_Doe_ANDROID.vcf").read_bytes())
    assert any(n.startswith("card 5: EMAIL") for n in data["notes"])
