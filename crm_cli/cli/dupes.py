"""`crm dupes`: likely duplicate contacts and companies, with the reasons; pairs kept separate."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import CsvOpt, JsonOpt, LimitOpt

app = typer.Typer(
    help="Likely duplicates, each with a score and its reasons; pairs to keep separate.",
    no_args_is_help=True,
)

MinScoreOpt = Annotated[
    int,
    typer.Option(
        "--min-score", min=0, max=100, help="List pairs scoring at least this (0-100, default 50)."
    ),
]
IgnoreOpt = Annotated[
    tuple[str, str] | None,
    typer.Option(
        "--ignore",
        metavar="A B",
        help="Instead of listing: mark records A and B as not duplicates (keep separate).",
    ),
]
FIRST_HELP = "A contact (id or email) or, with --companies, a company (id or name)."
CompaniesOpt = Annotated[
    bool, typer.Option("--companies", help="The two records are companies (default: contacts).")
]


def _columns() -> list[Any]:
    from crm_cli.render.output import Column

    def side(value: dict[str, Any]) -> str:
        return f"{value['id']} {value['name']}"

    def reasons(value: list[dict[str, Any]]) -> str:
        return " + ".join(f"{r['reason']} {r['weight']}" for r in value)

    return [
        Column("score", "Score", justify="right"),
        Column("first", "First", side),
        Column("second", "Second", side),
        Column("reasons", "Reasons", reasons),
    ]


def _list(kind: str, min_score: int, limit: int | None, json_: bool, csv_: bool) -> None:
    from crm_cli.services.dupes import find_dupes

    fmt = common.output_format(json_, csv_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        report = find_dupes(ctx, session, kind, min_score=min_score, limit=limit)
    if report.skipped_keys:
        common.note(
            f"{report.skipped_keys} matching keys were shared by too many records to compare "
            "(a switchboard number, a very common name) and were skipped"
        )
    if fmt == "json":
        from crm_cli.render.output import write_json

        write_json(report.pairs)
        return
    common.emit_listing(report.pairs, _columns(), fmt)
    if fmt == "table" and report.pairs:
        noun = "contact" if kind == "contacts" else "company"
        best = report.pairs[0]
        common.note(
            f"{len(report.pairs)} pairs; merge one with `crm {noun} merge "
            f"{best['first']['id']} {best['second']['id']}`, or keep it with "
            f"`crm dupes ignore {best['first']['id']} {best['second']['id']}"
            f"{' --companies' if noun == 'company' else ''}`"
        )


def _ignore(kind: str, first: str, second: str, json_: bool) -> None:
    from crm_cli.services.dupes import ignore_pair

    ctx = common.context()
    with ctx.session() as session:
        record = ignore_pair(ctx, session, kind, first, second)
    if json_:
        from crm_cli.render.output import write_json

        write_json(record)
        return
    a, b = record["first"], record["second"]
    verb = "Keeping" if record["created"] else "Already keeping"
    common.done(
        f"{verb} {record['kind']}s {a['id']} ({a['name']}) and {b['id']} ({b['name']}) separate"
    )


@app.command("contacts")
def contacts(
    min_score: MinScoreOpt = 50,
    limit: LimitOpt = None,
    ignore: IgnoreOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
) -> None:
    """List contacts that are likely the same person, best match first.

    Example: crm dupes contacts --min-score 60 --json
    """
    if ignore:
        _ignore("contacts", ignore[0], ignore[1], json_)
        return
    _list("contacts", min_score, limit, json_, csv_)


@app.command("companies")
def companies(
    min_score: MinScoreOpt = 50,
    limit: LimitOpt = None,
    ignore: IgnoreOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
) -> None:
    """List companies that are likely the same, best match first.

    Example: crm dupes companies --limit 20
    """
    if ignore:
        _ignore("companies", ignore[0], ignore[1], json_)
        return
    _list("companies", min_score, limit, json_, csv_)


@app.command("ignore")
def ignore_(
    first: Annotated[str, typer.Argument(help=FIRST_HELP)],
    second: Annotated[str, typer.Argument(help="The other one.")],
    companies_: CompaniesOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Mark two records as not duplicates: `crm dupes` stops listing the pair.

    Example: crm dupes ignore 12 31
    """
    _ignore("companies" if companies_ else "contacts", first, second, json_)


