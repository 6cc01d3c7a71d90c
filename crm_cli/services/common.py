"""Helpers the services share: tags, custom fields, ids, listing pages."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any, TypeVar

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain import dates
from crm_cli.errors import InvalidValue
from crm_cli.store.models import Tag

T = TypeVar("T")
R = TypeVar("R")

_TAG_PUNCTUATION = set("-_.:/&+")
_FIELD_KEY = re.compile(r"^[^\W\d][\w\-.]*$", re.UNICODE)


def clean_tag(name: str) -> str:
    """A tag as stored: lower-case NFC; letters (with their marks: हिंदी, İzmir), digits and
    - _ . : / & +, starting with a letter or digit."""
    tag = unicodedata.normalize("NFC", name.strip().lstrip("#").lower())
    valid = (
        bool(tag)
        and len(tag) <= 64
        and unicodedata.category(tag[0])[0] in "LN"
        and all(unicodedata.category(ch)[0] in "LNM" or ch in _TAG_PUNCTUATION for ch in tag)
    )
    if not valid:
        raise InvalidValue("tag", name, "use letters, digits and - _ . : / & + (no spaces)")
    return tag


def clean_field_key(key: str) -> str:
    k = key.strip()
    if not _FIELD_KEY.match(k) or len(k) > 64:
        raise InvalidValue(
            "field", key, "a field name starts with a letter; letters, digits, - _ ."
        )
    return k


def parse_field(text: str) -> tuple[str, str | None]:
    """`key=value` sets a custom field; `key=` (empty) removes it."""
    if "=" not in text:
        raise InvalidValue("field", text, "write it as key=value")
    key, value = text.split("=", 1)
    return clean_field_key(key), (value if value != "" else None)


def locking(session: Session) -> bool | None:
    """Whether reads in this session lock the rows they find.

    A write session locks every record it looks up until it commits (`SELECT ... FOR UPDATE`
    on PostgreSQL; SQLite's write transactions hold the whole database already). A read that
    decides a write therefore cannot go stale: a second writer of the same record waits, then
    reads what the first one wrote. Returns None (no lock) for read-only sessions.
    """
    return True if session.info.get("write") else None


def upsert_ignoring(session: Session, table: Any, rows: list[dict[str, Any]], key: str) -> None:
    """Insert rows, skipping those whose `key` exists already (also when another process
    inserts the same key at the same moment: no unique-constraint failure)."""
    if not rows:
        return
    statement: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement = postgresql.insert(table)
    else:
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(table)
    session.execute(statement.values(rows).on_conflict_do_nothing(index_elements=[key]))


def tag_ids(session: Session, names: Iterable[str]) -> dict[str, int]:
    """Ids of the named tags, creating the missing ones."""
    wanted = sorted({clean_tag(n) for n in names})
    if not wanted:
        return {}

    def read() -> dict[str, int]:
        rows = session.execute(select(col(Tag.name), col(Tag.id)).where(col(Tag.name).in_(wanted)))
        return {str(k): int(v) for k, v in rows if v is not None}

    found = read()
    missing = [n for n in wanted if n not in found]
    if missing:
        now = datetime.now(UTC)
        upsert_ignoring(
            session,
            Tag.__table__,  # type: ignore[attr-defined]
            [{"name": n, "created_at": now, "updated_at": now} for n in missing],
            "name",
        )
        found = read()
        from crm_cli.services.journal import recorder

        rec = recorder(session)
        if rec is not None:
            # New tags are part of the change: its undo takes them away again.
            rec.note_created(
                "tag",
                [
                    {"id": found[n], "created_at": now, "updated_at": now, "version": 1, "name": n}
                    for n in missing
                    if n in found
                ],
            )
    return found


def tag_names(session: Session, link: Any, owner_col: str, owner_id: int) -> list[str]:
    link = getattr(link, "__table__", link)
    return sorted(
        session.scalars(
            select(col(Tag.name))
            .join(link, link.c.tag_id == col(Tag.id))
            .where(link.c[owner_col] == owner_id)
        ).all()
    )


def set_tags(
    session: Session,
    link: Any,
    owner_col: str,
    owner_id: int,  # link: table or model
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> None:
    """Add and remove tags on one record through its link table; the journal sees the
    record's tags before and after."""
    link = getattr(link, "__table__", link)
    add_ids = tag_ids(session, add)
    remove_names = [clean_tag(n) for n in remove]
    if not add_ids and not remove_names:
        return
    before = tag_names(session, link, owner_col, owner_id)
    if remove_names:
        rm = session.scalars(select(col(Tag.id)).where(col(Tag.name).in_(remove_names))).all()
        if rm:
            session.execute(
                delete(link).where(link.c[owner_col] == owner_id, link.c.tag_id.in_(rm))
            )
    if add_ids:
        present = set(
            session.scalars(select(link.c.tag_id).where(link.c[owner_col] == owner_id)).all()
        )
        rows = [{owner_col: owner_id, "tag_id": t} for t in add_ids.values() if t not in present]
        if rows:
            session.execute(insert(link), rows)
    after = sorted((set(before) - set(remove_names)) | set(add_ids))
    from crm_cli.services.journal import note_list

    note_list(session, owner_col.removesuffix("_id"), owner_id, "tags", before, after)


def tags_by_owner(
    session: Session, link: Any, owner_col: str, ids: list[int]
) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return result
    link = getattr(link, "__table__", link)
    owner_key = link.c[owner_col]
    rows = session.execute(
        select(owner_key, col(Tag.name))
        .join(Tag, col(Tag.id) == link.c.tag_id)
        .where(owner_key.in_(ids))
        .order_by(col(Tag.name))
    )
    for owner, name in rows:
        result[int(owner)].append(str(name))
    return result


# Ids are 32-bit integers on PostgreSQL; a larger number cannot be one.
MAX_ID = 2**31 - 1


def id_of(ref: str) -> int | None:
    """The id that `ref` spells (`12`, `#12`), or None when it is not a number.

    Only ASCII digits count: `str.isdigit()` also accepts "²" and other digits that `int()`
    refuses. A number beyond the id range is returned as 0, which matches no record.
    """
    text = str(ref).strip().lstrip("#")
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text) <= 10 and int(text) <= MAX_ID else 0


