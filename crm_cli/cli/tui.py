"""`crm tui`: the full-screen board and reminders (crm_cli/tui).

Textual is imported only here, inside the command, so no other command pays for it. The
command and the TUI are sibling layers that never import each other: the app is reached
through importlib (the layers contract would refuse a plain import).
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from crm_cli.cli import common
from crm_cli.errors import CrmError, ExitCode


class NoTerminal(CrmError):
    exit_code = ExitCode.FAILURE


def tui(
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", "-p", help="Open this pipeline's board.")
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Open the demo database (made on first use).")
    ] = False,
) -> None:
    """Open the full-screen pipeline board and reminders; ? lists the keys.

    Example: crm tui --demo
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise NoTerminal("crm tui needs a terminal; for scripts use `crm deal list` or `crm today`")
    if demo:
        common.set_demo(True)
    ctx = common.context()
    app = importlib.import_module("crm_cli.tui.app").make_app(ctx, pipeline)
    app.run()
