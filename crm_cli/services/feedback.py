"""Customer feedback: NPS and CSAT answers, complaints until resolved, suggestions and praise.

Scores are checked against their kind's scale when they are recorded (NPS 0-10, CSAT 1-5), so
every report can trust them; the other kinds carry text, not a score. Only complaints have a
lifecycle: they are `open` until resolved with a note. Everything else is stored `closed`:
there is nothing to do about it, and `--open` lists exactly the complaints still waiting.
The contact is optional, for anonymous survey answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain import dates
from crm_cli.errors import Conflict, InvalidValue, NotFound
from crm_cli.services import common
from crm_cli.services.lookups import (
    contact_names,
    deal_titles,
    find_deal,
    lock_in_order,
    owner_names,
    scope,
)
from crm_cli.services.users import resolve_user
from crm_cli.store.sales import Feedback
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from sqlalchemy.sql import Select

    from crm_cli.services.context import Context

KINDS = ("nps", "csat", "complaint", "suggestion", "praise")
SCALES = {"nps": (0, 10), "csat": (1, 5)}
NEEDS_TEXT = ("complaint", "suggestion", "praise")
OPEN, RESOLVED, CLOSED = "open", "resolved", "closed"


@dataclass
class FeedbackInput:
    """What `add` sets or `edit` changes. None leaves a value; "" clears a text or a link."""

    kind: str | None = None
    contact: str | None = None
    score: int | str | None = None  # text as typed is checked here, so errors name it
    text: str | None = None
    category: str | None = None
    channel: str | None = None
    deal: str | None = None
    owner: str | None = None


def check_kind(value: str) -> str:
    kind = value.strip().lower()
    if kind not in KINDS:
        raise InvalidValue("kind", value, f"must be one of {', '.join(KINDS)}")
    return kind


def check_score(kind: str, value: int | str | None) -> int | None:
    """The score if it fits the kind's scale; NPS and CSAT need one, the others take none."""
    score: int | None
    if isinstance(value, str):
        text = value.strip()
        # "4.0" is how spreadsheets and exports write a whole score; "4.5" is not one.
        whole, dot, zeros = text.partition(".")
        if dot and zeros.strip("0") == "":
            text = whole
        if not text.lstrip("-").isdigit() or len(text) > 6:
            raise InvalidValue("score", value, "not a whole number")
        score = int(text)
    else:
        score = value
    if kind in SCALES:
        low, high = SCALES[kind]
        if score is None:
            raise InvalidValue("score", "", f"{kind} feedback needs --score from {low} to {high}")
        if not low <= score <= high:
            raise InvalidValue("score", score, f"{kind} scores run from {low} to {high}")
        return score
    if score is not None:
        raise InvalidValue(
            "score", score, f"{kind} feedback has no score (only nps 0-10 and csat 1-5 do)"
        )
    return None


def _clean(field: str, value: str) -> str | None:
    if "\x00" in value:
        raise InvalidValue(field, value, "contains NUL characters (binary data?)")
    # Text customers wrote is kept as written; terminals show its control characters escaped.
    return value.strip() or None


def find_feedback(session: Session, ref: str | int, *, lock: bool = False) -> Feedback:
    item = session.get(
        Feedback, common.parse_id(str(ref), "feedback"), with_for_update=True if lock else None
    )
    if item is None or item.deleted_at is not None:
        raise NotFound("feedback", ref)
    return item


def feedback_records(
    ctx: Context, session: Session, items: Sequence[Feedback]
) -> list[dict[str, Any]]:
    """Plain records of feedback, times in the user's zone (docs/feedback.md)."""
    return common.in_chunks(items, lambda part: _feedback_records(ctx, session, part))


