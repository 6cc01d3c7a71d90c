"""Summary tables of the funnel (stages reached, stays) and of activity (interactions and
completed follow-ups per day, each open deal's last touch), kept by triggers
(store/rollups.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Field

import crm_cli.store.sales  # noqa: F401  (the deal and stage tables their keys name)
from crm_cli.store.models import Base, _time


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
