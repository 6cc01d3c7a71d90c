"""Follow-ups for the iCalendar feed: read here, written by the codec (io/ics.py).

The feed holds the same follow-ups as `crm followup list` with the same owner filters, done
ones included (a calendar that subscribed marks them completed), read a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from crm_cli.services.followups import FollowupFilter, list_query
from crm_cli.services.lookups import contact_names, deal_titles

if TYPE_CHECKING:
    from crm_cli.services.context import Context
    from crm_cli.store.sales import Followup

_CHUNK = 500


def feed_records(ctx: Context, session: Session, flt: FollowupFilter) -> Iterator[dict[str, Any]]:
    """Plain records of the follow-ups `flt` selects (done ones too), times as aware
    datetimes in UTC, for io/ics.py."""
    flt.done = True
    chunk: list[Followup] = []
    for followup in session.scalars(
        list_query(ctx, session, flt).execution_options(yield_per=_CHUNK)
    ):
        chunk.append(followup)
        if len(chunk) == _CHUNK:
            yield from _records(session, chunk)
            chunk = []
    yield from _records(session, chunk)


def _records(session: Session, followups: list[Followup]) -> list[dict[str, Any]]:
    contacts = contact_names(session, {f.contact_id for f in followups})
    deals = deal_titles(session, {f.deal_id for f in followups})
    return [
        {
            "id": f.id,
            "title": f.title,
            "due_at": f.due_at,
            "timezone": f.timezone,
            "snoozed_until": f.snoozed_until,
            "done_at": f.done_at,
            "priority": f.priority,
            "repeat": f.repeat,
            "notes": f.notes,
            "contact": contacts.get(f.contact_id or 0),
            "deal": deals.get(f.deal_id or 0),
            "version": f.version,
            "created_at": f.created_at,
            "updated_at": f.updated_at,
        }
        for f in followups
    ]


def followups_ics(ctx: Context, session: Session, flt: FollowupFilter) -> tuple[bytes, int]:
    """The .ics bytes of the selected follow-ups, and how many it holds."""
    from crm_cli.io.ics import write_followups

    records = list(feed_records(ctx, session, flt))
    return write_followups(records), len(records)
