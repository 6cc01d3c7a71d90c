"""`crm deal`: add, list, show, edit, rm, restore, and move deals through their pipeline.

`crm deal add` is the command a salesperson types most, so it answers with one line and loads
nothing it does not need: only typer and the standard library at module level; services, the
store and the renderers are imported inside the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import (
    AllOpt,
    ColumnsOpt,
    CsvOpt,
    IdsOpt,
    JsonOpt,
    LimitOpt,
    RemovedOpt,
    SortOpt,
    WideOpt,
    YesOpt,
)

if TYPE_CHECKING:
    from crm_cli.services.deals import Outcome

app = typer.Typer(help="Deals: money moving through a pipeline.", no_args_is_help=True)

IdArg = Annotated[str, typer.Argument(help="Deal id.")]
IdsArg = Annotated[
    list[str], typer.Argument(help="Deal ids (several at once; - reads them from stdin).")
]
ContactOpt = Annotated[
    str | None, typer.Option("--contact", "-c", help="Contact id, email or unique name.")
]
CompanyOpt = Annotated[
    str | None,
    typer.Option("--company", help="Company id or name (default: the contact's company)."),
]
ValueOpt = Annotated[
    str | None, typer.Option("--value", "-v", help="Amount in major units, e.g. 12000.50.")
]
CurrencyOpt = Annotated[
    str | None,
    typer.Option("--currency", help="ISO 4217 code (default: config defaults.currency)."),
]
StageOpt = Annotated[str | None, typer.Option("--stage", "-s", help="Stage name.")]
PipelineOpt = Annotated[
    str | None,
    typer.Option("--pipeline", "-P", help="Pipeline name (default: config defaults.pipeline)."),
]
CloseOpt = Annotated[
    str | None,
    typer.Option("--close", help="Expected close date: 2027-01-31, today, +30d, next friday, ..."),
]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owner: user id, email or name.")]
SourceOpt = Annotated[str | None, typer.Option("--source", help="Where the deal came from.")]
ExternalOpt = Annotated[
    str | None, typer.Option("--external-id", help="The deal's id in another system.")
]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why it was lost (needed to enter a lost stage).")
]


def _money(record: dict[str, Any], key: str = "value_minor") -> str:
    from crm_cli.domain.money import format_money

    return format_money(int(record[key]), record["currency"])


def _weighted_minor(record: dict[str, Any]) -> int:
    return (int(record["value_minor"]) * int(record["probability"]) + 50) // 100


def _summary(record: dict[str, Any], verb: str) -> str:
    facts = [record["stage"], _money(record)]
    if record["expected_close"]:
        facts.append(f"close {record['expected_close']}")
    return f"{verb} deal {record['id']}: {record['title']} ({', '.join(facts)})"


def _report(outcome: Outcome, line: str, json_: bool) -> None:
    _report_all([(outcome, line)], json_)


def _report_all(results: list[tuple[Outcome, str]], json_: bool) -> None:
    """One line per changed deal (JSON: the record, or an array of them for several)."""
    if json_:
        from crm_cli.render.output import write_json

        records = [outcome.record for outcome, _line in results]
        write_json(records[0] if len(records) == 1 else records)
    else:
        for _outcome, line in results:
            common.done(line)
    notes = [note for outcome, _line in results for note in outcome.notes]
    for note in notes:
        common.note(note)
    if notes:
        common.note("`crm undo` takes this change back, the contacts' lifecycle included")


def _moved(outcome: Outcome, verb: str) -> str:
    record = outcome.record
    if outcome.from_stage is None:
        return f"Deal {record['id']} is {record['stage']} already: {record['title']}"
    return (
        f"{verb} deal {record['id']}: {record['title']} ({outcome.from_stage} -> {record['stage']})"
    )


@app.command("add")
def add(
    title: Annotated[str, typer.Argument(help='What is being sold, e.g. "Acme renewal".')],
    contact: ContactOpt = None,
    company: CompanyOpt = None,
    value: ValueOpt = None,
    currency: CurrencyOpt = None,
    stage: StageOpt = None,
    pipeline: PipelineOpt = None,
    probability: Annotated[
        str | None,
        typer.Option(
            "--probability",
            "-p",
            help="Win probability 0 to 100, e.g. 50 or 50% (default: the stage's).",
        ),
    ] = None,
    close: CloseOpt = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    external_id: ExternalOpt = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).")] = None,
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a deal; it starts in the pipeline's first open stage unless --stage says otherwise.

    Example: crm deal add "Acme renewal" --contact ana@acme.com --value 12000 --close 2027-01-31
    """
    from crm_cli.services.deals import DealInput, add_deal

    inp = DealInput(
        title=title,
        contact=contact,
        company=company,
        value=value,
        currency=currency,
        pipeline=pipeline,
        stage=stage,
        probability=probability,
        close=close,
        owner=owner,
        source=source,
        external_id=external_id,
        lost_reason=reason,
        add_tags=tag or [],
    )
    ctx = common.context()
    with ctx.session() as session:
        outcome = add_deal(ctx, session, inp)
    _report(outcome, _summary(outcome.record, "Added"), json_)


