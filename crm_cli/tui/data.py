"""What the TUI reads and writes, through the services: one function per action, each
opening its own session on the shared, fully opened Context (safe from any worker thread).

Nothing here imports Textual: these functions run in worker threads and return plain data.
The app turns results into messages.
"""

from __future__ import annotations

import dataclasses
import threading
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from crm_cli.services.board_read import BoardReader, CardRow
    from crm_cli.services.context import Context

T = TypeVar("T")

# Cards read at a time around what a column shows: a tall terminal (48 lines) shows 12, so a
# page covers the screen and the next few presses either way. Counts and totals cover all.
PAGE = 48


@dataclass
class Card:
    id: int
    title: str
    party: str
    value: str
    days: int
    next_step: str  # overdue, today, later, none
    stage_id: int
    # What a move checks to refuse when the deal changed meanwhile: its version when read
    # (the board), else its update time as a record shows it (the deal detail).
    version: int | None = None
    updated_at: str = ""


@dataclass
class Column:
    """A stage: its count and totals over every deal, the ids of its deals in board order
    (compact: 8 bytes a deal), and the cards read (those on screen and near it, in order)."""

    stage_id: int
    name: str
    kind: str  # open, won, lost
    count: int
    totals: list[str]
    ids: array[int] = field(default_factory=lambda: array("q"))
    cards: list[Card] = field(default_factory=list)


@dataclass
class BoardData:
    pipeline: str
    columns: list[Column]
    complete: bool = True  # False: only each column's first page of ids (the first screen)


