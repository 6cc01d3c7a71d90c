"""`crm followup`: add, list, show, edit, rm, done, snooze.

Follow-ups are the salesperson's promises with a due time. Due times are typed and shown in
the user's zone (`defaults.timezone`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import ColumnsOpt, CsvOpt, IdsOpt, JsonOpt, LimitOpt, WideOpt, YesOpt

app = typer.Typer(
    help="Things to do by a certain time, for a contact or a deal.", no_args_is_help=True
)

ContactOpt = Annotated[
    str | None, typer.Option("--contact", "-c", help="Contact id, email or name.")
]
DealOpt = Annotated[str | None, typer.Option("--deal", "-d", help="Deal id.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owner: user id, email or name.")]
PriorityOpt = Annotated[
    str | None, typer.Option("--priority", "-p", help="low, normal (the default) or high.")
]
RepeatOpt = Annotated[
    str | None,
    typer.Option(
        "--repeat", "-r", help='daily, weekly, monthly, weekdays, or "every N days|weeks|months".'
    ),
]
NoteOpt = Annotated[str | None, typer.Option("--note", help="Notes: what to say or bring.")]
IdArg = Annotated[str, typer.Argument(help="Follow-up id.")]
IdsArg = Annotated[
    list[str], typer.Argument(help="Follow-up ids (several at once; - reads them from stdin).")
]

_SHOW_FIELDS = [
    ("id", "ID"),
    ("title", "Title"),
    ("due_local", "Due"),
    ("status", "Status"),
    ("snoozed_until", "Snoozed until"),
    ("done_at", "Done"),
    ("contact", "Contact"),
    ("deal", "Deal"),
    ("owner", "Owner"),
    ("priority", "Priority"),
    ("repeat", "Repeats"),
    ("timezone", "Time zone"),
    ("notes", "Notes"),
    ("previous_id", "Previous"),
    ("created_at", "Created"),
    ("updated_at", "Updated"),
]


def _columns(fmt: str) -> list[Any]:
    from crm_cli.render.output import Column

    if fmt == "csv":
        return [
            Column(k, k)
            for k in (
                "id",
                "due_at",
                "status",
                "title",
                "contact",
                "deal",
                "owner",
                "priority",
                "repeat",
                "snoozed_until",
                "done_at",
                "notes",
            )
        ]
    from crm_cli.render.tones import followup_status, followup_style

    # On a narrow terminal the title, the due time and the status stay longest; the title
    # keeps 20 cells before a lower column may show (render/fit.py).
    return [
        Column("id", "ID", justify="right"),
        Column("due_local", "Due", priority=2, tone=followup_style),
        Column(
            "status",
            "Status",
            lambda v: "OVERDUE" if v == "overdue" else v,
            priority=3,
            tone=followup_status,
        ),
        Column("title", "Title", max_width=40, priority=1, min_width=20),
        Column("contact", "Contact", priority=4),
        Column("deal", "Deal", max_width=30, priority=5),
        Column("priority", "Priority", priority=6),
        Column("repeat", "Repeats", priority=7),
        Column("owner", "Owner", priority=8),
    ]


def _line(record: dict[str, Any], verb: str) -> str:
    return f"{verb} follow-up {record['id']}: {record['title']} (due {record['due_local']})"


def _result(record: dict[str, Any], verb: str, json_: bool) -> None:
    if json_:
        from crm_cli.render.output import write_json

        write_json(record)
    else:
        common.done(_line(record, verb))


@app.command("add")
def add(
    title: Annotated[str, typer.Argument(help='What to do, e.g. "Call Ana".')],
    due: Annotated[
        str,
        typer.Option(
            "--due",
            help="When: ISO date/time, today, tomorrow 9:00, +3d, in 2 weeks, next monday.",
        ),
    ],
    contact: ContactOpt = None,
    deal: DealOpt = None,
    owner: OwnerOpt = None,
    priority: PriorityOpt = None,
    repeat: RepeatOpt = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a follow-up, due at a time in your zone.

    Example: crm followup add "Call Ana" --due "tomorrow 9:00" --contact ana@acme.com
    """
    from crm_cli.services.followups import FollowupInput, add_followup

    inp = FollowupInput(
        title=title,
        due=due,
        contact=contact,
        deal=deal,
        owner=owner,
        priority=priority,
        repeat=repeat,
        notes=note,
    )
    ctx = common.context()
    with ctx.session() as session:
        record = add_followup(ctx, session, inp)
    _result(record, "Added", json_)