def parse_id(ref: str, kind: str) -> int:
    number = id_of(ref)
    if number is None:
        raise InvalidValue(kind, ref, "not an id (a whole number)")
    return number


# Records are read with one query per kind of detail, `WHERE id IN (...)` over the records at
# hand. That list is kept this short, so a listing of 100,000 rows stays far below SQLite's
# 32,766 and PostgreSQL's 65,535 bind parameters.
RECORDS_CHUNK = 1000


def in_chunks(items: Sequence[T], build: Callable[[Sequence[T]], list[R]]) -> list[R]:
    """`build` over `items` a chunk at a time (see RECORDS_CHUNK), results in order."""
    if len(items) <= RECORDS_CHUNK:
        return build(items)
    result: list[R] = []
    for start in range(0, len(items), RECORDS_CHUNK):
        result.extend(build(items[start : start + RECORDS_CHUNK]))
    return result


def zone(session: Session) -> tzinfo:
    """The zone this session's records show their times in: the user's, set by
    `Context.session()` (UTC for a bare session)."""
    tz = session.info.get("tz")
    return tz if isinstance(tz, tzinfo) else UTC


def iso(value: datetime | None, tz: tzinfo) -> str | None:
    """ISO 8601 with offset, in the zone `tz` (times are stored in UTC)."""
    return None if value is None else dates.iso(value, tz)  # type: ignore[arg-type]


