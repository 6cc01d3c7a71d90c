"""`crm log`: record calls, emails, meetings, messages and notes; list, show and remove them.

Each kind is its own command, so the sentence reads as it is said:
`crm log call ana@acme.com "Discussed renewal"`. The commands are made by one factory, so the
five kinds cannot drift apart in their options.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
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
from crm_cli.errors import InvalidValue

app = typer.Typer(
    help="The log of calls, emails, meetings, messages and notes.", no_args_is_help=True
)

KINDS = ("call", "email", "meeting", "message", "note")

RefArg = Annotated[str, typer.Argument(help="Contact id, email or name.")]
SummaryArg = Annotated[str, typer.Argument(help="What it was about, in one line.")]
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at", help="When it happened, if not now: 14:30, yesterday 16:00, -2h, 2026-11-20 10:00."
    ),
]
DealOpt = Annotated[str | None, typer.Option("--deal", "-d", help="Deal id.")]
DirectionOpt = Annotated[
    str | None, typer.Option("--direction", help="in (they reached you) or out (you reached them).")
]
BodyOpt = Annotated[
    str | None,
    typer.Option("--body", help="The full text; - reads it from stdin (e.g. a pasted email)."),
]
OwnerOpt = Annotated[
    str | None,
    typer.Option("--owner", help="Who had the interaction: user id, email or name (default: you)."),
]

_EXAMPLES = {
    "call": ("a phone call", 'crm log call ana@acme.com "Discussed renewal" --direction out'),
    "email": ("an email", 'crm log email ana@acme.com "Re: offer" --body - < offer.eml'),
    "meeting": ("a meeting", 'crm log meeting "Ana Lima" "Demo" --at "yesterday 15:00" --deal 42'),
    "message": ("a chat or text message", 'crm log message 12 "Asked for the price list"'),
    "note": ("a note", 'crm log note ana@acme.com "Prefers calls after 16:00"'),
}

_SHOW_FIELDS = [
    ("id", "ID"),
    ("kind", "Kind"),
    ("direction", "Direction"),
    ("occurred_at", "When"),
    ("contact", "Contact"),
    ("deal", "Deal"),
    ("owner", "Owner"),
    ("summary", "Summary"),
    ("body", "Body"),
    ("created_at", "Logged"),
]


def _when(value: str) -> str:
    return value[:16].replace("T", " ")  # ISO in the user's zone: the local date and time


def _columns(fmt: str) -> list[Any]:
    from crm_cli.render.output import Column

    if fmt == "csv":
        return [
            Column(k, k)
            for k in (
                "id",
                "occurred_at",
                "kind",
                "direction",
                "contact",
                "deal",
                "owner",
                "summary",
                "body",
            )
        ]
    # On a narrow terminal the summary, the time and the kind stay longest (render/fit.py).
    return [
        Column("id", "ID", justify="right"),
        Column("occurred_at", "When", _when, priority=2),
        Column("kind", "Kind", priority=3),
        Column("direction", "Dir", priority=5),
        Column("contact", "Contact", priority=4),
        Column("summary", "Summary", max_width=60, priority=1, min_width=20),
        Column("deal", "Deal", max_width=30, priority=6),
        Column("owner", "Owner", priority=7),
    ]


def read_body(value: str | None) -> str | None:
    """`--body -` reads stdin to its end, as UTF-8; anything else is the body itself."""
    if value != "-":
        return value
    stream = sys.stdin
    if stream.isatty():
        print("crm: reading the body from the terminal; end it with Ctrl-D", file=sys.stderr)
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # already text (tests, wrapped streams)
        return stream.read()
    data = buffer.read()
    try:
        return str(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidValue(
            "body", "-", "stdin is not UTF-8 text; convert it first, e.g. with iconv -t UTF-8"
        ) from None


def _log(
    kind: str,
    ref: str,
    summary: str,
    at: str | None,
    deal: str | None,
    direction: str | None,
    body: str | None,
    owner: str | None,
    json_: bool,
) -> None:
    from crm_cli.services.interactions import InteractionInput, log_interaction

    inp = InteractionInput(
        kind=kind,
        contact=ref,
        summary=summary,
        at=at,
        deal=deal,
        direction=direction,
        body=read_body(body),
        owner=owner,
    )
    ctx = common.context()
    with ctx.session() as session:
        record = log_interaction(ctx, session, inp)
    if json_:
        from crm_cli.render.output import write_json

        write_json(record)
    else:
        common.done(
            f"Logged {kind} {record['id']} with {record['contact']} "
            f"at {_when(record['occurred_at'])}: {record['summary']}"
        )


def _kind_command(kind: str) -> Callable[..., None]:
    def command(
        ref: RefArg,
        summary: SummaryArg,
        at: AtOpt = None,
        deal: DealOpt = None,
        direction: DirectionOpt = None,
        body: BodyOpt = None,
        owner: OwnerOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        _log(kind, ref, summary, at, deal, direction, body, owner, json_)

    what, example = _EXAMPLES[kind]
    command.__name__ = kind
    command.__doc__ = f"""Log {what} with a contact (now, or --at when it happened).

    Example: {example}
    """
    return command


for _kind in KINDS:
    app.command(_kind)(_kind_command(_kind))


@app.command("list")
def list_(
    contact: Annotated[
        str | None, typer.Option("--contact", "-c", help="Contact id, email or name.")
    ] = None,
    deal: DealOpt = None,
    kind: Annotated[
        str | None, typer.Option("--kind", "-k", help="call, email, meeting, message or note.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="From this time on: today, -7d, last monday, 2026-11-01."),
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
    """List interactions, newest first.

    Example: crm log list --contact ana@acme.com --since -30d
    """
    from crm_cli.services.interactions import InteractionFilter, list_interactions

    fmt = common.output_format(json_, csv_, ids)
    ctx = common.context()
    with ctx.session(write=False) as session:
        flt = InteractionFilter(
            contact=contact,
            deal=deal,
            kind=kind,
            since=since,
            owner=owner,
            mine=mine,
            limit=common.page_limit(ctx, limit, all_, fmt),
        )
        page = list_interactions(ctx, session, flt)
        common.emit_listing(
            page.rows, _columns(fmt), fmt, ids=ids, view=common.table_view(wide, columns)
        )
    common.page_note(page)


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="Interaction id.")],
    json_: JsonOpt = False,
) -> None:
    """Show an interaction with its full body.

    Example: crm log show 31
    """
    from crm_cli.render.output import emit_record
    from crm_cli.services.interactions import show_interaction

    fmt = common.output_format(json_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        record = show_interaction(ctx, session, ref)
    emit_record(record, _SHOW_FIELDS, fmt, title=f"{record['kind']} {record['id']}")


@app.command("rm")
def rm(
    refs: Annotated[list[str], typer.Argument(help="Interaction ids.")],
    yes: YesOpt = False,
) -> None:
    """Remove interactions logged by mistake. Several at once asks first.

    Example: crm log rm 31
    """
    from crm_cli.services.interactions import remove_interactions

    common.remove_records(
        refs,
        yes,
        "interactions",
        remove_interactions,
        lambda i: f"Removed {i['kind']} {i['id']}: {i['summary']}",
    )
