"""The summary line of `crm import` counts what `--json` counts: a row that repeats an
earlier row of the file is a duplicate, not a reject."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Runner

ROWS = (
    "name,email\n"
    "Ana Lima,ana@acme.de\n"
    "Ana L.,ana@acme.de\n"
    "Bruno Costa,not-an-email\n"
    "Ana Again,ANA@acme.de\n"
)


def test_the_summary_and_the_json_count_duplicates_alike(crm: Runner, tmp_path: Path) -> None:
    path = tmp_path / "dups.csv"
    path.write_text(ROWS, encoding="utf-8")

    planned = crm("import", "contacts", str(path), "--dry-run", "--json")
    counts = planned.json["counts"]
    assert (counts["new"], counts["duplicate"], counts["rejected"]) == (1, 2, 1)

    done = crm("import", "contacts", str(path))
    assert done.code == 6, done
    summary = done.out + done.err
    assert "1 new" in summary
    assert "2 duplicate" in summary
    assert "1 rejected" in summary
    listed = crm.json("contact", "list")
    assert [c["name"] for c in listed] == ["Ana Lima"]