def _feedback_records(
    ctx: Context, session: Session, items: Sequence[Feedback]
) -> list[dict[str, Any]]:
    tz = ctx.tz
    contacts = contact_names(session, {f.contact_id for f in items})
    deals = deal_titles(session, {f.deal_id for f in items})
    owners = owner_names(session, {f.owner_id for f in items})
    return [
        {
            "id": f.id,
            "contact_id": f.contact_id,
            "contact": contacts.get(f.contact_id or 0),
            "deal_id": f.deal_id,
            "deal": deals.get(f.deal_id or 0),
            "kind": f.kind,
            "score": f.score,
            "text": f.text,
            "category": f.category,
            "status": f.status,
            "resolved_at": dates.iso(f.resolved_at, tz),
            "resolution_note": f.resolution_note,
            "channel": f.channel,
            "owner_id": f.owner_id,
            "owner": owners.get(f.owner_id or 0),
            "created_at": dates.iso(f.created_at, tz),
            "updated_at": dates.iso(f.updated_at, tz),
        }
        for f in items
    ]


def _one(ctx: Context, session: Session, item: Feedback) -> dict[str, Any]:
    return feedback_records(ctx, session, [item])[0]


def _apply(ctx: Context, session: Session, item: Feedback, inp: FeedbackInput) -> None:
    if inp.text is not None:
        item.text = _clean("text", inp.text)
    if item.kind in NEEDS_TEXT and not item.text:
        raise InvalidValue("text", inp.text or "", f"a {item.kind} needs --text")
    for field in ("category", "channel"):
        value = getattr(inp, field)
        if value is not None:
            setattr(item, field, _clean(field, value))
    if inp.contact is not None:
        if inp.contact.strip():
            from crm_cli.services.lookups import find_contact

            item.contact_id = find_contact(session, inp.contact).id
        else:
            item.contact_id = None
    if inp.deal is not None:
        item.deal_id = find_deal(session, inp.deal).id if inp.deal.strip() else None
    if inp.owner is not None:
        item.owner_id = resolve_user(session, inp.owner)


def add_feedback(ctx: Context, session: Session, inp: FeedbackInput) -> dict[str, Any]:
    kind = check_kind(inp.kind or "")
    item = Feedback(
        kind=kind,
        score=check_score(kind, inp.score),
        status=OPEN if kind == "complaint" else CLOSED,
    )
    _apply(ctx, session, item, inp)
    if item.owner_id is None:
        item.owner_id = ctx.user_id(session)
    session.add(item)
    session.flush()
    return _one(ctx, session, item)


def edit_feedback(ctx: Context, session: Session, ref: str, inp: FeedbackInput) -> dict[str, Any]:
    item = find_feedback(session, ref)
    if inp.kind is not None and check_kind(inp.kind) != item.kind:
        raise InvalidValue("kind", inp.kind, "the kind cannot change; remove and add it again")
    if inp.score is not None:
        item.score = check_score(item.kind, inp.score)
    _apply(ctx, session, item, inp)
    item.updated_at = utcnow()
    session.flush()
    return _one(ctx, session, item)


