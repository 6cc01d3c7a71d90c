"""Grouping keys (`--by`) for reports over deals, and the names they show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, literal, select
from sqlalchemy.orm import Session

from crm_cli.errors import InvalidValue
from crm_cli.reports.base import Period, bucket_key, month_bounds
from crm_cli.store.models import User
from crm_cli.store.sales import Deal, Pipeline, Stage

NONE = "(none)"


def check_by(by: str | None, allowed: tuple[str, ...]) -> str | None:
    if by is not None and by not in allowed:
        raise InvalidValue("by", by, "expected one of " + ", ".join(allowed))
    return by


def deal_key(
    stmt: Select[Any],
    by: str | None,
    when: Any,
    period: Period,
    span: tuple[Any, Any] | None,
) -> tuple[Select[Any], Any]:
    """`stmt` with the key column for `by` added (labelled "key") and any join it needs.
    `when` is the deal's time that months and quarters group by; `span` the (first, last)
    local days to make buckets for when the period is open."""
    if by is None:
        return stmt.add_columns(literal("all").label("key")), None
    if by == "owner":
        return stmt.add_columns(Deal.owner_id.label("key")), Deal.owner_id  # type: ignore[union-attr]
    if by == "source":
        return stmt.add_columns(Deal.source.label("key")), Deal.source  # type: ignore[union-attr]
    if by == "pipeline":
        return stmt.add_columns(Deal.pipeline_id.label("key")), Deal.pipeline_id  # type: ignore[attr-defined]
    if by == "stage":
        return stmt.add_columns(Deal.stage_id.label("key")), Deal.stage_id  # type: ignore[attr-defined]
    first = period.first or (span[0] if span else None)
    last = period.last or (span[1] if span else None)
    if first is None or last is None:
        return stmt.add_columns(literal(NONE).label("key")), None
    key = bucket_key(when, month_bounds(first, last, 1 if by == "month" else 3, period.tz))
    return stmt.add_columns(key.label("key")), key


def key_names(session: Session, by: str | None, keys: set[Any]) -> dict[Any, str]:
    """What each raw key is called in the output."""
    ids = [k for k in keys if isinstance(k, int)]
    names: dict[Any, str] = {}
    model = {"owner": User, "pipeline": Pipeline, "stage": Stage}.get(by or "")
    if model is not None and ids:
        table = model.__table__  # type: ignore[attr-defined]
        names = {
            row[0]: row[1]
            for row in session.execute(select(table.c.id, table.c.name).where(table.c.id.in_(ids)))
        }
    return {k: names.get(k, NONE if k is None else str(k)) for k in keys}
