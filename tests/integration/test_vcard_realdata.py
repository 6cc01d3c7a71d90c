"""Real .vcf files from other projects and real exporters (../shared/data) through the reader.

Every file reads without an exception, and every card in it comes back as one record, good or
with its problem: the cards are counted here independently (top-level BEGIN:VCARD lines, nested
AGENT cards not counted). Names in Chinese, Japanese and Korean come back whole; legacy
charsets decode; KDE's own re-serialisations of its test cards read to the same values.
And the records `crm contact show --json` really prints (SQLite and PostgreSQL) go through
the writer and come back the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crm_cli.io.records import SourceRecord
from crm_cli.io.vcard import contact_values, read_vcards, write_vcard
from tests.conftest import SHARED_DATA, Runner

FOLDERS = [
    "vcard_aosp_android_tests",
    "vcard_davx5_vcard4android",
    "vcard_ezvcard_realworld",
    "vcard_folkerkinzel_tests",
    "vcard_kde_kcontacts_roundtrip",
    "vcard_khard_fixtures",
    "csv_vcf_thunderbird_import_tests",
]


def _vcf_files() -> list[Path]:
    if not SHARED_DATA.is_dir():
        return []
    return sorted(
        path
        for folder in FOLDERS
        for path in (SHARED_DATA / folder).rglob("*")
        if path.suffix.lower() == ".vcf" and path.is_file()
    )


VCF_FILES = _vcf_files()


def top_level_cards(data: bytes) -> int:
    """BEGIN:VCARD lines outside any other card, counted without the codec's help."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    depth = count = 0
    for line in re.split(r"\r\n|\r|\n", text):
        # Cards glued on one line: "END:VCARDBEGIN:VCARD".
        for token in re.findall(r"(?:BEGIN|END):VCARD", line.strip(), re.IGNORECASE):
            if not line.strip().upper().startswith(("BEGIN:VCARD", "END:VCARD")):
                break  # text inside a value, not a card boundary
            if token.upper().startswith("BEGIN"):
                count += depth == 0
                depth += 1
            elif depth:
                depth -= 1
    return count


def by_path(shared_data: Path, relative: str) -> list[SourceRecord]:
    return list(read_vcards((shared_data / relative).read_bytes()))


def test_the_corpus_is_there(shared_data: Path) -> None:
    assert len(VCF_FILES) > 100


@pytest.mark.parametrize(
    "path", VCF_FILES, ids=[str(p.relative_to(SHARED_DATA)) for p in VCF_FILES]
)
def test_every_card_of_every_file_is_read_or_reported(shared_data: Path, path: Path) -> None:
    data = path.read_bytes()
    records = list(read_vcards(data))
    assert len(records) == top_level_cards(data)
    assert [r.number for r in records] == list(range(1, len(records) + 1))
    for record in records:
        assert record.original, "the report needs the card's lines"
        if record.problem is not None:
            assert f"card {record.number} (line " in record.problem
            assert "\n" not in record.problem
            assert record.values == {}
        else:
            assert record.values


AOSP = "vcard_aosp_android_tests/files/tests/res/raw"
KHARD = "vcard_khard_fixtures/files/test/fixture/vcards"
FOLKER = "vcard_folkerkinzel_tests/files/src/FolkerKinzel.VCards.Tests/TestFiles"
KDE = "vcard_kde_kcontacts_roundtrip/files/autotests/data"


