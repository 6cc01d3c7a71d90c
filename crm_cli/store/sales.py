"""The sales tables: pipelines and stages, deals and their stage history, follow-ups,
interactions, feedback and events.

Kept apart from `models` so that commands about contacts and companies do not pay for
defining these classes at start-up (~3 ms each).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, UniqueConstraint, event, text
from sqlmodel import Field

from crm_cli.domain.text import index_tokens
from crm_cli.store.ddl import FOLLOWUP_EFFECTIVE_DUE
from crm_cli.store.models import Base, Stamped, _fk, _time


class Pipeline(Stamped, table=True):
    __tablename__ = "pipeline"
    name: str = Field(unique=True)
    position: int = 0


class Stage(Stamped, table=True):
    __tablename__ = "stage"
    __table_args__ = (UniqueConstraint("pipeline_id", "name", name="uq_stage_pipeline_name"),)
    pipeline_id: int = Field(
        sa_column_args=[ForeignKey("pipeline.id", ondelete="CASCADE")], index=True
    )
    name: str
    position: int = 0
    probability: int = 0  # percent, 0..100
    kind: str = "open"  # open, won, lost
    # A removed stage stays so that stage history keeps pointing at it; adding a stage with
    # its name again brings it back.
    deleted_at: datetime | None = _time()


class Deal(Stamped, table=True):
    __tablename__ = "deal"
    __table_args__ = (
        Index("ix_deal_live_updated", "deleted_at", "updated_at"),
        Index("ix_deal_stage_status", "stage_id", "status"),
        # The default listing reads each stage's live deals in close-date order from this,
        Index("ix_deal_stage_close", "stage_id", "deleted_at", "expected_close", "id"),
        # and computes its totals from this one alone (it covers the aggregate query).
        Index("ix_deal_totals", "deleted_at", "stage_id", "currency", "value_minor", "probability"),
        # --owner and --mine: one owner's live deals per stage, from the index alone.
        Index("ix_deal_owner_live", "owner_id", "deleted_at", "stage_id"),
        # --sort value / -value: live deals only (a partial index: PostgreSQL orders by an
        # index only after equalities, and `deleted_at IS NULL` is none), ties by id the way
        # the value runs, so read backwards it gives the biggest deals first (migration 0009).
        Index(
            "ix_deal_live_value",
            "value_minor",
            "id",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        # Reports (crm_cli/reports): closed deals by close time; won deals by customer.
        Index(
            "ix_deal_closed",
            "status",
            "closed_at",
            "deleted_at",
            "currency",
            "value_minor",
            "created_at",
            "owner_id",
        ),
        Index(
            "ix_deal_customer",
            "status",
            "contact_id",
            "currency",
            "deleted_at",
            "closed_at",
            "value_minor",
        ),
        # The funnel: the deals of a pipeline created in the hours of a day that a period's
        # local bound splits (its rollups count whole UTC days).
        Index("ix_deal_pipeline_created", "pipeline_id", "created_at", "deleted_at", "stage_id"),
    )
    title: str
    contact_id: int | None = _fk("contact.id", ondelete="SET NULL")
    company_id: int | None = _fk("company.id", ondelete="SET NULL")
    pipeline_id: int = Field(sa_column_args=[ForeignKey("pipeline.id")], index=True)
    stage_id: int = Field(sa_column_args=[ForeignKey("stage.id")])
    value_minor: int = Field(default=0, sa_type=BigInteger)
    currency: str = "EUR"
    probability: int | None = None  # overrides the stage's default when set
    expected_close: date | None = Field(default=None, index=True)
    status: str = Field(default="open", index=True)
    lost_reason: str | None = None
    owner_id: int | None = _fk("user.id", ondelete="SET NULL")
    source: str | None = None
    external_id: str | None = Field(default=None, index=True)
    stage_entered_at: datetime = _time(nullable=False)
    closed_at: datetime | None = _time()
    deleted_at: datetime | None = _time()
    search_name: str = ""  # the title's search tokens, set by _deal_tokens


class DealCloseRollup(Base, table=True):
    """Closed deals (won or lost, live) counted and summed by UTC close day and by everything
    the sales report filters or groups by, with the sales cycle in whole days: the sales
    report reads these few thousand rows instead of a million deals.

    Kept by database triggers (crm_cli/store/rollups.py) in the transaction of every write to
    `deal`, whichever path makes it; crm code never writes it. No owner is 0, no source "".
    """

    __tablename__ = "deal_close_rollup"
    __table_args__ = {"sqlite_with_rowid": False}
    close_day: date = Field(primary_key=True)
    status: str = Field(primary_key=True)
    pipeline_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    owner_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    source: str = Field(primary_key=True)
    currency: str = Field(primary_key=True)
    cycle_days: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    n: int = Field(sa_type=BigInteger)
    value_minor: int = Field(sa_type=BigInteger)


class DealOpenRollup(Base, table=True):
    """Live deals in open stages counted and summed by stage, owner, currency and expected
    close day, with their weighted value: what the pipeline and forecast reports read.

    Kept by database triggers (crm_cli/store/rollups.py). No owner is 0, no expected close
    0001-01-01 (rollups.NO_CLOSE).
    """

    __tablename__ = "deal_open_rollup"
    __table_args__ = {"sqlite_with_rowid": False}
    stage_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    owner_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    currency: str = Field(primary_key=True)
    expected_close: date = Field(primary_key=True)
    n: int = Field(sa_type=BigInteger)
    value_minor: int = Field(sa_type=BigInteger)
    worth_minor: int = Field(sa_type=BigInteger)


class CustomerWonRollup(Base, table=True):
    """Per contact and currency, the contact's won deals: how many, their value, the first
    and the last close. What the segments and lifetime-value reports read over all time.

    Kept by database triggers (crm_cli/store/rollups.py).
    """

    __tablename__ = "customer_won_rollup"
    # The segments report finds its quintile boundaries by seeking each order (customers
    # by last close, by count, by value; contact id breaks ties) at an offset. The recency
    # index holds every column, so the pass over one currency's customers reads it alone.
    __table_args__ = (
        Index(
            "ix_customer_won_recency",
            "currency",
            "last_closed",
            "contact_id",
            "n",
            "value_minor",
            "first_closed",
        ),
        Index("ix_customer_won_frequency", "currency", "n", "contact_id"),
        Index("ix_customer_won_monetary", "currency", "value_minor", "contact_id"),
        {"sqlite_with_rowid": False},
    )
    contact_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    currency: str = Field(primary_key=True)
    n: int = Field(sa_type=BigInteger)
    value_minor: int = Field(sa_type=BigInteger)
    first_closed: datetime = _time(nullable=False)
    last_closed: datetime = _time(nullable=False)


class FunnelReachRollup(Base, table=True):
    """Live deals counted by pipeline, UTC creation day and the set of stages they visited
    (their stage changes' stages and their current stage, ids ascending, "1,2,5"): the
    funnel report ranks each set by the board order of the day and counts how many deals
    reached each rung from these rows instead of a million deals' histories.

    Kept by database triggers (crm_cli/store/rollups.py); crm code never writes it.
    """

    __tablename__ = "funnel_reach_rollup"
    __table_args__ = {"sqlite_with_rowid": False}
    pipeline_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    created_day: date = Field(primary_key=True)
    stages: str = Field(primary_key=True)
    n: int = Field(sa_type=BigInteger)


class FunnelStayRollup(Base, table=True):
    """Live deals' completed stays in a stage counted by pipeline, UTC creation day, stage
    and whole days: the funnel report's average and median days in each stage.

    Kept by database triggers (crm_cli/store/rollups.py).
    """

    __tablename__ = "funnel_stay_rollup"
    __table_args__ = {"sqlite_with_rowid": False}
    pipeline_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    created_day: date = Field(primary_key=True)
    stage_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    days: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    n: int = Field(sa_type=BigInteger)


class ActivityRollup(Base, table=True):
    """Live interactions by UTC day, owner and kind, and live completed follow-ups by UTC
    day of completion and owner (kind `follow-up done`): what the activity report counts.

    Kept by database triggers (crm_cli/store/rollups.py). No owner is 0.
    """

    __tablename__ = "activity_rollup"
    # By day (then kind) for months, by owner and kind for --by owner: each grouping reads
    # its rows in order, without a sort.
    __table_args__ = (
        Index("ix_activity_owner", "owner_id", "kind", "day", "n"),
        {"sqlite_with_rowid": False},
    )
    day: date = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    owner_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    n: int = Field(sa_type=BigInteger)


class DealTouchRollup(Base, table=True):
    """Every live open deal with the last time it was touched: the later of its creation and
    its latest live interaction. The activity report's idle deals are those touched before
    its cutoff: one range of `ix_deal_touch_at`, however many days the window spans.

    Kept by database triggers (crm_cli/store/rollups.py).
    """

    __tablename__ = "deal_touch_rollup"
    __table_args__ = (
        Index("ix_deal_touch_at", "touched_at", "deal_id"),
        {"sqlite_with_rowid": False},
    )
    deal_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    touched_at: datetime = _time(nullable=False)


class DealTag(Base, table=True):
    __tablename__ = "deal_tag"
    deal_id: int = Field(
        sa_column_args=[ForeignKey("deal.id", ondelete="CASCADE")], primary_key=True
    )
    tag_id: int = Field(
        sa_column_args=[ForeignKey("tag.id", ondelete="CASCADE")], primary_key=True, index=True
    )


class StageChange(Base, table=True):
    """Every move of a deal: the history that funnel and velocity reports read."""

    __tablename__ = "stage_change"
    # Each deal's changes in time order (a deal's history, the funnel's days in a stage); it
    # also serves every lookup by deal, so there is no single-column index on deal_id.
    __table_args__ = (
        Index("ix_stage_change_deal_at", "deal_id", "changed_at", "id", "to_stage_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(sa_column_args=[ForeignKey("deal.id", ondelete="CASCADE")])
    from_stage_id: int | None = Field(default=None, sa_column_args=[ForeignKey("stage.id")])
    to_stage_id: int = Field(sa_column_args=[ForeignKey("stage.id")], index=True)
    changed_at: datetime = _time(nullable=False)
    user_id: int | None = _fk("user.id", ondelete="SET NULL", index=False)


_EFFECTIVE_DUE = text(FOLLOWUP_EFFECTIVE_DUE)


class Followup(Stamped, table=True):
    __tablename__ = "followup"
    __table_args__ = (
        Index("ix_followup_open_due", "done_at", "due_at"),
        # The list: open follow-ups (one owner's, or everyone's) in the order they come due.
        Index("ix_followup_owner_open", "owner_id", "done_at", "deleted_at", _EFFECTIVE_DUE),
        Index("ix_followup_open_effective", "done_at", "deleted_at", _EFFECTIVE_DUE),
        # --done (open and done): one owner's live follow-ups in that order (migration 0013).
        Index(
            "ix_followup_owner_live_due",
            "owner_id",
            _EFFECTIVE_DUE,
            "id",
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
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
@event.listens_for(Deal, "before_insert")
@event.listens_for(Deal, "before_update")
def _deal_tokens(_mapper: Any, _connection: Any, deal: Deal) -> None:
    deal.search_name = index_tokens(deal.title)


@event.listens_for(Interaction, "before_insert")
@event.listens_for(Interaction, "before_update")
def _interaction_tokens(_mapper: Any, _connection: Any, interaction: Interaction) -> None:
    interaction.search_doc = index_tokens(interaction.summary, interaction.body)


class Feedback(Stamped, table=True):
    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_live_created", "deleted_at", "created_at"),)
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


class Event(Base, table=True):
    """Things that happened to a record that are not interactions: lifecycle changes, merges.
    They appear in the record's timeline."""

    __tablename__ = "event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(nullable=False, index=True)
    kind: str
    detail: str
    contact_id: int | None = _fk("contact.id", ondelete="CASCADE")
    deal_id: int | None = _fk("deal.id", ondelete="CASCADE")
    user_id: int | None = _fk("user.id", ondelete="SET NULL", index=False)


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
