"""`crm feedback`: NPS and CSAT answers, complaints, suggestions and praise.

add, list, show, edit, rm, plus resolve (and reopen) for complaints. A table listing that
includes NPS answers ends with the Net Promoter Score on stderr, so `--json` and `--csv`
stay pure data.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import (
    AllOpt,
    ColumnsOpt,
    CsvOpt,
    IdsOpt,
    JsonOpt,
    LimitOpt,
    WideOpt,
    YesOpt,
)

app = typer.Typer(
    help="What customers tell you: NPS, CSAT, complaints, suggestions, praise.",
    no_args_is_help=True,
)

KindHelp = "nps, csat, complaint, suggestion or praise."
ScoreOpt = Annotated[
    str | None,
    typer.Option("--score", "-s", help="NPS 0-10 or CSAT 1-5 (other kinds take no score)."),
]
TextOpt = Annotated[str | None, typer.Option("--text", "-t", help="What they said.")]
CategoryOpt = Annotated[
    str | None, typer.Option("--category", help="A topic, e.g. billing, onboarding, product.")
]
ChannelOpt = Annotated[
    str | None, typer.Option("--channel", help="Where it came from, e.g. survey, email, phone.")
]
DealOpt = Annotated[str | None, typer.Option("--deal", "-d", help="Deal id.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owner: user id, email or name.")]
IdArg = Annotated[str, typer.Argument(help="Feedback id.")]

_SHOW_FIELDS = [
    ("id", "ID"),
    ("kind", "Kind"),
    ("score", "Score"),
    ("status", "Status"),
    ("contact", "Contact"),
    ("deal", "Deal"),
    ("text", "Text"),
    ("category", "Category"),
    ("channel", "Channel"),
    ("owner", "Owner"),
    ("resolved_at", "Resolved"),
    ("resolution_note", "Resolution"),
    ("created_at", "Received"),
    ("updated_at", "Updated"),
]


def _columns(fmt: str) -> list[Any]:
    from crm_cli.render.output import Column

    if fmt == "csv":
        return [
            Column(k, k)
            for k in (
                "id",
                "created_at",
                "kind",
                "score",
                "status",
                "contact",
                "deal",
                "category",
                "channel",
                "text",
                "resolved_at",
                "resolution_note",
                "owner",
            )
        ]
    # On a narrow terminal the date, kind, score and what they said stay longest.
    return [
        Column("id", "ID", justify="right"),
        Column("created_at", "Date", lambda v: str(v)[:10], priority=1),
        Column("kind", "Kind", priority=2),
        Column("score", "Score", justify="right", priority=3),
        Column("status", "Status", priority=6),
        Column("contact", "Contact", priority=5),
        Column("category", "Category", priority=7),
        Column("text", "Text", max_width=50, priority=4, min_width=20),
    ]


def _line(record: dict[str, Any], verb: str) -> str:
    what = record["kind"] + (f" {record['score']}" if record["score"] is not None else "")
    if record["kind"] == "complaint":
        what += f" ({record['status']})"
    who = f" from {record['contact']}" if record["contact"] else ""
    return f"{verb} feedback {record['id']}: {what}{who}"


def _result(record: dict[str, Any], verb: str, json_: bool) -> None:
    if json_:
        from crm_cli.render.output import write_json

        write_json(record)
    else:
        common.done(_line(record, verb))


@app.command("add")
def add(
    kind: Annotated[str, typer.Option("--kind", "-k", help=KindHelp)],
    ref: Annotated[
        str | None,
        typer.Argument(help="Contact id, email or name; leave out for anonymous answers."),
    ] = None,
    score: ScoreOpt = None,
    text: TextOpt = None,
    category: CategoryOpt = None,
    channel: ChannelOpt = None,
    deal: DealOpt = None,
    owner: OwnerOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Record feedback; complaints stay open until resolved.

    Example: crm feedback add ana@acme.com --kind nps --score 9 --text "Great support"
    """
    from crm_cli.services.feedback import FeedbackInput, add_feedback

    inp = FeedbackInput(
        kind=kind,
        contact=ref,
        score=score,
        text=text,
        category=category,
        channel=channel,
        deal=deal,
        owner=owner,
    )
    ctx = common.context()
    with ctx.session() as session:
        record = add_feedback(ctx, session, inp)
    _result(record, "Added", json_)


