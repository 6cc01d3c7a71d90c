"""`crm import KIND FILE --match-id`: the file's `id` column holds this database's ids (crm's
own export), so a row matches the record its id names and an id naming none is rejected.
Without the option an `id` column matches nothing, and the report suggests the option when
the ids name records. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from crm_cli.cli.importing import ROWS_REJECTED
from tests.conftest import Runner


def _deals(crm: Runner) -> list[dict[str, object]]:
    return list(crm.json("deal", "list", "--all", "--status", "all"))


def _setup(crm: Runner) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com", "--company", "Acme")
    crm.ok("deal", "add", "Acme renewal", "--contact", "ana@acme.com", "--value", "12000")
    crm.ok("deal", "add", "Second", "--value", "10.50", "--close", "2027-01-31")
    crm.ok("deal", "won", "1")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _write(path: Path, rows: list[dict[str, str]]) -> str:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def test_crms_own_deals_export_goes_back_in_unchanged_with_match_id(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    _setup(crm)
    exported = crm.ok("export", "deals", "--csv").out
    path = tmp_path / "deals.csv"
    path.write_text(exported, encoding="utf-8")
    before = _deals(crm)
    report = crm.json("import", "deals", str(path), "--match-id")
    assert report["counts"]["unchanged"] == 2
    assert report["counts"]["new"] == report["counts"]["update"] == 0
    assert {r["match"] for r in report["rows"]} == {"id 1", "id 2"}
    assert _deals(crm) == before
    # Without the option the id column matches nothing: the rows would be new, and the
    # report says --match-id would match them.
    dry = crm.ok("import", "deals", str(path), "--dry-run")
    assert "would import 2 new" in dry.out
    assert "--match-id" in dry.err


def test_a_changed_amount_updates_and_an_unknown_id_is_rejected(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    _setup(crm)
    rows = _rows(crm.ok("export", "deals", "--csv").out)
    for row in rows:
        if row["id"] == "2":
            row["value"] = "11.50"
    rows.append({**rows[0], "id": "99", "title": "Nobody's"})
    rejects = tmp_path / "rejects.csv"
    result = crm(
        "import", "deals", _write(tmp_path / "d.csv", rows), "--match-id", "--rejects", rejects
    )
    assert result.code == ROWS_REJECTED, result
    assert "1 updated, 1 unchanged" in result.out
    assert "id 99: no deal 99 in this database" in result.err
    kept = _rows(rejects.read_text(encoding="utf-8"))
    assert [(r["id"], r["error"]) for r in kept] == [("99", "id 99: no deal 99 in this database")]
    deals = {d["id"]: d for d in _deals(crm)}
    assert len(deals) == 2
    assert deals[2]["value"] == 11.5


def test_match_id_matches_companies_and_rejects_an_id_that_is_not_a_number(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("company", "add", "Acme")
    rows = _rows(crm.ok("export", "companies", "--csv").out)
    rows[0]["name"] = "Acme GmbH"  # renamed in the file: the id still finds it
    rows.append({**rows[0], "id": "x1", "name": "Other"})
    report = crm(
        "import", "companies", _write(tmp_path / "c.csv", rows), "--match-id", "--json"
    ).json
    assert report["counts"]["update"] == 1
    assert report["counts"]["rejected"] == 1
    assert report["rows"][1]["error"] == "id 'x1': not a record id (a whole number)"
    assert [c["name"] for c in crm.json("company", "list", "--all")] == ["Acme GmbH"]


def test_match_id_matches_a_vcard_by_the_crm_id_its_export_wrote(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    cid = crm.json("contact", "add", "Ana Lima", "--email", "ana@acme.com")["id"]
    card = crm.ok("export", "contacts", "--vcf").out
    assert f"X-CRM-ID={cid}" in card
    moved = card.replace("ana@acme.com", "ana@new.example")
    stranger = (
        moved.replace(f"X-CRM-ID={cid}", "X-CRM-ID=999")
        .replace("Ana Lima", "Nobody")
        .replace("ana@new.example", "nobody@example.com")
    )
    path = tmp_path / "cards.vcf"
    path.write_text(moved + stranger, encoding="utf-8")
    dry = crm("import", "contacts", str(path), "--dry-run", "--json").json
    assert dry["counts"]["new"] == 2  # without --match-id the changed address matches nothing
    result = crm("import", "contacts", str(path), "--match-id")
    assert result.code == ROWS_REJECTED, result
    assert "card 2: id 999: no contact 999 in this database" in result.err
    assert "1 updated" in result.out
    contacts = crm.json("contact", "list", "--all")
    assert [(c["id"], c["emails"]) for c in contacts] == [
        (cid, ["ana@acme.com", "ana@new.example"])
    ]


def test_match_id_refuses_a_file_without_an_id_column(db_url: str, crm: Runner) -> None:
    result = crm("import", "companies", "-", "--match-id", stdin="name\nAcme\n")
    assert result.code == 2, result
    assert "the file has no id column to match by; it has: name" in result.err
    assert crm.json("company", "list", "--all") == []
