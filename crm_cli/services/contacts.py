"""Contacts: add, find, list, edit, tag, remove and restore.

A contact is referred to by id or by any of its email addresses (or, when unique, its exact
name). Emails are unique across contacts, so an address always points at one person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain.contactinfo import national_digits, normalize_email, normalize_phone
from crm_cli.domain.text import clean_line, index_tokens, phone_tokens
from crm_cli.errors import Conflict, InvalidValue
from crm_cli.services import common
from crm_cli.services.lookups import (
    company_for_link,
    find_company,
    find_contact,
    lock_in_order,
    lock_values,
)
from crm_cli.services.users import resolve_user, user_names
from crm_cli.store.models import Company, Contact, ContactEmail, ContactPhone, ContactTag, Tag
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from sqlalchemy.sql import Select

    from crm_cli.services.context import Context

LIFECYCLES = ("lead", "prospect", "customer", "churned")


@dataclass
class ContactInput:
    """What `add` sets or `edit` changes. None means "leave as it is"."""

    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    title: str | None = None
    company: str | None = None  # id or name; "" unlinks
    lifecycle: str | None = None
    source: str | None = None
    owner: str | None = None
    cadence_days: int | None = None
    emails: list[str] | None = None  # replaces all
    add_emails: list[str] = field(default_factory=list)
    remove_emails: list[str] = field(default_factory=list)
    phones: list[str] | None = None  # replaces all
    add_phones: list[str] = field(default_factory=list)
    remove_phones: list[str] = field(default_factory=list)
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    fields: dict[str, str | None] = field(default_factory=dict)


def check_lifecycle(value: str) -> str:
    stage = value.strip().lower()
    if stage not in LIFECYCLES:
        raise InvalidValue("lifecycle", value, f"must be one of {', '.join(LIFECYCLES)}")
    return stage


def _emails(values: list[str]) -> list[str]:
    result: list[str] = []
    for value in values:
        address = normalize_email(value).lower()
        if address not in result:
            result.append(address)
    return result


def _phones(values: list[str], region: str | None) -> list[str]:
    result: list[str] = []
    for value in values:
        number = normalize_phone(value, region)
        if number not in result:
            result.append(number)
    return result


@dataclass
class _Details:
    emails: dict[int, list[str]]
    phones: dict[int, list[str]]
    tags: dict[int, list[str]]
    companies: dict[int, str]
    owners: dict[int, str]
    tz: tzinfo
    # The label of each labelled email or phone (`work`, `home`), by contact and value: read
    # with the values, in the same query.
    email_labels: dict[int, dict[str, str]] = field(default_factory=dict)
    phone_labels: dict[int, dict[str, str]] = field(default_factory=dict)


def _details(session: Session, contacts: list[Contact]) -> _Details:
    ids = [c.id for c in contacts if c.id is not None]
    emails: dict[int, list[str]] = {i: [] for i in ids}
    phones: dict[int, list[str]] = {i: [] for i in ids}
    email_labels: dict[int, dict[str, str]] = {}
    phone_labels: dict[int, dict[str, str]] = {}
    if ids:
        for cid, email, label in session.execute(
            select(ContactEmail.c.contact_id, ContactEmail.c.email, ContactEmail.c.label)
            .where(ContactEmail.c.contact_id.in_(ids))
            .order_by(ContactEmail.c.position, ContactEmail.c.id)
        ):
            emails[cid].append(email)
            if label:
                email_labels.setdefault(cid, {})[email] = label
        for cid, phone, label in session.execute(
            select(ContactPhone.c.contact_id, ContactPhone.c.phone, ContactPhone.c.label)
            .where(ContactPhone.c.contact_id.in_(ids))
            .order_by(ContactPhone.c.position, ContactPhone.c.id)
        ):
            phones[cid].append(phone)
            if label:
                phone_labels.setdefault(cid, {})[phone] = label
    company_ids = {c.company_id for c in contacts if c.company_id}
    companies = (
        dict(
            session.execute(
                select(col(Company.id), col(Company.name)).where(col(Company.id).in_(company_ids))
            ).all()
        )
        if company_ids
        else {}
    )
    return _Details(
        emails,
        phones,
        common.tags_by_owner(session, ContactTag, "contact_id", ids),
        {int(k): str(v) for k, v in companies.items() if k is not None},
        user_names(session, {c.owner_id for c in contacts if c.owner_id}),
        common.zone(session),
        email_labels,
        phone_labels,
    )


def contact_record(contact: Contact, details: _Details) -> dict[str, Any]:
    cid = contact.id
    assert cid is not None
    return {
        "id": cid,
        "name": contact.name,
        "given_name": contact.given_name,
        "family_name": contact.family_name,
        "emails": details.emails.get(cid, []),
        "phones": details.phones.get(cid, []),
        # Beside the lists of strings scripts already read: the labelled values' labels.
        "email_labels": dict(details.email_labels.get(cid, {})),
        "phone_labels": dict(details.phone_labels.get(cid, {})),
        "title": contact.title,
        "company_id": contact.company_id,
        "company": details.companies.get(contact.company_id or 0),
        "lifecycle": contact.lifecycle,
        "source": contact.source,
        "owner_id": contact.owner_id,
        "owner": details.owners.get(contact.owner_id or 0),
        "external_id": contact.external_id,
        "tags": details.tags.get(cid, []),
        "custom": dict(contact.custom),
        "cadence_days": contact.cadence_days,
        "last_contacted_at": common.iso(contact.last_contacted_at, details.tz),
        "created_at": common.iso(contact.created_at, details.tz),
        "updated_at": common.iso(contact.updated_at, details.tz),
        "deleted_at": common.iso(contact.deleted_at, details.tz),
    }


def records(session: Session, contacts: Sequence[Contact]) -> list[dict[str, Any]]:
    return common.in_chunks(contacts, lambda part: _records(session, part))


def _records(session: Session, contacts: Sequence[Contact]) -> list[dict[str, Any]]:
    details = _details(session, list(contacts))
    return [contact_record(c, details) for c in contacts]


def search_columns(
    names: tuple[str | None, ...],
    emails: list[str],
    phones: list[str],
    others: tuple[str | None, ...],
    custom: dict[str, Any],
    tags: list[str],
) -> tuple[str, str]:
    """`search_name` and `search_doc` of a contact: the tokens search matches against."""
    return index_tokens(*names), index_tokens(
        *emails,
        *[t for p in phones for t in phone_tokens(p, national_digits(p))],
        *others,
        *[str(v) for v in custom.values()],
        *tags,
    )


def _index(contact: Contact, details: _Details) -> None:
    cid = contact.id or 0
    contact.search_name, contact.search_doc = search_columns(
        (contact.name, contact.given_name, contact.family_name),
        details.emails.get(cid, []),
        details.phones.get(cid, []),
        (contact.title, details.companies.get(contact.company_id or 0), contact.source),
        contact.custom,
        details.tags.get(cid, []),
    )


def reindex_contacts(session: Session, ids_query: Select[Any]) -> None:
    contacts = list(session.scalars(select(Contact).where(col(Contact.id).in_(ids_query))))
    details = _details(session, contacts)
    for contact in contacts:
        _index(contact, details)
    session.flush()


def _check_emails_free(session: Session, emails: list[str], contact_id: int | None) -> None:
    if not emails:
        return
    # Writers adding the same email take turns from here to their commit (PostgreSQL), so
    # the second one reads the first one's contact and is refused by name, not by the index.
    lock_values(session, "email", emails)
    rows = session.execute(
        select(ContactEmail.c.email, col(Contact.id), col(Contact.name), col(Contact.deleted_at))
        .join(Contact, col(Contact.id) == ContactEmail.c.contact_id)
        .where(ContactEmail.c.email.in_(emails))
    ).all()
    for email, cid, name, deleted in rows:
        if cid == contact_id:
            continue
        if deleted is not None:
            raise Conflict(
                f"email {email!r} belongs to removed contact {cid} ({name}); "
                f"restore it with `crm contact restore {cid}`"
            )
        raise Conflict(f"email {email!r} belongs to contact {cid} ({name})")


def _apply(ctx: Context, session: Session, contact: Contact, inp: ContactInput) -> None:
    if inp.name is not None:
        contact.name = clean_line(inp.name, "name")
    for attr in ("given_name", "family_name", "title", "source"):
        value = getattr(inp, attr)
        if value is not None:
            setattr(contact, attr, clean_line(value, attr, required=False) or None)
    if inp.lifecycle is not None:
        before, after = contact.lifecycle, check_lifecycle(inp.lifecycle)
        contact.lifecycle = after
        if contact.id is not None and before != after:
            _lifecycle_event(ctx, session, contact, before, after)
    if inp.cadence_days is not None:
        if not 0 <= inp.cadence_days <= 3650:
            raise InvalidValue("cadence", inp.cadence_days, "must be from 0 to 3650 days")
        contact.cadence_days = inp.cadence_days or None
    if inp.owner is not None:
        contact.owner_id = resolve_user(session, inp.owner)
    if inp.company is not None:
        if inp.company.strip():
            contact.company_id = company_for_link(session, inp.company, ctx.user_id(session)).id
        else:
            contact.company_id = None
    if inp.fields:
        custom = dict(contact.custom)
        for key, value in inp.fields.items():
            if value is None:
                custom.pop(key, None)
            else:
                custom[key] = value
        contact.custom = custom


def _lifecycle_event(
    ctx: Context, session: Session, contact: Contact, before: str, after: str
) -> None:
    """The change on the contact's timeline, dated: what the churn report counts."""
    from crm_cli.store.sales import Event  # the sales tables only when a lifecycle changes

    session.add(
        Event(
            at=utcnow(),
            kind="lifecycle",
            detail=f"lifecycle {before} -> {after}",
            contact_id=contact.id,
            user_id=ctx.user_id(session),
        )
    )


