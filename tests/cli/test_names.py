"""Names instead of ids: an exact name, or a word or prefix only one record has; several
matches are refused with their ids; none gets the closest name as a suggestion."""

from __future__ import annotations

from crm_cli.errors import ExitCode
from tests.conftest import Runner


def test_contacts_by_word_prefix_and_suggestion(db_url: str, crm: Runner) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.de")
    crm.ok("contact", "add", "Ana Souza", "--email", "ana@example.br")
    crm.ok("contact", "add", "Jonas Weber", "--email", "jonas@acme.de")
    crm.ok("contact", "add", "张伟", "--email", "zhang.wei@yunhai.cn")
    assert crm.json("contact", "show", "lima")["id"] == 1
    assert crm.json("contact", "show", "souz")["id"] == 2
    assert crm.json("contact", "show", "张")["id"] == 4
    several = crm("contact", "show", "Ana")
    assert several.code == ExitCode.USAGE
    assert "1 Ana Lima" in several.err and "2 Ana Souza" in several.err
    missing = crm("contact", "show", "Jonsa")
    assert missing.code == ExitCode.NOT_FOUND
    assert "did you mean 'Jonas Weber' (id 3)?" in missing.err
    # Wherever a contact is named: a deal's --contact, the log.
    deal = crm.json("deal", "add", "Renewal", "--contact", "weber")
    assert deal["contact"] == "Jonas Weber"
    crm.ok("log", "call", "weber", "Talked")
    assert crm.json("contact", "show", "weber")["last_contacted_at"] is not None


def test_deals_by_a_word_of_the_title(db_url: str, crm: Runner) -> None:
    crm.ok("deal", "add", "Acme renewal")
    crm.ok("deal", "add", "Beta pilot")
    crm.ok("deal", "add", "Gamma pilot")
    moved = crm.json("deal", "move", "acme", "negotiation")
    assert (moved["id"], moved["stage"]) == (1, "negotiation")
    several = crm("deal", "won", "pilot")
    assert several.code == ExitCode.USAGE and "2 Beta pilot" in several.err
    assert crm.json("deal", "show", "2")["status"] == "open"  # nothing changed
    crm.ok("deal", "won", "beta")
    # Closed deals are not matched by words: only open ones are in play.
    assert crm("deal", "move", "beta", "lead").code == ExitCode.NOT_FOUND
    typo = crm("deal", "show", "renwal")
    assert "did you mean 'Acme renewal' (id 1)?" in typo.err


def test_companies_by_word_but_links_only_by_exact_name(db_url: str, crm: Runner) -> None:
    crm.ok("company", "add", "Acme Trading GmbH")
    assert crm.json("company", "show", "trading")["name"] == "Acme Trading GmbH"
    # Linking by name never lands on a company that merely contains the word.
    crm.ok("contact", "add", "Bo", "--company", "Acme")
    assert sorted(c["name"] for c in crm.json("company", "list")) == ["Acme", "Acme Trading GmbH"]
