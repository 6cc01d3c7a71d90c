"""`crm user`: the team's members, who own records."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli import common
from crm_cli.cli.common import CsvOpt, JsonOpt

app = typer.Typer(
    help="Team members: owners of contacts, deals and follow-ups.", no_args_is_help=True
)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Full name.")],
    email: Annotated[str | None, typer.Option("--email", "-e", help="Email address.")] = None,
    role: Annotated[str, typer.Option("--role", help="admin, member or viewer.")] = "member",
    json_: JsonOpt = False,
) -> None:
    """Add a team member.

    Example: crm user add "Bo Chen" --email bo@example.com
    """
    from crm_cli.render.output import write_json
    from crm_cli.services.users import add_user

    ctx = common.context()
    with ctx.session() as session:
        record = add_user(ctx, session, name, email, role)
    if json_:
        write_json(record)
    else:
        common.done(f"Added user {record['id']}: {record['name']}")


@app.command("list")
def list_(json_: JsonOpt = False, csv_: CsvOpt = False) -> None:
    """List team members.

    Example: crm user list --json
    """
    from crm_cli.render.output import Column, emit_rows
    from crm_cli.services.users import list_users

    fmt = common.output_format(json_, csv_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        me = ctx.user_id(session)
        rows = list_users(ctx, session)
    for row in rows:
        row["me"] = row["id"] == me
    emit_rows(
        rows,
        [
            Column("id", "ID", justify="right"),
            Column("name", "Name"),
            Column("email", "Email"),
            Column("role", "Role"),
            Column("me", "You", lambda v: "*" if v else ""),
        ],
        fmt,
    )