@app.command("unignore")
def unignore(
    first: Annotated[str, typer.Argument(help=FIRST_HELP)],
    second: Annotated[str, typer.Argument(help="The other one.")],
    companies_: CompaniesOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Forget that two records were kept separate: `crm dupes` may list them again.

    Example: crm dupes unignore 12 31
    """
    from crm_cli.services.dupes import unignore_pair

    ctx = common.context()
    with ctx.session() as session:
        record = unignore_pair(
            ctx, session, "companies" if companies_ else "contacts", first, second
        )
    if json_:
        from crm_cli.render.output import write_json

        write_json(record)
        return
    common.done(
        f"Forgot that {record['kind']}s {record['first']['id']} and "
        f"{record['second']['id']} are separate"
    )


@app.command("ignored")
def ignored(
    companies_: Annotated[
        bool, typer.Option("--companies", help="Only pairs of companies.")
    ] = False,
    contacts_: Annotated[bool, typer.Option("--contacts", help="Only pairs of contacts.")] = False,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
) -> None:
    """List the pairs marked as not duplicates.

    Example: crm dupes ignored --json
    """
    from crm_cli.render.output import Column
    from crm_cli.services.dupes import ignored_pairs

    kind = "companies" if companies_ and not contacts_ else "contacts" if contacts_ else None
    fmt = common.output_format(json_, csv_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        rows = ignored_pairs(ctx, session, None if companies_ and contacts_ else kind)
    if fmt == "json":
        from crm_cli.render.output import write_json

        write_json(rows)
        return

    def side(value: dict[str, Any]) -> str:
        return f"{value['id']} {value['name'] or ''}".strip()

    common.emit_listing(
        rows,
        [
            Column("kind", "Kind"),
            Column("first", "First", side),
            Column("second", "Second", side),
            Column("created_at", "Since"),
        ],
        fmt,
    )


# --- merge: the body of `crm contact merge` and `crm company merge` ---------------------------


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """The plan as a person reads it: one line per change, conflicts marked."""
    from crm_cli.render.output import text_of

    kind = plan["kind"]
    others = ", ".join(f"{kind} {o['id']} ({o['name']})" for o in plan["others"])
    lines = [f"Merge {others} into {kind} {plan['keep']['id']} ({plan['keep']['name']}):"]
    for f in plan["fields"]:
        if f["conflict"]:
            winner = "kept" if not f["changed"] else f"from {kind} {f['from']}"
            lines.append(
                f"  {f['field']}: conflict, {text_of(f['keep'])!r} here, "
                f"{text_of(f['other'])!r} on {kind} {f['from']} -> {text_of(f['result'])!r} "
                f"({winner})"
            )
        else:
            lines.append(
                f"  {f['field']}: empty here -> {text_of(f['result'])!r} (from {kind} {f['from']})"
            )
    for name in ("emails", "phones", "tags"):
        for item in plan.get(name, []):
            lines.append(f"  {name}: + {item['value']} (from {kind} {item['from']})")
    for table, ids in plan["moved"].items():
        if ids:
            shown = ", ".join(str(i) for i in ids[:10]) + (", ..." if len(ids) > 10 else "")
            lines.append(f"  moves {len(ids)} {table.replace('_', ' ')}: {shown}")
    removed = ", ".join(str(o["id"]) for o in plan["others"])
    lines.append(f"  then removes {kind} {removed} (restorable; `crm undo` reverts the merge)")
    return lines


def run_merge(
    kind: str,
    keep: str,
    others: list[str],
    *,
    dry_run: bool,
    prefer: str,
    json_: bool,
    yes: bool,
) -> None:
    """Plan (and show) a merge, ask unless --yes, then apply it in one transaction."""
    import sys

    from crm_cli.services import merge

    plan_fn = merge.plan_contact_merge if kind == "contact" else merge.plan_company_merge
    apply_fn = merge.merge_contacts if kind == "contact" else merge.merge_companies
    ctx = common.context()
    if dry_run or not yes:
        # Asked before the write transaction opens: nobody waits on a lock while we ask.
        with ctx.session(write=False) as session:
            planned = plan_fn(ctx, session, keep, others, prefer).as_dict()
        if dry_run:
            if json_:
                from crm_cli.render.output import write_json

                write_json({**planned, "dry_run": True})
            else:
                for line in plan_lines(planned):
                    common.done(line)
            return
        for line in plan_lines(planned):
            print(line, file=sys.stderr)
        common.confirm(f"Merge {len(planned['others'])} {kind} record(s) into {keep}?", yes)
    with ctx.session() as session:
        applied = apply_fn(ctx, session, keep, others, prefer).as_dict()
    if json_:
        from crm_cli.render.output import write_json

        write_json({**applied, "dry_run": False})
        return
    if yes:
        for line in plan_lines(applied):
            common.note(line.strip())
    merged = ", ".join(str(o["id"]) for o in applied["others"])
    common.done(
        f"Merged {kind} {merged} into {kind} {applied['keep']['id']} ({applied['keep']['name']})"
    )