@app.command("list")
def list_(
    due: Annotated[
        str | None,
        typer.Option(
            "--due", help="overdue; today (and overdue); week (the next 7 days, and overdue)."
        ),
    ] = None,
    owner: OwnerOpt = None,
    mine: Annotated[
        bool, typer.Option("--mine", help="Only yours (the default without --contact or --deal).")
    ] = False,
    everyone: Annotated[
        bool, typer.Option("--all", help="Everyone's follow-ups, and no page limit.")
    ] = False,
    done: Annotated[bool, typer.Option("--done", help="Include done follow-ups.")] = False,
    contact: ContactOpt = None,
    deal: DealOpt = None,
    limit: LimitOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    ids: IdsOpt = False,
    wide: WideOpt = False,
    columns: ColumnsOpt = None,
) -> None:
    """List your open follow-ups: overdue first, then by due time.

    Example: crm followup list --due today
    """
    from crm_cli.services.followups import FollowupFilter, list_followups

    fmt = common.output_format(json_, csv_, ids)
    ctx = common.context()
    with ctx.session(write=False) as session:
        flt = FollowupFilter(
            due=due,
            owner=owner,
            mine=mine,
            everyone=everyone,
            done=done,
            contact=contact,
            deal=deal,
            limit=common.page_limit(ctx, limit, everyone, fmt),
        )
        page = list_followups(ctx, session, flt)
        common.emit_listing(
            page.rows, _columns(fmt), fmt, ids=ids, view=common.table_view(wide, columns)
        )
    common.page_note(page)


@app.command("show")
def show(ref: IdArg, json_: JsonOpt = False) -> None:
    """Show a follow-up.

    Example: crm followup show 7
    """
    from crm_cli.render.output import emit_record
    from crm_cli.services.followups import show_followup

    fmt = common.output_format(json_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        record = show_followup(ctx, session, ref)
    emit_record(record, _SHOW_FIELDS, fmt, title=record["title"])


@app.command("edit")
def edit(
    ref: IdArg,
    title: Annotated[str | None, typer.Option("--title", help="New title.")] = None,
    due: Annotated[
        str | None, typer.Option("--due", help="New due time (clears a snooze).")
    ] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", "-c", help='Contact id, email or name; "" unlinks.')
    ] = None,
    deal: Annotated[str | None, typer.Option("--deal", "-d", help='Deal id; "" unlinks.')] = None,
    owner: OwnerOpt = None,
    priority: PriorityOpt = None,
    repeat: Annotated[
        str | None,
        typer.Option("--repeat", "-r", help='A repeat rule, or "none" to stop repeating.'),
    ] = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a follow-up; only the options given change.

    Example: crm followup edit 7 --due "friday 14:00" --priority high
    """
    from crm_cli.services.followups import FollowupInput, edit_followup

    inp = FollowupInput(
        title=title,
        due=due,
        contact=contact,
        deal=deal,
        owner=owner,
        priority=priority,
        repeat=repeat,
        notes=note,
    )
    ctx = common.context()
    with ctx.session() as session:
        record = edit_followup(ctx, session, ref, inp)
    _result(record, "Updated", json_)


@app.command("rm")
def rm(
    refs: Annotated[list[str], typer.Argument(help="Follow-up ids.")],
    yes: YesOpt = False,
) -> None:
    """Remove follow-ups. Several at once asks first.

    Example: crm followup rm 7
    """
    from crm_cli.services.followups import remove_followups

    common.remove_records(
        refs,
        yes,
        "follow-ups",
        remove_followups,
        lambda i: f"Removed follow-up {i['id']}: {i['title']}",
    )


@app.command("done")
def done(
    refs: IdsArg,
    at: Annotated[
        str | None,
        typer.Option("--at", help='When it was done, if not now (e.g. "yesterday 17:00").'),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Mark follow-ups done; a repeating one gets its next occurrence.

    Example: crm followup done 7 8
    """
    from crm_cli.services.followups import complete_followup
    from crm_cli.services.lookups import lock_in_order

    ids = common.refs(refs, "follow-up")
    ctx = common.context()
    with ctx.session() as session:
        lock_in_order(session, "followup", ids)
        results = [complete_followup(ctx, session, ref, at) for ref in ids]
    if json_:
        from crm_cli.render.output import write_json

        write_json(results[0] if len(results) == 1 else results)
        return
    for result in results:
        first = result["done"]
        common.done(f"Done follow-up {first['id']}: {first['title']}")
        if result["next"] is not None:
            common.done(_line(result["next"], "Next"))


@app.command("snooze")
def snooze(
    refs: IdsArg,
    until: Annotated[
        str | None,
        typer.Option("--until", help="When it is due again: tomorrow 9:00, +2h, next monday, ..."),
    ] = None,
    for_: Annotated[
        str | None,
        typer.Option("--for", help="Or for how long from now: 30min, 2h, 1d."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Put follow-ups off; they are due again at that time.

    Example: crm followup snooze 7 --until "next monday 9:00"
    """
    from crm_cli.services.followups import snooze_followup
    from crm_cli.services.lookups import lock_in_order

    ids = common.refs(refs, "follow-up")
    ctx = common.context()
    with ctx.session() as session:
        lock_in_order(session, "followup", ids)
        records = [snooze_followup(ctx, session, ref, until, for_) for ref in ids]
    if json_:
        from crm_cli.render.output import write_json

        write_json(records[0] if len(records) == 1 else records)
        return
    for record in records:
        until_at = record["snoozed_until"][:16].replace("T", " ")
        common.done(f"Snoozed follow-up {record['id']}: {record['title']} (until {until_at})")
