"""`crm undo` after an import or a merge puts the database back exactly: `crm export all`
before the change and after its undo are the same bytes, ids and versions included, on
SQLite and PostgreSQL. After the undo, records edit as usual, and undoing again re-applies
the change (an undo of the undo) or is refused, never half-done."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_cli.errors import ExitCode
from tests.conftest import Runner


def archive(crm: Runner, tmp_path: Path, name: str) -> bytes:
    out = tmp_path / f"{name}.jsonl"
    crm.ok("export", "all", "-o", str(out))
    return out.read_bytes()


def _diff(before: bytes, after: bytes) -> list[str]:
    old = set(before.decode().splitlines())
    return (
        [line for line in after.decode().splitlines() if line not in old][:10]
        + ["--- gone:"]
        + [
            line
            for line in before.decode().splitlines()
            if line not in set(after.decode().splitlines())
        ][:10]
    )


def assert_same(before: bytes, after: bytes) -> None:
    assert after == before, "\n".join(_diff(before, after))


@pytest.fixture
def people(db_url: str, crm: Runner) -> Runner:
    """Two records of one person, each with emails, phones, tags, fields and records."""
    crm.ok(
        "contact", "add", "Jonas Weber", "--email", "jonas@acme.de", "--phone", "+49 30 1234567",
        "--company", "Acme GmbH", "--tag", "vip", "--field", "city=Berlin",
    )  # fmt: skip
    crm.ok(
        "contact", "add", "Jonas Webr", "--email", "jw@acme.de", "--email", "jonas.w@gmail.com",
        "--phone", "+49 30 7654321", "--tag", "new", "--field", "city=Hamburg",
        "--field", "tier=gold", "--title", "CTO",
    )  # fmt: skip
    crm.ok("deal", "add", "Acme renewal", "--contact", "jw@acme.de", "--value", "1200")
    crm.ok("deal", "won", "1")
    crm.ok("followup", "add", "Call Jonas", "--due", "2030-01-06 10:00", "--contact", "2")
    crm.ok("log", "call", "jw@acme.de", "Talked about the renewal")
    crm.ok("feedback", "add", "jw@acme.de", "--kind", "nps", "--score", "9")
    crm.ok("contact", "add", "Someone Else", "--email", "else@acme.de")
    crm.ok("contact", "edit", "1", "--title", "Founder")  # version 2
    return crm


def test_undo_of_a_contact_merge_restores_the_archive(people: Runner, tmp_path: Path) -> None:
    before = archive(people, tmp_path, "before")
    people.ok("contact", "merge", "1", "2", "--yes")
    assert archive(people, tmp_path, "merged") != before
    people.ok("undo")
    assert_same(before, archive(people, tmp_path, "after"))


def _set_of(crm: Runner, word: str) -> int:
    return next(s["id"] for s in crm.json("history", "--last", "10") if word in s["command"])


def test_undo_of_a_merge_of_several_with_prefer_other(people: Runner, tmp_path: Path) -> None:
    before = archive(people, tmp_path, "before")
    people.ok("contact", "merge", "3", "1", "2", "--prefer", "other", "--yes")
    people.ok("undo")
    assert_same(before, archive(people, tmp_path, "after"))


def test_undo_the_undo_reapplies_the_merge_exactly(people: Runner, tmp_path: Path) -> None:
    before = archive(people, tmp_path, "before")
    people.ok("contact", "merge", "1", "2", "--yes")
    merged = archive(people, tmp_path, "merged")
    undo = people.json("undo")
    people.ok("undo", str(undo["change_set"]))
    assert_same(merged, archive(people, tmp_path, "again"))
    # The merge stands again, and a plain undo takes it back again.
    people.ok("undo")
    assert_same(before, archive(people, tmp_path, "after"))


def test_after_the_undo_records_edit_and_undo_as_usual(people: Runner, tmp_path: Path) -> None:
    people.ok("contact", "merge", "1", "2", "--yes")
    merge = _set_of(people, "merge")
    people.ok("undo")
    # The same change set cannot be undone twice.
    twice = people("undo", str(merge))
    assert twice.code == ExitCode.CONFLICT
    assert "undone already" in twice.err
    restored = archive(people, tmp_path, "restored")
    # Version checks pass on the restored records: they edit, and the edits undo.
    edited = people.json("contact", "edit", "2", "--title", "CEO", "--add-email", "jw2@acme.de")
    assert edited["title"] == "CEO"
    assert people.json("contact", "edit", "1", "--tag", "key")["tags"] == ["key", "vip"]
    assert people.json("deal", "edit", "1", "--title", "Acme renewal 2027")["title"].endswith(
        "2027"
    )
    for _ in range(3):
        people.ok("undo")
    assert_same(restored, archive(people, tmp_path, "edits-undone"))
    # A plain undo now walks on to the change before the merge: the edit of contact 1.
    people.ok("undo")
    assert people.json("contact", "show", "1")["title"] is None


def test_undo_of_a_company_merge_restores_the_archive(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("company", "add", "Acme GmbH", "--domain", "acme.de", "--tag", "partner")
    crm.ok("company", "add", "ACME Inc", "--industry", "Tools", "--tag", "us")
    crm.ok("company", "add", "Acme Ltd", "--field", "vat=GB123", "--tag", "uk")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com", "--company", "ACME Inc")
    crm.ok("contact", "add", "Tom Reed", "--email", "tom@acme.co.uk", "--company", "Acme Ltd")
    crm.ok("deal", "add", "US rollout", "--contact", "ana@acme.com", "--company", "ACME Inc")
    crm.ok("company", "edit", "ACME Inc", "--size", "50-200")
    before = archive(crm, tmp_path, "before")
    crm.ok("company", "merge", "1", "2", "3", "--prefer", "other", "--yes")
    assert archive(crm, tmp_path, "merged") != before
    crm.ok("undo")
    assert_same(before, archive(crm, tmp_path, "after"))


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("on_match", ["update", "fill"])
def test_undo_of_an_import_restores_the_archive(
    db_url: str, crm: Runner, tmp_path: Path, on_match: str
) -> None:
    crm.ok(
        "contact", "add", "Jonas Weber", "--email", "jonas@acme.de", "--phone", "+49 30 1234567",
        "--company", "Acme", "--tag", "vip", "--field", "segment=silver",
    )  # fmt: skip
    crm.ok("contact", "add", "Mia Park", "--email", "mia@park.kr", "--title", "CTO")
    crm.ok("contact", "edit", "2", "--add-phone", "+82 2 312 3456")
    crm.ok("deal", "add", "Acme renewal", "--contact", "jonas@acme.de", "--value", "1200")
    before = archive(crm, tmp_path, "before")
    path = _write(
        tmp_path / "c.csv",
        "Name,E-mail,Phone,Company,Title,Tags,Segment\n"
        "Ana Lima,ana@acme.com,+49 30 7654321,Acme,,new-tag;vip,gold\n"
        "张伟,zhang.wei@yunhai.cn,,云海科技,,,\n"
        "Jonas Weber,jonas@acme.de,+49 30 5555555,Acme Holding,Founder,vip;q1,platinum\n"
        "Mia Park,mia@park.kr,+82 2 999 0000,Park Labs,CEO,,gold\n",
    )
    report = crm.json(
        "import", "contacts", path, "--map", "email=E-mail", "--map", "field.segment=Segment",
        "--on-match", on_match,
    )  # fmt: skip
    assert report["counts"]["new"] == 2
    assert report["counts"]["update"] == 2
    assert archive(crm, tmp_path, "imported") != before
    crm.ok("undo")
    assert_same(before, archive(crm, tmp_path, "after"))
    # The restored contacts take edits (their versions check out).
    assert crm.json("contact", "edit", "1", "--title", "CFO")["title"] == "CFO"


def test_a_journal_entry_without_rows_still_undoes(people: Runner, db_url: str) -> None:
    """Entries written before the journal kept email and phone rows hold their values only:
    undo puts the same values back (in new rows)."""
    import sqlalchemy as sa

    from crm_cli.store.journal import ChangeEntry

    people.ok("contact", "merge", "1", "2", "--yes")
    merge = _set_of(people, "merge")
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        found = conn.execute(
            sa.select(ChangeEntry.c.id, ChangeEntry.c.old).where(
                ChangeEntry.c.change_set_id == merge
            )
        ).all()
        stripped = 0
        for entry_id, old in found:
            if old and any(k.endswith("_rows") for k in old):
                old = {k: v for k, v in old.items() if not k.endswith("_rows")}
                conn.execute(
                    sa.update(ChangeEntry).where(ChangeEntry.c.id == entry_id).values(old=old)
                )
                stripped += 1
    engine.dispose()
    assert stripped >= 2  # the kept contact's and the other's
    people.ok("undo")
    assert people.json("contact", "show", "1")["emails"] == ["jonas@acme.de"]
    other = people.json("contact", "show", "2")
    assert other["emails"] == ["jw@acme.de", "jonas.w@gmail.com"]
    assert other["phones"] == ["+49307654321"]


def test_undo_of_the_undo_of_an_import_brings_its_new_tags_back(
    db_url: str, crm: Runner, tmp_path: Path
) -> None:
    crm.ok("contact", "add", "Jonas Weber", "--email", "jonas@acme.de", "--tag", "vip")
    path = _write(
        tmp_path / "c.csv",
        "name,email,tags\nAna Lima,ana@acme.com,new-tag;vip\nJonas Weber,jonas@acme.de,q1\n",
    )
    crm.ok("import", "contacts", path)
    imported = archive(crm, tmp_path, "imported")
    undo = crm.json("undo")
    assert b'"name":"new-tag"' not in archive(crm, tmp_path, "undone")
    crm.ok("undo", str(undo["change_set"]))
    assert_same(imported, archive(crm, tmp_path, "again"))
