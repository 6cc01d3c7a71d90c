"""The interaction log: every call, email, meeting, message and note with a contact.

The log is the record of what happened, so an interaction cannot be logged in the future
(plans are follow-ups). Logging one moves the contact's `last_contacted_at` forward, never
back; it drives stay-in-touch reminders and the "last contacted" column, so it is kept on the
contact rather than computed from the log on every read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain import dates
from crm_cli.domain.text import clean_line
from crm_cli.errors import InvalidValue, NotFound
from crm_cli.services import common
from crm_cli.services.lookups import (
    contact_names,
    deal_titles,
    find_deal,
    lock_ids,
    lock_in_order,
    owner_names,
    scope,
)
from crm_cli.services.users import resolve_user
from crm_cli.store.models import Contact
from crm_cli.store.sales import Interaction
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from sqlalchemy.sql import Select

    from crm_cli.services.context import Context

KINDS = ("call", "email", "meeting", "message", "note")
DIRECTIONS = ("in", "out")
# Clocks of two machines sharing a database disagree a little; "now" on one is not refused as
# "in the future" on the other.
_CLOCK_SLACK = timedelta(minutes=5)
# A long email thread pasted as the body is normal; a body past this is a mistake.
MAX_BODY = 5_000_000


@dataclass
class InteractionInput:
    kind: str
    contact: str
    summary: str
    at: str | None = None  # WHEN; default now
    deal: str | None = None
    direction: str | None = None
    body: str | None = None
    owner: str | None = None


def check_kind(value: str) -> str:
    kind = value.strip().lower()
    if kind not in KINDS:
        raise InvalidValue("kind", value, f"must be one of {', '.join(KINDS)}")
    return kind


def check_direction(value: str) -> str:
    direction = value.strip().lower()
    if direction not in DIRECTIONS:
        raise InvalidValue("direction", value, "must be in or out")
    return direction


def _check_text(field: str, value: str) -> str:
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL; refusing is better than silently cutting.
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise InvalidValue(field, shown, "contains NUL characters (binary data?)")
    return value


def find_interaction(session: Session, ref: str | int) -> Interaction:
    interaction = session.get(Interaction, common.parse_id(str(ref), "interaction"))
    if interaction is None or interaction.deleted_at is not None:
        raise NotFound("interaction", ref)
    return interaction


def interaction_records(
    ctx: Context, session: Session, interactions: Sequence[Interaction]
) -> list[dict[str, Any]]:
    """Plain records of interactions, times in the user's zone (docs/log.md)."""
    return common.in_chunks(interactions, lambda part: _interaction_records(ctx, session, part))


def _interaction_records(
    ctx: Context, session: Session, interactions: Sequence[Interaction]
) -> list[dict[str, Any]]:
    tz = ctx.tz
    contacts = contact_names(session, {i.contact_id for i in interactions})
    deals = deal_titles(session, {i.deal_id for i in interactions})
    owners = owner_names(session, {i.owner_id for i in interactions})
    return [
        {
            "id": i.id,
            "kind": i.kind,
            "direction": i.direction,
            "occurred_at": dates.iso(i.occurred_at, tz),
            "summary": i.summary,
            "body": i.body,
            "contact_id": i.contact_id,
            "contact": contacts.get(i.contact_id or 0),
            "deal_id": i.deal_id,
            "deal": deals.get(i.deal_id or 0),
            "owner_id": i.owner_id,
            "owner": owners.get(i.owner_id or 0),
            "created_at": dates.iso(i.created_at, tz),
        }
        for i in interactions
    ]


