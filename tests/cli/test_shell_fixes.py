"""Fixes found by a QA pass through the shell: names typed without accents, show views at a
terminal's width, history of deals by name, empty CSV listings, deal probability."""

from __future__ import annotations

from typing import Any

from crm_cli.errors import ExitCode

# --- names typed without accents -------------------------------------------------------------


def test_name_without_accents_is_ambiguous_or_found(crm: Any, db_url: str) -> None:
    jose = crm.json("contact", "add", "José Pérez", "--email", "jose@example.es")["id"]
    joseph = crm.json("contact", "add", "Joseph Miller", "--email", "jm@example.com")["id"]
    refused = crm("log", "call", "jose", "Called about the offer")
    assert refused.code == ExitCode.USAGE
    assert f"{jose} José Pérez" in refused.err and f"{joseph} Joseph Miller" in refused.err
    assert crm.json("log", "list") == []  # nothing logged against Joseph Miller
    assert crm.json("contact", "show", "perez")["id"] == jose
    assert crm.json("contact", "show", "jose perez")["id"] == jose
    twin = crm.json("contact", "add", "Jose Perez")["id"]
    assert crm("contact", "show", "Jose").code == ExitCode.USAGE
    # An exact name, with the accents as typed, still wins.
    assert crm.json("contact", "show", "José Pérez")["id"] == jose
    assert crm.json("contact", "show", "Jose Perez")["id"] == twin


def test_company_and_deal_names_without_accents(crm: Any, db_url: str) -> None:
    company = crm.json("company", "add", "Société Générale")["id"]
    linked = crm.json("contact", "add", "Zoé", "--company", "societe generale")
    assert linked["company_id"] == company
    assert len(crm.json("company", "list")) == 1
    assert crm.json("company", "show", "generale")["id"] == company
    deal = crm.json("deal", "add", "Café renewal", "--company", str(company))["id"]
    assert crm.json("deal", "show", "cafe")["id"] == deal
