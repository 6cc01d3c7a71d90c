"""What the TUI reads and writes, through the services: one function per action, each
opening its own session on the shared, fully opened Context (safe from any worker thread).

Nothing here imports Textual: these functions run in worker threads and return plain data.
The app turns results into messages.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_cli.services.context import Context

# Cards read per column: a page or two of a tall terminal (48 lines show 10). Counts and
# totals cover them all.
COLUMN_LIMIT = 60


@dataclass
class Card:
    id: int
    title: str
    party: str
    value: str
    days: int
    next_step: str  # overdue, today, later, none
    stage_id: int
    updated_at: str


@dataclass
class Column:
    stage_id: int
    name: str
    kind: str  # open, won, lost
    count: int
    more: bool
    totals: list[str]
    cards: list[Card] = field(default_factory=list)


@dataclass
class BoardData:
    pipeline: str
    columns: list[Column]


def _value(minor: int, currency: str) -> str:
    from crm_cli.domain.money import format_money

    return format_money(minor, currency)


def next_steps(ctx: Context, session: Any, deal_ids: list[int]) -> dict[int, str]:
    """Per deal: when its soonest open follow-up is due (overdue, today, later); deals with
    none are missing. One query for a whole column."""
    if not deal_ids:
        return {}
    from sqlalchemy import case, func, select
    from sqlmodel import col

    from crm_cli.domain import dates
    from crm_cli.store.sales import Followup
    from crm_cli.store.types import utcnow

    due = case(
        (col(Followup.snoozed_until) > col(Followup.due_at), col(Followup.snoozed_until)),
        else_=col(Followup.due_at),
    )
    rows = session.execute(
        select(col(Followup.deal_id), func.min(due))
        .where(
            col(Followup.deal_id).in_(deal_ids),
            col(Followup.done_at).is_(None),
            col(Followup.deleted_at).is_(None),
        )
        .group_by(col(Followup.deal_id))
    ).all()
    now = utcnow()
    tomorrow = dates.localize(
        now.astimezone(ctx.tz).date() + timedelta(days=1), _midnight(), ctx.tz
    )
    result: dict[int, str] = {}
    for deal_id, soonest in rows:
        soonest = _aware(soonest)
        result[int(deal_id)] = (
            "overdue" if soonest <= now else "today" if soonest < tomorrow else "later"
        )
    return result


def _midnight() -> Any:
    from datetime import time

    return time(0, 0)


def _aware(value: Any) -> datetime:
    from datetime import UTC

    if isinstance(value, str):  # SQLite answers an aggregate over a case() as text
        value = datetime.fromisoformat(value)
    moment: datetime = value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def load_board(
    ctx: Context,
    pipeline: str | None = None,
    limits: dict[int, int] | None = None,
    search: str | None = None,
    *,
    owner: str | None = None,
    owner_id: int | None = None,
    tags: list[str] | None = None,
) -> BoardData:
    """The pipeline's stages in board order, each with its count, totals and first cards
    (COLUMN_LIMIT of them, or as many as `limits` asks for that stage: the person scrolled
    down to the last one read). `search` keeps the deals `crm deal list --search` finds;
    `owner`, `owner_id` and `tags` those of `--owner`, `--mine` and `--tag`."""
    from crm_cli.services import pipelines
    from crm_cli.services.deal_views import DealFilter, list_deals

    with ctx.session(write=False) as session:
        board = pipelines.load_board(session)
        chosen = board.pipeline(ctx, pipeline)
        assert chosen.id is not None
        columns: list[Column] = []
        for stage in board.live(chosen.id):
            assert stage.id is not None
            limit = (limits or {}).get(stage.id, COLUMN_LIMIT)
            flt = DealFilter(
                pipeline=str(chosen.id),
                stage=stage.name,
                limit=limit,
                search=search or None,
                owner=owner or None,
                owner_id=owner_id,
                tags=list(tags or []),
            )
            page = list_deals(ctx, session, flt)
            rows = list(page.rows)
            steps = next_steps(ctx, session, [r["id"] for r in rows])
            totals = page.totals or {}
            columns.append(
                Column(
                    stage_id=stage.id,
                    name=stage.name,
                    kind=stage.kind,
                    count=int(page.total or 0),
                    more=bool(totals.get("more")),
                    totals=[
                        _value(t["value_minor"], t["currency"])
                        for t in totals.get("by_currency", [])
                    ],
                    cards=[
                        Card(
                            id=r["id"],
                            title=r["title"],
                            party=r["contact"] or r["company"] or "",
                            value=_value(r["value_minor"], r["currency"]),
                            days=r["days_in_stage"],
                            next_step=steps.get(r["id"], "none"),
                            stage_id=r["stage_id"],
                            updated_at=r["updated_at"] or "",
                        )
                        for r in rows
                    ],
                )
            )
    return BoardData(chosen.name, columns)


def _acting(ctx: Context, command: str) -> Context:
    """The shared context with this action's description for the change journal."""
    return dataclasses.replace(ctx, command=command, source="tui")


