"""Start-up is a feature: the CLI must not import the heavy libraries at module level."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "sqlalchemy",
    "sqlmodel",
    "textual",
    "alembic",
    "rich.table",
    "phonenumbers",
    "email_validator",
]


def _modules_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def test_importing_the_cli_leaves_heavy_modules_out() -> None:
    loaded = _modules_after("import crm_cli.cli")
    assert "typer" in loaded  # the check itself works
    assert not [m for m in HEAVY if m in loaded]


def test_help_leaves_heavy_modules_out() -> None:
    loaded = _modules_after(
        "from crm_cli.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['contact', '--help'])"
    )
    assert not [m for m in HEAVY if m in loaded]
