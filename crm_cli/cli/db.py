"""`crm db`: where the data lives, migrations, integrity checks, backup and restore."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from crm_cli.cli import common
from crm_cli.cli.common import JsonOpt, YesOpt

app = typer.Typer(help="The database: path, migrate, check, backup, restore.", no_args_is_help=True)


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
    """Check the database's integrity and schema version; exit 1 when something is wrong.

    Example: crm db check
    """
    from crm_cli.errors import CrmError
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
    if report["problems"]:
        raise CrmError(f"{len(report['problems'])} problem(s) found")


@app.command("backup")
def backup(
    target: Annotated[Path, typer.Argument(help="File to write the backup to.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Copy the database to a file, consistently, even while others write.

    Example: crm db backup ~/crm-2026-11-23.db
    """
    from crm_cli.services.admin import backup as run

    ctx = common.context()
    written = run(ctx, target, overwrite=force)
    common.done(f"Backed up to {written}")


@app.command("restore")
def restore(
    source: Annotated[Path, typer.Argument(help="A backup made by `crm db backup`.")],
    yes: YesOpt = False,
) -> None:
    """Replace the database with a backup (the current one is kept as a .bak file first).

    Example: crm db restore ~/crm-2026-11-23.db
    """
    from crm_cli.services.admin import check_restorable
    from crm_cli.services.admin import restore as run

    ctx = common.context()
    check_restorable(ctx, source)
    common.confirm(f"Replace the database with {source}?", yes)
    kept = run(ctx, source)
    common.done(f"Restored from {source}; the previous database is kept at {kept}")
