"""`crm export KIND`: every record of a kind to CSV, JSON, JSON lines or vCard; and
`crm export all`, the whole database as a vendor-neutral archive (restored by `crm import all`).

Each command takes the filters of that noun's `list` and writes every match (no page, no
cap). `-o FILE` writes the file atomically: a failed export leaves no half-written file and
an existing FILE as it was.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import RemovedOpt, SortOpt
from crm_cli.errors import CrmError, ExitCode

app = typer.Typer(
    help="Write records to files: CSV, JSON, JSON lines, vCard; or the whole database.",
    no_args_is_help=True,
)

CsvFlag = Annotated[bool, typer.Option("--csv", help="CSV (the default).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="A JSON array of records.")]
JsonlFlag = Annotated[bool, typer.Option("--jsonl", help="JSON lines: one record per line.")]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout."),
]
RawOpt = Annotated[
    bool,
    typer.Option(
        "--raw", help="CSV: leave cells starting with = + - @ as they are (no formula guard)."
    ),
]
OwnerOpt = Annotated[
    str | None, typer.Option("--owner", help="Only this user's: id, email or name.")
]
MineOpt = Annotated[bool, typer.Option("--mine", help="Only yours.")]
ContactOpt = Annotated[
    str | None, typer.Option("--contact", "-c", help="Contact id, email or name.")
]
DealOpt = Annotated[str | None, typer.Option("--deal", "-d", help="Deal id.")]
TextOpt = Annotated[str | None, typer.Option("--search", "-s", help="Only matching text.")]


def _format(csv_: bool, json_: bool, jsonl: bool, vcf: bool = False) -> str:
    chosen = [
        name for name, on in (("csv", csv_), ("json", json_), ("jsonl", jsonl), ("vcf", vcf)) if on
    ]
    if len(chosen) > 1:
        from crm_cli.errors import InvalidValue

        raise InvalidValue(
            "format", " ".join(f"--{c}" for c in chosen), "choose one of --csv, --json, --jsonl"
        )
    return chosen[0] if chosen else "csv"


def _run(
    kind: str, flt_factory: Any, fmt: str, output: Path | None, raw: bool = False, **kw: Any
) -> None:
    """The body every `export KIND` shares: check the options, open the output, write every
    record in one read transaction, say how many went where."""
    from crm_cli.services.exporting import ExportOptions, check_options, export_records

    options = ExportOptions(fmt=fmt, raw=raw, **kw)
    check_options(kind, options)
    target = _opened(output)  # a bad path is refused before the database is opened
    ctx = common.context()
    progress = _progress(kind)
    with ctx.session(write=False) as session:
        flt = flt_factory(ctx, session)
        with target as out:
            count = export_records(ctx, session, kind, flt, out, options, progress)
    if progress is not None:
        sys.stderr.write("\r\x1b[K")
    if output is not None and str(output) != "-":
        common.note(f"exported {count:,} {kind} to {output}")


def _progress(kind: str) -> Any:
    """A running count on stderr when it is a terminal (the total is not counted first: that
    would read every record twice); nothing otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(count: int) -> None:
        sys.stderr.write(f"\rcrm: exporting {kind}: {count:,}")
        sys.stderr.flush()

    return show


class OutputError(CrmError):
    exit_code = ExitCode.USAGE


def _opened(output: Path | None) -> Any:
    """Where the export goes: `-o FILE` written atomically, or stdout (also for `-o -`)."""
    from crm_cli.io.csvout import atomic_output

    if output is not None and str(output) == "-":
        output = None
    if output is not None and (output.is_dir() or not output.parent.resolve().is_dir()):
        reason = "is a folder" if output.is_dir() else "its folder does not exist"
        # The whole path, not cut as a quoted value is: it is what the person must fix.
        raise OutputError(f"--output {output}: {reason}")
    return atomic_output(output)


