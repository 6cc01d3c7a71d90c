"""`--keep-unmapped` on crm's own export: the columns about a record's life in crm (id,
created_at, updated_at, deleted_at, last_contacted_at) are not data the file brings, so they
do not become custom fields, and a re-import changes nothing; a custom field column does go
back in. With `--match-id`, the id column is the match key and never also a custom field.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Runner


def _export(crm: Runner, tmp_path: Path) -> str:
    path = tmp_path / "contacts.csv"
    crm.ok("export", "contacts", "--csv", "-o", str(path))
    return str(path)


def test_crms_own_export_goes_back_in_unchanged_with_keep_unmapped(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com", "--field", "tier=gold")
    crm.ok("contact", "add", "Bo Chen", "--email", "bo@acme.com")
    before = crm.json("contact", "list", "--all")
    path = _export(crm, tmp_path)
    for extra in ([], ["--match-id"]):
        report = crm.json("import", "contacts", path, "--keep-unmapped", *extra)
        assert report["counts"]["unchanged"] == 2, (extra, report["rows"])
        assert report["counts"]["update"] == report["counts"]["new"] == 0
        assert not any(
            k.startswith("field.") and k != "field.tier" for k in report["source"]["fields"]
        )
    assert crm.json("contact", "list", "--all") == before
    assert [c["custom"] for c in before] == [{"tier": "gold"}, {}]


def test_match_id_does_not_keep_the_id_as_a_custom_field(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    ana = crm.json("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    source = tmp_path / "contacts.csv"
    source.write_text(f"id,name,email,Tier\n{ana['id']},Ana Lima,ana@acme.com,gold\n", "utf-8")
    report = crm.json("import", "contacts", str(source), "--keep-unmapped", "--match-id")
    assert report["counts"]["update"] == 1
    (contact,) = crm.json("contact", "list", "--all")
    assert contact["custom"] == {"Tier": "gold"}


def test_another_systems_id_is_kept_as_a_custom_field(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text("id,name,email\n77,Cy Dee,cy@example.com\n", "utf-8")
    crm.ok("import", "contacts", str(source), "--keep-unmapped")
    (contact,) = crm.json("contact", "list", "--all")
    assert contact["custom"] == {"id": "77"}