def replace_list(
    session: Session,
    model: Any,
    column: str,
    contact_id: int,
    values: list[str],
    *,
    existing: list[str] | None = None,
    labels: dict[str, str] | None = None,
) -> None:
    """Set a contact's emails or phones to `values` (in order); `existing` is what it had,
    `labels` the labels of its values (a value it keeps keeps its label)."""
    from crm_cli.services.journal import note_list

    note_list(session, "contact", contact_id, f"{column}s", existing or [], values)
    if existing:
        session.execute(delete(model).where(model.c.contact_id == contact_id))
    if values:
        labels = labels or {}
        session.execute(
            insert(model),
            [
                {"contact_id": contact_id, column: v, "label": labels.get(v), "position": i}
                for i, v in enumerate(values)
            ],
        )


def add_contact(ctx: Context, session: Session, inp: ContactInput) -> dict[str, Any]:
    clean_line(inp.name or "", "name")  # refused before anything else is looked at
    # Validate every value before writing anything.
    emails = _emails((inp.emails or []) + inp.add_emails)
    phones = _phones((inp.phones or []) + inp.add_phones, ctx.config.phone_region)
    tags = sorted({common.clean_tag(t) for t in inp.add_tags})
    _check_emails_free(session, emails, None)
    contact = Contact(name="", owner_id=None)
    _apply(ctx, session, contact, inp)
    if contact.owner_id is None:
        contact.owner_id = ctx.user_id(session)
    # Everything the record shows is known here: build it without reading it back.
    details = _Details(
        emails={0: emails},
        phones={0: phones},
        tags={0: tags},
        companies=_company_names(session, contact.company_id),
        owners=user_names(session, {contact.owner_id}),
        tz=common.zone(session),
    )
    _index(contact, details)
    session.add(contact)
    session.flush()
    assert contact.id is not None
    for mapping in (details.emails, details.phones, details.tags):
        mapping[contact.id] = mapping.pop(0)
    replace_list(session, ContactEmail, "email", contact.id, emails)
    replace_list(session, ContactPhone, "phone", contact.id, phones)
    common.set_tags(session, ContactTag, "contact_id", contact.id, add=tags)
    return contact_record(contact, details)