@app.command("contacts")
def contacts(
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Has this tag (repeatable: all).")
    ] = None,
    lifecycle: Annotated[
        str | None, typer.Option("--lifecycle", "-l", help="lead, prospect, customer or churned.")
    ] = None,
    owner: OwnerOpt = None,
    mine: MineOpt = False,
    company: Annotated[
        str | None, typer.Option("--company", "-c", help="Company id or name.")
    ] = None,
    text: TextOpt = None,
    removed: RemovedOpt = False,
    sort: SortOpt = None,
    csv_: CsvFlag = False,
    json_: JsonFlag = False,
    jsonl: JsonlFlag = False,
    vcf: Annotated[bool, typer.Option("--vcf", help="vCard (one card per contact).")] = False,
    vcard_version: Annotated[
        str, typer.Option("--vcard-version", help="vCard version: 4.0, or 3.0 for old clients.")
    ] = "4.0",
    preset: Annotated[
        str | None,
        typer.Option("--preset", help="CSV laid out for an address book: google, outlook."),
    ] = None,
    raw: RawOpt = False,
    output: OutputOpt = None,
) -> None:
    """Export contacts, with every field, custom field and tag.

    Example: crm export contacts --tag vip -o vip.csv
    """

    def flt(ctx: Any, session: Any) -> Any:
        from crm_cli.services.contacts import ContactFilter

        return ContactFilter(
            tag=tag or [],
            lifecycle=lifecycle,
            owner=owner,
            company=company,
            text=text,
            removed=removed,
            sort=sort,
            limit=None,
            owner_id=ctx.user_id(session) if mine else None,
        )

    fmt = _format(csv_, json_, jsonl, vcf)
    _run("contacts", flt, fmt, output, raw, preset=preset, vcard_version=vcard_version)


@app.command("companies")
def companies(
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only with this tag.")] = None,
    owner: OwnerOpt = None,
    industry: Annotated[str | None, typer.Option("--industry", help="Only this industry.")] = None,
    text: TextOpt = None,
    removed: RemovedOpt = False,
    sort: SortOpt = None,
    csv_: CsvFlag = False,
    json_: JsonFlag = False,
    jsonl: JsonlFlag = False,
    raw: RawOpt = False,
    output: OutputOpt = None,
) -> None:
    """Export companies, with every field, custom field and tag.

    Example: crm export companies --industry Retail --json -o retail.json
    """

    def flt(ctx: Any, session: Any) -> Any:
        from crm_cli.services.companies import CompanyFilter

        return CompanyFilter(
            tag=tag,
            owner=owner,
            industry=industry,
            text=text,
            removed=removed,
            sort=sort,
            limit=None,
        )

    _run("companies", flt, _format(csv_, json_, jsonl), output, raw)


@app.command("deals")
def deals(
    stage: Annotated[str | None, typer.Option("--stage", help="Stage name.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="open, won, lost or all (the default).")
    ] = None,
    owner: OwnerOpt = None,
    mine: MineOpt = False,
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
        str | None, typer.Option("--min-value", help="Worth at least this much.")
    ] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="Only this currency.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Has this tag (repeatable: all).")
    ] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="Title words starting with these.")
    ] = None,
    removed: RemovedOpt = False,
    sort: SortOpt = None,
    csv_: CsvFlag = False,
    json_: JsonFlag = False,
    jsonl: JsonlFlag = False,
    raw: RawOpt = False,
    output: OutputOpt = None,
) -> None:
    """Export deals: all of them (open, won and lost) unless --status or --stage says.

    Example: crm export deals --status won --close-after 2026-01-01 -o won.csv
    """

    def flt(ctx: Any, session: Any) -> Any:
        from crm_cli.services.deal_views import DealFilter

        return DealFilter(
            stage=stage,
            # An export is every deal: the listing's "open only" is for a person's screen.
            status=status if status is not None or stage is not None else "all",
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
            limit=None,
            owner_id=ctx.user_id(session) if mine else None,
        )

    _run("deals", flt, _format(csv_, json_, jsonl), output, raw)


