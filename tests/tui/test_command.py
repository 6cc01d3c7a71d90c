"""`crm tui` itself: it needs a terminal, and `--demo` opens the demo database."""

from __future__ import annotations

import sys

import pytest


def test_without_a_terminal_it_says_so_and_fails(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    result = crm("tui")
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("crm: error: crm tui needs a terminal")


@pytest.mark.parametrize("argv", [["tui", "--demo"], ["--demo", "tui"]])
def test_demo_opens_the_demo_database(crm, monkeypatch, argv) -> None:  # type: ignore[no-untyped-def]
    from crm_cli import paths
    from crm_cli.tui.app import CrmApp

    opened: list[str] = []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(CrmApp, "run", lambda self: opened.append(self.ctx.url))
    crm.ok(*argv)
    assert opened == [paths.sqlite_url(paths.demo_db_path())]
    assert paths.demo_db_path().exists()  # made and filled on first use