def _columns(fmt: str, pipelines: bool) -> list[Any]:
    from crm_cli.render.output import Column

    if fmt == "csv":
        return [
            Column(key, key)
            for key in (
                "id",
                "title",
                "pipeline",
                "stage",
                "status",
                "value",
                "currency",
                "probability",
                "weighted_value",
                "expected_close",
                "contact",
                "company",
                "owner",
                "tags",
                "days_in_stage",
            )
        ]
    from crm_cli.render.tones import deal_stage, deal_style

    columns = [
        Column("id", "ID", justify="right"),
        Column("title", "Title", max_width=40, priority=1, min_width=20),
    ]
    if pipelines:
        columns.append(Column("pipeline", "Pipeline", priority=5))
    # Few enough columns for a normal terminal; owner, company and the rest are in --csv,
    # --json and `deal show`. A narrow terminal keeps the title, value, stage and close.
    return columns + [
        Column("stage", "Stage", priority=3, tone=deal_stage),
        Column("value_text", "Value", justify="right", priority=2, tone=deal_style),
        Column("probability", "Prob", lambda v: f"{v}%", justify="right", priority=7),
        Column("weighted_text", "Weighted", justify="right", priority=8),
        Column("expected_close", "Close", priority=4),
        Column("party", "Contact", max_width=24, priority=6),
        Column("days_in_stage", "Days", justify="right", priority=9),
    ]


def _display(record: dict[str, Any]) -> dict[str, Any]:
    """The record plus the money as people read it, for tables."""
    from crm_cli.domain.money import format_money

    return {
        **record,
        "value_text": _money(record),
        "weighted_text": format_money(_weighted_minor(record), record["currency"]),
        "party": record["contact"] or record["company"],
    }


def _totals_parts(totals: dict[str, Any]) -> list[tuple[str, str]]:
    from crm_cli.domain.money import format_money

    return [
        (
            format_money(t["value_minor"], t["currency"]),
            format_money(t["weighted_value_minor"], t["currency"]),
        )
        for t in totals["by_currency"]
    ]


def _count_text(totals: dict[str, Any]) -> str:
    count = totals["count"]
    if totals.get("more"):
        return f"more than {count:,} deals (narrow the list for totals)"
    return f"{count} deal{'s' * (count != 1)}"


def _footer(totals: dict[str, Any], sep: str) -> dict[str, str]:
    parts = _totals_parts(totals)
    return {
        "title": f"Total: {_count_text(totals)}",
        "value_text": sep.join(v for v, _ in parts),
        "weighted_text": sep.join(w for _, w in parts),
    }


def _totals_note(totals: dict[str, Any]) -> str:
    parts = [f"{v} (weighted {w})" for v, w in _totals_parts(totals)]
    return _count_text(totals) + (f": {'; '.join(parts)}" if parts else "")