@pytest.mark.parametrize(
    ("relative", "names"),
    [
        (f"{AOSP}/v21_japanese_1.vcf", ["安藤ロイド"]),  # Shift_JIS, N only
        (f"{AOSP}/v21_multiple_entry.vcf", ["安藤ロイド3", "安藤ロイド4", "安藤ロイド5"]),
        (f"{AOSP}/v40_sort_as.vcf", ["安藤 ロイド"]),
        (f"{KHARD}/korean-c.vcf", ["최유림"]),
        (f"{KHARD}/korean-j.vcf", ["전도훈"]),
        (f"{FOLKER}/MultiAnsiFilterTests/utf-8.vcf", ["孔夫子"]),
        (f"{FOLKER}/MultiAnsiFilterTests/German.vcf", ["Sören Täve Nüßlebaum"]),
        (f"{FOLKER}/MultiAnsiFilterTests/Greek.vcf", ["Βαγγέλης"]),
        (f"{FOLKER}/MultiAnsiFilterTests/v3Utf16Bom.vcf", ["Folker Kinzel", "KMS Außenstelle"]),
        (f"{FOLKER}/Utf-8/Hebrew.vcf", ["אפרים קישון"]),
    ],
)
def test_names_in_every_script_come_back_whole(
    shared_data: Path, relative: str, names: list[str]
) -> None:
    assert [r.first("name") for r in by_path(shared_data, relative)] == names


def test_shift_jis_quoted_printable_address_and_note(shared_data: Path) -> None:
    (record,) = by_path(shared_data, f"{AOSP}/v21_japanese_2.vcf")
    assert record.values["family_name"] == ["安藤"]
    assert record.values["field.address.home"] == [
        "東京都渋谷区桜丘町26-1セルリアンタワー6階, 150-8512"
    ]
    assert record.values["field.note"] == ["メモ"]


def test_windows_1252_without_a_charset(shared_data: Path) -> None:
    (record,) = by_path(shared_data, f"{FOLKER}/AnsiIssueNoEncoding.vcf")
    assert record.values["field.address.home"] == ["Lämmerweg 12, Kleindorf, 98765, Deutschland"]


def test_broken_cards_are_reported_with_their_position(shared_data: Path) -> None:
    (unparsable,) = by_path(shared_data, f"{KHARD}/unparsable.vcf")
    (cropped,) = by_path(shared_data, f"{FOLKER}/Cropped_2_1.vcf")
    for record in (unparsable, cropped):
        assert record.problem is not None
        assert record.problem.startswith("card 1 (line 1)")
        assert "END:VCARD" in record.problem


def test_a_thousand_cards(shared_data: Path) -> None:
    records = by_path(shared_data, f"{FOLKER}/LargeFile.vcf")
    assert len(records) == 1000
    assert not [r for r in records if r.problem]
    assert records[0].first("name") == "Kasey Schmitt"


def test_nested_cards_belong_to_their_parent(shared_data: Path) -> None:
    (record,) = by_path(shared_data, f"{AOSP}/v21_nest.vcf")
    assert record.values["name"] == ["parent"]
    assert record.values["phone"] == ["1"]


def test_photos_kept_as_data_uris_or_left_out(shared_data: Path) -> None:
    path = shared_data / KHARD / "photov3.vcf"
    (record,) = read_vcards(path.read_bytes())
    assert record.values["field.photo"][0].startswith("data:image/png;base64,iVBORw0KGgo")
    (record,) = read_vcards(path.read_bytes(), photos=False)
    assert "field.photo" not in record.values


def test_thunderbird_reads_what_thunderbird_expects(shared_data: Path) -> None:
    base = shared_data / "csv_vcf_thunderbird_import_tests/files/mailnews/import/test/unit"
    expected = json.loads((base / "resources/addressbook.json").read_text())["vcard_import"]
    for name in ("basic_vcard_addressbook.vcf", "emptylines_vcard_addressbook.vcf"):
        records = list(read_vcards((base / "resources" / name).read_bytes()))
        got = [
            {
                "DisplayName": r.first("name"),
                "FirstName": r.first("given_name"),
                "LastName": r.first("family_name"),
                "PrimaryEmail": r.first("email"),
            }
            for r in records
        ]
        assert got == expected


def _kde_pairs() -> list[tuple[str, str]]:
    folder = SHARED_DATA / KDE
    if not folder.is_dir():
        return []
    pairs = []
    for ref in sorted(folder.glob("*.vcf*ref")):
        source = ref.name.removeprefix("v4_0.").rsplit(".", 1)[0]
        pairs.append((source, ref.name))
    return pairs