def _company_names(session: Session, company_id: int | None) -> dict[int, str]:
    if company_id is None:
        return {}
    name = session.scalar(select(col(Company.name)).where(col(Company.id) == company_id))
    return {company_id: str(name)} if name is not None else {}


def edit_contact(ctx: Context, session: Session, ref: str, inp: ContactInput) -> dict[str, Any]:
    contact = find_contact(session, ref)
    assert contact.id is not None
    current = _details(session, [contact])
    region = ctx.config.phone_region
    emails = current.emails[contact.id] if inp.emails is None else _emails(inp.emails)
    emails = emails + [e for e in _emails(inp.add_emails) if e not in emails]
    drop = set(_emails(inp.remove_emails))
    missing = drop - set(emails)
    if missing:
        raise InvalidValue("email", sorted(missing)[0], f"contact {contact.id} has no such email")
    emails = [e for e in emails if e not in drop]
    phones = current.phones[contact.id] if inp.phones is None else _phones(inp.phones, region)
    phones = phones + [p for p in _phones(inp.add_phones, region) if p not in phones]
    drop_phones = set(_phones(inp.remove_phones, region))
    if drop_phones - set(phones):
        raise InvalidValue("phone", inp.remove_phones[0], f"contact {contact.id} has no such phone")
    phones = [p for p in phones if p not in drop_phones]
    _check_emails_free(session, emails, contact.id)
    _apply(ctx, session, contact, inp)
    if emails != current.emails[contact.id]:
        replace_list(
            session,
            ContactEmail,
            "email",
            contact.id,
            emails,
            existing=current.emails[contact.id],
            labels=current.email_labels.get(contact.id),
        )
    if phones != current.phones[contact.id]:
        replace_list(
            session,
            ContactPhone,
            "phone",
            contact.id,
            phones,
            existing=current.phones[contact.id],
            labels=current.phone_labels.get(contact.id),
        )
    common.set_tags(
        session, ContactTag, "contact_id", contact.id, add=inp.add_tags, remove=inp.remove_tags
    )
    contact.updated_at = utcnow()
    details = _details(session, [contact])
    _index(contact, details)
    session.flush()
    return contact_record(contact, details)


