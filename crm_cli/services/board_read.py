"""The pipeline board read straight through the DB-API driver (sqlite3; psycopg for PostgreSQL).

Why a module apart from the ORM services: `crm tui` must show its first board within 0.6 s of
the process starting at 10,000 open deals (1.5 s at 100,000). On this project's machines
importing SQLAlchemy and SQLModel, building the mappers and checking the migrations costs
~0.5-0.8 s before a single row is read, and Textual itself costs ~0.3 s. So the board's reads
are written here in SQL against the schema and run on one plain connection, importing only
the standard library and `crm_cli.domain`; the TUI opens the full Context (engine, migrations,
current user) in the background, for writes, once the first board is on screen.

What the board reads, and what each read costs:
- the pipeline's live stages in board order (`stages`);
- per stage and currency, the count and the sum of the live deals: one GROUP BY answered from
  the index ix_deal_totals alone (`totals`);
- per stage, the ids of its live deals in board order (close date, then the deals without one,
  each by id): the index ix_deal_stage_close alone (`column_ids`). This compact list (8 bytes
  a deal, in an `array`) is all a column keeps of the deals it does not show;
- the cards on screen by id (`cards`): title, contact or company, value, days in stage and
  the next step, at most a screen or two at a time. The ids go in as ONE parameter (a JSON
  array read by json_each on SQLite, an array on PostgreSQL), never one parameter per deal.

The next step of a deal is the soonest due time of its open follow-ups (a snoozed one counts
from when the snooze ends), found by a subquery per card on ix_followup_deal_id (`NEXT_DUE`);
`next_step` turns it into overdue / today / later / none for the person's time zone.

What it trades: its SQL is written by hand against the schema, outside the store. Every
statement is in `SQL`; tests/integration/test_board_read.py runs each one against a freshly
migrated database on SQLite and PostgreSQL and reads SQLite's query plans (no full scan of a
deal or follow-up table), so a schema change that breaks one fails there. It only reads.
"""

from __future__ import annotations

import json
import threading
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from crm_cli.errors import DatabaseError, NotFound

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

# The soonest due time of a deal's open follow-ups (the snooze's end when later), or NULL.
# "Open" is spelt coalesce(done_at, deleted_at) IS NULL so that no index on (done_at,
# deleted_at, ...) can answer it: without statistics SQLite would pick one of those and read
# every open follow-up for each card, where ix_followup_deal_id reads the deal's own.
NEXT_DUE = (
    "(SELECT min(CASE WHEN f.snoozed_until > f.due_at THEN f.snoozed_until ELSE f.due_at END)"
    " FROM followup f WHERE f.deal_id = d.id AND coalesce(f.done_at, f.deleted_at) IS NULL)"
)

# Every statement this module runs. Placeholders are `?` (psycopg gets `%s`); `{ids}` is the
# one parameter that carries a list of ids.
SQL = {
    "stages": (
        "SELECT p.id, p.name, s.id, s.name, s.kind FROM pipeline p"
        " LEFT JOIN stage s ON s.pipeline_id = p.id AND s.deleted_at IS NULL"
        " ORDER BY p.position, p.id, s.position, s.id"
    ),
    "totals": (
        "SELECT d.stage_id, d.currency, count(*), sum(d.value_minor) FROM deal d"
        " WHERE d.deleted_at IS NULL"
        " AND d.stage_id IN (SELECT s.id FROM stage s WHERE s.pipeline_id = ?)"
        " GROUP BY d.stage_id, d.currency"
    ),
    "ids_dated": (
        "SELECT d.id FROM deal d WHERE d.stage_id = ? AND d.deleted_at IS NULL"
        " AND d.expected_close IS NOT NULL ORDER BY d.expected_close, d.id LIMIT ?"
    ),
    "ids_undated": (
        "SELECT d.id FROM deal d WHERE d.stage_id = ? AND d.deleted_at IS NULL"
        " AND d.expected_close IS NULL ORDER BY d.id LIMIT ?"
    ),
    "cards": (
        "SELECT d.id, d.title, c.name, co.name, d.value_minor, d.currency,"
        f" d.stage_entered_at, d.stage_id, d.version, {NEXT_DUE}"
        # CROSS JOIN keeps the ids as SQLite's outer loop: one primary-key seek per card
        # (the planner's figures of a table of a few rows may make it a scan of those rows).
        " FROM {ids} CROSS JOIN deal d"
        " LEFT JOIN contact c ON c.id = d.contact_id"
        " LEFT JOIN company co ON co.id = d.company_id"
        " WHERE d.id = j.value"
    ),
    "change_stamp": "SELECT max(id) FROM change_set",
}

