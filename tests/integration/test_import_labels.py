"""An import whose row gives a label for an email or phone the matched contact already has
sets that label as it sets any field: `--on-match update` sets it, `fill` only where the
address has none, `skip` leaves it. The report and `--dry-run` show it as `email_labels` /
`phone_labels`, old -> new, shaped as `contact show --json` has them; importing the file
again changes nothing; `crm undo` puts the old labels back exactly (`crm export all` reads as
before), and undoing the undo sets them again. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Runner

# The contact as a person typed it: an email with a label, one without, a phone without.
ADD = (
    "contact", "add", "Ana Lima", "--email", "ana@acme.com", "--email", "ana@home.org",
    "--phone", "+49 30 1234567",
)  # fmt: skip
# Gives `work` to an address the contact has without a label, `home` to one it has as
# `private` (set below), and `mobile` to its phone.
FILE = (
    "name,email:work,email:home,phone:mobile\nAna Lima,ana@acme.com,ana@home.org,+49 30 1234567\n"
)


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _archive(crm: Runner, tmp_path: Path, name: str) -> bytes:
    out = tmp_path / f"{name}.jsonl"
    crm.ok("export", "all", "-o", str(out))
    return out.read_bytes()


def _labels(crm: Runner) -> tuple[dict[str, str], dict[str, str]]:
    shown = crm.json("contact", "show", "1")
    return shown["email_labels"], shown["phone_labels"]


def _ana(crm: Runner, tmp_path: Path) -> None:
    """Ana with `ana@home.org` labelled `private` (by an import: no other command sets one)."""
    crm.ok(*ADD)
    private = _write(tmp_path / "p.csv", "name,email:private\nAna Lima,ana@home.org\n")
    crm.ok("import", "contacts", private)
    assert _labels(crm) == ({"ana@home.org": "private"}, {})


def test_update_sets_the_labels_shows_them_in_the_dry_run_and_undo_puts_them_back(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    _ana(crm, tmp_path)
    before = _archive(crm, tmp_path, "before")
    path = _write(tmp_path / "labels.csv", FILE)

    dry = crm.json("import", "contacts", path, "--dry-run")
    assert dry["counts"]["update"] == 1 and dry["counts"]["unchanged"] == 0
    (row,) = dry["rows"]
    assert (row["decision"], row["id"]) == ("update", 1)
    assert row["changes"] == {
        "email_labels": {
            "old": {"ana@home.org": "private"},
            "new": {"ana@acme.com": "work", "ana@home.org": "home"},
        },
        "phone_labels": {"old": {}, "new": {"+49301234567": "mobile"}},
    }
    text = crm.ok("import", "contacts", path, "--dry-run").out
    assert (
        "email_labels {'ana@home.org': 'private'} -> "
        "{'ana@acme.com': 'work', 'ana@home.org': 'home'}"
    ) in text
    assert _archive(crm, tmp_path, "dry") == before

    report = crm.json("import", "contacts", path)
    assert report["counts"]["update"] == 1
    assert _labels(crm) == (
        {"ana@acme.com": "work", "ana@home.org": "home"},
        {"+49301234567": "mobile"},
    )
    shown = crm.json("contact", "show", "1")
    assert shown["emails"] == ["ana@acme.com", "ana@home.org"]  # the lists as they were
    assert shown["phones"] == ["+49301234567"]
    imported = _archive(crm, tmp_path, "imported")

    again = crm.json("import", "contacts", path)
    assert again["counts"]["unchanged"] == 1 and again["counts"]["update"] == 0
    assert _archive(crm, tmp_path, "again") == imported

    crm.ok("undo")  # the re-import changed nothing: this undoes the import
    assert _archive(crm, tmp_path, "undone") == before
    assert _labels(crm) == ({"ana@home.org": "private"}, {})

    redo = crm.json("history", "--last", "1")[0]["id"]
    crm.ok("undo", str(redo))  # the undo of the undo sets the labels again, exactly
    assert _archive(crm, tmp_path, "redone") == imported


def test_fill_sets_a_label_only_where_the_address_has_none(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    _ana(crm, tmp_path)
    before = _archive(crm, tmp_path, "before")
    path = _write(tmp_path / "labels.csv", FILE)

    report = crm.json("import", "contacts", path, "--on-match", "fill")
    assert report["rows"][0]["changes"] == {
        "email_labels": {
            "old": {"ana@home.org": "private"},
            "new": {"ana@acme.com": "work", "ana@home.org": "private"},
        },
        "phone_labels": {"old": {}, "new": {"+49301234567": "mobile"}},
    }
    assert _labels(crm) == (
        {"ana@acme.com": "work", "ana@home.org": "private"},
        {"+49301234567": "mobile"},
    )
    again = crm.json("import", "contacts", path, "--on-match", "fill")
    assert again["counts"]["unchanged"] == 1
    crm.ok("undo")
    assert _archive(crm, tmp_path, "undone") == before


def test_skip_leaves_the_labels(db_url: str, crm: Runner, tmp_path: Path) -> None:
    _ana(crm, tmp_path)
    before = _archive(crm, tmp_path, "before")
    report = crm.json(
        "import", "contacts", _write(tmp_path / "labels.csv", FILE), "--on-match", "skip"
    )
    assert report["counts"]["skipped"] == 1 and report["counts"]["update"] == 0
    assert set(report["rows"][0]["changes"]) == {"email_labels", "phone_labels"}
    assert _archive(crm, tmp_path, "after") == before


def test_an_import_adding_an_address_and_relabelling_another_undoes_exactly(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok(*ADD)
    before = _archive(crm, tmp_path, "before")
    text = "name,email:work,email:home,phone\nAna Lima,ana@acme.com,ana@new.org,+49 30 999999\n"
    report = crm.json("import", "contacts", _write(tmp_path / "more.csv", text))
    changes = report["rows"][0]["changes"]
    assert changes["emails"]["new"] == ["ana@acme.com", "ana@home.org", "ana@new.org"]
    assert changes["email_labels"] == {
        "old": {},
        "new": {"ana@acme.com": "work", "ana@new.org": "home"},
    }
    assert _labels(crm) == ({"ana@acme.com": "work", "ana@new.org": "home"}, {})
    crm.ok("undo")
    assert _archive(crm, tmp_path, "undone") == before


def test_history_shows_the_labels_an_import_set(db_url: str, crm: Runner, tmp_path: Path) -> None:
    crm.ok(*ADD)
    crm.ok("import", "contacts", _write(tmp_path / "labels.csv", FILE))
    (entry,) = crm.json("history", "contact", "1", "--last", "1")[0]["changes"]
    assert entry["fields"] == {
        "email_labels": {"old": {}, "new": {"ana@acme.com": "work", "ana@home.org": "home"}},
        "phone_labels": {"old": {}, "new": {"+49301234567": "mobile"}},
    }
