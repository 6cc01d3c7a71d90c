"""`crm export all` / `crm import all`: the vendor-neutral backup restores a database exactly,
on SQLite, on PostgreSQL, and from one to the other; and refuses what it cannot restore,
changing nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner, _db_url, _pg_admin_conninfo


def _use(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", url)


def _fill(crm: Runner) -> None:
    """A database with something in every table, and the awkward values: CJK, line breaks,
    formula-like text, custom fields, removed records, a custom pipeline, done and repeating
    follow-ups, deals moved, won and lost."""
    from crm_cli.services.context import open_context
    from crm_cli.services.demo import seed

    ctx = open_context()
    try:
        with ctx.session() as session:
            seed(ctx, session)
    finally:
        ctx.close()
    crm.ok("user", "add", "Bea Ops", "--email", "bea@example.com")
    crm.ok(
        "contact", "add", "张伟 Zhang", "-e", "zw@example.cn", "-e", "zw2@example.cn",
        "-p", "+8613800138000", "-t", "asia", "-f", "birthday=1990-02-03",
        "-f", "note==SUM(A1)", "--given", "伟", "--family", "张", "--cadence", "30",
    )  # fmt: skip
    crm.ok("contact", "add", "Gone Person", "-e", "gone@example.com")
    crm.ok("contact", "rm", "gone@example.com")
    crm.ok("dupes", "ignore", "zw@example.cn", "gone@example.com")
    crm.ok("company", "add", "Ünïcode GmbH", "--domain", "unicode.example", "-f", "vat=DE123")
    crm.ok("pipeline", "add", "partners", "--stages", "talk,sign,won:won,lost:lost")
    deal = crm.json(
        "deal", "add", "Line\nbreak deal", "--contact", "zw@example.cn", "--value", "1234.56",
        "--currency", "USD", "--close", "2027-03-01", "-t", "big",
    )  # fmt: skip
    crm.ok("deal", "move", str(deal["id"]), "proposal")
    crm.ok("deal", "won", str(deal["id"]))
    lost = crm.json("deal", "add", "Lost one", "--value", "10", "--pipeline", "partners")
    crm.ok("deal", "lost", str(lost["id"]), "--reason", "price")
    crm.ok("followup", "add", "Weekly call", "--due", "2027-01-04 09:30", "--repeat", "weekly",
           "--contact", "zw@example.cn")  # fmt: skip
    crm.ok("followup", "done", "1")
    crm.ok("followup", "add", "Overdue call", "--due", "2020-01-06 10:00")
    crm.ok("remind", "--everyone")  # a delivery and a run of the scheduler
    crm.ok("log", "call", "zw@example.cn", 'Talked about =HYPERLINK("x")')
    crm.ok("feedback", "add", "zw@example.cn", "--kind", "nps", "--score", "9", "--text", "ok\ttab")


def _archive(crm: Runner, path: Path) -> bytes:
    crm.ok("export", "all", "-o", str(path))
    return path.read_bytes()


@pytest.fixture
def second_pg(pg_template: str) -> Iterator[str]:
    """Another fresh PostgreSQL database (the `pg_url` fixture gives one per test)."""
    import psycopg

    name = f"crm_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield _db_url(name)
    finally:
        with psycopg.connect(_pg_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _round_trip(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, source: str, target: str
) -> tuple[bytes, bytes]:
    _use(monkeypatch, source)
    _fill(crm)
    first = _archive(crm, tmp_path / "first.jsonl")
    assert first == _archive(crm, tmp_path / "again.jsonl")  # deterministic
    _use(monkeypatch, target)
    restored = crm.json("import", "all", str(tmp_path / "first.jsonl"))
    assert restored["total"] == len(first.splitlines()) - 2  # the header and the end line
    return first, _archive(crm, tmp_path / "second.jsonl")


def test_restores_byte_for_byte_on_the_same_database_kind(
    crm: Runner, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: Any
) -> None:
    if db_url.startswith("sqlite"):
        target = f"sqlite:///{tmp_path / 'restored.db'}"
    else:
        target = request.getfixturevalue("second_pg")
    first, second = _round_trip(crm, monkeypatch, tmp_path, db_url, target)
    assert second == first
    # Every table came through, with its rows.
    tables = {json.loads(line)["table"] for line in first.splitlines()[1:-1]}
    from crm_cli.services.archive import archived_tables

    assert tables == {t.name for t in archived_tables()}
    # The restored database is a working one: new ids come after the restored ones
    # (PostgreSQL's sequences were moved), and the current user is found again.
    contact = crm.json("contact", "add", "After Restore", "-e", "after@example.com")
    top = max(json.loads(line)["row"]["id"] for line in first.splitlines()[1:-1]
              if json.loads(line)["table"] == "contact")  # fmt: skip
    assert contact["id"] == top + 1
    deal = crm.json("deal", "add", "After", "--value", "1")
    assert deal["id"] > 1
    shown = crm.json("contact", "show", "zw@example.cn")
    assert shown["custom"] == {"birthday": "1990-02-03", "note": "=SUM(A1)"}
    assert shown["emails"] == ["zw@example.cn", "zw2@example.cn"]


@pytest.mark.postgres
def test_sqlite_to_postgresql_and_back(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str
) -> None:
    sqlite = f"sqlite:///{tmp_path / 'source.db'}"
    first, on_pg = _round_trip(crm, monkeypatch, tmp_path, sqlite, pg_url)
    assert on_pg == first
    _use(monkeypatch, f"sqlite:///{tmp_path / 'back.db'}")
    crm.ok("import", "all", str(tmp_path / "second.jsonl"))
    assert _archive(crm, tmp_path / "back.jsonl") == first


@pytest.mark.postgres
def test_postgresql_to_sqlite(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str
) -> None:
    first, on_sqlite = _round_trip(
        crm, monkeypatch, tmp_path, pg_url, f"sqlite:///{tmp_path / 'target.db'}"
    )
    assert on_sqlite == first


def test_refuses_a_database_with_records_and_changes_nothing(
    crm: Runner, db_url: str, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Ana Lima", "-e", "ana@acme.com")
    archive = _archive(crm, tmp_path / "a.jsonl")
    before = _archive(crm, tmp_path / "before.jsonl")
    result = crm("import", "all", str(tmp_path / "a.jsonl"))
    assert result.code == 4
    assert "not empty" in result.err and "contact" in result.err
    assert result.err.startswith("crm: error: ") and result.err.count("\n") == 1
    assert _archive(crm, tmp_path / "after.jsonl") == before == archive


def test_refuses_a_database_with_history_only(crm: Runner, db_url: str, tmp_path: Path) -> None:
    crm.ok("pipeline", "add", "partners")
    crm.ok("undo")
    crm.ok("export", "all", "-o", str(tmp_path / "a.jsonl"))
    result = crm("import", "all", str(tmp_path / "a.jsonl"))
    assert result.code == 4 and "history" in result.err


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"schema": "0099_from_the_future"}, "newer"),
        ({"format_version": 3}, "newer"),
        ({"format": "something-else"}, "not a crm archive"),
    ],
)
def test_refuses_an_archive_it_cannot_read(
    crm: Runner, sqlite_url: str, tmp_path: Path, change: dict[str, Any], words: str
) -> None:
    lines = _archive(crm, tmp_path / "a.jsonl").decode().splitlines(keepends=True)
    head = json.loads(lines[0])
    head.update(change)
    (tmp_path / "b.jsonl").write_text(json.dumps(head) + "\n" + "".join(lines[1:]))
    result = crm("import", "all", str(tmp_path / "b.jsonl"))
    assert result.code == 2 and words in result.err


def test_a_bad_row_restores_nothing(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    _use(monkeypatch, f"sqlite:///{tmp_path / 'source.db'}")
    _fill(crm)
    lines = _archive(crm, tmp_path / "a.jsonl").decode().splitlines(keepends=True)
    last_event = max(i for i, line in enumerate(lines) if line.startswith('{"table":"event"'))
    broken = lines[:last_event] + ['{"table":"event","row":{"id":1,"at":"yesterday"}}\n']
    (tmp_path / "broken.jsonl").write_text("".join(broken))
    _use(monkeypatch, db_url)
    empty = _archive(crm, tmp_path / "empty.jsonl")
    result = crm("import", "all", str(tmp_path / "broken.jsonl"))
    assert result.code == 2 and "event.at" in result.err and "'yesterday'" in result.err
    assert _archive(crm, tmp_path / "still-empty.jsonl") == empty
    # And the file, once fixed, restores.
    (tmp_path / "fixed.jsonl").write_text("".join(lines))
    crm.ok("import", "all", str(tmp_path / "fixed.jsonl"))
    assert _archive(crm, tmp_path / "restored.jsonl") == "".join(lines).encode()


def test_a_failed_export_leaves_no_file(
    crm: Runner, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.ok("contact", "add", "Ana Lima", "-e", "ana@acme.com")
    target = tmp_path / "out.jsonl"
    target.write_text("the old backup\n")
    from crm_cli.services import archive

    def boom(session: Any) -> Iterator[str]:
        yield '{"format":"crm-archive"}\n'
        raise KeyboardInterrupt

    monkeypatch.setattr(archive, "archive_lines", boom)
    assert crm("export", "all", "-o", str(target)).code == 130
    assert target.read_text() == "the old backup\n"
    assert sorted(p.name for p in tmp_path.iterdir() if "out" in p.name) == ["out.jsonl"]


def test_every_table_has_a_place_in_the_archive() -> None:
    from sqlmodel import SQLModel

    from crm_cli.services.archive import NOT_ARCHIVED, TABLES, archived_tables

    names = [t.name for t in archived_tables()]
    # A new table must be given its place in TABLES (it is archived meanwhile, after them).
    assert names == list(TABLES)
    assert set(SQLModel.metadata.tables) == set(TABLES) | set(NOT_ARCHIVED)
    # Parents before children: every foreign key points at a table earlier in the order
    # (or at its own table: a follow-up's previous occurrence).
    for position, table in enumerate(archived_tables()):
        for key in table.foreign_keys:
            assert key.column.table.name in names[: position + 1], (table.name, key.target_fullname)


def test_restores_from_stdin(
    crm: Runner, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crm.ok("contact", "add", "Ana Lima", "-e", "ana@acme.com", "-f", "shoe=42")
    archive = crm.ok("export", "all").out  # to stdout, for a pipe
    assert archive.encode() == _archive(crm, tmp_path / "a.jsonl")
    _use(monkeypatch, f"sqlite:///{tmp_path / 'other.db'}")
    result = crm.ok("import", "all", "-", stdin=archive)
    assert result.out.startswith("Restored ") and "from stdin" in result.out
    assert crm.json("contact", "show", "ana@acme.com")["custom"] == {"shoe": "42"}


@pytest.mark.postgres
def test_naughty_strings_cross_both_ways(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pg_url: str, shared_data: Path
) -> None:
    """515 strings known to break software, as names and custom fields, SQLite -> PostgreSQL
    -> SQLite: every byte of the archive the same."""
    from crm_cli.services.contacts import ContactInput, add_contact
    from crm_cli.services.context import open_context

    strings = [s for s in json.loads((shared_data / "naughty_strings_blns/files/blns.json")
                                     .read_text()) if s]  # fmt: skip
    _use(monkeypatch, f"sqlite:///{tmp_path / 'source.db'}")
    ctx = open_context()
    try:
        with ctx.session() as session:
            for i, text in enumerate(strings):
                add_contact(ctx, session, ContactInput(name=f"N{i}", fields={"s": text}))
    finally:
        ctx.close()
    first = _archive(crm, tmp_path / "first.jsonl")
    _use(monkeypatch, pg_url)
    crm.ok("import", "all", str(tmp_path / "first.jsonl"))
    assert _archive(crm, tmp_path / "pg.jsonl") == first
    _use(monkeypatch, f"sqlite:///{tmp_path / 'back.db'}")
    crm.ok("import", "all", str(tmp_path / "pg.jsonl"))
    assert _archive(crm, tmp_path / "back.jsonl") == first
    shown = crm.json("contact", "list", "--sort", "id")
    assert [c["custom"]["s"] for c in shown] == strings


def test_a_missing_file_is_a_one_line_error(crm: Runner, sqlite_url: str, tmp_path: Path) -> None:
    result = crm("import", "all", str(tmp_path / "nowhere.jsonl"))
    assert result.code == 2 and "nowhere.jsonl" in result.err and result.err.count("\n") == 1
    (tmp_path / "latin1.jsonl").write_bytes(b'{"format":"crm-archive"}\n\xe9\n')
    result = crm("import", "all", str(tmp_path / "latin1.jsonl"))
    assert result.code == 2 and "UTF-8" in result.err


def _small(crm: Runner, tmp_path: Path) -> list[str]:
    """The archive of a database with contacts, their emails and tags, and a deal: its lines."""
    for i in range(5):
        crm.ok("contact", "add", f"Person {i}", "-e", f"p{i}@example.com", "-t", "t")
    crm.ok("deal", "add", "Big one", "--contact", "p1@example.com", "--value", "100")
    return _archive(crm, tmp_path / "a.jsonl").decode().splitlines(keepends=True)


def _restore_into_new(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, text: str
) -> Any:
    """`crm import all` of `text` into `db_url` (empty); its result, after checking that a
    refused file left the database as empty as it was."""
    _use(monkeypatch, db_url)
    empty = _archive(crm, tmp_path / "empty.jsonl")
    path = tmp_path / f"in-{uuid.uuid4().hex}.jsonl"
    path.write_text(text, encoding="utf-8")
    result = crm("import", "all", str(path))
    if result.code != 0:
        assert _archive(crm, tmp_path / "after.jsonl") == empty
    return result


def test_the_archive_ends_with_its_row_counts(crm: Runner, sqlite_url: str, tmp_path: Path) -> None:
    lines = _small(crm, tmp_path)
    assert json.loads(lines[0])["format_version"] == 2
    end = json.loads(lines[-1])
    assert end["end"] == "crm-archive"
    assert end["rows"]["contact"] == 5 and end["rows"]["contact_tag"] == 5
    assert end["rows"]["feedback"] == 0
    assert sum(end["rows"].values()) == len(lines) - 2


def test_a_file_cut_at_a_line_end_restores_nothing(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    _use(monkeypatch, f"sqlite:///{tmp_path / 'source.db'}")
    lines = _small(crm, tmp_path)
    cut = "".join(lines[: len(lines) // 2])
    result = _restore_into_new(crm, monkeypatch, tmp_path, db_url, cut)
    assert result.code == 2
    assert f"ends at line {len(lines) // 2} without the archive's end line" in result.err
    assert "nothing was restored" in result.err


def test_a_file_cut_inside_a_line_restores_nothing(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    _use(monkeypatch, f"sqlite:///{tmp_path / 'source.db'}")
    lines = _small(crm, tmp_path)
    cut = "".join(lines[:6]) + lines[6][:25]
    result = _restore_into_new(crm, monkeypatch, tmp_path, db_url, cut)
    assert result.code == 2 and "ends in the middle of line 7" in result.err


def test_a_row_missing_from_the_middle_restores_nothing(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    _use(monkeypatch, f"sqlite:///{tmp_path / 'source.db'}")
    lines = _small(crm, tmp_path)
    # A contact's tag: no other row refers to it, so only the end line's count can tell.
    gone = next(i for i, line in enumerate(lines) if line.startswith('{"table":"contact_tag"'))
    result = _restore_into_new(
        crm, monkeypatch, tmp_path, db_url, "".join(lines[:gone] + lines[gone + 1 :])
    )
    assert result.code == 2
    assert "says 5 contact_tag rows, the file holds 4" in result.err
    # A contact whose emails then refer to nothing: named as the database refusing them.
    gone = next(i for i, line in enumerate(lines) if line.startswith('{"table":"contact"'))
    result = _restore_into_new(
        crm, monkeypatch, tmp_path, db_url, "".join(lines[:gone] + lines[gone + 1 :])
    )
    assert result.code == 2 and "rows they refer to are missing" in result.err
    # Something after the end line.
    result = _restore_into_new(crm, monkeypatch, tmp_path, db_url, "".join(lines + [lines[1]]))
    assert result.code == 2 and "after the archive's end line" in result.err


def test_an_archive_of_format_version_1_restores_without_an_end_line(
    crm: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    _use(monkeypatch, f"sqlite:///{tmp_path / 'source.db'}")
    lines = _small(crm, tmp_path)
    head = json.loads(lines[0])
    head["format_version"] = 1
    old = json.dumps(head, separators=(",", ":")) + "\n" + "".join(lines[1:-1])
    result = _restore_into_new(crm, monkeypatch, tmp_path, db_url, old)
    assert result.code == 0, result.err
    assert _archive(crm, tmp_path / "restored.jsonl").decode() == "".join(lines)
