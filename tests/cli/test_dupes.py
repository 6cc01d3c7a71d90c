"""`crm dupes`: likely duplicates with a score that is the sum of its reasons' weights, and
pairs kept separate. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from crm_cli.errors import ExitCode
from tests.conftest import Runner


def _pairs(crm: Runner, *args: str) -> dict[tuple[int, int], dict[str, Any]]:
    found = crm.json("dupes", *args)
    return {(p["first"]["id"], p["second"]["id"]): p for p in found}


def _reasons(pair: dict[str, Any]) -> set[str]:
    return {r["reason"] for r in pair["reasons"]}


@pytest.fixture
def people(db_url: str, crm: Runner) -> Runner:
    add = crm.ok
    # 1, 2: the same address with a +tag (and another case typed): same email.
    add("contact", "add", "Ana Lima", "--email", "ana@lima.dev")
    add("contact", "add", "A. Lima", "--email", "Ana+crm@Lima.dev")
    # 3, 4: the same phone typed two ways, same name.
    add("contact", "add", "Jonas Weber", "--phone", "+49 30 1234567")
    add("contact", "add", "Jonas Weber", "--phone", "+49 (0)30 123 4567", "--email", "jw@x.de")
    # 5, 6: name order swapped, same city (a custom field).
    add("contact", "add", "Maria Garcia", "--field", "city=Madrid")
    add("contact", "add", "Garcia, María", "--field", "City=madrid")
    # 7, 8: a typo in the name at the same company.
    add("contact", "add", "Katherine Johnson", "--company", "NASA")
    add("contact", "add", "Katherine Jonson", "--company", "NASA")
    # 9, 10: Chinese names, same phone.
    add("contact", "add", "张伟", "--phone", "+86 10 1234 5678")
    add("contact", "add", "张伟", "--phone", "+8610 12345678")
    # Not duplicates: a similar name alone, and strangers.
    add("contact", "add", "Katherine Johnsen")
    add("contact", "add", "Peter Parker", "--email", "peter@bugle.com")
    add("contact", "add", "Bruce Wayne", "--phone", "+1 212 555 0100")
    return crm


def test_planted_pairs_are_found_with_their_reasons(people: Runner) -> None:
    found = _pairs(people, "contacts")
    assert set(found) == {(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)}
    assert "same email" in _reasons(found[(1, 2)])
    assert _reasons(found[(3, 4)]) == {"same phone", "same name"}
    assert _reasons(found[(5, 6)]) == {"same name", "same city"}
    assert _reasons(found[(7, 8)]) == {"similar name", "same company"}
    assert _reasons(found[(9, 10)]) == {"same phone", "same name"}
    # The score explains itself: the sum of the weights (capped at 100), best first.
    for pair in found.values():
        assert pair["score"] == min(100, sum(r["weight"] for r in pair["reasons"]))
    scores = [p["score"] for p in people.json("dupes", "contacts")]
    assert scores == sorted(scores, reverse=True)
    assert found[(3, 4)]["first"]["name"] == "Jonas Weber"
    assert found[(3, 4)]["second"]["emails"] == ["jw@x.de"]


def test_min_score_and_limit(people: Runner) -> None:
    loose = _pairs(people, "contacts", "--min-score", "20")
    # A similar name alone is weak evidence: listed only when asked for.
    assert (7, 11) in loose and _reasons(loose[(7, 11)]) == {"similar name"}
    strict = _pairs(people, "contacts", "--min-score", "80")
    assert set(strict) == {(1, 2), (3, 4), (9, 10)}  # "A. Lima" is like "Ana Lima"
    assert len(people.json("dupes", "contacts", "--limit", "2")) == 2
    bad = people("dupes", "contacts", "--min-score", "101")
    assert bad.code == ExitCode.USAGE


def test_table_and_csv_output(people: Runner) -> None:
    table = people.ok("dupes", "contacts").out
    assert "same phone 45 + same name 40" in table
    csv_lines = people.ok("dupes", "contacts", "--csv").out.splitlines()
    assert csv_lines[0].lower().startswith("score")
    assert len(csv_lines) == 6


def test_removed_contacts_are_not_listed(people: Runner) -> None:
    people.ok("contact", "rm", "4")
    assert (3, 4) not in _pairs(people, "contacts")


def test_ignored_pair_is_remembered_and_undoable(people: Runner) -> None:
    out = people.ok("dupes", "ignore", "4", "3").out
    assert "Keeping contacts 3 (Jonas Weber) and 4 (Jonas Weber) separate" in out
    assert (3, 4) not in _pairs(people, "contacts")
    assert (1, 2) in _pairs(people, "contacts")
    listed = people.json("dupes", "ignored")
    assert [(p["kind"], p["first"]["id"], p["second"]["id"]) for p in listed] == [("contact", 3, 4)]
    again = people.json("dupes", "ignore", "3", "4")
    assert again["created"] is False
    assert len(people.json("dupes", "ignored")) == 1
    people.ok("undo")
    assert (3, 4) in _pairs(people, "contacts")
    assert people.json("dupes", "ignored") == []


def test_ignore_option_on_the_listing_and_unignore(people: Runner) -> None:
    people.ok("dupes", "contacts", "--ignore", "ana@lima.dev", "2")
    assert (1, 2) not in _pairs(people, "contacts")
    people.ok("dupes", "unignore", "1", "2")
    assert (1, 2) in _pairs(people, "contacts")
    missing = people("dupes", "unignore", "1", "2")
    assert missing.code == ExitCode.CONFLICT


def test_ignore_refuses_bad_pairs(people: Runner) -> None:
    same = people("dupes", "ignore", "3", "3")
    assert same.code == ExitCode.USAGE
    assert same.err.startswith("crm: error: contact")
    unknown = people("dupes", "ignore", "3", "999")
    assert unknown.code == ExitCode.NOT_FOUND
    assert "999" in unknown.err
    assert people.json("dupes", "ignored") == []


def test_merging_a_listed_pair_removes_it(people: Runner) -> None:
    people.ok("contact", "merge", "3", "4", "--yes")
    assert (3, 4) not in _pairs(people, "contacts")


def test_companies(db_url: str, crm: Runner) -> None:
    crm.ok("company", "add", "Acme GmbH", "--domain", "acme.de")
    crm.ok("company", "add", "ACME Inc.")
    crm.ok("company", "add", "Globex", "--domain", "https://www.globex.com/about")
    crm.ok("company", "add", "Globex Europe", "--domain", "globex.com")
    crm.ok("company", "add", "Initech")
    found = _pairs(crm, "companies")
    assert set(found) == {(1, 2), (3, 4)}
    assert _reasons(found[(1, 2)]) == {"same name"}  # legal forms left out
    assert "same domain" in _reasons(found[(3, 4)])
    crm.ok("dupes", "ignore", "Globex", "Globex Europe", "--companies")
    assert set(_pairs(crm, "companies")) == {(1, 2)}
    assert crm.json("dupes", "ignored", "--companies")[0]["kind"] == "company"
    assert crm.json("dupes", "ignored", "--contacts") == []


def test_empty_database(db_url: str, crm: Runner) -> None:
    assert crm.json("dupes", "contacts") == []
    assert crm.ok("dupes", "contacts").out == ""


def test_a_typo_in_a_first_letter_is_still_a_similar_name(db_url: str, crm: Runner) -> None:
    # Sorting the words would put "ewselli" before "nadia": the words as written still match.
    crm.ok("contact", "add", "Nadia Weselli", "--company", "Acme")
    crm.ok("contact", "add", "Nadia eWselli", "--company", "Acme")
    found = _pairs(crm, "contacts")
    assert _reasons(found[(1, 2)]) == {"similar name", "same company"}