class BoardSource:
    """Where the board is read from: one DB-API connection (services.board_read), made on
    first use from any worker. A database that does not exist yet, or one an older crm
    wrote, is created or migrated first by opening the Context, then read."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._reader: BoardReader | None = None
        self._lock = threading.Lock()

    def reader(self) -> BoardReader:
        from crm_cli.services import board_read

        with self._lock:
            if self._reader is None:
                found = board_read.connect(self.ctx.url)
                if found is None:
                    self.ctx.open()
                    found = board_read.connect(self.ctx.url)
                assert found is not None
                self._reader = found
            return self._reader

    def read(self, action: Callable[[BoardReader], T]) -> T:
        """`action` on the reader; when the schema cannot answer it (an older database),
        once more after the Context has migrated it."""
        from crm_cli.errors import CrmError

        try:
            return action(self.reader())
        except CrmError:
            raise
        except Exception:  # noqa: BLE001 - the driver's error: the schema may be behind
            self.ctx.open()
            return action(self.reader())

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None


def _card(row: CardRow) -> Card:
    from crm_cli.domain.money import format_money

    return Card(
        id=row.id,
        title=row.title,
        party=row.party,
        value=format_money(row.value_minor, row.currency),
        days=row.days,
        next_step=row.next_step,
        stage_id=row.stage_id,
        version=row.version,
    )


def _totals(parts: list[tuple[str, int, int]]) -> list[str]:
    from crm_cli.domain.money import format_money

    return [format_money(value, currency) for currency, _count, value in parts]


def load_cards(source: BoardSource, ids: list[int]) -> dict[int, Card]:
    """The cards of these deals (at most a page or two: the ids go in as one parameter)."""
    tz = source.ctx.tz
    rows = source.read(lambda reader: reader.cards(ids, tz))
    return {deal_id: _card(row) for deal_id, row in rows.items()}


def load_board(
    source: BoardSource,
    pipeline: str | None = None,
    windows: dict[int, tuple[int, int]] | None = None,
    search: str | None = None,
    first: bool = False,
    *,
    owner: str | None = None,
    owner_id: int | None = None,
    tags: list[str] | None = None,
) -> BoardData:
    """The pipeline's stages in board order, each with its count, totals, the ids of its deals
    and the cards of the window [start, stop) of positions `windows` asks for (the first PAGE
    without). `search` keeps the deals `crm deal list --search` finds; `owner`, `owner_id`
    and `tags` those of `--owner`, `--mine` and `--tag`. `first`: only the first PAGE ids of
    each column (the first screen: at 100,000 deals reading every id takes a few tenths of a
    second; the board reads them all right after)."""
    narrow = Filters(search or None, owner or None, owner_id, list(tags or []))
    return source.read(lambda reader: _read_board(source, reader, pipeline, windows, narrow, first))


@dataclass(frozen=True)
class Filters:
    """What narrows the board, as `crm deal list` options."""

    search: str | None = None
    owner: str | None = None
    owner_id: int | None = None
    tags: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.search or self.owner or self.owner_id is not None or self.tags)


def _read_board(
    source: BoardSource,
    reader: BoardReader,
    pipeline: str | None,
    windows: dict[int, tuple[int, int]] | None,
    narrow: Filters,
    first: bool,
) -> BoardData:
    from crm_cli.services.board_read import choose_pipeline

    ctx = source.ctx
    config = ctx.config
    with reader.snapshot():
        pid, name, stages = choose_pipeline(
            reader.pipelines(),
            pipeline,
            config.pipeline,
            "defaults.pipeline" in config.values,
        )
        if narrow:
            ids, totals = _filtered(ctx, pid, narrow)
        else:
            limit = PAGE if first else None
            ids = {stage.id: reader.column_ids(stage.id, limit) for stage in stages}
            totals = reader.totals(pid)
    columns: list[Column] = []
    wanted: list[int] = []
    for stage in stages:
        column_ids = ids.get(stage.id, array("q"))
        start, stop = (windows or {}).get(stage.id, (0, PAGE))
        wanted.extend(column_ids[max(0, start) : stop])
        columns.append(
            Column(
                stage.id,
                stage.name,
                stage.kind,
                sum(count for _currency, count, _value in totals.get(stage.id, [])),
                _totals(totals.get(stage.id, [])),
                column_ids,
            )
        )
    cards = load_cards(source, wanted)
    for column in columns:
        start, stop = (windows or {}).get(column.stage_id, (0, PAGE))
        for deal_id in column.ids[max(0, start) : stop]:
            if deal_id in cards:
                column.cards.append(cards[deal_id])
    return BoardData(name, columns, complete=not first or bool(narrow))


def _filtered(
    ctx: Context, pipeline_id: int, narrow: Filters
) -> tuple[dict[int, array[int]], dict[int, list[tuple[str, int, int]]]]:
    """Ids and totals per stage of the deals the filters keep, as `crm deal list` finds
    them (through the ORM services: a filter comes after the first screen)."""
    from crm_cli.services.deal_views import DealFilter, stage_ids

    flt = DealFilter(
        pipeline=str(pipeline_id),
        status="all",
        search=narrow.search,
        owner=narrow.owner,
        owner_id=narrow.owner_id,
        tags=list(narrow.tags),
    )
    with ctx.session(write=False) as session:
        ids, totals = stage_ids(ctx, session, flt)
    return {sid: array("q", found) for sid, found in ids.items()}, totals


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
        if card.version is not None:
            changed = deal.stage_id != card.stage_id or deal.version != card.version
        else:
            changed = fresh["stage_id"] != card.stage_id or fresh["updated_at"] != card.updated_at
        if changed:
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
    in_touch: list[dict[str, Any]] = field(default_factory=list)  # stay-in-touch contacts due


def load_reminders(ctx: Context) -> Reminders:
    """The current user's open follow-ups due within a week, overdue first, and their
    stay-in-touch contacts due by tonight."""
    from crm_cli.domain.dates import now_utc
    from crm_cli.services.followups import FollowupFilter, list_followups
    from crm_cli.services.reminders import in_touch_due

    # The services' clock (CRM_NOW when it is set), so "today" agrees with `crm today`.
    today = now_utc().astimezone(ctx.tz).date().isoformat()
    with ctx.session(write=False) as session:
        rows = list(list_followups(ctx, session, FollowupFilter(due="week", limit=200)).rows)
        in_touch = in_touch_due(ctx, session)
    overdue = [r for r in rows if r["overdue"]]
    due_today = [r for r in rows if not r["overdue"] and _due_day(r) == today]
    upcoming = [r for r in rows if not r["overdue"] and _due_day(r) != today]
    return Reminders(overdue, due_today, upcoming, in_touch)


def _due_day(record: dict[str, Any]) -> str:
    return str(record["snoozed_until"] or record["due_at"])[:10]


def complete(ctx: Context, followup_id: int) -> str:
    from crm_cli.services.followups import complete_followup

    acting = _acting(ctx, f"crm followup done {followup_id} (tui)")
    with acting.session() as session:
        complete_followup(acting, session, str(followup_id))
    return f"Follow-up {followup_id} done"


def snooze(
    ctx: Context, followup_id: int, until: str | None = "tomorrow 9:00", for_: str | None = None
) -> str:
    """As `crm followup snooze ID --until UNTIL` or, with `for_`, `--for FOR_`."""
    from crm_cli.services.followups import snooze_followup

    option = f"--for {for_!r}" if for_ is not None else f"--until {until!r}"
    acting = _acting(ctx, f"crm followup snooze {followup_id} {option} (tui)")
    with acting.session() as session:
        record = snooze_followup(
            acting, session, str(followup_id), None if for_ is not None else until, for_
        )
    return f"Follow-up {followup_id} snoozed until {record['snoozed_until']}"


def snooze_choice(ctx: Context, text: str) -> tuple[str | None, str | None]:
    """A typed snooze time as `(until, for_)`: a length of time (2h, 30min, 1d) as `--for`
    takes it, anything else as `--until` (tomorrow 9:00, next monday, 2026-12-01). Raises
    InvalidValue, with the CLI's words, when the time is not one or is not in the future."""
    from crm_cli.domain import dates
    from crm_cli.errors import InvalidValue
    from crm_cli.services.reminders import parse_duration

    text = text.strip()
    try:
        moment = dates.now_utc() + parse_duration(text, "for")
        choice: tuple[str | None, str | None] = (None, text)
    except InvalidValue:
        moment = dates.parse_when(text, ctx.tz, field="until", settings=ctx.config.date_settings)
        choice = (text, None)
    if moment <= dates.now_utc():
        raise InvalidValue("until", text, "is not in the future")
    return choice


class ChangeWatcher:
    """Says cheaply whether the database changed since the last look. SQLite: `PRAGMA
    data_version` on a connection kept for it (it changes when another connection commits).
    PostgreSQL: the newest change set of the journal (every write of a command records one),
    read on the board's connection."""

    def __init__(self, source: BoardSource) -> None:
        from crm_cli.services.context import sqlite_file

        self.source = source
        self._conn: Any = None
        path = sqlite_file(source.ctx.url)
        if path is not None and path.is_file():
            import sqlite3

            # Only the timer's worker uses it, one at a time.
            self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._last = self._stamp()

    def _stamp(self) -> object:
        if self._conn is not None:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]
        return self.source.read(lambda reader: reader.change_stamp())

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
