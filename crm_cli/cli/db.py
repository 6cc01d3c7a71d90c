"""`crm db`: where the data lives, migrations, integrity checks, backup and restore.

The passphrase of an encrypted backup comes from CRM_BACKUP_PASSPHRASE or a hidden prompt on
the terminal, never from the command line (where `ps` and the shell history would keep it).
Without either, the command refuses rather than hang on a prompt nobody can answer.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from crm_cli.cli import common
from crm_cli.cli.common import JsonOpt, YesOpt
from crm_cli.errors import CrmError, ExitCode

app = typer.Typer(
    help="The database: path, migrate, check, backup, restore, decrypt.", no_args_is_help=True
)

PASSPHRASE_ENV = "CRM_BACKUP_PASSPHRASE"


class PassphraseNeeded(CrmError):
    exit_code = ExitCode.USAGE


def passphrase(*, confirm: bool) -> str:
    """The backup passphrase: from CRM_BACKUP_PASSPHRASE, else asked on the terminal (twice
    when it is a new one), else refused."""
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value
    if not sys.stdin.isatty():
        raise PassphraseNeeded(
            f"a passphrase is needed: set {PASSPHRASE_ENV} (no terminal to ask on)"
        )
    value = typer.prompt(
        "Backup passphrase", hide_input=True, confirmation_prompt=confirm, err=True
    )
    if not value:
        raise PassphraseNeeded("the passphrase must not be empty")
    return str(value)


@app.command("path")
def path() -> None:
    """Print the database in use (a file path, or the URL of a server).

    Example: crm db path
    """
    from crm_cli.services.context import sqlite_file

    ctx = common.context()
    file = sqlite_file(ctx.url)
    print(file if file is not None else ctx.safe_url)


@app.command("migrate")
def migrate(json_: JsonOpt = False) -> None:
    """Apply pending migrations and list them all, applied or not.

    Example: crm db migrate
    """
    from crm_cli.render.output import Column, emit_rows
    from crm_cli.services.admin import migrate as run

    ctx = common.context()
    rows, backup = run(ctx)
    if backup:
        print(f"crm: backup before migrating: {backup}", file=sys.stderr)
    emit_rows(
        rows,
        [
            Column("revision", "Revision"),
            Column("status", "Status"),
            Column("description", "Description"),
        ],
        "json" if json_ else "table",
    )


@app.command("check")
def check(json_: JsonOpt = False) -> None:
    """Check the database's integrity and schema version; exit 5 when the file is damaged,
    1 for other problems.

    Example: crm db check
    """
    from crm_cli.errors import DatabaseError
    from crm_cli.render.output import write_json
    from crm_cli.services.admin import check as run

    ctx = common.context()
    report = run(ctx)
    if json_:
        write_json(report)
    else:
        for key, value in report.items():
            if key != "problems":
                print(f"{key}: {value}")
        for problem in report["problems"]:
            print(f"problem: {problem}")
    if report["damaged"]:
        raise DatabaseError(
            f"the database is damaged: {report['problems'][0]}; "
            "restore a backup with `crm db restore FILE`"
        )
    if report["problems"]:
        raise CrmError(f"{len(report['problems'])} problem(s) found")


@app.command("backup")
def backup(
    target: Annotated[Path, typer.Argument(help="File to write the backup to.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    encrypt: Annotated[
        bool,
        typer.Option(
            "--encrypt", help=f"Encrypt with a passphrase (asked, or from ${PASSPHRASE_ENV})."
        ),
    ] = False,
) -> None:
    """Copy the database to a file, consistently, even while others write.

    Example: crm db backup ~/crm-2026-11-23.db --encrypt
    """
    from crm_cli.errors import Conflict
    from crm_cli.services.admin import backup as run

    if encrypt and target.expanduser().is_file() and not force:
        # Before asking for a passphrase twice, not after.
        raise Conflict(f"{target} exists already; use --force to overwrite it")
    ctx = common.context()
    secret = passphrase(confirm=True) if encrypt else None
    written = run(ctx, target, overwrite=force, passphrase=secret)
    common.done(f"Backed up to {written}" + (" (encrypted)" if encrypt else ""))


@app.command("restore")
def restore(
    source: Annotated[Path, typer.Argument(help="A backup made by `crm db backup`.")],
    yes: YesOpt = False,
) -> None:
    """Replace the database with a backup, after checking and migrating a copy of it (the
    current database is kept as a .bak file first). Encrypted backups ask for the passphrase.

    Example: crm db restore ~/crm-2026-11-23.db
    """
    from crm_cli.services.admin import check_restorable, staged_restore, swap_in

    ctx = common.context()
    found = check_restorable(ctx, source)
    secret = passphrase(confirm=False) if found.encrypted else None
    with staged_restore(ctx, source, passphrase=secret) as staged:
        common.confirm(f"Replace the database with {source}?", yes)
        kept = swap_in(staged)
    where = f"; the previous database is kept at {kept}" if kept is not None else ""
    common.done(f"Restored from {source}{where}")


@app.command("decrypt")
def decrypt(
    source: Annotated[Path, typer.Argument(help="A backup made with `crm db backup --encrypt`.")],
    target: Annotated[Path, typer.Argument(help="File to write the plain backup to.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Decrypt an encrypted backup into a file (0600), e.g. a PostgreSQL dump for pg_restore.

    Example: crm db decrypt team.dump.enc team.dump
    """
    from crm_cli.errors import Conflict
    from crm_cli.services.admin import decrypt as run

    if target.expanduser().exists() and not force:
        raise Conflict(f"{target} exists already; use --force to overwrite it")
    written = run(source, target, passphrase(confirm=False))
    common.done(f"Decrypted to {written}")