@app.command("list")
def list_(
    stage: StageOpt = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open (default), won, lost or all.")
    ] = None,
    owner: OwnerOpt = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only deals you own.")] = False,
    contact: ContactOpt = None,
    company: Annotated[str | None, typer.Option("--company", help="Company id or name.")] = None,
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", "-P", help="Only this pipeline (default: all).")
    ] = None,
    close_before: Annotated[
        str | None, typer.Option("--close-before", help="Expected to close on or before this date.")
    ] = None,
    close_after: Annotated[
        str | None, typer.Option("--close-after", help="Expected to close on or after this date.")
    ] = None,
    min_value: Annotated[
        str | None,
        typer.Option("--min-value", help="Worth at least this much (in each deal's currency)."),
    ] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Only this currency.")] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", help="Has this tag (repeatable: all of them)."),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", help="Title words starting with these, as search finds them."),
    ] = None,
    removed: RemovedOpt = False,
    no_next_step: Annotated[
        bool,
        typer.Option("--no-next-step", help="Only deals with no open follow-up (nothing planned)."),
    ] = False,
    sort: SortOpt = None,
    limit: LimitOpt = None,
    all_: AllOpt = False,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    ids: IdsOpt = False,
    wide: WideOpt = False,
    columns: ColumnsOpt = None,
) -> None:
    """List deals, open ones by default, in board order then by close date, with totals.

    Example: crm deal list --stage proposal --close-before "+30d" --sort -value
    """
    from crm_cli.render.output import emit_rows, stdout_is_tty
    from crm_cli.services.deal_views import DealFilter, list_deals

    fmt = common.output_format(json_, csv_, ids)
    ctx = common.context()
    with ctx.session(write=False) as session:
        flt = DealFilter(
            stage=stage,
            status=status,
            owner=owner,
            contact=contact,
            company=company,
            pipeline=pipeline,
            close_before=close_before,
            close_after=close_after,
            min_value=min_value,
            currency=currency,
            tags=tag or [],
            search=search,
            removed=removed,
            sort=sort,
            limit=common.page_limit(ctx, limit, all_, fmt),
            owner_id=ctx.user_id(session) if mine else None,
            no_next_step=no_next_step,
            totals=fmt != "ids",
        )
        page = list_deals(ctx, session, flt)
        totals = page.totals or {"count": page.total, "by_currency": []}
        several = page.pipelines > 1
        view = common.table_view(wide, columns)
        if fmt == "ids":
            common.emit_listing(page.rows, [], fmt, ids=True)
        elif fmt in ("json", "csv"):
            common.emit_listing(page.rows, _columns(fmt, True), fmt)
            common.note(_totals_note(totals))
        elif stdout_is_tty():
            rows = [_display(r) for r in page.rows]
            if not rows:
                common.emit_listing(rows, [], fmt)
            else:
                emit_rows(
                    rows, _columns(fmt, several), fmt, footer=_footer(totals, "\n"), view=view
                )
        else:
            # In a pipe every stdout line is a deal; the totals are a note, as for --json.
            shown = (_display(r) for r in page.rows)
            common.emit_listing(shown, _columns(fmt, several), fmt, view=view)
            if totals["count"]:
                common.note(_totals_note(totals))
    common.page_note(page)


_SHOW_FIELDS = [
    ("id", "ID"),
    ("title", "Title"),
    ("pipeline", "Pipeline"),
    ("stage", "Stage"),
    ("status", "Status"),
    ("value_text", "Value"),
    ("probability_text", "Probability"),
    ("weighted_text", "Weighted"),
    ("expected_close", "Expected close"),
    ("lost_reason", "Lost because"),
    ("contact", "Contact"),
    ("company", "Company"),
    ("owner", "Owner"),
    ("source", "Source"),
    ("external_id", "External id"),
    ("tags", "Tags"),
    ("days_in_stage", "Days in stage"),
    ("created_at", "Created"),
    ("updated_at", "Updated"),
    ("closed_at", "Closed"),
    ("deleted_at", "Removed"),
]


