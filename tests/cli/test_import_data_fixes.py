"""Fixes to `crm import` and its round trips with `crm export`: phone extensions, statuses and
times an export writes, last contact after an import, the rejects file's error column, the
counts of duplicates, dates. Each test checks what a user would; SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

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


# --- feedback statuses and times as export writes them ------------------------------------

FEEDBACK_EXPORT = (
    "id,kind,score,text,category,status,resolved_at,resolution_note,channel,contact,deal,"
    "owner,created_at,updated_at\n"
    '4,nps,6,"Good product, onboarding was slow.",,closed,,,,,,Tester,'
    "2026-11-25T04:45:24+00:00,2026-11-25T04:45:24+00:00\n"
    "3,complaint,,Invoice sent to the wrong address.,,open,,,,Ingrid Solberg,,Tester,"
    "2026-11-25T04:45:24+00:00,2026-11-25T04:45:24+00:00\n"
    "2,csat,4,Support was quick.,,closed,,,,Ana Lima,,Tester,"
    "2026-11-25T04:45:24+00:00,2026-11-25T04:45:24+00:00\n"
)


def test_feedback_import_takes_the_statuses_export_writes(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    path = _write(tmp_path / "fb.csv", FEEDBACK_EXPORT)
    result = crm("import", "feedback", path, "--create-missing", "--json")
    assert result.code == 0, result
    assert result.json["counts"]["new"] == 3
    stored = {f["kind"]: f["status"] for f in crm.json("feedback", "list", "--all")}
    assert stored == {"nps": "closed", "complaint": "open", "csat": "closed"}


def test_feedback_closed_complaint_is_refused(crm: Runner, db_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "fb.csv", "kind,text,status\ncomplaint,Late,closed\n")
    result = crm("import", "feedback", path)
    assert result.code == 6
    assert "a complaint is open or resolved" in result.err


def test_own_feedback_export_imports_back_unchanged(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("feedback", "add", "ana@acme.com", "--kind", "nps", "--score", "9", "--text", "Great")
    crm.ok("feedback", "add", "ana@acme.com", "--kind", "complaint", "--text", "Slow")
    out = tmp_path / "fb.csv"
    crm.ok("export", "feedback", "-o", str(out))
    result = crm("import", "feedback", str(out), "--json")
    assert result.code == 0, result
    assert result.json["counts"]["unchanged"] == 2
    assert len(crm.json("feedback", "list", "--all")) == 2


def test_own_interactions_export_imports_back_unchanged(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("log", "call", "ana@acme.com", "Quick call")
    out = tmp_path / "i.csv"
    crm.ok("export", "interactions", "-o", str(out))
    result = crm("import", "interactions", str(out), "--json")
    assert result.code == 0, result
    assert result.json["counts"]["unchanged"] == 1
    assert result.json["counts"]["new"] == 0


# --- last contact after an import of interactions -----------------------------------------


def test_imported_interactions_move_last_contact(crm: Runner, db_url: str, tmp_path: Path) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("log", "call", "ana@acme.com", "Earlier", "--at", "2026-11-10 09:00")
    before = tmp_path / "before.jsonl"
    crm.ok("export", "all", "-o", str(before))
    path = _write(
        tmp_path / "i.csv",
        "kind,occurred_at,summary,contact\n"
        "call,2026-11-20T10:00:00+00:00,Intro call,ana@acme.com\n"
        "note,2026-11-01T10:00:00+00:00,Old note,ana@acme.com\n",
    )
    crm.ok("import", "interactions", path)
    contact = crm.json("contact", "show", "ana@acme.com")
    assert contact["last_contacted_at"] == "2026-11-20T11:00:00+01:00"
    crm.ok("undo")
    assert crm.json("contact", "show", "ana@acme.com")["last_contacted_at"] == (
        "2026-11-10T09:00:00+01:00"
    )
    after = tmp_path / "after.jsonl"
    crm.ok("export", "all", "-o", str(after))
    assert after.read_bytes() == before.read_bytes()


def test_imported_older_interaction_keeps_last_contact(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("log", "call", "ana@acme.com", "Recent", "--at", "2026-11-22 09:00")
    path = _write(
        tmp_path / "i.csv",
        "kind,occurred_at,summary,contact\ncall,2026-11-20T10:00:00+00:00,Intro,ana@acme.com\n",
    )
    crm.ok("import", "interactions", path)
    contact = crm.json("contact", "show", "ana@acme.com")
    assert contact["last_contacted_at"] == "2026-11-22T09:00:00+01:00"


# --- a rejects file's error column --------------------------------------------------------

REJECTS_FIXED = (
    "name,email,phone,company,title,tags,lifecycle,source,external_id,field.city,"
    "cadence_days,error\n"
    "Eve,eve@x.io,,,,,,,,,14,cadence_days 'abc': a whole number of days\n"
    "Fay,fay@x.io,,,,,,,,Porto,,email 'fay@': nothing after the @\n"
)


def test_rejects_error_column_is_not_kept(crm: Runner, db_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "rejects.csv", REJECTS_FIXED)
    result = crm("import", "contacts", path, "--keep-unmapped", "--json")
    assert result.code == 0, result
    assert result.json["source"]["unmapped"] == []
    customs = {c["name"]: c["custom"] for c in crm.json("contact", "list", "--all")}
    assert customs == {"Eve": {}, "Fay": {"city": "Porto"}}


def test_rejects_error_column_is_not_listed_as_not_imported(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    path = _write(tmp_path / "rejects.csv", "name,email,notes,error\nA,a@x.io,hi,bad\n")
    result = crm("import", "contacts", path, "--json")
    assert result.code == 0, result
    assert result.json["source"]["unmapped"] == ["notes"]
    # a column named error that is not last is data like any other
    other = _write(tmp_path / "other.csv", "name,error,email\nB,oops,b@x.io\n")
    result = crm("import", "contacts", other, "--keep-unmapped", "--json")
    assert result.code == 0, result
    assert crm.json("contact", "show", "b@x.io")["custom"] == {"error": "oops"}


# --- dates in files -----------------------------------------------------------------------


def test_date_only_field_keeps_the_date_written(crm: Runner, db_url: str, tmp_path: Path) -> None:
    crm.ok("config", "set", "defaults.timezone", "Europe/Berlin")
    path = _write(
        tmp_path / "deals.csv",
        "title,expected_close,created_at\n"
        "A,2026-12-31T23:30:00-05:00,2026-01-05 10:00\n"
        "B,2026/12/30,20260105T100000Z\n",
    )
    crm.ok("import", "deals", path)
    deals = {d["title"]: d for d in crm.json("deal", "list", "--all", "--status", "all")}
    assert deals["A"]["expected_close"] == "2026-12-31"
    assert deals["B"]["expected_close"] == "2026-12-30"
    assert deals["B"]["created_at"] == "2026-01-05T11:00:00+01:00"


def test_year_first_dates_with_date_order_ymd(crm: Runner, db_url: str, tmp_path: Path) -> None:
    crm.ok("config", "set", "defaults.date_order", "ymd")
    path = _write(tmp_path / "deals.csv", "title,expected_close\nA,2026/12/31\nB,31.12.2026\n")
    result = crm("import", "deals", path, "--json")
    assert result.code == 0, result
    closes = sorted(d["expected_close"] for d in crm.json("deal", "list", "--all"))
    assert closes == ["2026-12-31", "2026-12-31"]


def test_zero_day_due_is_not_a_date(crm: Runner, db_url: str) -> None:
    for due in ("0/1/2026", "1/0/2026"):
        result = crm("followup", "add", "x", "--due", due)
        assert result.code == 2
        assert "not a date" in result.err
        assert "could be" not in result.err


def test_bare_time_in_repeated_hour_is_not_overdue(
    crm: Runner, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.ok("config", "set", "defaults.timezone", "Europe/Berlin")
    monkeypatch.setenv("CRM_NOW", "2027-10-31T02:30:00+01:00")
    added = crm.json("followup", "add", "x", "--due", "2:45")
    assert added["due_at"] == "2027-10-31T02:45:00+01:00"
    assert added["overdue"] is False


def test_decimal_comma_grouped_by_commas_is_malformed(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    path = _write(tmp_path / "deals.csv", 'title,value\nA,"1,234,567"\nB,"1.234,50"\n')
    result = crm("import", "deals", path, "--decimal-comma", "--set", "currency=EUR")
    assert result.code == 6
    assert "not a well-formed number" in result.err
    assert "takes at most 2 decimals" not in result.err


# --- owners named as people type them -----------------------------------------------------


def test_an_owner_named_without_accents_is_the_user(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    """An owner column "jose perez" names José Pérez, as `--owner jose perez` does, instead
    of creating a second user; a name two users share with accents folded names neither."""
    crm.ok("user", "add", "José Pérez", "--email", "jose@example.com")
    path = _write(tmp_path / "c.csv", "name,email,owner\nAna Lima,ana@example.com,jose perez\n")
    report = crm.json("import", "contacts", path)
    assert report["created"].get("users", []) == []
    users = [u["name"] for u in crm.json("user", "list", "--json")]
    assert users.count("José Pérez") == 1 and "jose perez" not in users
    (ana,) = crm.json("contact", "list", "--json")
    assert ana["owner"] == "José Pérez"
