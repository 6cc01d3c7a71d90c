"""A contact with no email, no phone and no external id goes back in unchanged when crm's own
export is imported again: such a row matches, by its name (case and accents folded), the one
live contact that has that name and no email or phone either. A name several of them share
matches nothing, and the report says why. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Runner


def _export(crm: Runner, tmp_path: Path) -> str:
    path = tmp_path / "contacts.csv"
    path.write_text(crm.ok("export", "contacts", "--csv").out, encoding="utf-8")
    return str(path)


def test_a_keyless_contact_of_crms_own_export_goes_back_in_unchanged(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "José Pérez", "--title", "CTO")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    path = _export(crm, tmp_path)
    before = crm.json("contact", "list", "--all")
    report = crm.json("import", "contacts", path)
    assert report["counts"]["unchanged"] == 2
    assert report["counts"]["new"] == 0
    assert "name 'José Pérez'" in {r.get("match") for r in report["rows"]}
    assert crm.json("contact", "list", "--all") == before
    # Case and accents folded; the dry run names the key it matched by.
    dry = crm.ok("import", "contacts", "-", "--dry-run", stdin="name,title\njose perez,CTO\n")
    assert "(matched by name 'jose perez')" in dry.out
    assert "would import 0 new" in dry.out


def test_a_name_two_keyless_contacts_share_matches_neither(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    first = crm.json("contact", "add", "Bo Li")["id"]
    second = crm.json("contact", "add", "Bo Li", "--title", "CFO")["id"]
    # A contact with the name and an email is not a candidate.
    crm.ok("contact", "add", "Bo Li", "--email", "bo@example.com")
    report = crm.json("import", "contacts", "-", "--dry-run", stdin="name\nBo Li\n")
    assert report["counts"]["new"] == 1
    assert report["counts"]["unchanged"] == report["counts"]["update"] == 0
    row = report["rows"][0]
    assert "match" not in row
    assert row["note"] == (
        f"name 'Bo Li': 2 contacts have it and no email or phone ({first}, {second}); not matched"
    )
    text = crm.ok("import", "contacts", "-", stdin="name\nBo Li\n")
    assert "not matched by name" in text.err
    assert len(crm.json("contact", "list", "--all")) == 4
