"""`crm search`: find contacts and companies by any word they hold."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli import common
from crm_cli.cli.common import CsvOpt, JsonOpt


def search(
    text: Annotated[str, typer.Argument(help="Words to find: names, emails, phones, fields.")],
    kind: Annotated[
        str | None,
        typer.Option("--kind", "-k", help="Only contacts or only companies: contact | company."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 20,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
) -> None:
    """Search contacts and companies, best matches first.

    Example: crm search "ana acme"
    """
    from crm_cli.errors import InvalidValue
    from crm_cli.render.output import Column, emit_rows
    from crm_cli.services.search import search as run

    fmt = common.output_format(json_, csv_)
    kinds: tuple[str, ...] = ("contact", "company")
    if kind is not None:
        if kind not in kinds:
            raise InvalidValue("kind", kind, "must be contact or company")
        kinds = (kind,)
    ctx = common.context()
    with ctx.session(write=False) as session:
        hits = run(session, text, kinds=kinds, limit=limit)
    columns = [
        Column("kind", "Kind"),
        Column("id", "ID", justify="right"),
        Column("name", "Name"),
        Column("detail", "Detail"),
    ]
    emit_rows(hits, columns, fmt)
