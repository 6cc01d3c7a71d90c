"""`crm export KIND`: every record a listing matches, every field, in CSV, JSON, JSON lines,
vCard and the Google / Outlook layouts; formula cells neutralised; files written whole."""

from __future__ import annotations

import csv
import importlib.util
import io
import itertools
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def filled(crm: Runner, db_url: str) -> str:
    crm.ok("company", "add", "Acme", "--domain", "acme.com", "-f", "vat=DE1", "-t", "key")
    crm.ok(
        "contact", "add", "Ana Lima", "-e", "ana@acme.com", "-e", "ana.l@acme.com",
        "-p", "+49 30 1234567", "-p", "+49 89 7654321", "-c", "Acme", "-t", "vip", "-t", "eu",
        "-f", "shoe=42", "-f", "motto==1+1", "--title", "CFO", "-l", "customer",
    )  # fmt: skip
    crm.ok("contact", "add", "张伟", "-e", "zw@example.cn", "-f", "city=北京")
    crm.ok("contact", "add", "Old Friend", "-e", "old@example.com")
    crm.ok("contact", "rm", "old@example.com")
    won = crm.json("deal", "add", "Big one", "--contact", "ana@acme.com", "--value", "12400.5")
    crm.ok("deal", "won", str(won["id"]))
    crm.ok("deal", "add", "Small one", "--contact", "zw@example.cn", "--value", "99", "-t", "q1")
    crm.ok("followup", "add", "Call Ana", "--due", "2027-01-04 09:30", "--contact", "ana@acme.com")
    crm.ok("followup", "add", "Done thing", "--due", "2026-01-04 09:30")
    crm.ok("followup", "done", "2")
    crm.ok("log", "note", "ana@acme.com", "--", "-Likes early calls")
    crm.ok("feedback", "add", "ana@acme.com", "--kind", "nps", "--score", "9", "--text", "@good")
    return db_url


def test_contacts_csv_has_every_field_custom_fields_and_tags(crm: Runner, filled: str) -> None:
    out = crm.ok("export", "contacts").out
    rows = _csv(out)
    assert [r["name"] for r in rows] == ["Ana Lima", "张伟"]  # the listing's order; no removed
    header = out.splitlines()[0].split(",")
    assert header[:5] == ["id", "name", "given_name", "family_name", "email"]
    assert header[-3:] == ["field.city", "field.motto", "field.shoe"]
    ana = rows[0]
    assert ana["email"] == "ana@acme.com; ana.l@acme.com"
    assert ana["phone"] == "'+49301234567; +49897654321"  # neutralised, as a formula could be
    assert ana["tags"] == "eu; vip"
    assert ana["company"] == "Acme" and ana["title"] == "CFO" and ana["lifecycle"] == "customer"
    assert ana["field.shoe"] == "42" and ana["field.motto"] == "'=1+1" and ana["field.city"] == ""
    assert rows[1]["field.city"] == "北京"
    # Times in the configured zone with their offset, as the listings give them.
    assert ana["created_at"].endswith(("+01:00", "+02:00"))
    assert out.endswith("\r\n")


def test_raw_leaves_cells_as_they_are(crm: Runner, filled: str) -> None:
    ana = _csv(crm.ok("export", "contacts", "--raw").out)[0]
    assert ana["field.motto"] == "=1+1" and ana["phone"].startswith("+49")


def test_filters_are_the_listings(crm: Runner, filled: str) -> None:
    assert [r["name"] for r in _csv(crm.ok("export", "contacts", "--tag", "vip").out)] == [
        "Ana Lima"
    ]
    removed = _csv(crm.ok("export", "contacts", "--removed").out)
    assert [r["name"] for r in removed] == ["Old Friend"] and removed[0]["deleted_at"]
    assert [r["title"] for r in _csv(crm.ok("export", "deals", "--status", "won").out)] == [
        "Big one"
    ]


