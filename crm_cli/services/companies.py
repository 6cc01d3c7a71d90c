"""Companies: add, find, list, edit, remove and restore."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain.text import clean_line
from crm_cli.errors import Conflict, InvalidValue
from crm_cli.services import common
from crm_cli.services.contacts import reindex_contacts
from crm_cli.services.lookups import find_company, index_company, lock_in_order, lock_values
from crm_cli.services.users import resolve_user, user_names
from crm_cli.store.models import Company, CompanyTag, Contact
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from crm_cli.services.context import Context


@dataclass
class CompanyInput:
    name: str | None = None
    domain: str | None = None
    industry: str | None = None
    size: str | None = None
    address: str | None = None
    owner: str | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)
    fields: dict[str, str | None] = field(default_factory=dict)


def _clean_domain(value: str) -> str:
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://")
    domain = domain.removeprefix("www.").split("/", 1)[0]
    if not domain or "." not in domain or " " in domain:
        raise InvalidValue("domain", value, "not a domain name (e.g. acme.com)")
    return domain


def company_record(
    session: Session,
    company: Company,
    *,
    tags: list[str] | None = None,
    owner: str | None = None,
    contacts: int | None = None,
) -> dict[str, Any]:
    assert company.id is not None
    if tags is None:
        tags = common.tags_by_owner(session, CompanyTag, "company_id", [company.id])[company.id]
    if owner is None and company.owner_id is not None:
        owner = user_names(session, {company.owner_id}).get(company.owner_id)
    tz = common.zone(session)
    record = {
        "id": company.id,
        "name": company.name,
        "domain": company.domain,
        "industry": company.industry,
        "size": company.size,
        "address": company.address,
        "owner_id": company.owner_id,
        "owner": owner,
        "external_id": company.external_id,
        "tags": tags,
        "custom": dict(company.custom),
        "created_at": common.iso(company.created_at, tz),
        "updated_at": common.iso(company.updated_at, tz),
        "deleted_at": common.iso(company.deleted_at, tz),
    }
    if contacts is not None:
        record["contacts"] = contacts
    return record


def _apply(session: Session, company: Company, inp: CompanyInput) -> None:
    if inp.name is not None:
        company.name = clean_line(inp.name, "name", collapse=False)
    if inp.domain is not None:
        company.domain = _clean_domain(inp.domain) if inp.domain.strip() else None
    for attr in ("industry", "size", "address"):
        value = getattr(inp, attr)
        if value is not None:
            setattr(company, attr, clean_line(value, attr, required=False) or None)
    if inp.owner is not None:
        company.owner_id = resolve_user(session, inp.owner)
    if inp.fields:
        custom = dict(company.custom)
        for key, value in inp.fields.items():
            if value is None:
                custom.pop(key, None)
            else:
                custom[key] = value
        company.custom = custom


def _check_name_free(session: Session, name: str, company_id: int | None) -> None:
    """Two live companies never share a name (case-insensitive): a name must find one.
    Writers naming the same company take turns from here to their commit (PostgreSQL)."""
    lock_values(session, "company", [name])
    query = select(col(Company.id)).where(
        col(Company.deleted_at).is_(None),
        func.lower(col(Company.name)) == name.strip().lower(),
    )
    if company_id is not None:
        query = query.where(col(Company.id) != company_id)
    existing = session.scalar(query.limit(1))
    if existing is not None:
        raise Conflict(f"company {name.strip()!r} exists already (id {existing})")


def add_company(ctx: Context, session: Session, inp: CompanyInput) -> dict[str, Any]:
    name = clean_line(inp.name or "", "name", collapse=False)
    _check_name_free(session, name, None)
    company = Company(name=name, owner_id=ctx.user_id(session))
    _apply(session, company, inp)
    session.add(company)
    session.flush()
    assert company.id is not None
    common.set_tags(session, CompanyTag, "company_id", company.id, add=inp.add_tags)
    tags = common.tags_by_owner(session, CompanyTag, "company_id", [company.id])[company.id]
    index_company(company, tags)
    session.flush()
    return company_record(session, company, tags=tags)


def edit_company(ctx: Context, session: Session, ref: str, inp: CompanyInput) -> dict[str, Any]:
    company = find_company(session, ref)
    assert company.id is not None
    old_name = company.name
    if inp.name is not None:
        _check_name_free(session, clean_line(inp.name, "name", collapse=False), company.id)
    _apply(session, company, inp)
    common.set_tags(
        session, CompanyTag, "company_id", company.id, add=inp.add_tags, remove=inp.remove_tags
    )
    tags = common.tags_by_owner(session, CompanyTag, "company_id", [company.id])[company.id]
    index_company(company, tags)
    company.updated_at = utcnow()
    session.flush()
    if company.name != old_name:
        # Contacts are found by their company's name too: refresh their search documents.
        reindex_contacts(
            session, select(col(Contact.id)).where(col(Contact.company_id) == company.id)
        )
    return company_record(session, company, tags=tags)


def show_company(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    company = find_company(session, ref)
    record = company_record(session, company)
    people = session.execute(
        select(col(Contact.id), col(Contact.name), col(Contact.title), col(Contact.lifecycle))
        .where(col(Contact.company_id) == company.id, col(Contact.deleted_at).is_(None))
        .order_by(col(Contact.name))
    ).all()
    record["contacts"] = [
        {"id": i, "name": n, "title": t, "lifecycle": lc} for i, n, t, lc in people
    ]
    return record


@dataclass
class CompanyFilter:
    tag: str | None = None
    owner: str | None = None
    industry: str | None = None
    text: str | None = None
    removed: bool = False
    sort: str | None = None
    limit: int | None = 50
    offset: int = 0


def list_companies(ctx: Context, session: Session, flt: CompanyFilter) -> common.Page:
    query = select(Company).where(
        col(Company.deleted_at).is_not(None) if flt.removed else col(Company.deleted_at).is_(None)
    )
    if flt.tag:
        from crm_cli.store.models import Tag

        query = query.where(
            col(Company.id).in_(
                select(CompanyTag.c.company_id)
                .join(Tag, col(Tag.id) == CompanyTag.c.tag_id)
                .where(col(Tag.name) == common.clean_tag(flt.tag))
            )
        )
    if flt.owner:
        query = query.where(col(Company.owner_id) == resolve_user(session, flt.owner))
    if flt.industry:
        query = query.where(func.lower(col(Company.industry)) == flt.industry.lower())
    if flt.text:
        from crm_cli.services.search import matching

        query = query.where(matching(session, "company", flt.text))
    order = common.sort_spec(
        flt.sort,
        {
            "name": col(Company.name),
            "id": col(Company.id),
            "created": col(Company.created_at),
            "removed": col(Company.deleted_at),
            "updated": col(Company.updated_at),
            "industry": col(Company.industry),
            "domain": col(Company.domain),
        },
        # Removed records: the latest first (what was just removed is what is wanted back).
        "-removed" if flt.removed else "name",
        tie=col(Company.id),
    )
    query = query.order_by(*order).offset(flt.offset)
    return common.page_of(
        session, query, lambda part: records(session, part, with_counts=True), flt.limit
    )


def records(
    session: Session, companies: Sequence[Company], *, with_counts: bool = False
) -> list[dict[str, Any]]:
    """Records of several companies, their tags, owners (and contact counts) read at once."""
    return common.in_chunks(
        companies, lambda part: _records(session, part, with_counts=with_counts)
    )


def _records(
    session: Session, companies: Sequence[Company], *, with_counts: bool
) -> list[dict[str, Any]]:
    ids = [c.id for c in companies if c.id is not None]
    tags = common.tags_by_owner(session, CompanyTag, "company_id", ids)
    owners = user_names(session, {c.owner_id for c in companies if c.owner_id})
    counts: dict[int, int] = {}
    if with_counts and ids:
        counts = {
            int(company_id): int(n)
            for company_id, n in session.execute(
                select(col(Contact.company_id), func.count())
                .where(col(Contact.company_id).in_(ids), col(Contact.deleted_at).is_(None))
                .group_by(col(Contact.company_id))
            ).all()
            if company_id is not None
        }
    return [
        company_record(
            session,
            c,
            tags=tags[c.id],
            owner=owners.get(c.owner_id or 0),
            contacts=counts.get(c.id, 0) if with_counts else None,
        )
        for c in companies
        if c.id is not None
    ]


def remove_companies(ctx: Context, session: Session, refs: list[str]) -> list[dict[str, Any]]:
    """Soft-delete: the companies disappear from listings and search until restored."""
    lock_in_order(session, "company", refs)
    companies = [find_company(session, r) for r in refs]
    now = utcnow()
    for company in companies:
        company.deleted_at = now
        company.updated_at = now
    session.flush()
    return [{"id": c.id, "name": c.name} for c in companies]


def restore_company(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    company = find_company(session, ref, removed=True)
    lock_values(session, "company", [company.name])
    clash = session.scalar(
        select(col(Company.id)).where(
            col(Company.deleted_at).is_(None), func.lower(col(Company.name)) == company.name.lower()
        )
    )
    if clash is not None:
        raise Conflict(f"a company named {company.name!r} exists already (id {clash})")
    company.deleted_at = None
    company.updated_at = utcnow()
    session.flush()
    return company_record(session, company)