class TimeText:
    """Stored times as records show them, for rows read as the driver gives them (naive UTC
    text on SQLite, aware datetimes on PostgreSQL): `local` is `iso(value, tz)`, `days_since`
    the whole days from a time to now (never below 0).

    On SQLite each hour's offset from UTC is worked out once (`tz` is asked at the hour's
    first and last second; an hour with a change of offset takes the full path): a listing's
    times then cost a parse and a format each, not a zone lookup."""

    def __init__(self, tz: tzinfo, dialect: str, now: datetime | None = None) -> None:
        self.tz = tz
        self.now = now or dates.now_utc()  # the clock, or CRM_NOW, as records count days
        self._naive_now = self.now.astimezone(UTC).replace(tzinfo=None)
        self._hours: dict[str, tuple[str | None, Any, str]] = {}
        self._today = self._naive_now.date()
        # For writers that inline the common cases (see `json`, `days_since`): per UTC hour
        # with a whole-hour offset, the JSON text around its minutes and seconds; per date, the
        # days to today; and now's time of day in the stored form.
        self.json_hours: dict[str, tuple[str, str]] = {}
        self.day_counts: dict[str, int] = {}
        self.clock = self._naive_now.time().isoformat(timespec="microseconds")
        if dialect != "sqlite":
            self.local = self._local_aware  # type: ignore[method-assign]
            self.days_since = self._days_aware  # type: ignore[method-assign]

    def local(self, value: Any) -> str | None:
        if value is None:
            return None
        hour = value[:13]
        try:
            prefix, shift, suffix = self._hours[hour]
        except KeyError:
            prefix, shift, suffix = self._hours[hour] = self._hour(hour)
        if prefix is not None and len(value) >= 19:
            # A whole-hour offset moves only the date and hour: minutes and seconds stay.
            return str(prefix + value[13:19] + suffix)
        if shift is not None:
            try:
                text: str = (datetime.fromisoformat(value[:19]) + shift).isoformat()
                return text + suffix
            except (OverflowError, ValueError):
                pass
        return iso(datetime.fromisoformat(value).replace(tzinfo=UTC), self.tz)

    def json(self, value: Any) -> str:
        """`local(value)` as JSON text: `null`, or the time in quotes. On SQLite it notes the
        value's hour in `json_hours` when its offset is whole hours: the JSON text of any time
        in that hour is then `before + value[13:19] + after`."""
        shown = self.local(value)
        if shown is None:
            return "null"
        if value.__class__ is str:
            prefix, _shift, suffix = self._hours[value[:13]]
            if prefix is not None:
                self.json_hours[value[:13]] = ('"' + prefix, suffix + '"')
        return f'"{shown}"'

    def _hour(self, hour: str) -> tuple[str | None, Any, str]:
        """For the UTC hour `hour` ("YYYY-MM-DD HH"): the local "YYYY-MM-DDTHH" when the
        offset is whole hours, the offset, and its text; (None, None, "") when the offset
        changes within the hour or the time cannot be converted."""
        from datetime import timedelta

        try:
            start = datetime.fromisoformat(hour + ":00:00").replace(tzinfo=UTC)
            first = start.astimezone(self.tz)
            last = (start + timedelta(minutes=59, seconds=59)).astimezone(self.tz)
        except (OverflowError, ValueError):
            return None, None, ""
        offset = first.utcoffset()
        if offset is None or offset != last.utcoffset():
            return None, None, ""
        text = first.isoformat(timespec="seconds")
        whole = offset.total_seconds() % 3600 == 0
        return (text[:13] if whole else None), offset, text[19:]

    def days_since(self, value: Any) -> int:
        # SQLite's stored form, "YYYY-MM-DD HH:MM:SS.ffffff": the days between the dates, one
        # fewer when the time of day is past now's (compared as text, same form).
        if len(value) == 26 and value[10] == " ":
            day = value[:10]
            try:
                between = self.day_counts[day]
            except KeyError:
                between = self.day_counts[day] = (self._today - date.fromisoformat(day)).days
            return max(0, between - 1 if value[11:] > self.clock else between)
        return max(0, (self._naive_now - datetime.fromisoformat(value)).days)

    def _local_aware(self, value: Any) -> str | None:
        return None if value is None else iso(value, self.tz)

    def _days_aware(self, value: datetime) -> int:
        return max(0, (self.now - value).days)


# A page's "of N" is counted up to here and no further: past it the note says "more than",
# so a page costs the same at a hundred matches or a million.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class Page:
    """A listing's rows and how many records matched.

    `rows` is a list when the listing has a limit (a person's page), and an iterator when it
    lists every match (a script's `--json`, `--csv`, a pipe): then records are read from the
    database a chunk at a time while they are written, so memory stays flat at any size, and
    the session must stay open until they are consumed. `total` is None when not counted (every
    row listed: the output is the count); `more` says the count stopped at COUNT_CAP."""

    rows: Iterable[dict[str, Any]]
    total: int | None
    totals: dict[str, Any] | None = None
    more: bool = False


