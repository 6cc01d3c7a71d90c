"""A contact's email and phone labels (`work`, `home`, `mobile`) in what `crm` shows of it:
`--json` keeps `emails` and `phones` as lists of strings and adds `email_labels` and
`phone_labels` (value -> label, labelled values only) on every contact record (`show`, `list`,
`export --json`/`--jsonl`); `contact show` for a person puts the label beside the value.
`contact edit` keeps the labels of the addresses it keeps. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rich.cells import cell_len

from crm_cli.render import output
from tests.conftest import Runner

CSV = (
    "name,email:work,email,phone:mobile\n"
    "Ana Lima,ana@acme.com,ana@home.org,+49 30 1234567\n"
    "Bo Chen,,bo@example.org,\n"
)
LABELS = {"email_labels": {"ana@acme.com": "work"}, "phone_labels": {"+49301234567": "mobile"}}
NONE: dict[str, dict[str, str]] = {"email_labels": {}, "phone_labels": {}}


@pytest.fixture
def ana(db_url: str, crm: Runner, tmp_path: Path) -> Runner:
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    crm.ok("import", "contacts", str(path))
    return crm


def _labels(record: dict[str, object]) -> dict[str, object]:
    return {k: record[k] for k in ("email_labels", "phone_labels")}


def test_every_json_form_of_a_contact_has_its_labels_beside_its_lists(ana: Runner) -> None:
    shown = ana.json("contact", "show", "ana@acme.com")
    assert shown["emails"] == ["ana@acme.com", "ana@home.org"]  # as scripts read them
    assert shown["phones"] == ["+49301234567"]
    assert _labels(shown) == LABELS
    assert _labels(ana.json("contact", "show", "bo@example.org")) == NONE
    listed = {r["name"]: r for r in ana.json("contact", "list", "--all")}
    assert _labels(listed["Ana Lima"]) == LABELS
    assert _labels(listed["Bo Chen"]) == NONE
    exported = {r["name"]: r for r in json.loads(ana.ok("export", "contacts", "--json").out)}
    assert _labels(exported["Ana Lima"]) == LABELS
    lines = [json.loads(line) for line in ana.ok("export", "contacts", "--jsonl").out.splitlines()]
    assert [_labels(r) for r in lines if r["name"] == "Ana Lima"] == [LABELS]
    edited = ana.json("contact", "edit", "ana@acme.com", "--title", "CTO")
    assert _labels(edited) == LABELS


def test_contact_show_puts_a_label_beside_its_value(
    ana: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    piped = ana.ok("contact", "show", "ana@acme.com").out
    assert "Emails:         ana@acme.com (work), ana@home.org\n" in piped
    assert "Phones:         +49301234567 (mobile)\n" in piped
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(output, "stdout_is_tty", lambda: True)
    lines = ana.ok("contact", "show", "ana@acme.com").out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "Emails          ana@acme.com (work), ana@home.org" in lines
    assert "Phones          +49301234567 (mobile)" in lines
    monkeypatch.setenv("COLUMNS", "30")  # too narrow: one address a line, each whole
    lines = ana.ok("contact", "show", "ana@acme.com").out.splitlines()
    assert "  ana@acme.com (work)," in lines
    assert "  ana@home.org" in lines
    # An address that fills a line alone: its label goes on the next, nothing past the edge.
    long = "zhang.wei.a.very.long.address.for.testing@subdomain.example-company.com.cn"
    path = Path(os.environ["CRM_HOME"]) / "long.csv"
    path.write_text(f"name,email:work\n张伟 Zhang,{long}\n", encoding="utf-8")
    ana.ok("import", "contacts", str(path))
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    lines = ana.ok("contact", "show", long).out.splitlines()
    assert max(cell_len(line) for line in lines) <= 80, lines
    assert f"  {long}" in lines and "  (work)" in lines


def test_edit_keeps_the_labels_of_the_addresses_it_keeps(ana: Runner, tmp_path: Path) -> None:
    before = tmp_path / "before.jsonl"
    ana.ok("export", "all", "-o", str(before))
    ana.ok("contact", "edit", "ana@acme.com", "--add-email", "ana@new.org", "--rm-email",
           "ana@home.org", "--add-phone", "+49 30 7654321")  # fmt: skip
    shown = ana.json("contact", "show", "ana@acme.com")
    assert shown["emails"] == ["ana@acme.com", "ana@new.org"]
    assert _labels(shown) == LABELS
    ana.ok("undo")
    after = tmp_path / "after.jsonl"
    ana.ok("export", "all", "-o", str(after))
    assert after.read_bytes() == before.read_bytes()


def test_the_google_export_writes_each_email_and_phone_label(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    import csv
    import io

    source = tmp_path / "labelled.csv"
    source.write_text(
        "name,email:work,email:home,phone:mobile,phone\n"
        "Ana Lima,ana@acme.com,ana@home.org,+4930123456,+4930654321\n",
        encoding="utf-8",
    )
    crm.ok("import", "contacts", str(source))
    out = crm.ok("export", "contacts", "--preset", "google").out
    (row,) = csv.DictReader(io.StringIO(out, newline=""))
    cells = [(row[f"E-mail {i} - Label"], row[f"E-mail {i} - Value"]) for i in (1, 2, 3)]
    assert cells == [("work", "ana@acme.com"), ("home", "ana@home.org"), ("", "")]
    phones = [(row[f"Phone {i} - Label"], row[f"Phone {i} - Value"]) for i in (1, 2)]
    assert phones == [("mobile", "+4930123456"), ("", "+4930654321")]
