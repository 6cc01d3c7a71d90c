"""`crm search`: find contacts, companies and deals by any word they hold, and with
`--all-fields` the notes of the interaction log."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import ColumnsOpt, CsvOpt, JsonOpt, WideOpt


def _columns() -> list[Any]:
    from crm_cli.render.output import Column

    # At 80 columns the name and the kind stay longest; the detail (a deal's stage and value,
    # a note's day and the words around the match) is cut first.
    return [
        Column("kind", "Kind", priority=2),
        Column("id", "ID", justify="right", priority=0),
        Column("name", "Name", max_width=40, priority=1, min_width=16),
        Column("detail", "Detail", priority=3),
    ]


def search(
    text: Annotated[
        str, typer.Argument(help="Words to find: names, emails, phones, fields, deal titles.")
    ],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            "-k",
            help="Only these kinds: contact, company, deal, interaction (comma-separated).",
        ),
    ] = None,
    all_fields: Annotated[
        bool,
        typer.Option(
            "--all-fields",
            help="Also search the notes of the interaction log (long and noisy: off by default).",
        ),
    ] = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 20,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    wide: WideOpt = False,
    columns: ColumnsOpt = None,
) -> None:
    """Search contacts, companies and deals, best matches first.

    With --all-fields the notes of the interaction log too (left out by default: long notes
    full of everyday words would bury the records you are after).

    Example: crm search "ana acme"
    """
    from crm_cli.services.search import search as run

    fmt = common.output_format(json_, csv_)
    view = common.table_view(wide, columns)
    kinds = kind.split(",") if kind is not None else None
    ctx = common.context()
    with ctx.session(write=False) as session:
        hits = run(session, text, kinds=kinds, all_fields=all_fields, limit=limit, ctx=ctx)
    common.emit_listing(hits, _columns(), fmt, view=view)
