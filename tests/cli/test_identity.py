"""One person, one user: setting user.email after user.name keeps the same user, and
`crm user merge` folds a duplicate into the user kept."""

from __future__ import annotations

import pytest

from tests.conftest import Runner


def test_setting_an_email_later_keeps_the_same_user(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRM_USER_EMAIL")
    monkeypatch.setenv("CRM_USER_NAME", "Ana Lima")
    crm.ok("followup", "add", "Call before", "--due", "tomorrow 9:00")
    monkeypatch.setenv("CRM_USER_EMAIL", "ana@acme.com")
    crm.ok("followup", "add", "Call after", "--due", "tomorrow 10:00")
    users = crm.json("user", "list")
    assert [(u["name"], u["email"]) for u in users] == [("Ana Lima", "ana@acme.com")]
    # "Mine" still shows what was made before the email was set.
    assert [f["title"] for f in crm.json("followup", "list")] == ["Call before", "Call after"]


def test_user_merge_moves_everything_and_can_be_undone(db_url: str, crm: Runner) -> None:
    crm.ok("user", "add", "Ana L.", "--email", "ana.old@acme.com")
    crm.ok("contact", "add", "Jonas", "--email", "jonas@acme.de", "--owner", "ana.old@acme.com")
    crm.ok("deal", "add", "Renewal", "--contact", "jonas@acme.de", "--owner", "ana.old@acme.com")
    crm.ok("deal", "move", "1", "proposal")
    before = crm.json("contact", "show", "jonas@acme.de"), crm.json("user", "list")
    result = crm.json("user", "merge", "tester@example.com", "ana.old@acme.com", "--yes")
    assert result["moved"]["contact"] == 1 and result["moved"]["deal"] == 1
    assert [u["email"] for u in crm.json("user", "list")] == ["tester@example.com"]
    assert crm.json("contact", "show", "jonas@acme.de")["owner"] == "Test User"
    assert crm.json("deal", "show", "1")["owner"] == "Test User"
    crm.ok("undo")
    assert (crm.json("contact", "show", "jonas@acme.de"), crm.json("user", "list")) == before
