"""Summary tables of closed, open and won deals, kept by triggers (store/rollups.py) for the
pipeline, forecast, sales and customer reports."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Field

import crm_cli.store.sales  # noqa: F401  (the deal and stage tables their keys name)
from crm_cli.store.models import Base, _time


class DealCloseRollup(Base, table=True):
    """Closed deals (won or lost, live) counted and summed by UTC close day and by everything
    the sales report filters or groups by, with a won deal's sales cycle in whole days (0 for
    lost deals, whose cycle no report shows): the sales report reads these rows instead of a
    million deals. With sales cycles spread over months, a day's won deals rarely share a
    row; its lost deals do.

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