def show_feedback(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    return _one(ctx, session, find_feedback(session, ref))


def resolve_feedback(ctx: Context, session: Session, ref: str, note: str) -> dict[str, Any]:
    """Close an open complaint, saying how it was resolved."""
    item = find_feedback(session, ref, lock=True)
    text = _clean("note", note)
    if not text:
        raise InvalidValue("note", note, "say how it was resolved")
    if item.kind != "complaint":
        raise Conflict(f"feedback {item.id} is {item.kind}; only complaints are resolved")
    if item.status == RESOLVED:
        raise Conflict(f"complaint {item.id} is already resolved")
    now = utcnow()
    item.status = RESOLVED
    item.resolved_at = now
    item.resolution_note = text
    item.updated_at = now
    session.flush()
    return _one(ctx, session, item)


def reopen_feedback(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    """Open a resolved complaint again (its resolution note is kept until it is resolved)."""
    item = find_feedback(session, ref)
    if item.kind != "complaint" or item.status != RESOLVED:
        raise Conflict(f"feedback {item.id} is not a resolved complaint")
    item.status = OPEN
    item.resolved_at = None
    item.updated_at = utcnow()
    session.flush()
    return _one(ctx, session, item)


def remove_feedback(ctx: Context, session: Session, refs: list[str]) -> list[dict[str, Any]]:
    lock_in_order(session, "feedback", refs)
    items = [find_feedback(session, r) for r in refs]
    now = utcnow()
    for item in items:
        item.deleted_at = now
        item.updated_at = now
    session.flush()
    return [{"id": f.id, "kind": f.kind} for f in items]


@dataclass
class FeedbackFilter:
    open_only: bool = False
    kind: str | None = None
    contact: str | None = None
    deal: str | None = None
    since: str | None = None
    owner: str | None = None
    mine: bool = False
    limit: int | None = 50


def list_query(ctx: Context, session: Session, flt: FeedbackFilter) -> Select[Any]:
    query = select(Feedback).where(col(Feedback.deleted_at).is_(None))
    if flt.open_only:
        query = query.where(col(Feedback.status) == OPEN)
    if flt.kind:
        query = query.where(col(Feedback.kind) == check_kind(flt.kind))
    query = query.where(
        *scope(
            ctx,
            session,
            Feedback,
            contact=flt.contact,
            deal=flt.deal,
            owner=flt.owner,
            mine=flt.mine,
        )
    )
    if flt.since:
        query = query.where(
            col(Feedback.created_at)
            >= dates.parse_since(flt.since, ctx.tz, settings=ctx.config.date_settings)
        )
    return query.order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc())


def nps_summary(session: Session, query: Select[Any]) -> dict[str, Any] | None:
    """Net Promoter Score of the NPS answers among the rows `query` selects: promoters score
    9-10, passives 7-8, detractors 0-6; NPS = % promoters - % detractors (-100 to 100)."""
    rows = query.order_by(None).where(col(Feedback.kind) == "nps").subquery()
    score = rows.c.score
    counts = session.execute(
        select(
            func.count(),
            func.sum(case((score >= 9, 1), else_=0)),
            func.sum(case((score.between(7, 8), 1), else_=0)),
            func.sum(case((score <= 6, 1), else_=0)),
        ).select_from(rows)
    ).one()
    answers, promoters, passives, detractors = (int(v or 0) for v in counts)
    if not answers:
        return None
    return {
        "answers": answers,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps": round(100 * (promoters - detractors) / answers),
    }


def list_feedback(ctx: Context, session: Session, flt: FeedbackFilter) -> common.Page:
    """A page of feedback, newest first; `totals["nps"]` summarises every matching NPS answer
    (not only the page), or is None when there are none. On a page, more than COUNT_CAP
    answers are not summed (a page costs the same at any size): then `totals["nps_more"]`."""
    query = list_query(ctx, session, flt)
    answers = query.where(col(Feedback.kind) == "nps")
    if flt.limit is not None and common.count_upto(session, answers, common.COUNT_CAP)[1]:
        totals: dict[str, Any] = {"nps": None, "nps_more": common.COUNT_CAP}
    else:
        totals = {"nps": nps_summary(session, query)}
    return common.page_of(
        session, query, lambda part: feedback_records(ctx, session, part), flt.limit, totals
    )


def feedback_for(
    ctx: Context,
    session: Session,
    *,
    contact_id: int | None = None,
    deal_id: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """A contact's or a deal's feedback, newest first: for the 360° views."""
    query = select(Feedback).where(col(Feedback.deleted_at).is_(None))
    if contact_id is not None:
        query = query.where(col(Feedback.contact_id) == contact_id)
    if deal_id is not None:
        query = query.where(col(Feedback.deal_id) == deal_id)
    query = query.order_by(col(Feedback.created_at).desc(), col(Feedback.id).desc())
    if limit is not None:
        query = query.limit(limit)
    return feedback_records(ctx, session, list(session.scalars(query)))
