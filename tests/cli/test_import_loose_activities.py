"""Follow-ups, interactions and feedback that name no contact and no deal match a record of
neither by their content, as those with a contact do: crm's own export of them, or the same
file again, goes back in unchanged instead of as new records. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Runner

FILES = {
    "feedback": "kind,score,text,created_at\r\nnps,9,Great,2026-01-05\r\ncsat,4,ok,2026-01-05\r\n",
    "followups": "title,due_at,priority\nCall back,2027-01-05 10:00,high\nSend deck,2027-01-06,\n",
    "interactions": "kind,occurred_at,summary\ncall,2026-01-05 10:00,Talked\nnote,2026-01-06,Met\n",
}


@pytest.mark.parametrize("kind", sorted(FILES))
def test_records_of_no_contact_go_back_in_unchanged(
    db_url: str, crm: Runner, tmp_path: Path, kind: str
) -> None:
    source = tmp_path / f"{kind}.csv"
    source.write_text(FILES[kind], encoding="utf-8")
    assert crm.json("import", kind, str(source))["counts"]["new"] == 2
    before = crm.json("export", kind, "--json")
    assert len(before) == 2
    exported = tmp_path / f"out-{kind}.csv"
    crm.ok("export", kind, "-o", str(exported))
    for again in (source, exported):
        report = crm.json("import", kind, str(again))
        assert report["counts"]["unchanged"] == 2, report["rows"]
        assert report["counts"]["new"] == 0
    assert crm.json("export", kind, "--json") == before
    # One of a contact's, with the same content, is not one of no contact's.
    crm.ok("contact", "add", "Ana Lima", "-e", "ana@acme.com")
    other = tmp_path / f"contact-{kind}.csv"
    head, first = FILES[kind].splitlines()[:2]
    other.write_text(f"{head},contact\n{first},ana@acme.com\n", encoding="utf-8")
    assert crm.json("import", kind, str(other))["counts"]["new"] == 1