def move_card(ctx: Context, card: Card, stage_name: str, reason: str | None = None) -> str:
    """Move a deal as `crm deal move` does (into a lost stage with the `reason`), unless
    someone else changed it since the card was read: then nothing changes and a Conflict
    says so. Returns a line for the person."""
    from crm_cli.errors import Conflict
    from crm_cli.services.deals import move_deal, records
    from crm_cli.services.lookups import find_deal, lock_in_order

    why = f" --reason {reason!r}" if reason else ""
    acting = _acting(ctx, f"crm deal move {card.id} {stage_name!r}{why} (tui)")
    with acting.session() as session:
        lock_in_order(session, "deal", [str(card.id)])
        deal = find_deal(session, card.id)
        fresh = records(session, [deal])[0]
        if fresh["stage_id"] != card.stage_id or fresh["updated_at"] != card.updated_at:
            raise Conflict(
                f"deal {card.id} was changed meanwhile (now in {fresh['stage']!r}); "
                "nothing was changed"
            )
        outcome = move_deal(acting, session, str(card.id), stage_name, reason)
    return f"Moved deal {card.id} to {outcome.record['stage']}"


def undo_last(ctx: Context) -> str:
    from crm_cli.services.undo import undo

    acting = _acting(ctx, "crm undo (tui)")
    with acting.session() as session:
        result = undo(acting, session)
    return f"Undid change {result.undone}: {result.command}"


@dataclass
class Reminders:
    overdue: list[dict[str, Any]]
    today: list[dict[str, Any]]
    upcoming: list[dict[str, Any]]


def load_reminders(ctx: Context) -> Reminders:
    """The current user's open follow-ups due within a week, overdue first."""
    from crm_cli.services.followups import FollowupFilter, list_followups

    today = datetime.now(ctx.tz).date().isoformat()
    with ctx.session(write=False) as session:
        rows = list(list_followups(ctx, session, FollowupFilter(due="week", limit=200)).rows)
    overdue = [r for r in rows if r["overdue"]]
    due_today = [r for r in rows if not r["overdue"] and _due_day(r) == today]
    upcoming = [r for r in rows if not r["overdue"] and _due_day(r) != today]
    return Reminders(overdue, due_today, upcoming)


def _due_day(record: dict[str, Any]) -> str:
    return str(record["snoozed_until"] or record["due_at"])[:10]


def complete(ctx: Context, followup_id: int) -> str:
    from crm_cli.services.followups import complete_followup

    acting = _acting(ctx, f"crm followup done {followup_id} (tui)")
    with acting.session() as session:
        complete_followup(acting, session, str(followup_id))
    return f"Follow-up {followup_id} done"


def snooze(ctx: Context, followup_id: int, until: str = "tomorrow 9:00") -> str:
    from crm_cli.services.followups import snooze_followup

    acting = _acting(ctx, f"crm followup snooze {followup_id} --until {until!r} (tui)")
    with acting.session() as session:
        record = snooze_followup(acting, session, str(followup_id), until)
    return f"Follow-up {followup_id} snoozed until {record['snoozed_until']}"


class ChangeWatcher:
    """Says cheaply whether the database changed since the last look. SQLite: `PRAGMA
    data_version` on a connection kept for it (it changes when another connection commits).
    PostgreSQL: the newest change set of the journal (every write of a command records one)."""

    def __init__(self, ctx: Context) -> None:
        from crm_cli.services.context import sqlite_file

        self.ctx = ctx
        self._conn: Any = None
        path = sqlite_file(ctx.url)
        if path is not None:
            import sqlite3

            # Only the timer's worker uses it, one at a time.
            self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._last = self._stamp()

    def _stamp(self) -> object:
        if self._conn is not None:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]
        from sqlalchemy import func, select

        from crm_cli.store.journal import ChangeSet

        with self.ctx.session(write=False) as session:
            return session.scalar(select(func.max(ChangeSet.c.id)))

    def changed(self) -> bool:
        stamp = self._stamp()
        if stamp == self._last:
            return False
        self._last = stamp
        return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
