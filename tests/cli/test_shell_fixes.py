"""Fixes found by a QA pass through the shell: names typed without accents, show views at a
terminal's width, history of deals by name, empty CSV listings, deal probability."""

from __future__ import annotations

from typing import Any

import pytest

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


# --- show views at a terminal's width --------------------------------------------------------

LONG_EMAIL = (
    "annabelle.christina.wilhelmina.longnamed-smith.2026"
    "@subdomain.extremely-long-company-example.co.uk"
)
LONG_COMPANY = "Aktiengesellschaft-für-Präzisionsinstrumenten-und-Handelsbeziehungen-International"
LONG_TITLE = "Deal-with-a-very-long-title-without-any-spaces-at-all-which-keeps-going-and-going"


@pytest.mark.parametrize("width", [80, 100, 160])
def test_show_never_folds_an_email_and_cuts_names(
    crm: Any, db_url: str, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    from rich.cells import cell_len

    from crm_cli.render import output

    crm.ok("contact", "add", "Ann Longmail", "--email", LONG_EMAIL, "--company", LONG_COMPANY)
    crm.ok("contact", "add", "张伟 " * 30, "--email", "zw@example.cn")
    crm.ok("deal", "add", LONG_TITLE, "--contact", "1", "--value", "10")
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(output, "stdout_is_tty", lambda: True)
    contact = crm.ok("contact", "show", "1").out.splitlines()
    deal = crm.ok("deal", "show", "1").out.splitlines()
    cjk = crm.ok("contact", "show", "2").out.splitlines()
    # The email whole on one line; every other line within the terminal.
    assert any(line.strip() == LONG_EMAIL or LONG_EMAIL in line for line in contact)
    for line in contact + deal + cjk:
        assert LONG_EMAIL in line or cell_len(line) <= width, line
    # A company or title too long is cut with "…", never continued on the next line.
    for lines, long in ((contact, LONG_COMPANY), (deal, LONG_TITLE), (deal, LONG_COMPANY)):
        shown = [line for line in lines if long[:20] in line]
        assert shown, (long, lines)
        for line in shown:
            assert long in line or "…" in line, line
        rest = [
            ln for ln in lines if ln.strip() and long.endswith(ln.strip()) and ln.strip() != long
        ]
        assert not rest, rest


# --- history of a record named by name ---------------------------------------------------------


def test_history_of_a_deal_by_name_and_of_no_record(crm: Any, db_url: str) -> None:
    deal = crm.json("deal", "add", "Acme renewal")["id"]
    for ref in ("Acme renewal", "renewal"):
        sets = crm.json("history", "deal", ref)
        assert [c["id"] for s in sets for c in s["changes"]] == [deal], ref
    won = crm.json("deal", "add", "Beta expansion")["id"]
    crm.ok("deal", "won", str(won))
    assert len(crm.json("history", "deal", "Beta expansion")) == 2  # a won deal too
    gone = crm.json("deal", "add", "Old offer")["id"]
    crm.ok("deal", "rm", str(gone), "--yes")
    assert len(crm.json("history", "deal", "Old offer")) == 2  # a removed deal keeps its history
    missing = crm("history", "deal", "999")
    assert missing.code == ExitCode.NOT_FOUND
    assert "no deal '999'" in missing.err
    nobody = crm("history", "contact", "nobody")
    assert nobody.code == ExitCode.NOT_FOUND
    assert "no contact 'nobody'" in nobody.err and "removed" not in nobody.err


# --- empty CSV listings ----------------------------------------------------------------------


def test_empty_csv_listing_prints_nothing_in_a_pipe(crm: Any, db_url: str) -> None:
    crm.ok("contact", "add", "Ann", "--email", "ann@example.com")
    crm.ok("deal", "add", "Acme renewal")
    for listing in (
        ["contact", "list", "-s", "zzzz"],
        ["company", "list"],
        ["deal", "list", "--search", "zzzz"],
        ["followup", "list"],
        ["log", "list"],
        ["search", "zzzz"],
    ):
        assert crm.ok(*listing, "--csv").out == "", listing
    assert crm.ok(*["contact", "list", "-s", "zzzz"], "--json").json == []
    full = crm.ok("contact", "list", "--csv").out.splitlines()
    assert full[0].startswith("id,name") and full[1].startswith("1,Ann")


# --- deal probability ------------------------------------------------------------------------


def test_deal_add_takes_a_probability_as_edit_does(crm: Any, db_url: str) -> None:
    added = crm.json("deal", "add", "Acme renewal", "--probability", "50%")
    assert added["probability"] == 50 and added["probability_override"] == 50
    edited = crm.json("deal", "edit", str(added["id"]), "--probability", "30%")
    assert edited["probability"] == 30
    for bad in ("abc", "150%"):
        refused = crm("deal", "add", "Other", "--probability", bad)
        assert refused.code == ExitCode.USAGE
        assert f"probability '{bad}'" in refused.err
    assert len(crm.json("deal", "list")) == 1


# --- report working at a terminal's width ----------------------------------------------------


def test_report_working_wraps_at_the_terminal_width(
    crm: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.cells import cell_len

    from crm_cli.render import output

    crm.ok("deal", "add", "Acme renewal", "--value", "1234567.89", "--close", "2026-12-01")
    piped = crm.ok("report", "pipeline").out
    total = next(line for line in piped.splitlines() if line.startswith("total EUR"))
    assert "1 open deal," in total and cell_len(total) > 80  # a pipe keeps one line
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(output, "stdout_is_tty", lambda: True)
    for report in ("pipeline", "forecast", "funnel", "segments", "clv"):
        lines = crm.ok("report", report).out.splitlines()
        working = [line for line in lines if "█" not in line]
        assert all(cell_len(line) <= 80 for line in working), (report, working)
    shown = crm.ok("report", "pipeline").out
    assert "1,234,567.89 EUR" in shown  # the amount whole on one line


def test_a_name_among_many_candidates_is_still_refused_when_ambiguous(
    crm: Any, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contacts the search finds for other reasons (their email) do not crowd out the names:
    with few candidates compared, "jose" is still ambiguous, not Joseph's."""
    from crm_cli.services import lookups

    monkeypatch.setattr(lookups, "_CANDIDATES", 2)
    for n in range(3):
        crm.ok("contact", "add", f"Ann {n}", "--email", f"jose{n}@example.com")
    crm.ok("contact", "add", "José Pérez")
    crm.ok("contact", "add", "Joseph Miller")
    assert crm("contact", "show", "jose").code == ExitCode.USAGE
    assert crm.json("contact", "show", "perez")["name"] == "José Pérez"
