"""`crm user`: the team's members, who own records."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli import common
from crm_cli.cli.common import CsvOpt, JsonOpt, YesOpt

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


@app.command("merge")
def merge(
    keep: Annotated[str, typer.Argument(help="The user to keep: id, email or name.")],
    other: Annotated[str, typer.Argument(help="The duplicate to fold into it.")],
    yes: YesOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Fold a duplicate user into another: what it owns becomes theirs. `crm undo` reverts.

    Example: crm user merge ana@acme.com 7
    """
    from crm_cli.services.users import merge_users

    common.confirm(f"Give everything of user {other!r} to {keep!r} and remove {other!r}?", yes)
    ctx = common.context()
    with ctx.session() as session:
        result = merge_users(ctx, session, keep, other)
    if json_:
        from crm_cli.render.output import write_json

        write_json(result)
        return
    count = sum(result["moved"].values())
    common.done(
        f"Merged user {result['removed']['id']} ({result['removed']['name']}) into user "
        f"{result['kept']}: {count} records moved"
    )


@app.command("list")
def list_(
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    wide: common.WideOpt = False,
    columns: common.ColumnsOpt = None,
) -> None:
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
        view=common.table_view(wide, columns),
    )
