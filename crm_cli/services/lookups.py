"""Finding records by what people call them: a contact by id, email or name, a company by
id, name or domain (created on first mention where a link needs one), a deal by id; names
for ids; the filters that scope a listing to a contact, a deal or an owner.

Every service that refers to another record's kind finds it here, so the services of the
kinds do not import each other (contacts and companies did, both ways). In a write session
each lookup locks the row it finds (`common.locking`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain.text import clean_line, index_tokens
from crm_cli.errors import InvalidValue, NotFound
from crm_cli.services import common
from crm_cli.services.users import resolve_user, user_names
from crm_cli.store.models import Company, Contact, ContactEmail

if TYPE_CHECKING:
    from crm_cli.services.context import Context
    from crm_cli.store.sales import Deal


def lock_in_order(session: Session, table: str, refs: list[str]) -> None:
    """Lock the records named by id among `refs`, in id order, before a command changes
    several of them. Two commands naming the same records in different orders
    (`deal move 3 7` and `deal won 7 3`) then queue instead of deadlocking."""
    if not common.locking(session):
        return
    ids = sorted({n for n in (common.id_of(r) for r in refs) if n})
    if len(ids) < 2:
        return
    from sqlalchemy import column
    from sqlalchemy import table as table_clause

    rows = table_clause(table, column("id"))
    session.execute(
        select(rows.c.id).where(rows.c.id.in_(ids)).order_by(rows.c.id).with_for_update()
    ).all()


def find_deal(session: Session, ref: str | int, *, removed: bool = False) -> Deal:
    """A live deal by id (a removed one with `removed=True`). In a write session its row is
    locked until the transaction ends, so moves of one deal follow each other and its stage
    history always chains."""
    from crm_cli.store.sales import Deal  # not at import: contact commands skip the sales tables

    deal = session.get(
        Deal, common.parse_id(str(ref), "deal"), with_for_update=common.locking(session)
    )
    if deal is None or (deal.deleted_at is not None) != removed:
        raise NotFound("removed deal" if removed else "deal", ref)
    return deal


def find_contact(session: Session, ref: str, *, removed: bool = False) -> Contact:
    text = str(ref).strip()
    contact: Contact | None = None
    number = common.id_of(text)
    if number is not None:
        contact = session.get(Contact, number, with_for_update=common.locking(session))
    elif "@" in text:
        query = (
            select(Contact)
            .join(ContactEmail, ContactEmail.c.contact_id == col(Contact.id))
            .where(ContactEmail.c.email == text.lower())
        )
        if common.locking(session):
            query = query.with_for_update(of=Contact)
        contact = session.scalar(query)
    elif text:
        live = (
            col(Contact.deleted_at).is_not(None) if removed else col(Contact.deleted_at).is_(None)
        )
        by_name = select(Contact).where(live, func.lower(col(Contact.name)) == text.lower())
        if common.locking(session):
            by_name = by_name.with_for_update()
        matches = session.scalars(by_name.limit(3)).all()
        if len(matches) > 1:
            ids = ", ".join(str(c.id) for c in matches)
            raise InvalidValue(
                "contact", ref, f"several contacts have this name (ids {ids}); use an id or email"
            )
        contact = matches[0] if matches else None
    if contact is None or (contact.deleted_at is not None) != removed:
        raise NotFound("removed contact" if removed else "contact", ref)
    return contact


def index_company(company: Company, tags: list[str]) -> None:
    company.search_name = index_tokens(company.name)
    company.search_doc = index_tokens(
        company.domain,
        company.industry,
        company.address,
        *[str(v) for v in company.custom.values()],
        *tags,
    )


def find_company(session: Session, ref: str, *, removed: bool = False) -> Company:
    """A company by id or by name (case-insensitive)."""
    text = ref.strip()
    live = col(Company.deleted_at).is_not(None) if removed else col(Company.deleted_at).is_(None)
    number = common.id_of(text)
    if number is not None:
        company = session.get(Company, number, with_for_update=common.locking(session))
        if company is None or (company.deleted_at is not None) != removed:
            raise NotFound("removed company" if removed else "company", ref)
        return company
    lock = common.locking(session)
    by_name = select(Company).where(live, func.lower(col(Company.name)) == text.lower())
    matches = session.scalars((by_name.with_for_update() if lock else by_name).limit(3)).all()
    if not matches:
        by_domain = select(Company).where(live, col(Company.domain) == text.lower())
        matches = session.scalars(
            (by_domain.with_for_update() if lock else by_domain).limit(3)
        ).all()
    if not matches:
        raise NotFound("removed company" if removed else "company", ref)
    if len(matches) > 1:
        ids = ", ".join(str(c.id) for c in matches)
        raise InvalidValue(
            "company", ref, f"several companies have this name (ids {ids}); use an id"
        )
    return matches[0]


def company_for_link(session: Session, ref: str, owner_id: int | None) -> Company:
    """The company a contact or deal should point at: found by id or name, or created by name."""
    try:
        return find_company(session, ref)
    except NotFound:
        if common.id_of(ref) is not None:
            raise
    company = Company(name=clean_line(ref, "company", collapse=False), owner_id=owner_id)
    index_company(company, [])
    session.add(company)
    session.flush()
    return company


def contact_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(col(Contact.id), col(Contact.name)).where(col(Contact.id).in_(wanted))
    )
    return {int(i or 0): str(n) for i, n in rows}


def deal_titles(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    from crm_cli.store.sales import Deal

    rows = session.execute(select(col(Deal.id), col(Deal.title)).where(col(Deal.id).in_(wanted)))
    return {int(i or 0): str(t) for i, t in rows}


def owner_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    return user_names(session, {i for i in ids if i is not None})


def scope(
    ctx: Context,
    session: Session,
    model: Any,
    *,
    contact: str | None = None,
    deal: str | None = None,
    owner: str | None = None,
    mine: bool = False,
) -> list[ColumnElement[bool]]:
    """Conditions for `--contact`, `--deal`, `--owner` and `--mine` on a table that has
    contact_id, deal_id and owner_id columns; unknown references raise NotFound."""
    conditions: list[ColumnElement[bool]] = []
    if contact:
        conditions.append(col(model.contact_id) == find_contact(session, contact).id)
    if deal:
        conditions.append(col(model.deal_id) == find_deal(session, deal).id)
    if owner:
        conditions.append(col(model.owner_id) == resolve_user(session, owner))
    elif mine:
        conditions.append(col(model.owner_id) == ctx.user_id(session))
    return conditions
