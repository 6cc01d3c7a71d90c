"""A deal's tags and stage history, and the events of a record's timeline."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlmodel import Field

import crm_cli.store.sales  # noqa: F401  (the deal and stage tables their keys name)
from crm_cli.store.models import Base, _fk, _time


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