@app.command("followups")
def followups(
    due: Annotated[
        str | None, typer.Option("--due", help="overdue; today (and overdue); week.")
    ] = None,
    owner: OwnerOpt = None,
    mine: MineOpt = False,
    open_: Annotated[bool, typer.Option("--open", help="Only open ones (not done).")] = False,
    contact: ContactOpt = None,
    deal: DealOpt = None,
    csv_: CsvFlag = False,
    json_: JsonFlag = False,
    jsonl: JsonlFlag = False,
    ics: Annotated[
        bool,
        typer.Option("--ics", help="As an iCalendar feed (VTODOs) a calendar can subscribe to."),
    ] = False,
    raw: RawOpt = False,
    output: OutputOpt = None,
) -> None:
    """Export follow-ups: everyone's, open and done, unless the options narrow it.

    Example: crm export followups --mine --open --jsonl
    """

    def flt(ctx: Any, session: Any) -> Any:
        from crm_cli.services.followups import FollowupFilter

        return FollowupFilter(
            due=due,
            owner=owner,
            mine=mine,
            everyone=not (mine or owner),
            done=not open_,
            contact=contact,
            deal=deal,
            limit=None,
        )

    if ics:
        if csv_ or json_ or jsonl:
            from crm_cli.errors import InvalidValue

            raise InvalidValue("format", "--ics", "choose one of --csv, --json, --jsonl, --ics")
        _ics(flt, output)
        return
    _run("followups", flt, _format(csv_, json_, jsonl), output, raw)


def _ics(flt_factory: Any, output: Path | None) -> None:
    """The follow-ups as .ics (docs/reminders.md): stable UIDs and a SEQUENCE bumped by each
    edit, so a calendar that re-reads the file updates its entries (io/ics.py)."""
    from crm_cli.services.calendar import followups_ics

    target = _opened(output)
    ctx = common.context()
    with ctx.session(write=False) as session:
        data, count = followups_ics(ctx, session, flt_factory(ctx, session))
    with target as out:
        out.write(data.decode("utf-8"))
    if output is not None and str(output) != "-":
        common.note(f"exported {count:,} follow-ups to {output}")


@app.command("interactions")
def interactions(
    contact: ContactOpt = None,
    deal: DealOpt = None,
    kind: Annotated[
        str | None, typer.Option("--kind", "-k", help="call, email, meeting, message or note.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this time on: today, -7d, 2026-11-01.")
    ] = None,
    owner: OwnerOpt = None,
    mine: MineOpt = False,
    csv_: CsvFlag = False,
    json_: JsonFlag = False,
    jsonl: JsonlFlag = False,
    raw: RawOpt = False,
    output: OutputOpt = None,
) -> None:
    """Export the interaction log (calls, emails, meetings, messages, notes), newest first.

    Example: crm export interactions --since -90d -o log.csv
    """

    def flt(ctx: Any, session: Any) -> Any:
        from crm_cli.services.interactions import InteractionFilter

        return InteractionFilter(
            contact=contact, deal=deal, kind=kind, since=since, owner=owner, mine=mine, limit=None
        )

    _run("interactions", flt, _format(csv_, json_, jsonl), output, raw)


@app.command("feedback")
def feedback(
    open_: Annotated[bool, typer.Option("--open", help="Only open complaints.")] = False,
    kind: Annotated[
        str | None,
        typer.Option("--kind", "-k", help="nps, csat, complaint, suggestion or praise."),
    ] = None,
    contact: ContactOpt = None,
    deal: DealOpt = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Received from this time on: -30d, 2026-11-01.")
    ] = None,
    owner: OwnerOpt = None,
    mine: MineOpt = False,
    csv_: CsvFlag = False,
    json_: JsonFlag = False,
    jsonl: JsonlFlag = False,
    raw: RawOpt = False,
    output: OutputOpt = None,
) -> None:
    """Export feedback: NPS and CSAT answers, complaints, suggestions, praise.

    Example: crm export feedback --kind nps --json -o nps.json
    """

    def flt(ctx: Any, session: Any) -> Any:
        from crm_cli.services.feedback import FeedbackFilter

        return FeedbackFilter(
            open_only=open_,
            kind=kind,
            contact=contact,
            deal=deal,
            since=since,
            owner=owner,
            mine=mine,
            limit=None,
        )

    _run("feedback", flt, _format(csv_, json_, jsonl), output, raw)


@app.command("all")
def all_(output: OutputOpt = None) -> None:
    """Write the whole database as JSON lines: a backup that restores into any database.

    Example: crm export all -o crm-archive.jsonl
    """
    from crm_cli.services.archive import write_archive

    target = _opened(output)
    ctx = common.context()
    with ctx.session(write=False) as session, target as out:
        counts = write_archive(session, out)
    if output is not None and str(output) != "-":
        common.note(f"exported {counts.total:,} rows of {len(counts.rows)} tables to {output}")