_IDS = {
    "sqlite": "json_each(?) AS j",
    "postgres": "unnest(%s::bigint[]) AS j(value)",
}


@dataclass(frozen=True)
class StageInfo:
    id: int
    name: str
    kind: str  # open, won, lost


@dataclass(frozen=True)
class CardRow:
    """A deal as a board card shows it, in plain values."""

    id: int
    title: str
    party: str
    value_minor: int
    currency: str
    days: int
    next_step: str  # overdue, today, later, none
    stage_id: int
    version: int


class BoardReader:
    """One read-only connection for the board's reads, shared by the TUI's worker threads
    (one statement at a time, under a lock)."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres
        self._lock = threading.RLock()

    # --- statements ------------------------------------------------------------------------

    def statement(self, name: str) -> str:
        sql = SQL[name].replace("{ids}", _IDS["postgres" if self.postgres else "sqlite"])
        return sql.replace("?", "%s") if self.postgres else sql

    def rows(self, name: str, *params: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            cursor = self.conn.cursor()
            try:
                cursor.execute(self.statement(name), params)
                return list(cursor.fetchall())
            finally:
                cursor.close()

    def ids_param(self, ids: Sequence[int]) -> Any:
        return [int(i) for i in ids] if self.postgres else json.dumps([int(i) for i in ids])

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Several reads that see the same committed state (on SQLite; PostgreSQL's
        statements each see what was committed when they started)."""
        with self._lock:
            if self.postgres:
                yield
                return
            self.conn.execute("BEGIN")
            try:
                yield
            finally:
                self.conn.execute("COMMIT")

    # --- the board -------------------------------------------------------------------------

    def pipelines(self) -> list[tuple[int, str, list[StageInfo]]]:
        """Every pipeline in order with its live stages in board order."""
        found: list[tuple[int, str, list[StageInfo]]] = []
        for pid, pname, sid, sname, kind in self.rows("stages"):
            if not found or found[-1][0] != pid:
                found.append((int(pid), str(pname), []))
            if sid is not None:
                found[-1][2].append(StageInfo(int(sid), str(sname), str(kind)))
        return found

    def totals(self, pipeline_id: int) -> dict[int, list[tuple[str, int, int]]]:
        """Per stage: (currency, count, sum of values in minor units), by currency."""
        result: dict[int, list[tuple[str, int, int]]] = {}
        for stage_id, currency, count, value in self.rows("totals", pipeline_id):
            result.setdefault(int(stage_id), []).append(
                (str(currency), int(count), int(value or 0))
            )
        for parts in result.values():
            parts.sort()
        return result

    def column_ids(self, stage_id: int, limit: int | None = None) -> array[int]:
        """The ids of the stage's live deals in board order (the first `limit` of them)."""
        ids: array[int] = array("q")
        for name in ("ids_dated", "ids_undated"):
            left = None if limit is None else limit - len(ids)
            if left == 0:
                break
            # No limit: NULL on PostgreSQL (LIMIT ALL), -1 on SQLite.
            bound = left if left is not None else (None if self.postgres else -1)
            ids.extend(row[0] for row in self.rows(name, stage_id, bound))
        return ids

    def cards(self, ids: Sequence[int], tz: ZoneInfo) -> dict[int, CardRow]:
        """The cards of these deals, by id (one missing was purged meanwhile)."""
        if not ids:
            return {}
        from crm_cli.domain.dates import now_utc

        now = now_utc()
        tomorrow = _tomorrow(now, tz)
        found: dict[int, CardRow] = {}
        for (
            deal_id,
            title,
            contact,
            company,
            value,
            currency,
            entered,
            stage_id,
            version,
            due,
        ) in self.rows("cards", self.ids_param(ids)):
            found[int(deal_id)] = CardRow(
                id=int(deal_id),
                title=str(title),
                party=str(contact or company or ""),
                value_minor=int(value),
                currency=str(currency),
                days=max(0, (now - _utc(entered)).days),
                next_step=next_step(due, now, tomorrow),
                stage_id=int(stage_id),
                version=int(version),
            )
        return found

    def change_stamp(self) -> object:
        """The newest change set of the journal: every command's write records one."""
        return self.rows("change_stamp")[0][0]

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def choose_pipeline(
    pipelines: list[tuple[int, str, list[StageInfo]]], ref: str | None, default: str, explicit: bool
) -> tuple[int, str, list[StageInfo]]:
    """The pipeline named `ref` (or with that id); without one, `default` (the configured
    default): as services.pipelines.Board.pipeline chooses, which `explicit` mirrors (a
    default never set falls back to the first pipeline). Named as `find_named` names it: as
    typed, else case aside, else with accents folded ("vendas sao paulo" is "Vendas São
    Paulo"); a name several pipelines have once folded is refused."""
    from crm_cli.domain.text import names_matching
    from crm_cli.errors import InvalidValue

    wanted = (ref if ref is not None else default).strip()
    number = wanted.lstrip("#")
    for found in pipelines:
        if number.isdigit() and int(number) == found[0]:
            return found
    named = [pipelines[i] for i in names_matching([p[1] for p in pipelines], wanted)]
    if len(named) > 1:
        shown = "; ".join(f"{p[0]} {p[1]}" for p in named)
        raise InvalidValue("pipeline", wanted, f"matches several: {shown}; use the id")
    if named:
        return named[0]
    if not (ref is not None or explicit) and pipelines:
        return pipelines[0]
    names = ", ".join(p[1] for p in pipelines)
    error = NotFound("pipeline", wanted)
    error.message = f"{error.message}; pipelines: {names}"
    raise error


