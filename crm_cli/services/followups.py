"""Follow-ups: the things a salesperson has promised to do, each due at a moment in time.

A follow-up is due at an instant (stored in UTC) that was typed in the owner's zone; the zone's
name is kept with it so that a repeat rule keeps the local wall-clock time across daylight
saving (a weekly 10:00 call stays at 10:00 in Berlin when the clocks go back). Snoozing moves
the moment it counts as due without changing the promised due time, so the record keeps both.

Completing a repeating follow-up closes this occurrence and creates the next one, linked by
`previous_id`: the history of a series is its chain of done occurrences.

Deals are found and names looked up through services/lookups.py, as the interaction log
and feedback do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain import dates
from crm_cli.domain.text import clean_line
from crm_cli.errors import Conflict, CrmError, InvalidValue, NotFound
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
from crm_cli.store.sales import Followup
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from sqlalchemy.sql import Select

    from crm_cli.services.context import Context

PRIORITIES = ("low", "normal", "high")
DUE_FILTERS = ("overdue", "today", "week")
NO_REPEAT = ("", "none", "never", "no")
# A repeat rule is stepped at most this often to pass the completion time (decades of a
# daily rule); beyond it the due time is a typo, not a schedule.
_MAX_STEPS = 100_000
_MAX_CHAIN = 1_000


def local_text(value: datetime, tz: ZoneInfo) -> str:
    """`Mon 2026-11-30 09:00 CET`: how a time is shown to a person. A time at the very edge
    of what Python can hold (stored before such dates were refused) is shown in UTC rather
    than failing the whole listing."""
    try:
        local = value.astimezone(tz)
    except OverflowError:
        local = value.astimezone(UTC)
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}"


# --- follow-ups -------------------------------------------------------------------------------


@dataclass
class FollowupInput:
    """What `add` sets or `edit` changes. None means "leave as it is"; for contact, deal and
    repeat an empty string removes the link or the rule."""

    title: str | None = None
    due: str | None = None
    contact: str | None = None
    deal: str | None = None
    owner: str | None = None
    priority: str | None = None
    repeat: str | None = None
    notes: str | None = None


def check_priority(value: str) -> str:
    priority = value.strip().lower()
    if priority not in PRIORITIES:
        raise InvalidValue("priority", value, f"must be one of {', '.join(PRIORITIES)}")
    return priority


def check_repeat(value: str) -> str | None:
    """The canonical text of a repeat rule (`weekly`, `every 2 weeks`), None for no rule."""
    if value.strip().lower() in NO_REPEAT:
        return None
    return str(dates.parse_repeat(value))


def find_followup(session: Session, ref: str | int, *, lock: bool = False) -> Followup:
    """A live follow-up by id. `lock` holds its row until the transaction ends (PostgreSQL;
    SQLite's write transactions are exclusive already), so two `done` cannot both repeat it."""
    followup = session.get(
        Followup, common.parse_id(str(ref), "follow-up"), with_for_update=True if lock else None
    )
    if followup is None or followup.deleted_at is not None:
        raise NotFound("follow-up", ref)
    return followup


def effective_due(followup: Followup) -> datetime:
    """When the follow-up counts as due: its due time, or later if it was snoozed."""
    snoozed = followup.snoozed_until
    return snoozed if snoozed is not None and snoozed > followup.due_at else followup.due_at


def _effective_due_sql() -> Any:
    return case(
        (col(Followup.snoozed_until) > col(Followup.due_at), col(Followup.snoozed_until)),
        else_=col(Followup.due_at),
    )


def _status(followup: Followup, now: datetime) -> str:
    if followup.done_at is not None:
        return "done"
    due = effective_due(followup)
    if due <= now:
        return "overdue"
    if followup.snoozed_until is not None and followup.snoozed_until > followup.due_at:
        return "snoozed"
    return "open"


def followup_records(
    ctx: Context, session: Session, followups: Sequence[Followup]
) -> list[dict[str, Any]]:
    """Plain records of follow-ups, times in the user's zone (docs/followups.md)."""
    return common.in_chunks(followups, lambda part: _followup_records(ctx, session, part))


def _followup_records(
    ctx: Context, session: Session, followups: Sequence[Followup]
) -> list[dict[str, Any]]:
    tz = ctx.tz
    now = utcnow()
    contacts = contact_names(session, {f.contact_id for f in followups})
    deals = deal_titles(session, {f.deal_id for f in followups})
    owners = owner_names(session, {f.owner_id for f in followups})
    result = []
    for f in followups:
        status = _status(f, now)
        result.append(
            {
                "id": f.id,
                "title": f.title,
                "due_at": dates.iso(f.due_at, tz),
                "due_local": local_text(f.due_at, tz),
                "timezone": f.timezone,
                "contact_id": f.contact_id,
                "contact": contacts.get(f.contact_id or 0),
                "deal_id": f.deal_id,
                "deal": deals.get(f.deal_id or 0),
                "owner_id": f.owner_id,
                "owner": owners.get(f.owner_id or 0),
                "priority": f.priority,
                "repeat": f.repeat,
                "notes": f.notes,
                "status": status,
                "done_at": dates.iso(f.done_at, tz),
                "snoozed_until": dates.iso(f.snoozed_until, tz),
                "overdue": status == "overdue",
                "previous_id": f.previous_id,
                "created_at": dates.iso(f.created_at, tz),
                "updated_at": dates.iso(f.updated_at, tz),
            }
        )
    return result


def _one(ctx: Context, session: Session, followup: Followup) -> dict[str, Any]:
    return followup_records(ctx, session, [followup])[0]


def _apply(ctx: Context, session: Session, followup: Followup, inp: FollowupInput) -> None:
    """Check every value and set it; raises before the caller writes anything."""
    if inp.title is not None:
        followup.title = clean_line(inp.title, "title")
    if inp.due is not None:
        tz = ctx.tz
        followup.due_at = dates.parse_when(
            inp.due, tz, field="due", settings=ctx.config.date_settings
        )
        followup.timezone = tz.key
        # A new due time is a new promise: forget the old snooze and reminder.
        followup.snoozed_until = None
        followup.reminded_at = None
    if inp.contact is not None:
        if inp.contact.strip():
            from crm_cli.services.lookups import find_contact

            followup.contact_id = find_contact(session, inp.contact).id
        else:
            followup.contact_id = None
    if inp.deal is not None:
        followup.deal_id = find_deal(session, inp.deal).id if inp.deal.strip() else None
    if inp.owner is not None:
        followup.owner_id = resolve_user(session, inp.owner)
    if inp.priority is not None:
        followup.priority = check_priority(inp.priority)
    if inp.repeat is not None:
        followup.repeat = check_repeat(inp.repeat)
    if inp.notes is not None:
        followup.notes = inp.notes.strip() or None


def add_followup(ctx: Context, session: Session, inp: FollowupInput) -> dict[str, Any]:
    if inp.title is None or not inp.title.strip():
        raise InvalidValue("title", inp.title or "", "must not be empty")
    if inp.due is None:
        raise InvalidValue("due", "", "give a due time with --due")
    followup = Followup(title="", due_at=utcnow())
    _apply(ctx, session, followup, inp)
    if followup.owner_id is None:
        followup.owner_id = ctx.user_id(session)
    session.add(followup)
    session.flush()
    return _one(ctx, session, followup)


def edit_followup(ctx: Context, session: Session, ref: str, inp: FollowupInput) -> dict[str, Any]:
    followup = find_followup(session, ref)
    _apply(ctx, session, followup, inp)
    followup.updated_at = utcnow()
    session.flush()
    return _one(ctx, session, followup)


def show_followup(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    return _one(ctx, session, find_followup(session, ref))


def remove_followups(ctx: Context, session: Session, refs: list[str]) -> list[dict[str, Any]]:
    """Soft-delete: the rows stay, out of every listing and reminder."""
    lock_in_order(session, "followup", refs)
    followups = [find_followup(session, r) for r in refs]
    now = utcnow()
    for followup in followups:
        followup.deleted_at = now
        followup.updated_at = now
    session.flush()
    return [{"id": f.id, "title": f.title} for f in followups]


def _earlier_dues(session: Session, followup: Followup) -> Iterator[datetime]:
    """Due times of the occurrences before this one, newest first (read as needed)."""
    seen = {followup.id}
    previous_id = followup.previous_id
    for _ in range(_MAX_CHAIN):
        if previous_id is None or previous_id in seen:
            return
        previous = session.get(Followup, previous_id)
        if previous is None:
            return
        seen.add(previous_id)
        yield previous.due_at
        previous_id = previous.previous_id


def next_occurrence(session: Session, followup: Followup, after: datetime) -> datetime:
    """The first occurrence of the follow-up's repeat rule later than `after`, counted from
    its due time (not from when it was done), at the same local wall-clock time."""
    assert followup.repeat is not None
    rule = dates.parse_repeat(followup.repeat)
    tz = dates.zone(followup.timezone)
    steps = [followup.due_at]
    for _ in range(_MAX_STEPS):
        earlier = islice(reversed(steps), 1, None)
        try:
            # The history (steps before this one, then the stored chain) is what lets the
            # rule tell a 02:30 moved by the spring gap from a 03:30 meant as such.
            due = rule.next_after(
                steps[-1], tz, previous=_chained(earlier, _earlier_dues(session, followup))
            )
        except (OverflowError, ValueError):  # past 9999-12-31: rows older than the bounds
            raise CrmError(
                f"follow-up {followup.id}: its next occurrence would be past the end of the "
                f"calendar; set a new due time with `crm followup edit {followup.id} --due WHEN`"
            ) from None
        if due > after:
            return due
        steps.append(due)
    raise CrmError(
        f"follow-up {followup.id}: its due time is too far in the past to repeat; "
        f"set a new one with `crm followup edit {followup.id} --due WHEN`"
    )


def _chained(first: Iterable[datetime], rest: Iterable[datetime]) -> Iterator[datetime]:
    yield from first
    yield from rest


def complete_followup(
    ctx: Context, session: Session, ref: str, at: str | None = None
) -> dict[str, Any]:
    """Mark a follow-up done (at `at`, default now). A repeating one gets its next occurrence:
    the first one after the completion time, so a series never starts out overdue."""
    now = utcnow()
    done_at = now
    if at is not None:
        done_at = dates.parse_when(at, ctx.tz, field="at", settings=ctx.config.date_settings)
        if done_at > now + timedelta(minutes=1):
            raise InvalidValue("at", at, "is in the future; mark it done when it is done")
    followup = find_followup(session, ref, lock=True)
    if followup.done_at is not None:
        raise Conflict(
            f"follow-up {followup.id} is already done ({local_text(followup.done_at, ctx.tz)})"
        )
    followup.done_at = done_at
    followup.updated_at = now
    following: Followup | None = None
    if followup.repeat:
        following = Followup(
            title=followup.title,
            due_at=next_occurrence(session, followup, done_at),
            timezone=followup.timezone,
            contact_id=followup.contact_id,
            deal_id=followup.deal_id,
            owner_id=followup.owner_id,
            priority=followup.priority,
            repeat=followup.repeat,
            previous_id=followup.id,
        )
        session.add(following)
    session.flush()
    records = followup_records(ctx, session, [followup] + ([following] if following else []))
    return {"done": records[0], "next": records[1] if following else None}


def snooze_followup(
    ctx: Context, session: Session, ref: str, until: str | None, for_: str | None = None
) -> dict[str, Any]:
    """Put a follow-up off until a later time (`until`), or for a length of time from now
    (`for_`: 2h, 30min, 1d); `crm remind` reports it again then."""
    if (until is None) == (for_ is None):
        raise InvalidValue("until", until or for_ or "", "give either --until or --for")
    if for_ is not None:
        from crm_cli.services.reminders import parse_duration  # it builds on this module

        moment = utcnow() + parse_duration(for_, "for")
    else:
        assert until is not None
        moment = dates.parse_when(until, ctx.tz, field="until", settings=ctx.config.date_settings)
    if moment <= utcnow():
        raise InvalidValue("until", until or for_ or "", "is not in the future")
    followup = find_followup(session, ref)
    if followup.done_at is not None:
        raise Conflict(f"follow-up {followup.id} is done; nothing to snooze")
    followup.snoozed_until = moment
    followup.reminded_at = None
    followup.updated_at = utcnow()
    session.flush()
    return _one(ctx, session, followup)


# --- listing ----------------------------------------------------------------------------------


@dataclass
class FollowupFilter:
    """`list` options. Without owner, everyone, contact or deal: the current user's."""

    due: str | None = None  # overdue, today, week
    owner: str | None = None
    mine: bool = False
    everyone: bool = False
    done: bool = False
    contact: str | None = None
    deal: str | None = None
    limit: int | None = 50


def _due_bound(ctx: Context, due: str, now: datetime) -> datetime:
    """The instant a follow-up must count as due before to pass `--due`."""
    kind = due.strip().lower()
    if kind not in DUE_FILTERS:
        raise InvalidValue("due", due, f"must be one of {', '.join(DUE_FILTERS)}")
    if kind == "overdue":
        return now
    tz = ctx.tz
    today = now.astimezone(tz).date()
    days = 1 if kind == "today" else 7
    return dates.localize(today + timedelta(days=days), time(0, 0), tz)


def _open_of_one_record() -> Any:
    """Open and live, for the follow-ups of one contact or deal: a handful, read by its
    contact or deal index and sorted.

    Written as one condition rather than `done_at IS NULL AND deleted_at IS NULL`: SQLite's
    statistics count `done_at IS NULL` as one row (each done time is a value of its own), so
    it walked every open follow-up in due order through ix_followup_open_effective instead,
    50,000 at a million (170 ms for `followup list --deal 7`)."""
    return func.coalesce(col(Followup.done_at), col(Followup.deleted_at)).is_(None)


def list_query(ctx: Context, session: Session, flt: FollowupFilter) -> Select[Any]:
    """The listing's query (without paging), overdue first, then by when each is due."""
    overdue = bool(flt.due) and str(flt.due).strip().lower() == "overdue"
    only_open = not flt.done or overdue  # done is never overdue
    if only_open and (flt.contact or flt.deal):
        query = select(Followup).where(_open_of_one_record())
    else:
        query = select(Followup).where(col(Followup.deleted_at).is_(None))
        if only_open:
            query = query.where(col(Followup.done_at).is_(None))
    if flt.owner:
        query = query.where(col(Followup.owner_id) == resolve_user(session, flt.owner))
    elif flt.mine or not (flt.everyone or flt.contact or flt.deal):
        query = query.where(col(Followup.owner_id) == ctx.user_id(session))
    query = query.where(*scope(ctx, session, Followup, contact=flt.contact, deal=flt.deal))
    if flt.due:
        bound = _due_bound(ctx, flt.due, utcnow())
        # On the expression the list is ordered by, which an index holds (migration 0005):
        # the index bounds the search and gives the order.
        query = query.where(_effective_due_sql() < bound)
    order = [_effective_due_sql(), col(Followup.id)]
    if only_open and not (flt.contact or flt.deal):
        # Both are NULL in every row listed, so leading with them changes no order; but
        # PostgreSQL takes an order from an index only past columns fixed by an equality, and
        # `IS NULL` is none: without them it sorted every open follow-up for a page of
        # everyone's (130 ms at a million; 0.4 ms read in the order of
        # ix_followup_open_effective, or ix_followup_owner_open past the owner).
        order = [col(Followup.done_at), col(Followup.deleted_at), *order]
    return query.order_by(*order)


def list_followups(ctx: Context, session: Session, flt: FollowupFilter) -> common.Page:
    query = list_query(ctx, session, flt)
    return common.page_of(
        session, query, lambda part: _followup_records(ctx, session, part), flt.limit
    )


def next_followups(
    ctx: Context,
    session: Session,
    *,
    contact_id: int | None = None,
    deal_id: int | None = None,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """The open follow-ups of a contact or a deal (everyone's), soonest due first: for the
    360-degree views."""
    query = select(Followup).where(_open_of_one_record())
    if contact_id is not None:
        query = query.where(col(Followup.contact_id) == contact_id)
    if deal_id is not None:
        query = query.where(col(Followup.deal_id) == deal_id)
    query = query.order_by(_effective_due_sql(), col(Followup.id)).limit(limit)
    return followup_records(ctx, session, list(session.scalars(query)))
