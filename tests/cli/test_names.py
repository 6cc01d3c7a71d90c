"""Names instead of ids: an exact name, or a word or prefix only one record has; several
matches are refused with their ids; none gets the closest name as a suggestion."""

from __future__ import annotations

import pytest

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


def test_exact_beats_the_start_of_a_name_which_beats_a_word(db_url: str, crm: Runner) -> None:
    crm.ok("contact", "add", "Maria Ana", "--email", "maria@example.com")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@example.com")
    crm.ok("contact", "add", "Ana", "--email", "ana.only@example.com")
    crm.ok("contact", "add", "Seán O'Brien-Smith", "--email", "sean@example.ie")
    assert crm.json("contact", "show", "ANA")["id"] == 3  # the very name
    assert crm.json("contact", "show", "ana l")["id"] == 2  # the start of a name
    assert crm.json("contact", "show", "maria a")["id"] == 1
    several = crm("contact", "show", "an")  # the start of two names, a word of the third
    assert several.code == ExitCode.USAGE
    assert "2 Ana Lima" in several.err and "3 Ana" in several.err and "Maria" not in several.err
    # A word of the name as its search tokens split it, accents folded.
    assert crm.json("contact", "show", "brien")["id"] == 4
    assert crm.json("contact", "show", "sean o'b")["id"] == 4
    missing = crm("contact", "show", "Obrien Smyth")
    assert missing.code == ExitCode.NOT_FOUND
    assert 'did you mean "Seán O\'Brien-Smith" (id 4)?' in missing.err


def test_a_deal_among_many_of_the_same_words_is_found_and_suggested(
    db_url: str, crm: Runner
) -> None:
    """A hundred closed deals and one open one of the same words: the open one is found by
    them wherever it lies in the index; a typo is answered with the open one's title."""
    from sqlalchemy import insert

    from crm_cli.domain.text import index_tokens
    from crm_cli.services.context import open_context
    from crm_cli.store.sales import Deal
    from crm_cli.store.types import utcnow

    crm.ok("deal", "add", "Warm-up")
    now = utcnow()
    ctx = open_context()
    try:
        with ctx.session(journal=False) as s:
            rows = [
                {
                    "title": f"Acme renewal {year}",
                    "search_name": index_tokens(f"Acme renewal {year}"),
                    "pipeline_id": 1,
                    "stage_id": 5,
                    "status": "won",
                    "value_minor": 100,
                    "currency": "EUR",
                    "stage_entered_at": now,
                    "closed_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for year in range(1900, 2000)
            ]
            s.execute(insert(Deal), rows)
    finally:
        ctx.close()
    wanted = crm.json("deal", "add", "Acme renewal 2026")["id"]
    assert crm.json("deal", "show", "acme renewal")["id"] == wanted
    assert crm.json("deal", "show", "Acme renewal 2026")["id"] == wanted
    typo = crm("deal", "show", "acme renwal 2026")
    assert typo.code == ExitCode.NOT_FOUND
    assert f"did you mean 'Acme renewal 2026' (id {wanted})?" in typo.err


def test_stages_and_pipelines_by_name_with_accents_folded(db_url: str, crm: Runner) -> None:
    crm.ok("pipeline", "add", "Vendas Brasil", "--stages", "Prospecção,Negociação")
    deal = crm.json("deal", "add", "Contrato", "--pipeline", "vendas brasil")
    assert deal["pipeline"] == "Vendas Brasil" and deal["stage"] == "Prospecção"
    moved = crm.json("deal", "move", str(deal["id"]), "negociacao")
    assert moved["stage"] == "Negociação"
    listed = crm.json("deal", "list", "--stage", "negociacao", "--json")
    assert [d["id"] for d in listed] == [deal["id"]]
    assert crm.json("deal", "move", str(deal["id"]), "PROSPECÇÃO")["stage"] == "Prospecção"
    assert [d["id"] for d in crm.json("deal", "list", "--pipeline", "VENDAS brasil")] == [
        deal["id"]
    ]
    # The name as typed wins over one that only matches with accents folded.
    crm.ok("pipeline", "add-stage", "Negociacao", "--pipeline", "Vendas Brasil")
    assert crm.json("deal", "move", str(deal["id"]), "Negociacao")["stage"] == "Negociacao"
    assert crm.json("deal", "move", str(deal["id"]), "NEGOCIACAO")["stage"] == "Negociacao"
    assert crm.json("deal", "move", str(deal["id"]), "Negociação")["stage"] == "Negociação"
    several = crm("deal", "move", str(deal["id"]), "negociaçao")  # folded, both are
    assert several.code == ExitCode.USAGE
    assert "matches several" in several.err and "Negociação" in several.err
    assert crm.json("deal", "show", str(deal["id"]))["stage"] == "Negociação"  # unchanged
    typo = crm("deal", "move", str(deal["id"]), "prospecao")
    assert typo.code == ExitCode.NOT_FOUND
    assert "did you mean 'Prospecção'?" in typo.err
    missing = crm("deal", "add", "Outro", "--pipeline", "vendas brazil")
    assert missing.code == ExitCode.NOT_FOUND
    assert "did you mean 'Vendas Brasil'?" in missing.err
    assert len(crm.json("deal", "list", "--status", "all")) == 1  # nothing added


def test_owners_by_name_with_accents_folded(db_url: str, crm: Runner) -> None:
    jose = crm.json("user", "add", "José Pérez", "--email", "jose@example.com")["id"]
    joao = crm.json("user", "add", "João Silva", "--email", "joao@example.com")["id"]
    for ref in ("jose", "José Pérez", "jose perez", "PEREZ"):
        added = crm.json("deal", "add", f"For {ref}", "--owner", ref)
        assert added["owner"] == "José Pérez", ref
    assert crm.json("deal", "add", "Other", "--owner", "joao")["owner"] == "João Silva"
    listed = crm.json("deal", "list", "--owner", "jose")
    assert len(listed) == 4 and {d["owner"] for d in listed} == {"José Pérez"}
    several = crm("deal", "add", "Whose", "--owner", "jo")
    assert several.code == ExitCode.USAGE
    assert f"{jose} José Pérez" in several.err and f"{joao} João Silva" in several.err
    typo = crm("deal", "add", "Whose", "--owner", "Jsoe Perez")
    assert typo.code == ExitCode.NOT_FOUND
    assert f"did you mean 'José Pérez' (id {jose})?" in typo.err
    assert len(crm.json("deal", "list", "--status", "all")) == 5  # nothing added


def test_the_very_name_wins_however_many_names_start_with_it(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more names starting with "Acme" than a rule compares, the deal called "Acme"
    is still found by its name, not refused among them."""
    from crm_cli.services import lookups

    monkeypatch.setattr(lookups, "_CANDIDATES", 5)
    for n in range(12):
        crm.ok("deal", "add", f"Acme renewal {n}")
    acme = crm.json("deal", "add", "Acme")["id"]
    assert crm.json("deal", "show", "acme")["id"] == acme
    crm.ok("contact", "add", "Bo", "--email", "bo@example.com")
    assert crm.json("contact", "show", "bo")["name"] == "Bo"
    several = crm("deal", "show", "acme renewal")
    assert several.code == ExitCode.USAGE and "matches several" in several.err
