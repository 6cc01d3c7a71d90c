"""The 360-degree views: everything about a contact or a deal in one record.

`contact_360` and `deal_360` gather what the other services know (deals, follow-ups,
interactions, feedback, stage changes, lifecycle events) and merge the things that happened
into one timeline, newest first. The CLI renders the result; `--json` carries all of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain import dates
from crm_cli.services import contacts, deal_views, deals, feedback, followups, interactions
from crm_cli.services.companies import company_record
from crm_cli.services.lookups import find_contact, find_deal
from crm_cli.services.pipelines import load_board
from crm_cli.services.users import user_names
from crm_cli.store.models import Company
from crm_cli.store.sales import Deal, Event, Feedback, Interaction, StageChange

if TYPE_CHECKING:
    from crm_cli.services.context import Context

TIMELINE_LIMIT = 30


def contact_360(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    contact = find_contact(session, ref)
    assert contact.id is not None
    record = contacts.records(session, [contact])[0]
    company = session.get(Company, contact.company_id) if contact.company_id else None
    record["company_detail"] = (
        company_record(session, company)
        if company is not None and company.deleted_at is None
        else None
    )
    board = load_board(session)
    all_deals = list(
        session.scalars(
            select(Deal)
            .where(col(Deal.contact_id) == contact.id, col(Deal.deleted_at).is_(None))
            .order_by(col(Deal.status), col(Deal.expected_close), col(Deal.id))
        )
    )
    deal_records = deals.records(session, all_deals, board)
    record["open_deals"] = [d for d in deal_records if d["status"] == "open"]
    record["closed_deals"] = [d for d in deal_records if d["status"] != "open"]
    record["followups"] = followups.next_followups(ctx, session, contact_id=contact.id, limit=10)
    record["interactions"] = interactions.recent_interactions(
        ctx, session, contact_id=contact.id, limit=10
    )
    record["feedback"] = feedback.feedback_for(ctx, session, contact_id=contact.id, limit=20)
    record["timeline"] = timeline(
        ctx, session, contact_id=contact.id, deal_ids=[d.id for d in all_deals if d.id]
    )
    return record


def deal_360(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    deal = find_deal(session, ref)
    assert deal.id is not None
    record = deal_views.deal_detail(ctx, session, deal.id)
    record["followups"] = followups.next_followups(ctx, session, deal_id=deal.id, limit=10)
    record["interactions"] = interactions.recent_interactions(
        ctx, session, deal_id=deal.id, limit=10
    )
    record["feedback"] = feedback.feedback_for(ctx, session, deal_id=deal.id, limit=20)
    record["timeline"] = timeline(ctx, session, contact_id=None, deal_ids=[deal.id])
    return record


def timeline(
    ctx: Context,
    session: Session,
    *,
    contact_id: int | None,
    deal_ids: list[int],
    limit: int = TIMELINE_LIMIT,
) -> list[dict[str, Any]]:
    """What happened, newest first: interactions, stage changes of the deals, lifecycle and
    other events, feedback, and follow-ups marked done."""
    tz = ctx.tz
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    board = load_board(session)
    titles = (
        dict(
            session.execute(
                select(col(Deal.id), col(Deal.title)).where(col(Deal.id).in_(deal_ids))
            ).all()
        )
        if deal_ids
        else {}
    )

    def add(
        at: datetime,
        kind: str,
        summary: str,
        *,
        by: int | None = None,
        deal_id: int | None = None,
        ref: int | None = None,
    ) -> None:
        entries.append(
            (
                at,
                len(entries),
                {
                    "at": dates.iso(at, tz),
                    "kind": kind,
                    "summary": summary,
                    "deal_id": deal_id,
                    "deal": titles.get(deal_id) if deal_id else None,
                    "by": by,
                    "id": ref,
                },
            )
        )

    scope = _scope(Interaction, contact_id, deal_ids)
    if scope is not None:
        for item in session.scalars(
            select(Interaction)
            .where(scope, col(Interaction.deleted_at).is_(None))
            .order_by(col(Interaction.occurred_at).desc())
            .limit(limit)
        ):
            direction = f" ({item.direction})" if item.direction else ""
            add(
                item.occurred_at,
                item.kind,
                f"{item.summary}{direction}",
                by=item.owner_id,
                deal_id=item.deal_id,
                ref=item.id,
            )
    if deal_ids:
        for change in session.scalars(
            select(StageChange)
            .where(col(StageChange.deal_id).in_(deal_ids))
            .order_by(col(StageChange.changed_at).desc())
            .limit(limit)
        ):
            to = board.stages[change.to_stage_id].name
            if change.from_stage_id is None:
                text = f"deal created in {to}"
            else:
                text = f"{board.stages[change.from_stage_id].name} -> {to}"
            add(
                change.changed_at,
                "stage_change",
                text,
                by=change.user_id,
                deal_id=change.deal_id,
                ref=change.id,
            )
    scope = _scope(Event, contact_id, deal_ids)
    if scope is not None:
        for event in session.scalars(
            select(Event).where(scope).order_by(col(Event.at).desc()).limit(limit)
        ):
            add(
                event.at,
                event.kind,
                event.detail,
                by=event.user_id,
                deal_id=event.deal_id,
                ref=event.id,
            )
    scope = _scope(Feedback, contact_id, deal_ids)
    if scope is not None:
        for fb in session.scalars(
            select(Feedback)
            .where(scope, col(Feedback.deleted_at).is_(None))
            .order_by(col(Feedback.created_at).desc())
            .limit(limit)
        ):
            score = f" {fb.score}" if fb.score is not None else ""
            text = f"{fb.kind}{score}" + (f": {fb.text}" if fb.text else "")
            add(
                fb.created_at,
                "feedback",
                text,
                by=fb.owner_id,
                deal_id=fb.deal_id,
                ref=fb.id,
            )
            if fb.resolved_at is not None and fb.kind == "complaint":
                add(
                    fb.resolved_at,
                    "resolved",
                    fb.resolution_note or "complaint resolved",
                    deal_id=fb.deal_id,
                    ref=fb.id,
                )
    entries.sort(key=lambda e: (e[0], e[1]), reverse=True)
    chosen = [e[2] for e in entries[:limit]]
    names = user_names(session, {e["by"] for e in chosen if e["by"] is not None})
    for entry in chosen:
        entry["by"] = names.get(entry["by"]) if entry["by"] is not None else None
    return chosen


def _scope(model: Any, contact_id: int | None, deal_ids: list[int]) -> Any:
    """Rows about the contact or any of the deals."""
    from sqlalchemy import or_

    clauses = []
    if contact_id is not None:
        clauses.append(col(model.contact_id) == contact_id)
    if deal_ids:
        clauses.append(col(model.deal_id).in_(deal_ids))
    if not clauses:
        return None
    return or_(*clauses)
