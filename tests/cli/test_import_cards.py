"""A vCard import names a record by its card's position ("card 3"), not as a line: in the
report of rejects, in a dry run's decisions, and in a duplicate's evidence (also in --json,
whose key stays `line`). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from crm_cli.cli.importing import ROWS_REJECTED
from tests.conftest import Runner

CARDS = [
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana Lima\r\nEMAIL:ana@acme.com\r\nEND:VCARD\r\n",
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bo Chen\r\nEMAIL:bo@example.com\r\nEND:VCARD\r\n",
    # Card 3: a name longer than any name may be.
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:" + "x" * 600 + "\r\nEND:VCARD\r\n",
    # Card 4: the same address as card 1.
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana L.\r\nEMAIL:ana@acme.com\r\nEND:VCARD\r\n",
]


def test_a_vcard_import_names_cards_not_lines(db_url: str, crm: Runner, tmp_path: Path) -> None:
    path = tmp_path / "people.vcf"
    path.write_text("".join(CARDS), encoding="utf-8")
    dry = crm("import", "contacts", path, "--dry-run")
    assert dry.code == ROWS_REJECTED, dry
    assert "card 3: rejected: name" in dry.out
    assert "card 4: duplicate (matched by card 1): email 'ana@acme.com': the same as card 1" in (
        dry.out
    )
    assert "line " not in dry.out
    result = crm("import", "contacts", path)
    assert result.code == ROWS_REJECTED, result
    assert "card 3: name" in result.err
    assert "card 4: email 'ana@acme.com': the same as card 1" in result.err
    assert "2 cards were not imported" in result.err
    assert "line 3" not in result.err
    assert len(crm.json("contact", "list", "--all")) == 2
    report = crm("import", "contacts", path, "--json").json
    duplicate = next(r for r in report["rows"] if r["decision"] == "duplicate")
    assert duplicate["line"] == 4  # the key stays; its text says what it counts
    assert duplicate["match"] == "card 1"
