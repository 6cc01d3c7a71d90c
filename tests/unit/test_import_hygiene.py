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


def test_help_and_a_listing_leave_textual_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Only `crm tui` loads Textual: not `crm --help` (which names `tui`), not a command
    that opens the database."""
    db = tmp_path / "crm.db"
    loaded = _modules_after(
        "import contextlib, io, os\n"
        f"os.environ['CRM_HOME'] = {str(tmp_path)!r}\n"
        f"os.environ['CRM_DATABASE_URL'] = 'sqlite:///{db}'\n"
        "from crm_cli.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    assert main(['--help']) == 0\n"
        "assert ' tui ' in out.getvalue(), out.getvalue()\n"
        "assert main(['contact', 'list']) == 0\n"
        "assert 'sqlalchemy' in sys.modules  # the listing did run against the database\n"
    )
    assert "textual" not in loaded
    assert not [m for m in loaded if m.startswith(("textual.", "crm_cli.tui"))]
