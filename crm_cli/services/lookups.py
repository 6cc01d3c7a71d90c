"""Lookups the sales services share: a deal by id, names for ids, and the filters that scope
a listing to a contact, a deal or an owner.

Kept apart from `deals` so that follow-ups, the log and feedback do not load the pipeline
rules to find a deal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.errors import NotFound
from crm_cli.services import common
from crm_cli.services.users import resolve_user, user_names
from crm_cli.store.models import Contact
from crm_cli.store.sales import Deal

if TYPE_CHECKING:
    from crm_cli.services.context import Context


def find_deal(session: Session, ref: str | int, *, removed: bool = False) -> Deal:
    """A live deal by id (a removed one with `removed=True`). In a write session its row is
    locked until the transaction ends, so moves of one deal follow each other and its stage
    history always chains."""
    deal = session.get(
        Deal, common.parse_id(str(ref), "deal"), with_for_update=common.locking(session)
    )
    if deal is None or (deal.deleted_at is not None) != removed:
        raise NotFound("removed deal" if removed else "deal", ref)
    return deal


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
        from crm_cli.services.contacts import find_contact

        conditions.append(col(model.contact_id) == find_contact(session, contact).id)
    if deal:
        conditions.append(col(model.deal_id) == find_deal(session, deal).id)
    if owner:
        conditions.append(col(model.owner_id) == resolve_user(session, owner))
    elif mine:
        conditions.append(col(model.owner_id) == ctx.user_id(session))
    return conditions
