"""`crm contact`: add, list, show, edit, tag, rm, restore."""

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

app = typer.Typer(help="People you sell to and work with.", no_args_is_help=True)

EmailOpt = Annotated[list[str] | None, typer.Option("--email", "-e", help="Email (repeatable).")]
PhoneOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--phone", "-p", help="Phone, international or in the default region's format (repeatable)."
    ),
]
TagOpt = Annotated[list[str] | None, typer.Option("--tag", "-t", help="Tag (repeatable).")]
FieldOpt = Annotated[
    list[str] | None,
    typer.Option("--field", "-f", help="Custom field key=value (repeatable; key= removes it)."),
]
CompanyOpt = Annotated[str | None, typer.Option("--company", "-c", help="Company id or name.")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Job title.")]
LifecycleOpt = Annotated[
    str | None, typer.Option("--lifecycle", "-l", help="lead, prospect, customer or churned.")
]
OwnerOpt = Annotated[str | None, typer.Option("--owner", help="Owner: user id, email or name.")]
SourceOpt = Annotated[str | None, typer.Option("--source", help="Where the contact came from.")]
CadenceOpt = Annotated[
    int | None, typer.Option("--cadence", help="Stay in touch every N days (0 turns it off).")
]


def _columns() -> list[Any]:
    from crm_cli.render.output import Column

    return [
        Column("id", "ID", justify="right"),
        Column("name", "Name"),
        Column("emails", "Email", lambda v: v[0] if v else ""),
        Column("phones", "Phone", lambda v: v[0] if v else ""),
        Column("company", "Company"),
        Column("lifecycle", "Lifecycle"),
        Column("owner", "Owner"),
        Column("tags", "Tags"),
    ]


_SHOW_FIELDS = [
    ("id", "ID"),
    ("name", "Name"),
    ("given_name", "Given name"),
    ("family_name", "Family name"),
    ("emails", "Emails"),
    ("phones", "Phones"),
    ("title", "Title"),
    ("company", "Company"),
    ("lifecycle", "Lifecycle"),
    ("source", "Source"),
    ("owner", "Owner"),
    ("tags", "Tags"),
    ("custom", "Fields"),
    ("cadence_days", "Cadence (days)"),
    ("last_contacted_at", "Last contacted"),
    ("created_at", "Created"),
    ("updated_at", "Updated"),
    ("deleted_at", "Removed"),
]


def _summary(record: dict[str, Any], verb: str) -> str:
    extra = [e for e in (record["emails"][:1] + [record.get("company")]) if e]
    return f"{verb} contact {record['id']}: {record['name']}" + (
        f" ({', '.join(extra)})" if extra else ""
    )


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Full name, as the person writes it.")],
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    company: CompanyOpt = None,
    title: TitleOpt = None,
    lifecycle: LifecycleOpt = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: TagOpt = None,
    field: FieldOpt = None,
    cadence: CadenceOpt = None,
    given: Annotated[str | None, typer.Option("--given", help="Given name, if it helps.")] = None,
    family: Annotated[str | None, typer.Option("--family", help="Family name.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Add a contact.

    Example: crm contact add "Ana Lima" --email ana@acme.com --phone "030 1234567" --company Acme
    """
    from crm_cli.services.contacts import ContactInput, add_contact

    inp = ContactInput(
        name=name,
        given_name=given,
        family_name=family,
        title=title,
        company=company,
        lifecycle=lifecycle,
        source=source,
        owner=owner,
        cadence_days=cadence,
        emails=email or [],
        phones=phone or [],
        add_tags=tag or [],
        fields=common.fields_option(field),
    )
    ctx = common.context()
    with ctx.session() as session:
        record = add_contact(ctx, session, inp)
    _result(record, "Added", json_)


def _result(record: dict[str, Any], verb: str, json_: bool) -> None:
    if json_:
        from crm_cli.render.output import write_json

        write_json(record)
    else:
        common.done(_summary(record, verb))


@app.command("list")
def list_(
    tag: TagOpt = None,
    lifecycle: LifecycleOpt = None,
    owner: OwnerOpt = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only contacts you own.")] = False,
    company: CompanyOpt = None,
    text: Annotated[str | None, typer.Option("--search", "-s", help="Only matching text.")] = None,
    removed: RemovedOpt = False,
    due: Annotated[
        bool, typer.Option("--due", help="Only stay-in-touch contacts due by tonight.")
    ] = False,
    segment: Annotated[
        str | None,
        typer.Option("--segment", help="Only this RFM segment, e.g. at-risk, champions."),
    ] = None,
    sort: SortOpt = None,
    limit: LimitOpt = None,
    all_: AllOpt = False,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    ids: IdsOpt = False,
    wide: WideOpt = False,
    columns: ColumnsOpt = None,
) -> None:
    """List contacts, by name.

    Example: crm contact list --tag vip --lifecycle customer --json
    """
    from crm_cli.services.contacts import ContactFilter, list_contacts

    fmt = common.output_format(json_, csv_, ids)
    ctx = common.context()
    with ctx.session(write=False) as session:
        flt = ContactFilter(
            tag=tag or [],
            lifecycle=lifecycle,
            owner=owner,
            company=company,
            text=text,
            removed=removed,
            sort=sort,
            limit=common.page_limit(ctx, limit, all_, fmt),
            owner_id=ctx.user_id(session) if mine else None,
            due=due,
            segment=segment,
        )
        page = list_contacts(ctx, session, flt)
        common.emit_listing(
            page.rows, _columns(), fmt, ids=ids, view=common.table_view(wide, columns)
        )
    common.page_note(page)


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="Contact id or email.")],
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Show everything about a contact: deals, follow-ups, a timeline of what happened.

    Example: crm contact show ana@acme.com
    """
    from crm_cli.render.output import emit_record
    from crm_cli.render.views import contact_sections
    from crm_cli.services.timeline import contact_360

    fmt = common.output_format(json_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        record = contact_360(ctx, session, ref)
    sections = contact_sections(record)
    view = common.table_view(wide)
    emit_record(record, _SHOW_FIELDS, fmt, sections=sections, title=record["name"], view=view)


@app.command("edit")
def edit(
    ref: Annotated[str, typer.Argument(help="Contact id or email.")],
    name: Annotated[str | None, typer.Option("--name", help="New full name.")] = None,
    email: Annotated[
        list[str] | None,
        typer.Option("--email", "-e", help="Replace all emails with these (repeatable)."),
    ] = None,
    add_email: Annotated[
        list[str] | None, typer.Option("--add-email", help="Add an email.")
    ] = None,
    rm_email: Annotated[
        list[str] | None, typer.Option("--rm-email", help="Remove an email.")
    ] = None,
    phone: Annotated[
        list[str] | None,
        typer.Option("--phone", "-p", help="Replace all phones with these (repeatable)."),
    ] = None,
    add_phone: Annotated[list[str] | None, typer.Option("--add-phone", help="Add a phone.")] = None,
    rm_phone: Annotated[
        list[str] | None, typer.Option("--rm-phone", help="Remove a phone.")
    ] = None,
    company: Annotated[
        str | None, typer.Option("--company", "-c", help='Company id or name; "" unlinks.')
    ] = None,
    title: TitleOpt = None,
    lifecycle: LifecycleOpt = None,
    owner: OwnerOpt = None,
    source: SourceOpt = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="Add a tag.")] = None,
    untag: Annotated[list[str] | None, typer.Option("--untag", help="Remove a tag.")] = None,
    field: FieldOpt = None,
    cadence: CadenceOpt = None,
    every: Annotated[
        str | None,
        typer.Option("--every", help='Stay in touch this often: 30d, 2w ("off" turns it off).'),
    ] = None,
    given: Annotated[str | None, typer.Option("--given", help="Given name.")] = None,
    family: Annotated[str | None, typer.Option("--family", help="Family name.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Change a contact; only the options given change.

    Example: crm contact edit ana@acme.com --title CTO --add-phone "+49 30 1234567"
    """
    from crm_cli.services.contacts import ContactInput, edit_contact

    if every is not None:
        from crm_cli.services.reminders import cadence_days

        cadence = cadence_days(every)
    inp = ContactInput(
        name=name,
        given_name=given,
        family_name=family,
        title=title,
        company=company,
        lifecycle=lifecycle,
        source=source,
        owner=owner,
        cadence_days=cadence,
        emails=email,
        add_emails=add_email or [],
        remove_emails=rm_email or [],
        phones=phone,
        add_phones=add_phone or [],
        remove_phones=rm_phone or [],
        add_tags=tag or [],
        remove_tags=untag or [],
        fields=common.fields_option(field),
    )
    ctx = common.context()
    with ctx.session() as session:
        record = edit_contact(ctx, session, ref, inp)
    _result(record, "Updated", json_)


# "-hot" removes the tag "hot": unknown options are tags here, and only --help is help.
@app.command(
    "tag", context_settings={"ignore_unknown_options": True, "help_option_names": ["--help"]}
)
def tag_(
    args: Annotated[
        list[str],
        typer.Argument(
            help="Contacts (id, email, name; - reads ids from stdin), then +tag / -tag."
        ),
    ],
    json_: JsonOpt = False,
) -> None:
    """Add and remove tags on one or several contacts, in one change.

    Example: crm contact tag 6 7 ana@acme.com +vip -cold
    """
    from crm_cli.errors import InvalidValue, NotFound
    from crm_cli.services.contacts import tag_contact
    from crm_cli.services.lookups import lock_in_order

    changes = [a for a in args if a != "-" and a[:1] in "+-"]
    named = [a for a in args if a == "-" or a[:1] not in "+-"]
    if not changes:
        raise InvalidValue("tags", " ".join(args), "give at least one +tag or -tag")
    refs = common.refs(named, "contact")
    ctx = common.context()
    with ctx.session() as session:
        lock_in_order(session, "contact", refs)
        records = []
        for ref in refs:
            try:
                records.append(tag_contact(ctx, session, ref, changes))
            except NotFound:
                if common.looks_like_tag(ref):
                    raise InvalidValue(
                        "contact", ref, f"no such contact; to add the tag, write +{ref}"
                    ) from None
                raise
    if json_:
        from crm_cli.render.output import write_json

        write_json(records[0] if len(records) == 1 else records)
        return
    for record in records:
        common.done(f"Tagged contact {record['id']}: {', '.join(record['tags']) or '(no tags)'}")


@app.command("rm")
def rm(
    refs: Annotated[list[str], typer.Argument(help="Contact ids or emails.")],
    yes: YesOpt = False,
) -> None:
    """Remove contacts (they can be restored). Several at once asks first.

    Example: crm contact rm 12 ana@acme.com --yes
    """
    from crm_cli.services.contacts import remove_contacts

    common.remove_records(
        refs,
        yes,
        "contacts",
        remove_contacts,
        lambda i: f"Removed contact {i['id']}: {i['name']} (undo: crm contact restore {i['id']})",
    )


@app.command("restore")
def restore(
    ref: Annotated[str, typer.Argument(help="Id or email of a removed contact.")],
    json_: JsonOpt = False,
) -> None:
    """Bring back a removed contact.

    Example: crm contact restore 12
    """
    from crm_cli.services.contacts import restore_contact

    ctx = common.context()
    with ctx.session() as session:
        record = restore_contact(ctx, session, ref)
    _result(record, "Restored", json_)


@app.command("merge")
def merge(
    keep: Annotated[str, typer.Argument(help="The contact to keep (id or email).")],
    others: Annotated[list[str], typer.Argument(help="The contacts merged into it, then removed.")],
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
    """Merge duplicate contacts into one: emails, phones, tags, fields, deals and history move.

    Example: crm contact merge 12 31 --dry-run
    """
    from crm_cli.cli.dupes import run_merge

    run_merge("contact", keep, others, dry_run=dry_run, prefer=prefer, json_=json_, yes=yes)
