"""`crm export followups --ics`: the follow-ups as an iCalendar feed a calendar subscribes to.

Re-exporting updates the calendar's entries rather than duplicating them (stable UIDs, a
SEQUENCE bumped by each edit: io/ics.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crm_cli.cli import common

app = typer.Typer(help="Write records out in other formats.", no_args_is_help=True)


@app.command("followups")
def followups(
    ics: Annotated[bool, typer.Option("--ics", help="As iCalendar (VTODO); required.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="This user's follow-ups: id, email or name.")
    ] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only yours (the default).")] = False,
    everyone: Annotated[bool, typer.Option("--all", help="Everyone's follow-ups.")] = False,
) -> None:
    """Export follow-ups as an iCalendar file, done ones included.

    Example: crm export followups --ics -o followups.ics
    """
    import sys

    from crm_cli.errors import InvalidValue
    from crm_cli.services.calendar import followups_ics
    from crm_cli.services.followups import FollowupFilter

    if not ics:
        raise InvalidValue("format", "", "give --ics (the only format of this export for now)")
    ctx = common.context()
    flt = FollowupFilter(owner=owner, mine=mine, everyone=everyone, limit=None)
    with ctx.session(write=False) as session:
        data, count = followups_ics(ctx, session, flt)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    from crm_cli.errors import CrmError

    partial = output.with_name(f".{output.name}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(output)
    except OSError as exc:
        raise CrmError(f"cannot write {output}: {exc.strerror}") from None
    common.note(f"wrote {count} follow-ups to {output}")