@pytest.mark.parametrize(
    ("kind", "listing"),
    [
        ("contacts", ["contact", "list"]),
        ("companies", ["company", "list"]),
        ("deals", ["deal", "list", "--status", "all"]),
        ("followups", ["followup", "list", "--all", "--done"]),
        ("interactions", ["log", "list"]),
        ("feedback", ["feedback", "list"]),
    ],
)
def test_every_kind_in_every_format(
    crm: Runner, filled: str, kind: str, listing: list[str]
) -> None:
    expected = crm.json(*listing, "--all" if "--all" not in listing else "--done")
    assert expected
    as_json = json.loads(crm.ok("export", kind, "--json").out)
    assert as_json == expected  # the listing's records, every field
    lines = crm.ok("export", kind, "--jsonl").out.splitlines()
    assert [json.loads(line) for line in lines] == expected
    rows = _csv(crm.ok("export", kind, "--csv").out)
    assert [int(r["id"]) for r in rows] == [r["id"] for r in expected]


def test_deals_csv_values_in_major_units(crm: Runner, filled: str) -> None:
    rows = {r["title"]: r for r in _csv(crm.ok("export", "deals").out)}
    assert rows["Big one"]["value"] == "12400.50" and rows["Big one"]["status"] == "won"
    assert rows["Big one"]["closed_at"] and rows["Big one"]["stage"] == "won"
    assert rows["Small one"]["tags"] == "q1" and rows["Small one"]["contact"] == "张伟"
    assert rows["Small one"]["probability"] == ""  # the stage's default applies


def test_no_row_cap(crm: Runner, sqlite_url: str) -> None:
    from crm_cli.services.bulk import add_contacts, check_contact
    from crm_cli.services.contacts import ContactInput
    from crm_cli.services.context import open_context

    ctx = open_context()
    try:
        with ctx.session() as session:
            checked = [
                check_contact(ctx, ContactInput(name=f"P{i:04}", emails=[f"p{i}@example.com"]))
                for i in range(1234)
            ]
            add_contacts(ctx, session, checked)
    finally:
        ctx.close()
    rows = _csv(crm.ok("export", "contacts").out)
    assert len(rows) == 1234 and rows[-1]["email"] == "p1233@example.com"


def test_output_file_is_written_whole_and_private(crm: Runner, filled: str, tmp_path: Path) -> None:
    target = tmp_path / "contacts.csv"
    result = crm.ok("export", "contacts", "-o", str(target))
    assert result.out == "" and "exported 2 contacts" in result.err
    assert len(_csv(target.read_text(encoding="utf-8"))) == 2
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    dash = crm.ok("export", "contacts", "-o", "-")  # `-`: stdout, as usual for a file name
    assert dash.out == target.read_bytes().decode() and dash.err == ""


def test_a_failed_export_keeps_the_old_file(
    crm: Runner, filled: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "contacts.csv"
    target.parent.mkdir()
    target.write_text("yesterday's export\n")
    from crm_cli.services import exporting

    def failing(read: Any) -> Any:
        def rows(*args: Any) -> Any:
            yield from itertools.islice(read(*args), 1)
            raise KeyboardInterrupt  # stopped half way

        return rows

    # Records from the listing, or for contacts to CSV straight from the database.
    monkeypatch.setattr(exporting, "_listing", failing(exporting._listing))
    monkeypatch.setattr(exporting, "_contact_rows", failing(exporting._contact_rows))
    assert crm("export", "contacts", "-o", str(target)).code == 130
    assert target.read_text() == "yesterday's export\n"
    assert [p.name for p in target.parent.iterdir()] == ["contacts.csv"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["deals", "--vcf"], "No such option"),
        (["deals", "--json", "--jsonl"], "choose one"),
        (["companies", "--preset", "google"], "No such option"),
        (["contacts", "--preset", "yahoo"], "'yahoo'"),
        (["contacts", "--preset", "google", "--json"], "a preset is a CSV layout"),
        (["contacts", "--vcf", "--vcard-version", "2.1"], "3.0 or 4.0"),
        (["contacts", "-o", "/nonexistent/dir/x.csv"], "folder does not exist"),
    ],
)
def test_bad_options_are_one_line_errors(
    crm: Runner, sqlite_url: str, args: list[str], words: str
) -> None:
    result = crm("export", *args)
    assert result.code == 2 and words in result.err and result.out == ""
    assert result.err.startswith("crm: error: ") and result.err.count("\n") == 1


