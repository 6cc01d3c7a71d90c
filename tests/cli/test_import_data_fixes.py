"""Fixes to `crm import` and its round trips with `crm export`: phone extensions, statuses and
times an export writes, last contact after an import, the rejects file's error column, the
counts of duplicates, dates. Each test checks what a user would; SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Runner


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- phone extensions ---------------------------------------------------------------------


def test_phone_extension_is_another_person(crm: Runner, db_url: str, tmp_path: Path) -> None:
    first = _write(tmp_path / "a.csv", "name,phone,title\nAna Lima,+49 30 1234567 ext. 12,CEO\n")
    second = _write(
        tmp_path / "b.csv", "name,phone,title\nCarl Otto,+49 30 1234567 ext. 34,Intern\n"
    )
    crm.ok("import", "contacts", first)
    crm.ok("import", "contacts", second)
    contacts = {c["name"]: c["phones"] for c in crm.json("contact", "list", "--all")}
    assert contacts == {
        "Ana Lima": ["+49301234567 ext. 12"],
        "Carl Otto": ["+49301234567 ext. 34"],
    }
    # The same number and extension matches: unchanged.
    again = crm.json("import", "contacts", first)
    assert again["counts"]["unchanged"] == 1
    # Found by the number's tail.
    found = crm.json("contact", "list", "--search", "1234567")
    assert sorted(c["name"] for c in found) == ["Ana Lima", "Carl Otto"]


def test_two_extensions_in_one_file_are_not_duplicates(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    path = _write(tmp_path / "c.csv", "name,phone\nA,+49 30 1234567 ext. 1\nB,+49 30 1234567 x2\n")
    report = crm.json("import", "contacts", path)
    assert report["counts"]["new"] == 2


def test_contact_add_keeps_the_extension(crm: Runner, db_url: str, tmp_path: Path) -> None:
    added = crm.json("contact", "add", "Bo Chen", "--phone", "+49 30 1234567 ext. 12")
    assert added["phones"] == ["+49301234567 ext. 12"]
    path = _write(tmp_path / "d.csv", "name,phone\nOther,+49 30 1234567 ext. 12\n")
    # matched by phone with its extension: the import updates Bo Chen
    report = crm.json("import", "contacts", path)
    assert report["counts"]["update"] == 1
    assert crm.json("contact", "show", "1")["name"] == "Other"


def test_vcard_tel_uri_extension(crm: Runner, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "v.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Vee\r\n"
        "TEL;VALUE=uri;TYPE=work:tel:+49-30-1234567;ext=77\r\nEND:VCARD\r\n"
    )
    crm.ok("import", "contacts", str(path))
    (contact,) = crm.json("contact", "list", "--all")
    assert contact["phones"] == ["+49301234567 ext. 77"]


def test_exported_extension_imports_back_unchanged(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Bo Chen", "--phone", "+49 30 1234567 ext. 12")
    out = tmp_path / "out.csv"
    crm.ok("export", "contacts", "-o", str(out))
    report = crm.json("import", "contacts", str(out))
    assert report["counts"]["unchanged"] == 1
    assert [c["phones"] for c in crm.json("contact", "list", "--all")] == [["+49301234567 ext. 12"]]
