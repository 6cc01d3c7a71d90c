"""The sales tables: pipelines, stages and deals here; deal history (sales_history),
follow-ups, interactions and feedback (sales_work) and the reports' summary tables
(sales_rollups, flow_rollups) in modules of their own, every one of them reachable from here.

Kept apart from `models` so that commands about contacts and companies do not pay for
defining these classes at start-up (~3 ms each).
"""

from __future__ import annotations

import importlib
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, ForeignKey, Index, UniqueConstraint, event
from sqlmodel import Field

from crm_cli.domain.text import index_tokens
from crm_cli.store.models import Stamped, _fk, _time, live_index

if TYPE_CHECKING:
    from crm_cli.store.flow_rollups import ActivityRollup as ActivityRollup
    from crm_cli.store.flow_rollups import DealTouchRollup as DealTouchRollup
    from crm_cli.store.flow_rollups import FunnelReachRollup as FunnelReachRollup
    from crm_cli.store.flow_rollups import FunnelStayRollup as FunnelStayRollup
    from crm_cli.store.sales_history import DealTag as DealTag
    from crm_cli.store.sales_history import Event as Event
    from crm_cli.store.sales_history import StageChange as StageChange
    from crm_cli.store.sales_rollups import CustomerWonRollup as CustomerWonRollup
    from crm_cli.store.sales_rollups import DealCloseRollup as DealCloseRollup
    from crm_cli.store.sales_rollups import DealOpenRollup as DealOpenRollup
    from crm_cli.store.sales_work import Feedback as Feedback
    from crm_cli.store.sales_work import Followup as Followup
    from crm_cli.store.sales_work import Interaction as Interaction
    from crm_cli.store.sales_work import ReminderDelivery as ReminderDelivery
    from crm_cli.store.sales_work import RemindRun as RemindRun


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
        # The same order of live deals for PostgreSQL, which reads an order from an index only
        # past equalities (`deleted_at IS NULL` is none): partial on live deals (0015).
        live_index("ix_deal_live_stage_close", "stage_id", "expected_close", "id"),
        # --owner and --mine: one owner's live deals per stage, from the index alone.
        Index("ix_deal_owner_live", "owner_id", "deleted_at", "stage_id"),
        # --sort value / -value: live deals only (a partial index: PostgreSQL orders by an
        # index only after equalities, and `deleted_at IS NULL` is none), ties by id the way
        # the value runs, so read backwards it gives the biggest deals first (migration 0009).
        live_index("ix_deal_live_value", "value_minor", "id"),
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


# Search (services/search.py) indexes these token columns, made by the same tokenizer as a
# contact's. They follow the text in every ORM write (add, edit, undo, restore) from here, so no
# writer can forget them; a Core statement that sets a title or a note must set them itself.
@event.listens_for(Deal, "before_insert")
@event.listens_for(Deal, "before_update")
def _deal_tokens(_mapper: Any, _connection: Any, deal: Deal) -> None:
    deal.search_name = index_tokens(deal.title)


# The other sales tables live in modules of their own, defined when first named: a SQLModel
# class costs some 3 ms of start-up, and a report needs two or three of the seventeen.
# `from crm_cli.store.sales import Followup` works as before (PEP 562).
_HOMES = {
    "DealTag": "crm_cli.store.sales_history",
    "StageChange": "crm_cli.store.sales_history",
    "Event": "crm_cli.store.sales_history",
    "Followup": "crm_cli.store.sales_work",
    "Interaction": "crm_cli.store.sales_work",
    "Feedback": "crm_cli.store.sales_work",
    "ReminderDelivery": "crm_cli.store.sales_work",
    "RemindRun": "crm_cli.store.sales_work",
    "DealCloseRollup": "crm_cli.store.sales_rollups",
    "DealOpenRollup": "crm_cli.store.sales_rollups",
    "CustomerWonRollup": "crm_cli.store.sales_rollups",
    "FunnelReachRollup": "crm_cli.store.flow_rollups",
    "FunnelStayRollup": "crm_cli.store.flow_rollups",
    "ActivityRollup": "crm_cli.store.flow_rollups",
    "DealTouchRollup": "crm_cli.store.flow_rollups",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def load_all() -> None:
    """Define every sales table on the metadata: for what reads the whole schema
    (migrations, the archive, undo's reference check)."""
    for home in sorted(set(_HOMES.values())):
        importlib.import_module(home)