def _sections(detail: dict[str, Any]) -> list[Any]:
    """The stage history, then the sections every 360-degree view has."""
    from crm_cli.render.output import Column
    from crm_cli.render.views import deal_sections

    history = [
        Column("at", "When", lambda v: v[:16].replace("T", " ")),
        Column("from", "From"),
        Column("to", "To"),
        Column("by", "By"),
    ]
    return [("Stage changes", detail.get("stage_changes", []), history), *deal_sections(detail)]


@app.command("show")
def show(deal_id: IdArg, json_: JsonOpt = False, wide: WideOpt = False) -> None:
    """Show everything about a deal: stage history, follow-ups, interactions, a timeline.

    Example: crm deal show 42 --json
    """
    from crm_cli.render.output import emit_record
    from crm_cli.services.timeline import deal_360

    fmt = common.output_format(json_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        detail = deal_360(ctx, session, deal_id)
    if fmt == "json":
        emit_record(detail, _SHOW_FIELDS, fmt)
        return
    own = detail["probability_override"] is not None and detail["status"] == "open"
    display = {
        **_display(detail),
        "probability_text": f"{detail['probability']}%" + (" (own)" if own else ""),
    }
    view = common.table_view(wide)
    emit_record(
        display, _SHOW_FIELDS, fmt, sections=_sections(detail), title=detail["title"], view=view
    )


@app.command("edit")
def edit(
    deal_id: IdArg,
    title: Annotated[str | None, typer.Option("--title", help="New title.")] = None,
    contact: Annotated[
        str | None,
        typer.Option("--contact", "-c", help='Contact id, email or unique name; "" unlinks.'),
    ] = None,
    company: Annotated[
        str | None, typer.Option("--company", help='Company id or name; "" unlinks.')
    ] = None,
    value: ValueOpt = None,
    currency: CurrencyOpt = None,
    convert_at: Annotated[
        str | None,
        typer.Option(
            "--convert-at", help="With --currency: the rate, 1 old unit = RATE new units."
        ),
    ] = None,
    keep_amount: Annotated[
        bool,
        typer.Option("--keep-amount", help="With --currency: keep the number, change the unit."),
    ] = False,
    stage: StageOpt = None,
    pipeline: Annotated[
        str | None,
        typer.Option(
            "--pipeline",
            "-P",
            help="Move it to this pipeline (into --stage, or the stage of the "
            "same name, or its first open stage).",
        ),
    ] = None,
    probability: Annotated[
        str | None,
        typer.Option(
            "--probability",
            "-p",
            help='Own win probability 0 to 100; "stage" to follow the stage\'s again.',
        ),
    ] = None,
    close: Annotated[
        str | None, typer.Option("--close", help='Expected close date; "" clears it.')
    ] = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    external_id: ExternalOpt = None,
    reason: ReasonOpt = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Add a tag.")] = None,
    untag: Annotated[list[str] | None, typer.Option("--untag", help="Remove a tag.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Change a deal; only the options given change. A new stage is recorded as a move.

    Example: crm deal edit 42 --value 15000 --close "next friday" --tag upsell
    """
    from crm_cli.services.deals import DealInput, edit_deal

    inp = DealInput(
        title=title,
        contact=contact,
        company=company,
        value=value,
        currency=currency,
        convert_at=convert_at,
        keep_amount=keep_amount,
        pipeline=pipeline,
        stage=stage,
        probability=probability,
        close=close,
        owner=owner,
        source=source,
        external_id=external_id,
        lost_reason=reason,
        add_tags=tag or [],
        remove_tags=untag or [],
    )
    ctx = common.context()
    with ctx.session() as session:
        outcome = edit_deal(ctx, session, deal_id, inp)
    _report(outcome, _summary(outcome.record, "Updated"), json_)


@app.command("move")
def move(
    deal_ids: IdsArg,
    stage: Annotated[str, typer.Argument(help="Stage to move them to.")],
    reason: ReasonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Move deals to another stage of their pipeline, all in one change.

    Example: crm deal move 42 43 negotiation
    """
    from crm_cli.services.deals import move_deal
    from crm_cli.services.lookups import lock_in_order

    refs = common.refs(deal_ids, "deal")
    ctx = common.context()
    with ctx.session() as session:
        lock_in_order(session, "deal", refs)
        outcomes = [move_deal(ctx, session, ref, stage, reason) for ref in refs]
    _report_all([(o, _moved(o, "Moved")) for o in outcomes], json_)


@app.command("won")
def won(deal_ids: IdsArg, json_: JsonOpt = False) -> None:
    """Mark deals won; their contacts become customers.

    Example: crm deal won 42
    """
    from crm_cli.services.deals import win_deal
    from crm_cli.services.lookups import lock_in_order

    refs = common.refs(deal_ids, "deal")
    ctx = common.context()
    with ctx.session() as session:
        lock_in_order(session, "deal", refs)
        outcomes = [win_deal(ctx, session, ref) for ref in refs]
    results = []
    for outcome in outcomes:
        record = outcome.record
        line = (
            _moved(outcome, "Won")
            if outcome.from_stage is None
            else (f"Won deal {record['id']}: {record['title']} ({_money(record)})")
        )
        results.append((outcome, line))
    _report_all(results, json_)


@app.command("lost")
def lost(
    deal_ids: IdsArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it was lost.")],
    json_: JsonOpt = False,
) -> None:
    """Mark deals lost, with the reason.

    Example: crm deal lost 42 --reason "went with a competitor"
    """
    from crm_cli.services.deals import lose_deal
    from crm_cli.services.lookups import lock_in_order

    refs = common.refs(deal_ids, "deal")
    ctx = common.context()
    with ctx.session() as session:
        lock_in_order(session, "deal", refs)
        outcomes = [lose_deal(ctx, session, ref, reason) for ref in refs]
    _report_all(
        [
            (o, f"Lost deal {o.record['id']}: {o.record['title']} ({o.record['lost_reason']})")
            for o in outcomes
        ],
        json_,
    )


@app.command("reopen")
def reopen(
    deal_id: IdArg,
    stage: Annotated[
        str | None,
        typer.Option(
            "--stage", "-s", help="Open stage to reopen into (default: where it was before)."
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Reopen a won or lost deal, back in the open stage it was in before it closed.

    Example: crm deal reopen 42 --stage negotiation
    """
    from crm_cli.services.deals import reopen_deal

    ctx = common.context()
    with ctx.session() as session:
        outcome = reopen_deal(ctx, session, deal_id, stage)
    _report(outcome, _moved(outcome, "Reopened"), json_)


@app.command("rm")
def rm(
    deal_ids: Annotated[list[str], typer.Argument(help="Deal ids.")],
    yes: YesOpt = False,
) -> None:
    """Remove deals (they can be restored). Several at once asks first.

    Example: crm deal rm 42
    """
    from crm_cli.services.deals import remove_deals

    common.remove_records(
        deal_ids,
        yes,
        "deals",
        remove_deals,
        lambda i: f"Removed deal {i['id']}: {i['title']} (undo: crm deal restore {i['id']})",
    )


@app.command("restore")
def restore(
    deal_id: Annotated[str, typer.Argument(help="Id of a removed deal.")], json_: JsonOpt = False
) -> None:
    """Bring back a removed deal.

    Example: crm deal restore 42
    """
    from crm_cli.services.deals import Outcome, restore_deal

    ctx = common.context()
    with ctx.session() as session:
        record = restore_deal(ctx, session, deal_id)
    _report(Outcome(record), _summary(record, "Restored"), json_)