# KDE writes 2.1 photos as raw bytes and turns its legacy X-messaging lines into IMPP; the
# rest of each card must read the same from its input and from KDE's rewrite of it.
_NOT_COMPARED = ("field.photo", "field.im")


@pytest.mark.parametrize(("source", "ref"), _kde_pairs())
def test_kde_rewrites_read_the_same_as_their_input(
    shared_data: Path, source: str, ref: str
) -> None:
    original = by_path(shared_data, f"{KDE}/{source}")
    rewritten = by_path(shared_data, f"{KDE}/{ref}")
    assert len(original) == len(rewritten)
    for a, b in zip(original, rewritten, strict=True):
        kept_a = {k: v for k, v in a.values.items() if not k.startswith(_NOT_COMPARED)}
        kept_b = {k: v for k, v in b.values.items() if not k.startswith(_NOT_COMPARED)}
        assert kept_a == kept_b


@pytest.mark.parametrize(
    "path", VCF_FILES, ids=[str(p.relative_to(SHARED_DATA)) for p in VCF_FILES]
)
def test_files_cut_anywhere_still_read_card_by_card(shared_data: Path, path: Path) -> None:
    """A download cut short, a copy that lost its end: never an exception, every card that
    began is counted, and the cut one is reported."""
    data = path.read_bytes()
    for cut in sorted({len(data) * k // 7 for k in range(1, 7)}):
        part = data[:cut]
        records = list(read_vcards(part))
        assert len(records) == top_level_cards(part)
        assert all(r.problem or r.values for r in records)


# --- records as crm prints them ---------------------------------------------------------


@pytest.mark.parametrize("version", ["4.0", "3.0"])
def test_a_shown_contact_survives_the_round_trip(db_url: str, crm: Runner, version: str) -> None:
    crm.ok(
        "contact", "add", "佐藤 花子",
        "--given", "花子", "--family", "佐藤",
        "--email", "hanako@example.jp", "--email", "h.sato@example.com",
        "--phone", "+81 90 1234 5678",
        "--company", "Acme; Japan, K.K.",
        "--title", "CTO",
        "--tag", "vip", "--tag", "日本",
        "--field", "note=Met in Osaka\\, liked the demo",
        "--field", "birthday=1985-03-04",
        "--field", "linkedin=https://linkedin.example/in/hanako",
    )  # fmt: skip
    record = crm.json("contact", "show", "hanako@example.jp")

    (read,) = read_vcards(write_vcard(record, version).encode())

    assert read.problem is None
    assert read.values == contact_values(record)
    assert read.values["name"] == ["佐藤 花子"]
    assert read.values["email"] == ["hanako@example.jp", "h.sato@example.com"]
    assert read.values["phone"] == record["phones"]
    assert read.values["company"] == ["Acme; Japan, K.K."]
    assert set(read.values["tags"]) == {"vip", "日本"}
    assert read.values["field.birthday"] == ["1985-03-04"]
    assert read.values["field.linkedin"] == ["https://linkedin.example/in/hanako"]
    assert read.values["field.note"] == [record["custom"]["note"]]


def test_the_uid_follows_the_record_id_and_nothing_else(db_url: str, crm: Runner) -> None:
    crm.ok("contact", "add", "Ana", "--email", "ana@example.com")
    crm.ok("contact", "add", "Bea", "--email", "bea@example.com")
    ana = crm.json("contact", "show", "ana@example.com")
    bea = crm.json("contact", "show", "bea@example.com")
    uid = [line for line in write_vcard(ana).split("\r\n") if line.startswith("UID")]
    assert uid == [line for line in write_vcard(dict(ana)).split("\r\n") if line.startswith("UID")]
    assert uid != [line for line in write_vcard(bea).split("\r\n") if line.startswith("UID")]
    assert "example.com" not in uid[0] and "Ana" not in uid[0]