def log_interaction(ctx: Context, session: Session, inp: InteractionInput) -> dict[str, Any]:
    """Record an interaction and move the contact's last-contacted time forward."""
    from crm_cli.services.lookups import find_contact

    kind = check_kind(inp.kind)
    summary = clean_line(
        _check_text("summary", inp.summary), "summary", max_len=2000, required=False
    )
    if not summary:
        raise InvalidValue("summary", inp.summary, "must not be empty")
    now = utcnow()
    occurred = now
    if inp.at is not None:
        occurred = dates.parse_when(inp.at, ctx.tz, field="at", settings=ctx.config.date_settings)
        if occurred > now + _CLOCK_SLACK:
            raise InvalidValue(
                "at",
                inp.at,
                "is in the future; the log records what happened (plan it with `crm followup add`)",
            )
    direction = check_direction(inp.direction) if inp.direction is not None else None
    # Kept exactly as given (an email's CRLFs included): the terminal shows its control
    # characters escaped, and an export gives back what came in.
    body = _check_text("body", inp.body) if inp.body else None
    if body is not None and len(body) > MAX_BODY:
        raise InvalidValue("body", body, f"too long ({len(body)} characters; at most {MAX_BODY})")
    # Deal before contact: the order every writer locks them in (winning a deal locks its
    # contact after the deal), so two writers never wait on each other in a circle.
    deal_id = find_deal(session, inp.deal).id if inp.deal else None
    contact = find_contact(session, inp.contact)
    owner_id = resolve_user(session, inp.owner) if inp.owner else ctx.user_id(session)
    interaction = Interaction(
        kind=kind,
        direction=direction,
        occurred_at=occurred,
        summary=summary,
        body=body,
        contact_id=contact.id,
        deal_id=deal_id,
        owner_id=owner_id,
    )
    session.add(interaction)
    if contact.last_contacted_at is None or contact.last_contacted_at < occurred:
        contact.last_contacted_at = occurred
    session.flush()
    return interaction_records(ctx, session, [interaction])[0]


def show_interaction(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    return interaction_records(ctx, session, [find_interaction(session, ref)])[0]


def remove_interactions(ctx: Context, session: Session, refs: list[str]) -> list[dict[str, Any]]:
    """Soft-delete interactions. A contact whose last contact was one of them gets its
    last-contacted time back from the interactions that remain."""
    lock_in_order(session, "interaction", refs)
    interactions = [find_interaction(session, r) for r in refs]
    # Their contacts before the rollup rows the removal's triggers change: `log` takes them in
    # that order (the contact's last-contacted time is written before the interaction), so a
    # log and a removal on the same contact and day never wait on each other in a circle.
    lock_ids(session, "contact", [i.contact_id for i in interactions if i.contact_id])
    now = utcnow()
    for interaction in interactions:
        interaction.deleted_at = now
        interaction.updated_at = now
    session.flush()
    for contact_id in {i.contact_id for i in interactions if i.contact_id is not None}:
        contact = session.get(Contact, contact_id)
        removed = [i.occurred_at for i in interactions if i.contact_id == contact_id]
        if contact is None or contact.last_contacted_at not in removed:
            continue
        contact.last_contacted_at = session.scalar(
            select(func.max(col(Interaction.occurred_at))).where(
                col(Interaction.contact_id) == contact_id, col(Interaction.deleted_at).is_(None)
            )
        )
    session.flush()
    return [{"id": i.id, "kind": i.kind, "summary": i.summary} for i in interactions]


@dataclass
class InteractionFilter:
    contact: str | None = None
    deal: str | None = None
    kind: str | None = None
    since: str | None = None
    owner: str | None = None
    mine: bool = False
    limit: int | None = 50


def list_query(ctx: Context, session: Session, flt: InteractionFilter) -> Select[Any]:
    """Newest first. With --contact the (contact_id, occurred_at) index gives the order."""
    query = select(Interaction).where(col(Interaction.deleted_at).is_(None))
    query = query.where(
        *scope(
            ctx,
            session,
            Interaction,
            contact=flt.contact,
            deal=flt.deal,
            owner=flt.owner,
            mine=flt.mine,
        )
    )
    if flt.kind:
        query = query.where(col(Interaction.kind) == check_kind(flt.kind))
    if flt.since:
        since = dates.parse_since(flt.since, ctx.tz, settings=ctx.config.date_settings)
        query = query.where(col(Interaction.occurred_at) >= since)
    return query.order_by(col(Interaction.occurred_at).desc(), col(Interaction.id).desc())


def list_interactions(ctx: Context, session: Session, flt: InteractionFilter) -> common.Page:
    query = list_query(ctx, session, flt)
    return common.page_of(
        session, query, lambda part: _interaction_records(ctx, session, part), flt.limit
    )


def recent_interactions(
    ctx: Context,
    session: Session,
    *,
    contact_id: int | None = None,
    deal_id: int | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """The latest interactions with a contact or on a deal, newest first: for 360° views."""
    query = select(Interaction).where(col(Interaction.deleted_at).is_(None))
    if contact_id is not None:
        query = query.where(col(Interaction.contact_id) == contact_id)
    if deal_id is not None:
        query = query.where(col(Interaction.deal_id) == deal_id)
    query = query.order_by(col(Interaction.occurred_at).desc(), col(Interaction.id).desc()).limit(
        limit
    )
    return interaction_records(ctx, session, list(session.scalars(query)))
