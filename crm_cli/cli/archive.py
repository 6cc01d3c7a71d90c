"""`crm import all FILE`: restore a vendor-neutral backup (`crm export all`) into an empty
database.

Kept apart from the CSV importer; cli/importing.py adds it to the `crm import` app as `all`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crm_cli.cli import common
from crm_cli.cli.common import JsonOpt

app = typer.Typer(help="Bring records in from files.", no_args_is_help=True)


@app.command("all")
def import_all(
    file: Annotated[
        Path,
        typer.Argument(help="An archive written by export all (- reads stdin).", dir_okay=False),
    ],
    json_: JsonOpt = False,
) -> None:
    """Restore a whole database from `crm export all` into an empty database.

    Example: crm import all crm-archive.jsonl
    """
    import sys

    from crm_cli.services.archive import ArchiveError, restore_archive

    source = "stdin" if str(file) == "-" else str(file)
    try:
        stream = (
            sys.stdin if str(file) == "-" else open(file, encoding="utf-8", newline="")  # noqa: SIM115
        )
    except OSError as exc:
        raise ArchiveError(f"cannot read {file}: {exc.strerror or 'not readable'}") from None
    ctx = common.context()
    try:
        # No journal: the database was empty, so there is nothing to undo to; a restore starts
        # a new history (the archive holds none).
        with ctx.session(journal=False) as session:
            counts = restore_archive(ctx, session, iter(stream), source)
    except UnicodeDecodeError as exc:
        raise ArchiveError(f"{source}: not UTF-8 text ({exc.reason})") from None
    finally:
        if stream is not sys.stdin:
            stream.close()
    if json_:
        from crm_cli.render.output import write_json

        write_json({"restored": counts.rows, "total": counts.total})
    else:
        common.done(f"Restored {counts.total:,} rows of {len(counts.rows)} tables from {source}")
