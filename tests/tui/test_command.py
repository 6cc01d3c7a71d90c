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


@pytest.mark.parametrize(
    ("args", "parsed"),
    [
        ([], (None, False)),
        (["--pipeline", "Hiring"], ("Hiring", False)),
        (["-p", "Hiring", "--demo"], ("Hiring", True)),
        (["--pipeline=Hiring"], ("Hiring", False)),
        (["--help"], None),
        (["--pipeline"], None),
        (["-p", "--demo"], None),
        (["--demo", "--demo"], None),
        (["--pipeline", "a\x1b[2J"], None),
    ],
)
def test_the_console_script_starts_only_the_plain_forms_itself(args, parsed) -> None:  # type: ignore[no-untyped-def]
    from crm_cli.tui.start import parse

    assert parse(args) == parsed


def test_the_console_script_without_a_terminal_answers_as_the_cli(sqlite_url) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    from pathlib import Path

    crm = Path(sys.executable).parent / "crm"
    done = subprocess.run(
        [str(crm), "tui"], capture_output=True, text=True, env=dict(os.environ), timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.startswith("crm: error: crm tui needs a terminal")
