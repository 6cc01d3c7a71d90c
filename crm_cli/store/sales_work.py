"""Follow-ups, interactions, feedback, and what `crm remind` records of its runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, UniqueConstraint, event, text
from sqlmodel import Field

import crm_cli.store.sales  # noqa: F401  (the deal and stage tables their keys name)
from crm_cli.domain.text import index_tokens
from crm_cli.store.ddl import FOLLOWUP_EFFECTIVE_DUE
from crm_cli.store.models import Base, Stamped, _fk, _time, live_index

_EFFECTIVE_DUE = text(FOLLOWUP_EFFECTIVE_DUE)


class Followup(Stamped, table=True):
    __tablename__ = "followup"
    __table_args__ = (
        Index("ix_followup_open_due", "done_at", "due_at"),
        # The list: open follow-ups (one owner's, or everyone's) in the order they come due.
        Index("ix_followup_owner_open", "owner_id", "done_at", "deleted_at", _EFFECTIVE_DUE),
        Index("ix_followup_open_effective", "done_at", "deleted_at", _EFFECTIVE_DUE),
        # --done (open and done): one owner's live follow-ups in that order (migration 0013).
        live_index("ix_followup_owner_live_due", "owner_id", _EFFECTIVE_DUE, "id"),
    )
    title: str
    due_at: datetime = _time(nullable=False)
    timezone: str = "UTC"  # the zone a repeat rule keeps the local time in
    contact_id: int | None = _fk("contact.id", ondelete="CASCADE")
    deal_id: int | None = _fk("deal.id", ondelete="CASCADE")
    owner_id: int | None = _fk("user.id", ondelete="SET NULL")
    priority: str = "normal"  # low, normal, high
    repeat: str | None = None
    notes: str | None = None
    done_at: datetime | None = _time()
    snoozed_until: datetime | None = _time()
    # Older than the delivery table: `crm remind` records each reported occurrence in
    # reminder_delivery (below), not here. A snooze or a new due time still clears it.
    reminded_at: datetime | None = _time()
    previous_id: int | None = Field(
        default=None, sa_column_args=[ForeignKey("followup.id", ondelete="SET NULL")]
    )
    deleted_at: datetime | None = _time()


class Interaction(Stamped, table=True):
    __tablename__ = "interaction"
    __table_args__ = (
        Index("ix_interaction_contact_at", "contact_id", "occurred_at"),
        Index("ix_interaction_live_at", "deleted_at", "occurred_at"),  # the log, newest first
        Index("ix_interaction_owner_at", "owner_id", "deleted_at", "occurred_at"),
        # The activity report's idle deals: the deals touched since a cutoff, from the index.
        Index("ix_interaction_live_deal", "deleted_at", "occurred_at", "deal_id"),
    )
    kind: str  # call, email, meeting, message, note
    direction: str | None = None  # in, out
    occurred_at: datetime = _time(nullable=False, index=True)
    summary: str
    body: str | None = None
    contact_id: int | None = Field(
        default=None, sa_column_args=[ForeignKey("contact.id", ondelete="CASCADE")]
    )
    deal_id: int | None = _fk("deal.id", ondelete="CASCADE")
    owner_id: int | None = _fk("user.id", ondelete="SET NULL")
    deleted_at: datetime | None = _time()
    search_doc: str = ""  # tokens of summary and body: _interaction_tokens


# Search (services/search.py) indexes these token columns, made by the same tokenizer as a
# contact's. They follow the text in every ORM write (add, edit, undo, restore) from here, so no
# writer can forget them; a Core statement that sets a title or a note must set them itself.
@event.listens_for(Interaction, "before_insert")
@event.listens_for(Interaction, "before_update")
def _interaction_tokens(_mapper: Any, _connection: Any, interaction: Interaction) -> None:
    interaction.search_doc = index_tokens(interaction.summary, interaction.body)


class Feedback(Stamped, table=True):
    __tablename__ = "feedback"
    __table_args__ = (
        Index("ix_feedback_live_created", "deleted_at", "created_at"),
        # Every column the feedback report counts by, so it reads no table row (0020).
        Index(
            "ix_feedback_report",
            "deleted_at",
            "kind",
            "score",
            "status",
            "resolved_at",
            "created_at",
            "category",
        ),
    )
    contact_id: int | None = _fk("contact.id", ondelete="SET NULL")
    deal_id: int | None = _fk("deal.id", ondelete="SET NULL")
    kind: str = Field(index=True)  # nps, csat, complaint, suggestion, praise
    score: int | None = None
    text: str | None = None
    category: str | None = None
    status: str = Field(default="open", index=True)  # open, resolved
    resolved_at: datetime | None = _time()
    resolution_note: str | None = None
    channel: str | None = None
    owner_id: int | None = _fk("user.id", ondelete="SET NULL")
    deleted_at: datetime | None = _time()


class ReminderDelivery(Base, table=True):
    """One reminder reported: a follow-up (or a stay-in-touch contact) at one occurrence.

    The unique key is what makes `crm remind` report each occurrence once: a run claims an
    occurrence by inserting its row (`ON CONFLICT DO NOTHING`), prints it, and commits. A
    second run at the same moment waits on the row (PostgreSQL) or the write lock (SQLite) and
    then finds it taken; a run that dies before it commits leaves nothing claimed.
    `occurrence` is the instant it came due (a snooze or a new due time is a new occurrence).
    """

    __tablename__ = "reminder_delivery"
    __table_args__ = (UniqueConstraint("kind", "subject_id", "occurrence"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # followup, contact
    subject_id: int
    occurrence: datetime = _time(nullable=False)
    delivered_at: datetime = _time(nullable=False)
    run_id: int | None = _fk("remind_run.id", ondelete="CASCADE")


class RemindRun(Base, table=True):
    """One `crm remind` run: the scheduler's heartbeat, read by `crm remind --status`."""

    __tablename__ = "remind_run"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(nullable=False, index=True)
    user_id: int | None = _fk("user.id", ondelete="SET NULL", index=False)
    reported: int = 0
    failed: int = 0