def test_google_and_outlook_layouts(crm: Runner, filled: str) -> None:
    google = _csv(crm.ok("export", "contacts", "--preset", "google").out)
    ana = google[0]
    assert ana["First Name"] == "Ana Lima" and ana["Last Name"] == ""  # never split by guessing
    assert ana["E-mail 1 - Value"] == "ana@acme.com" and ana["E-mail 2 - Value"] == "ana.l@acme.com"
    assert ana["Phone 1 - Value"] == "+49301234567"  # a plain number: no guarding quote
    assert ana["Organization Name"] == "Acme" and ana["Labels"] == "eu ::: vip"
    out = crm.ok("export", "contacts", "--preset", "outlook").out
    assert out.startswith("\ufeffFirst Name,")  # a BOM: Outlook reads the file as UTF-8
    outlook = _csv(out.lstrip("\ufeff"))
    assert outlook[0]["E-mail Address"] == "ana@acme.com"
    assert outlook[0]["Categories"] == "eu;vip" and outlook[1]["First Name"] == "张伟"
    crm.ok("contact", "add", "-e", "e@example.com", "-p", "+1 202-555-0123", "--", "=HYPERLINK(1)")
    evil = _csv(crm.ok("export", "contacts", "--preset", "google").out)[0]
    assert evil["First Name"] == "'=HYPERLINK(1)" and evil["Phone 1 - Value"] == "+12025550123"


def test_vcards(crm: Runner, filled: str) -> None:
    if importlib.util.find_spec("crm_cli.io.vcard") is None:
        pytest.skip("the vCard codec (crm_cli.io.vcard) is not in this build")
    import vobject

    text = crm.ok("export", "contacts", "--vcf").out
    cards = list(vobject.readComponents(text))
    assert [c.fn.value for c in cards] == ["Ana Lima", "张伟"]
    old = crm.ok("export", "contacts", "--vcf", "--vcard-version", "3.0").out
    assert "VERSION:3.0" in old


