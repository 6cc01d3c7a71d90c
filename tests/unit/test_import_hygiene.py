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


def test_commands_on_sqlite_leave_the_postgresql_dialect_out(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SQLAlchemy's PostgreSQL dialect (every driver module of it) costs some 20 ms to import:
    a SQLite user's commands and reports must not pay for it."""
    db = tmp_path / "crm.db"
    setup = (
        "import contextlib, io, os\n"
        f"os.environ['CRM_HOME'] = {str(tmp_path)!r}\n"
        f"os.environ['CRM_DATABASE_URL'] = 'sqlite:///{db}'\n"
        "from crm_cli.cli import main\n"
    )
    # Creating the database runs the migrations, which load Alembic and every dialect: once.
    _modules_after(
        setup + "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['deal', 'add', 'Kiosk', '--value', '12,50']) == 0\n"
    )
    loaded = _modules_after(
        setup + "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['deal', 'list']) == 0\n"
        "    assert main(['followup', 'list']) == 0\n"
        "    for name in ('segments', 'activity', 'sales', 'funnel', 'pipeline'):\n"
        "        assert main(['report', name]) == 0, name\n"
        "assert 'crm_cli.store.sales' in sys.modules  # the commands did run\n"
    )
    assert not [m for m in loaded if m.startswith("sqlalchemy.dialects.postgresql")]
