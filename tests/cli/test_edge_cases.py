"""Inputs that broke earlier versions: non-ASCII case, odd digits, huge numbers, marks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm_cli.errors import ExitCode


def test_names_with_non_ascii_capitals_are_found(crm: Any, db_url: str) -> None:
    skoda = crm.json("company", "add", "Škoda")
    assert crm.json("company", "show", "škoda")["id"] == skoda["id"]
    assert crm("company", "add", "ŠKODA").code == ExitCode.CONFLICT
    first = crm.json("contact", "add", "A", "--company", "Ärzte GmbH")
    second = crm.json("contact", "add", "B", "--company", "ärzte gmbh")
    assert first["company_id"] == second["company_id"]  # no duplicate company
    crm.ok("user", "add", "Ödön")
    assert crm.json("contact", "add", "C", "--owner", "ödön")["owner"] == "Ödön"


def test_renaming_a_company_onto_another_name_is_refused(crm: Any, db_url: str) -> None:
    crm.ok("company", "add", "Acme")
    crm.ok("company", "add", "Beta")
    result = crm("company", "edit", "Beta", "--name", "acme")
    assert result.code == ExitCode.CONFLICT and "acme" in result.err
    assert sorted(c["name"] for c in crm.json("company", "list")) == ["Acme", "Beta"]


def test_removing_a_tag_that_starts_with_h(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "A", "--email", "a@x.com", "--tag", "hot", "--tag", "vip")
    assert crm.json("contact", "tag", "a@x.com", "-hot")["tags"] == ["vip"]


def test_odd_digits_and_huge_ids_are_not_found(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "A")
    for ref in ("²", "99999999999999999999", "3000000000"):
        result = crm("contact", "show", ref)
        assert result.code == ExitCode.NOT_FOUND, (ref, result)
    result = crm("deal", "show", "3000000000")
    assert result.code == ExitCode.NOT_FOUND and result.err.count("\n") == 1
    assert crm("config", "set", "defaults.page_size", "²").code == ExitCode.USAGE


def test_values_too_large_are_refused(crm: Any, db_url: str) -> None:
    for args in (
        ["deal", "add", "X", "--value", "1e999999999"],
        ["followup", "add", "X", "--due", "+99999999d"],
        ["followup", "add", "X", "--due", "in 9000 years"],
    ):
        result = crm(*args)
        assert result.code == ExitCode.USAGE, (args, result)
        assert "unexpected" not in result.err


def test_marks_in_names_and_tags(crm: Any, db_url: str) -> None:
    arabic = crm.json("contact", "add", "مُحَمَّد علي")
    hindi = crm.json("contact", "add", "मोहन राज", "--tag", "हिंदी", "--tag", "İzmir")
    assert [h["id"] for h in crm.json("search", "محمد")] == [arabic["id"]]
    assert [h["id"] for h in crm.json("search", "मोहन")] == [hindi["id"]]
    assert crm.json("search", "राम") == []
    assert [c["id"] for c in crm.json("contact", "list", "--tag", "हिंदी")] == [hindi["id"]]


def test_empty_values_sort_last_on_both_databases(crm: Any, db_url: str) -> None:
    crm.ok("company", "add", "Alpha")
    crm.ok("company", "add", "Bravo", "--industry", "Retail")
    crm.ok("company", "add", "Charlie", "--industry", "Banking")
    names = [c["name"] for c in crm.json("company", "list", "--sort", "-industry")]
    assert names == ["Bravo", "Charlie", "Alpha"]
    names = [c["name"] for c in crm.json("company", "list", "--sort", "industry")]
    assert names == ["Charlie", "Bravo", "Alpha"]


def test_backup_paths_with_hash_and_question_mark(crm: Any, tmp_path: Path) -> None:
    crm.ok("contact", "add", "Ana")
    folder = tmp_path / "backups #1?"
    folder.mkdir()
    target = folder / "b.db"
    crm.ok("db", "backup", str(target))
    crm.ok("contact", "add", "Bo")
    crm.ok("db", "restore", str(target), "--yes")
    assert [c["name"] for c in crm.json("contact", "list")] == ["Ana"]


@pytest.mark.postgres
def test_postgres_style_urls_and_escaped_passwords(
    crm: Any, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """postgres:// as hosting providers print it, and a %-escaped password, on a database
    that still has to be migrated (Alembic's config once choked on the %)."""
    import uuid

    import psycopg

    admin_url = pg_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    name = f"crm_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{admin_url}/{name}".replace("postgresql://", "postgres://")
        monkeypatch.setenv("CRM_DATABASE_URL", url.replace("postgres@", "postgres:p%40ss@"))
        result = crm("contact", "add", "Ana")
        assert result.code == 0, result  # trust auth: the password is carried, not checked
        assert crm.json("db", "check")["problems"] == []
    finally:
        with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