class RecordStream:
    """Every record of a listing, read from the database a chunk at a time as it is iterated
    (once): an iterable of record dicts, like a page's list.

    A listing that knows how to write its records' JSON text straight from the rows (the same
    text `json.dumps` gives for the dict, in compact form) also offers `json_blocks`: the text
    of each chunk's records joined with ",\\n", which the JSON writer uses instead of building
    a dict per row and encoding it (at a million rows, most of the time a listing takes). One
    that can read its records' ids alone offers `id_blocks` (for `--ids`). `text_blocks`
    gives each chunk's records as text a writer makes of them (CSV). A listing that gives
    `transfer` (how a chunk's rows become bytes and back) has a long listing's JSON and text
    blocks made on two cores (services.fanout)."""

    def __init__(
        self,
        parts: Callable[[], Iterator[Sequence[Any]]],
        records: Callable[[Sequence[Any]], list[dict[str, Any]]],
        json_block: Callable[[Sequence[Any]], str] | None = None,
        id_parts: Callable[[], Iterator[Sequence[int]]] | None = None,
        records_with: Callable[[frozenset[str]], Callable[[Sequence[Any]], list[dict[str, Any]]]]
        | None = None,
        transfer: tuple[Callable[[Any], bytes], Callable[[bytes], Any]] | None = None,
    ) -> None:
        self._parts = parts
        self._records = records
        self._json_block = json_block
        self._id_parts = id_parts
        self._records_with = records_with
        self._transfer = transfer

    def text_blocks(
        self, keys: Iterable[str], write: Callable[[list[dict[str, Any]]], str]
    ) -> Iterator[str]:
        """Each chunk's records as the text `write` makes of them. The records hold at least
        `keys`: a listing may leave out what costs to make and is not asked for (the times,
        for a CSV of a table's columns). With `transfer`, `write` runs in the forked copy for
        most chunks: it must need no database and no file."""
        build = self._records
        if self._records_with is not None:
            build = self._records_with(frozenset(keys))

        def work(part: Sequence[Any]) -> str:
            return write(build(part))

        yield from self._worked(work)

    def _worked(self, work: Callable[[Sequence[Any]], str]) -> Iterator[str]:
        parts = (part for part in self._parts() if part)
        if self._transfer is None:
            yield from map(work, parts)
            return
        from crm_cli.services import fanout

        yield from fanout.in_order(parts, work, *self._transfer)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        build = self._records
        for part in self._parts():
            yield from build(part)

    @property
    def has_json(self) -> bool:
        return self._json_block is not None

    @property
    def has_ids(self) -> bool:
        return self._id_parts is not None

    def id_blocks(self) -> Iterator[str]:
        """The records' ids, one a line, a chunk per string: read alone (from an index that
        holds them, where the listing has one), without the records (see `--ids`)."""
        assert self._id_parts is not None
        for ids in self._id_parts():
            if ids:
                yield "\n".join(map(str, ids)) + "\n"

    def json_blocks(self) -> Iterator[str]:
        """The records' compact JSON, one string per chunk (see the class)."""
        assert self._json_block is not None
        yield from self._worked(self._json_block)


def page_of(
    session: Session,
    query: Select[Any],
    build: Callable[[Sequence[Any]], list[dict[str, Any]]],
    limit: int | None,
    totals: dict[str, Any] | None = None,
) -> Page:
    """The listing of `query` (ORM entities, ordered) as records made by `build`: a page of
    `limit` rows with a count capped at COUNT_CAP, or, without a limit, every row streamed."""
    if limit is None:
        return Page(stream(session, query, build), None, totals)
    found = list(session.scalars(query.limit(limit)))
    total, more = len(found), False
    if len(found) == limit:
        total, more = count_upto(session, query, COUNT_CAP)
    return Page(build(found), total, totals, more)


def stream(
    session: Session, query: Select[Any], build: Callable[[Sequence[Any]], list[dict[str, Any]]]
) -> RecordStream:
    """Every row of `query`, read RECORDS_CHUNK at a time (a server-side cursor on PostgreSQL)
    and turned into records by `build` one chunk at a time; `--ids` reads the ids alone.

    `query` selects one ORM entity; the stream reads its table's columns instead, as named
    tuples (which `build` reads by the same attribute names): an ORM object per row would cost
    more than everything else a row needs (and a Row's attribute lookup, 25 times an index),
    and a script may list a million."""
    from collections import namedtuple

    entity = query.column_descriptions[0]["entity"]
    table = entity.__table__

    def parts() -> Iterator[Sequence[Any]]:
        columns = query.with_only_columns(*table.columns)
        # Core rows on the session's connection (same transaction): the ORM's row loading
        # would add several microseconds a row for columns that are no entity anyway.
        result = session.connection().execute(columns.execution_options(yield_per=RECORDS_CHUNK))
        make = namedtuple(entity.__name__, list(result.keys()))._make  # type: ignore[attr-defined]
        for part in result.partitions():
            yield [make(row) for row in part]

    def id_parts() -> Iterator[Sequence[int]]:
        ids = query.with_only_columns(table.c.id, maintain_column_froms=True)
        for part in driver_parts(session, ids):
            yield [row[0] for row in part]

    return RecordStream(parts, build, id_parts=id_parts)