def test_csv_reimports_with_no_flags(
    crm: Runner, filled: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if importlib.util.find_spec("crm_cli.cli.importing") is None:
        pytest.skip("the CSV importer (crm_cli.cli.importing) is not in this build")
    target = tmp_path / "contacts.csv"
    crm.ok("export", "contacts", "-o", str(target))
    before = crm.json("contact", "list")
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    crm.ok("import", "contacts", str(target))
    after = crm.json("contact", "list")
    keep = ("name", "emails", "phones", "tags", "custom", "company", "title", "lifecycle")
    assert [{k: r[k] for k in keep} for r in after] == [{k: r[k] for k in keep} for r in before]


def test_injection_payloads_are_neutralised_and_kept(
    crm: Runner, sqlite_url: str, shared_data: Path
) -> None:
    """Every formula payload and naughty string comes out of a CSV export inert, and reads back
    to the exact text (`unneutralise`, which the importer applies)."""
    from crm_cli.io.cells import TRIGGERS, neutralise, unneutralise
    from crm_cli.services.contacts import ContactInput, add_contact
    from crm_cli.services.context import open_context

    payloads = shared_data / "csv_injection_payloadbox/files/Intruder/csv-payload.txt"
    strings = [s for s in payloads.read_text().splitlines() if s]
    strings += [s for s in json.loads((shared_data / "naughty_strings_blns/files/blns.json")
                                      .read_text()) if s]  # fmt: skip
    ctx = open_context()
    try:
        with ctx.session() as session:
            for i, text in enumerate(strings):
                add_contact(ctx, session, ContactInput(name=f"P{i:04}", fields={"payload": text}))
    finally:
        ctx.close()
    rows = _csv(crm.ok("export", "contacts", "--sort", "name").out)
    assert len(rows) == len(strings)
    for row, text in zip(rows, strings, strict=True):
        cell = row["field.payload"]
        assert not cell.startswith(TRIGGERS), cell
        assert cell == neutralise(text) and unneutralise(cell) == text
    raw = _csv(crm.ok("export", "contacts", "--sort", "name", "--raw").out)
    assert [r["field.payload"] for r in raw] == strings
    lines = crm.ok("export", "contacts", "--sort", "name", "--jsonl").out.split("\n")[:-1]
    assert [json.loads(line)["custom"]["payload"] for line in lines] == strings


def test_a_running_count_on_a_terminal_only(
    crm: Runner, filled: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from crm_cli.services import exporting

    monkeypatch.setattr(exporting, "PROGRESS_EVERY", 1)
    assert crm.ok("export", "contacts").err == ""  # not a terminal: nothing on stderr
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    result = crm.ok("export", "contacts")
    assert "crm: exporting contacts: 2" in result.err
    assert len(_csv(result.out)) == 2


def test_vcf_hands_each_contact_record_to_the_vcard_codec(
    crm: Runner, filled: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The contract with io/vcard.py: `write_vcard(record, version)` per contact, the record
    as `contact list --json` gives it, the cards written one after another."""
    import sys
    import types

    seen: list[tuple[dict[str, Any], str]] = []

    def write_vcard(contact: dict[str, Any], version: str = "4.0") -> str:
        seen.append((contact, version))
        return f"BEGIN:VCARD\r\nVERSION:{version}\r\nFN:{contact['name']}\r\nEND:VCARD\r\n"

    fake = types.ModuleType("crm_cli.io.vcard")
    fake.write_vcard = write_vcard  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "crm_cli.io.vcard", fake)
    out = crm.ok("export", "contacts", "--vcf", "--vcard-version", "3.0", "--tag", "vip").out
    assert out == "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana Lima\r\nEND:VCARD\r\n"
    assert seen == [(crm.json("contact", "list", "--tag", "vip")[0], "3.0")]


@pytest.mark.parametrize(
    "flags",
    [
        [],
        ["--raw"],
        ["--removed"],
        ["--tag", "vip"],
        ["--sort", "-created,name"],
        ["--lifecycle", "lead", "--search", "example"],
    ],
)
def test_contacts_csv_read_in_one_query_is_the_listings(
    crm: Runner, filled: str, monkeypatch: pytest.MonkeyPatch, flags: list[str]
) -> None:
    """CSV of contacts is read straight from the database (one query, emails, phones and tags
    gathered by it); the file is byte for byte the one written from the listing's records."""
    from crm_cli.services import exporting

    crm.ok(
        "contact", "add", "Zoë Ärger", "-e", "zoe@example.com", "-e", "a@example.com",
        "-e", "m@example.com", "-p", "+1 212 555 0100", "-t", "zeta", "-t", "alpha",
        "-t", "émigré", "-t", "Beta", "-f", "n=7", "-f", "motto=@home", "--cadence", "30",
    )  # fmt: skip
    crm.ok("contact", "add", "'quoted", "-e", "q@example.com", "-l", "lead", "-t", "vip")
    crm.ok(
        "contact", "edit", "zoe@example.com", "--given", "Zoë", "--family", "Ä",
        "--add-email", "b@example.com", "--source", "-fair", "--add-phone", "+44 20 7946 0000",
    )  # fmt: skip
    crm.ok("log", "note", "zoe@example.com", "--", "met")  # sets last_contacted_at
    direct = crm.ok("export", "contacts", *flags).out
    assert _csv(direct)  # every case writes rows
    monkeypatch.setattr(exporting, "_plain_separators", lambda session: False)
    assert crm.ok("export", "contacts", *flags).out == direct