def next_step(due: Any, now: datetime, tomorrow: datetime) -> str:
    """overdue (due by now), today (before local midnight), later, or none (no open follow-up)."""
    if due is None:
        return "none"
    moment = _utc(due)
    return "overdue" if moment <= now else "today" if moment < tomorrow else "later"


def _tomorrow(now: datetime, tz: ZoneInfo) -> datetime:
    from crm_cli.domain.dates import localize

    return localize(now.astimezone(tz).date() + timedelta(days=1), time(0, 0), tz)


def _utc(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite gives naive UTC text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    moment: datetime = value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def connect(url: str) -> BoardReader | None:
    """A connection that only reads, or None when there is no database file yet."""
    from crm_cli import paths

    if url.startswith("sqlite"):
        import sqlite3

        path = paths.sqlite_path(url)
        if path is None or not path.is_file():
            return None
        try:
            # Autocommit: each read sees the latest commit; `snapshot` groups reads.
            conn = sqlite3.connect(
                str(path), timeout=5, check_same_thread=False, isolation_level=None
            )
            conn.execute("PRAGMA query_only = 1")
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot read {path}: {exc}") from None
        return BoardReader(conn, postgres=False)
    import psycopg

    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql://" + url.removeprefix(prefix)
    try:
        pg = psycopg.connect(url, connect_timeout=5, autocommit=True)
    except psycopg.Error as exc:
        raise DatabaseError(f"cannot read the database: {exc}") from None
    pg.read_only = True
    return BoardReader(pg, postgres=True)