@app.command("list")
def list_(
    open_: Annotated[bool, typer.Option("--open", help="Only open complaints.")] = False,
    kind: Annotated[str | None, typer.Option("--kind", "-k", help=KindHelp)] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", "-c", help="Contact id, email or name.")
    ] = None,
    deal: DealOpt = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Received from this time on: today, -30d, 2026-11-01."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this user's: id, email or name.")
    ] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only yours.")] = False,
    limit: LimitOpt = None,
    all_: AllOpt = False,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    ids: IdsOpt = False,
    wide: WideOpt = False,
    columns: ColumnsOpt = None,
) -> None:
    """List feedback, newest first, with the NPS of the NPS answers among it.

    Example: crm feedback list --kind nps --since -90d
    """
    from crm_cli.services.feedback import FeedbackFilter, list_feedback

    fmt = common.output_format(json_, csv_, ids)
    ctx = common.context()
    with ctx.session(write=False) as session:
        flt = FeedbackFilter(
            open_only=open_,
            kind=kind,
            contact=contact,
            deal=deal,
            since=since,
            owner=owner,
            mine=mine,
            limit=common.page_limit(ctx, limit, all_, fmt),
        )
        page = list_feedback(ctx, session, flt)
        common.emit_listing(
            page.rows, _columns(fmt), fmt, ids=ids, view=common.table_view(wide, columns)
        )
    common.page_note(page)
    nps = (page.totals or {}).get("nps")
    more = (page.totals or {}).get("nps_more")
    if fmt == "table" and more:
        common.note(f"NPS left out: more than {more:,} answers match (narrow with --since)")
    if fmt == "table" and nps:
        n = nps["answers"]
        share = {k: round(100 * nps[k] / n) for k in ("promoters", "passives", "detractors")}
        common.note(
            f"NPS {nps['nps']:+d} from {n} answer{'s' if n != 1 else ''}: "
            f"{nps['promoters']} promoters ({share['promoters']}%), "
            f"{nps['passives']} passives ({share['passives']}%), "
            f"{nps['detractors']} detractors ({share['detractors']}%)"
        )


@app.command("show")
def show(ref: IdArg, json_: JsonOpt = False) -> None:
    """Show one piece of feedback.

    Example: crm feedback show 3
    """
    from crm_cli.render.output import emit_record
    from crm_cli.services.feedback import show_feedback

    fmt = common.output_format(json_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        record = show_feedback(ctx, session, ref)
    emit_record(record, _SHOW_FIELDS, fmt, title=f"{record['kind']} {record['id']}")


@app.command("edit")
def edit(
    ref: IdArg,
    score: ScoreOpt = None,
    text: Annotated[str | None, typer.Option("--text", "-t", help="New text.")] = None,
    category: Annotated[
        str | None, typer.Option("--category", help='New category; "" clears it.')
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help='New channel; "" clears it.')
    ] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", "-c", help='Contact id, email or name; "" unlinks.')
    ] = None,
    deal: Annotated[str | None, typer.Option("--deal", "-d", help='Deal id; "" unlinks.')] = None,
    owner: OwnerOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change feedback; only the options given change (the kind cannot).

    Example: crm feedback edit 3 --category billing
    """
    from crm_cli.services.feedback import FeedbackInput, edit_feedback

    inp = FeedbackInput(
        contact=contact,
        score=score,
        text=text,
        category=category,
        channel=channel,
        deal=deal,
        owner=owner,
    )
    ctx = common.context()
    with ctx.session() as session:
        record = edit_feedback(ctx, session, ref, inp)
    _result(record, "Updated", json_)


@app.command("resolve")
def resolve(
    ref: IdArg,
    note: Annotated[str, typer.Option("--note", "-m", help="How it was resolved.")],
    json_: JsonOpt = False,
) -> None:
    """Resolve an open complaint, saying how.

    Example: crm feedback resolve 4 --note "Refunded the March invoice"
    """
    from crm_cli.services.feedback import resolve_feedback

    ctx = common.context()
    with ctx.session() as session:
        record = resolve_feedback(ctx, session, ref, note)
    _result(record, "Resolved", json_)


@app.command("reopen")
def reopen(ref: IdArg, json_: JsonOpt = False) -> None:
    """Open a resolved complaint again.

    Example: crm feedback reopen 4
    """
    from crm_cli.services.feedback import reopen_feedback

    ctx = common.context()
    with ctx.session() as session:
        record = reopen_feedback(ctx, session, ref)
    _result(record, "Reopened", json_)


@app.command("rm")
def rm(
    refs: Annotated[list[str], typer.Argument(help="Feedback ids.")],
    yes: YesOpt = False,
) -> None:
    """Remove feedback. Several at once asks first.

    Example: crm feedback rm 3
    """
    from crm_cli.services.feedback import remove_feedback

    common.remove_records(
        refs,
        yes,
        "pieces of feedback",
        remove_feedback,
        lambda i: f"Removed feedback {i['id']} ({i['kind']})",
    )