@dataclass
class ContactFilter:
    tag: list[str] = field(default_factory=list)
    lifecycle: str | None = None
    owner: str | None = None
    owner_id: int | None = None
    company: str | None = None
    text: str | None = None
    removed: bool = False
    sort: str | None = None
    limit: int | None = 50
    offset: int = 0
    due: bool = False  # only stay-in-touch contacts due by the end of today
    segment: str | None = None  # an RFM segment of `crm report segments` (docs/reports.md)


def _segment_members(ctx: Context, session: Session, segment: str) -> Any:
    """The ids of the contacts in an RFM segment, over all time, by the same rule as the
    segments report (reports/customers.py)."""
    from crm_cli.reports import base, customers

    known = {customers.slug(s): s for s in customers.ORDER}
    name = known.get(customers.slug(segment.strip().lower()))
    if name is None:
        raise InvalidValue("segment", segment, "expected one of " + ", ".join(known))
    period = base.Period(None, None, ctx.tz)
    run = base.Runner(session)
    currency = customers.main_currency(run, period)
    if currency is None:
        return select(col(Contact.id)).where(col(Contact.id).is_(None))
    return customers.segment_members(run, period, currency, name)


def list_contacts(ctx: Context, session: Session, flt: ContactFilter) -> common.Page:
    query = contact_query(ctx, session, flt)
    return common.page_of(session, query, lambda part: _records(session, part), flt.limit)


def contact_query(ctx: Context, session: Session, flt: ContactFilter) -> Select[Any]:
    """select(Contact) with `flt`'s conditions, in the listing's order (from its offset, no
    row cap): what `list_contacts` lists and `crm export contacts` writes."""
    query = select(Contact).where(
        col(Contact.deleted_at).is_not(None) if flt.removed else col(Contact.deleted_at).is_(None)
    )
    for tag in flt.tag:
        query = query.where(
            col(Contact.id).in_(
                select(ContactTag.c.contact_id)
                .join(Tag, col(Tag.id) == ContactTag.c.tag_id)
                .where(col(Tag.name) == common.clean_tag(tag))
            )
        )
    if flt.lifecycle:
        query = query.where(col(Contact.lifecycle) == check_lifecycle(flt.lifecycle))
    if flt.owner:
        query = query.where(col(Contact.owner_id) == resolve_user(session, flt.owner))
    if flt.owner_id is not None:
        query = query.where(col(Contact.owner_id) == flt.owner_id)
    if flt.company:
        query = query.where(col(Contact.company_id) == find_company(session, flt.company).id)
    if flt.text:
        from crm_cli.services.search import matching

        query = query.where(matching(session, "contact", flt.text))
    if flt.segment:
        query = query.where(col(Contact.id).in_(_segment_members(ctx, session, flt.segment)))
    if flt.due:
        from crm_cli.services.reminders import due_contacts, end_of_today

        due = due_contacts(ctx, session, None, end_of_today(ctx))
        query = query.where(col(Contact.id).in_([c.id for c, _ in due]))
    order = common.sort_spec(
        flt.sort,
        {
            "name": col(Contact.name),
            "id": col(Contact.id),
            "created": col(Contact.created_at),
            "removed": col(Contact.deleted_at),
            "updated": col(Contact.updated_at),
            "lifecycle": col(Contact.lifecycle),
            "last_contacted": col(Contact.last_contacted_at),
        },
        # Removed records: the latest first (what was just removed is what is wanted back).
        "-removed" if flt.removed else "name",
        tie=col(Contact.id),
    )
    return query.order_by(*order).offset(flt.offset)


def tag_contact(ctx: Context, session: Session, ref: str, changes: list[str]) -> dict[str, Any]:
    """Apply `+tag` / `-tag` changes (a bare name adds)."""
    add, remove = [], []
    for change in changes:
        if change.startswith("-"):
            remove.append(change[1:])
        else:
            add.append(change.removeprefix("+"))
    contact = find_contact(session, ref)
    assert contact.id is not None
    common.set_tags(session, ContactTag, "contact_id", contact.id, add=add, remove=remove)
    contact.updated_at = utcnow()
    details = _details(session, [contact])
    _index(contact, details)
    session.flush()
    return contact_record(contact, details)


def remove_contacts(ctx: Context, session: Session, refs: list[str]) -> list[dict[str, Any]]:
    lock_in_order(session, "contact", refs)
    contacts = [find_contact(session, r) for r in refs]
    now = utcnow()
    for contact in contacts:
        contact.deleted_at = now
        contact.updated_at = now
    session.flush()
    return [{"id": c.id, "name": c.name} for c in contacts]


def restore_contact(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    contact = find_contact(session, ref, removed=True)
    contact.deleted_at = None
    contact.updated_at = utcnow()
    session.flush()
    return records(session, [contact])[0]