def driver_parts(session: Session, statement: Any, size: int | None = None) -> Iterator[Any]:
    """The rows of `statement` (Core, on the session's connection and transaction), `size`
    (default RECORDS_CHUNK) at a time, as the driver's own tuples, with no result processing:
    for statements whose columns need none (numbers and text, times read as text by
    `stored_text`); a Row object a row cost as much as SQLite reading it. On PostgreSQL they
    come from a server-side cursor, `size` rows a round trip, as plain tuples too (which
    `marshal` can send to another process)."""
    size = size or RECORDS_CHUNK
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        streamed = connection.execute(statement.execution_options(yield_per=size))
        yield from _server_parts(streamed, size)
        return
    yield from _cursor_parts(connection.execute(statement), size)


def _cursor_parts(result: Any, size: int) -> Iterator[Any]:
    """The rows left in `result`'s driver cursor, `size` at a time; the result is closed
    after them (or when the reader stops early)."""
    cursor = result.cursor
    try:
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        result.close()


def _server_parts(result: Any, size: int) -> Iterator[list[Any]]:
    """A server-side cursor's rows as plain tuples, a chunk at a time: the first chunk through
    the result (which read the first row to learn the columns and holds it), the rest from
    the driver's cursor itself once the result holds no row (measured: a Row object and its
    tuple cost the reading process 1.2 s of a million deals)."""
    rows = result.partitions(size)
    first = next(rows, None)
    if first is None:
        return
    yield [tuple(row) for row in first]
    # Whether the result has handed over every row it read; if this cannot be told, it
    # keeps reading them.
    held = getattr(getattr(result, "cursor_strategy", None), "_rowbuffer", None)
    if held is None or len(held) or result.cursor is None:
        for part in rows:
            yield [tuple(row) for row in part]
        return
    yield from _cursor_parts(result, size)


def stored_text(column: Any, dialect: str) -> Any:
    """A date or time column as text in SQLite's stored form ("YYYY-MM-DD" for a date,
    "YYYY-MM-DD HH:MM:SS.ffffff" in UTC for a time), on either database, for rows read by
    `driver_parts` and shown by `TimeText` in its text form. On PostgreSQL the server writes
    the text: a driver's datetime cost the reading process about 1.5 µs to make and, sent to
    another process (`fanout`), 3.5 µs to pickle, where text goes by `marshal`."""
    from sqlalchemy import Date, String, func, type_coerce

    if dialect == "sqlite":
        return type_coerce(column, String)
    if isinstance(column.type, Date):
        return func.to_char(column, "YYYY-MM-DD", type_=String)
    utc = func.timezone("UTC", column)
    return func.to_char(utc, "YYYY-MM-DD HH24:MI:SS.US", type_=String)


def no_jit(session: Session) -> None:
    """On PostgreSQL, no JIT compilation of the statements left in this transaction: a
    listing's statements read many rows and compute little, and compiling each cost 0.17 s
    (measured, a stage of 72,000 deals) of its 1.1 s."""
    from sqlalchemy import text

    session.execute(text("SET LOCAL jit = off"))


def count_upto(session: Session, query: Select[Any], cap: int) -> tuple[int, bool]:
    """How many rows `query` matches, counting no further than `cap`: (count, more than cap)."""
    from sqlalchemy import func, literal

    inner = query.order_by(None).with_only_columns(literal(1)).limit(cap + 1).subquery()
    n = int(session.scalar(select(func.count()).select_from(inner)) or 0)
    return min(n, cap), n > cap


def sort_spec(
    value: str | None, allowed: dict[str, Any], default: str, tie: Any = None
) -> list[Any]:
    """Turn `--sort -created,name` into ORDER BY clauses, refusing unknown columns; `tie`
    (the id) breaks ties last, in the direction of the first key.

    The tie-break follows the first key so that an index on (..., key, id) serves the order
    read forwards or backwards; against it, PostgreSQL sorts every match instead. NULLS LAST
    is asked only of columns that can be empty: on a NOT NULL column it changes nothing but
    keeps both databases from reading the order from an index."""
    spec = value or default
    clauses = []
    first_desc: bool | None = None
    for part in spec.split(","):
        part = part.strip()
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in allowed:
            raise InvalidValue(
                "sort", value or spec, f"sort by one of {', '.join(sorted(allowed))}"
            )
        first_desc = desc if first_desc is None else first_desc
        column = allowed[name]
        clause = column.desc() if desc else column.asc()
        # Empty values last in both directions, the same on SQLite and PostgreSQL.
        nullable = getattr(getattr(column, "expression", column), "nullable", True)
        clauses.append(clause.nulls_last() if nullable is not False else clause)
    if tie is not None:
        clauses.append(tie.desc() if first_desc else tie.asc())
    return clauses
