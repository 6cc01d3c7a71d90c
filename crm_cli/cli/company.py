"""`crm company`: add, list, show, edit, rm, restore."""

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
    RemovedOpt,
    SortOpt,
    WideOpt,
    YesOpt,
)

app = typer.Typer(help="Organisations your contacts belong to.", no_args_is_help=True)

DomainOpt = Annotated[str | None, typer.Option("--domain", "-d", help="Web domain, e.g. acme.com.")]
IndustryOpt = Annotated[str | None, typer.Option("--industry", help="Industry.")]
SizeOpt = Annotated[str | None, typer.Option("--size", help="Size, e.g. 11-50.")]
AddressOpt = Annotated[str | None, typer.Option("--address", help="Postal address.")]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owner: user id, email or name.")]
FieldOpt = Annotated[
    list[str] | None,
    typer.Option("--field", "-f", help="Custom field key=value (repeatable; key= removes it)."),
]

_SHOW_FIELDS = [
    ("id", "ID"),
    ("name", "Name"),
    ("domain", "Domain"),
    ("industry", "Industry"),
    ("size", "Size"),
    ("address", "Address"),
    ("owner", "Owner"),
    ("tags", "Tags"),
    ("custom", "Fields"),
    ("created_at", "Created"),
    ("updated_at", "Updated"),
    ("deleted_at", "Removed"),
]


def _columns() -> list[Any]:
    from crm_cli.render.output import Column

    return [
        Column("id", "ID", justify="right"),
        Column("name", "Name"),
        Column("domain", "Domain"),
        Column("industry", "Industry"),
        Column("contacts", "Contacts", justify="right"),
        Column("owner", "Owner"),
        Column("tags", "Tags"),
    ]


def _result(record: dict[str, Any], verb: str, json_: bool) -> None:
    if json_:
        from crm_cli.render.output import write_json

        write_json(record)
    else:
        common.done(f"{verb} company {record['id']}: {record['name']}")


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Company name.")],
    domain: DomainOpt = None,
    industry: IndustryOpt = None,
    size: SizeOpt = None,
    address: AddressOpt = None,
    owner: OwnerOpt = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).")] = None,
    field: FieldOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add a company.

    Example: crm company add "Acme GmbH" --domain acme.com --industry Manufacturing
    """
    from crm_cli.services.companies import CompanyInput, add_company

    inp = CompanyInput(
        name=name,
        domain=domain,
        industry=industry,
        size=size,
        address=address,
        owner=owner,
        add_tags=tag or [],
        fields=common.fields_option(field),
    )
    ctx = common.context()
    with ctx.session() as session:
        record = add_company(ctx, session, inp)
    _result(record, "Added", json_)


@app.command("list")
def list_(
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only with this tag.")] = None,
    owner: OwnerOpt = None,
    industry: IndustryOpt = None,
    text: Annotated[str | None, typer.Option("--search", "-s", help="Only matching text.")] = None,
    removed: RemovedOpt = False,
    sort: SortOpt = None,
    limit: LimitOpt = None,
    all_: AllOpt = False,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    ids: IdsOpt = False,
    wide: WideOpt = False,
    columns: ColumnsOpt = None,
) -> None:
    """List companies, by name.

    Example: crm company list --industry Retail --csv
    """
    from crm_cli.services.companies import CompanyFilter, list_companies

    fmt = common.output_format(json_, csv_, ids)
    ctx = common.context()
    with ctx.session(write=False) as session:
        page = list_companies(
            ctx,
            session,
            CompanyFilter(
                tag=tag,
                owner=owner,
                industry=industry,
                text=text,
                removed=removed,
                sort=sort,
                limit=common.page_limit(ctx, limit, all_, fmt),
            ),
        )
        common.emit_listing(
            page.rows, _columns(), fmt, ids=ids, view=common.table_view(wide, columns)
        )
    common.page_note(page)


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="Company id or name.")],
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Show a company and its people.

    Example: crm company show Acme
    """
    from crm_cli.render.output import Column, emit_record
    from crm_cli.services.companies import show_company

    fmt = common.output_format(json_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        record = show_company(ctx, session, ref)
    people = [
        Column("id", "ID", justify="right"),
        Column("name", "Name"),
        Column("title", "Title"),
        Column("lifecycle", "Lifecycle"),
    ]
    emit_record(
        record,
        _SHOW_FIELDS,
        fmt,
        sections=[("Contacts", record["contacts"], people)],
        title=record["name"],
        view=common.table_view(wide),
    )


@app.command("edit")
def edit(
    ref: Annotated[str, typer.Argument(help="Company id or name.")],
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    domain: DomainOpt = None,
    industry: IndustryOpt = None,
    size: SizeOpt = None,
    address: AddressOpt = None,
    owner: OwnerOpt = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Add a tag.")] = None,
    untag: Annotated[list[str] | None, typer.Option("--untag", help="Remove a tag.")] = None,
    field: FieldOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change a company; only the options given change.

    Example: crm company edit Acme --industry Retail --tag key-account
    """
    from crm_cli.services.companies import CompanyInput, edit_company

    inp = CompanyInput(
        name=name,
        domain=domain,
        industry=industry,
        size=size,
        address=address,
        owner=owner,
        add_tags=tag or [],
        remove_tags=untag or [],
        fields=common.fields_option(field),
    )
    ctx = common.context()
    with ctx.session() as session:
        record = edit_company(ctx, session, ref, inp)
    _result(record, "Updated", json_)


@app.command("rm")
def rm(
    refs: Annotated[list[str], typer.Argument(help="Company ids or names.")],
    yes: YesOpt = False,
) -> None:
    """Remove companies (they can be restored). Several at once asks first.

    Example: crm company rm 7
    """
    from crm_cli.services.companies import remove_companies

    common.remove_records(
        refs,
        yes,
        "companies",
        remove_companies,
        lambda i: f"Removed company {i['id']}: {i['name']} (undo: crm company restore {i['id']})",
    )


@app.command("restore")
def restore(
    ref: Annotated[str, typer.Argument(help="Id or name of a removed company.")],
    json_: JsonOpt = False,
) -> None:
    """Bring back a removed company.

    Example: crm company restore 7
    """
    from crm_cli.services.companies import restore_company

    ctx = common.context()
    with ctx.session() as session:
        record = restore_company(ctx, session, ref)
    _result(record, "Restored", json_)


@app.command("merge")
def merge(
    keep: Annotated[str, typer.Argument(help="The company to keep (id or name).")],
    others: Annotated[
        list[str], typer.Argument(help="The companies merged into it, then removed.")
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; change nothing.")
    ] = False,
    prefer: Annotated[
        str,
        typer.Option("--prefer", help="Who wins a conflicting field: keep (default) or other."),
    ] = "keep",
    json_: JsonOpt = False,
    yes: YesOpt = False,
) -> None:
    """Merge duplicate companies into one: contacts, deals, tags and fields move.

    Example: crm company merge 3 8 --dry-run
    """
    from crm_cli.cli.dupes import run_merge

    run_merge("company", keep, others, dry_run=dry_run, prefer=prefer, json_=json_, yes=yes)
