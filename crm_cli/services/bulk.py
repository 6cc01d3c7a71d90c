"""Bulk writes: many records in one statement per table, for imports.

The same checks as `add_contact` (every value through the same validators, emails unique),
but no ORM object per row and no statement per row: on this machine that is the difference
between ~80,000 rows a second and ~800. The journal records every created row, so `crm undo`
takes a whole import back like any other change.

Callers pass clean inputs or get `InvalidValue` for the first bad one; an importer that
wants to reject rows one by one checks each with `check_contact` first and passes the good
ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain.contactinfo import national_digits
from crm_cli.domain.text import clean_line, index_tokens, phone_tokens
from crm_cli.errors import Conflict, InvalidValue
from crm_cli.services import common, journal
from crm_cli.services.contacts import (
    ContactInput,
    _emails,
    _phones,
    check_lifecycle,
    search_columns,
)
from crm_cli.services.users import resolve_user
from crm_cli.store.models import Company, Contact, ContactEmail, ContactPhone, ContactTag
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from crm_cli.services.context import Context

# Bind parameters per statement stay far below SQLite's 32,766 and PostgreSQL's 65,535.
CHUNK = 5_000


@dataclass(slots=True)
class CheckedContact:
    """A contact whose every value has passed the checks, ready to insert. (Not frozen: an
    import makes one a row, and a frozen dataclass sets each field through
    `object.__setattr__`; nothing changes one once made.)"""

    name: str
    given_name: str | None
    family_name: str | None
    title: str | None
    company: str | None
    lifecycle: str
    source: str | None
    owner: str | None
    cadence_days: int | None
    emails: list[str]
    phones: list[str]
    tags: list[str]
    custom: dict[str, str]
    external_id: str | None = None  # the id another system gave it (imports)
    # Its search tokens (search_name, search_doc), when made ahead (a large import makes them
    # while checking rows on two cores); None: made when it is inserted.
    search: tuple[str, str] | None = None
    # The label (`work`, `mobile`, ...) of each email and phone that has one, by its
    # normalised value: what the `label` column of its row gets (imports).
    labels: dict[str, str] | None = None


def check_contact(ctx: Context, inp: ContactInput) -> CheckedContact:
    """Every value of one contact checked, as `add_contact` checks them; raises
    `InvalidValue` naming the field for the first bad one. Touches no database."""

    def line(value: str | None, field: str) -> str | None:
        return clean_line(value, field, required=False) or None if value else None

    if inp.cadence_days is not None and not 0 <= inp.cadence_days <= 3650:
        raise InvalidValue("cadence", inp.cadence_days, "must be from 0 to 3650 days")
    return CheckedContact(
        name=clean_line(inp.name or "", "name"),
        given_name=line(inp.given_name, "given_name"),
        family_name=line(inp.family_name, "family_name"),
        title=line(inp.title, "title"),
        company=clean_line(inp.company, "company", collapse=False) if inp.company else None,
        lifecycle=check_lifecycle(inp.lifecycle) if inp.lifecycle else "lead",
        source=line(inp.source, "source"),
        owner=inp.owner,
        cadence_days=inp.cadence_days or None,
        emails=_emails((inp.emails or []) + inp.add_emails),
        phones=_phones((inp.phones or []) + inp.add_phones, ctx.config.phone_region),
        tags=sorted({common.clean_tag(t) for t in inp.add_tags}),
        custom={k: v for k, v in inp.fields.items() if v is not None},
    )


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def key_batches(session: Session, table: Any, keys: Sequence[str]) -> Iterator[list[str] | None]:
    """The batches of `keys` to look up in `table`, CHUNK at a time; or one None, meaning
    "read the whole table", when it has no more rows than there are keys: a first import into
    an empty or small database then costs one plain query instead of one per batch. The
    caller keeps only what it asks for (a dictionary by key), so both find the same."""
    if not keys:
        return
    size = int(session.scalar(select(func.count()).select_from(table)) or 0)
    if size <= len(keys):
        yield None
        return
    for start in range(0, len(keys), CHUNK):
        yield list(keys[start : start + CHUNK])


def insert_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert `rows` into `table` and return their new ids, in order.

    PostgreSQL returns them from multi-row INSERT ... RETURNING statements. SQLite's driver
    cannot keep RETURNING rows in parameter order for many rows at once, so SQLAlchemy sends
    one statement per row there (measured: 100,000 statements, most of an import's time).
    A write transaction on SQLite holds the database's write lock from its first statement
    (BEGIN IMMEDIATE, store/engine.py), so no one else can insert meanwhile: the ids are
    counted on from the largest one, exactly the ids SQLite would give (the tables have no
    AUTOINCREMENT), and the rows go in with one executemany per chunk.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name == "sqlite":
        start = int(session.scalar(select(func.max(table.c.id))) or 0)
        ids = list(range(start + 1, start + 1 + len(rows)))
        for row, i in zip(rows, ids, strict=True):
            row["id"] = i  # the caller's rows: it gets these ids back anyway
        with search_index_after(session, table, start + 1, start + len(rows)):
            insert_many(session, table, rows)
        return ids
    found: list[int] = []
    for part in _chunks(rows):
        found.extend(
            int(i)
            for i in session.scalars(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), list(part)
            )
        )
    return found


def insert_many(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (no ids wanted back) into `table`: on SQLite with the driver's own
    executemany, each column's values converted as SQLAlchemy would convert them (times,
    JSON); building SQLAlchemy's parameters row by row cost as much as the inserts. Rows must
    all have the same keys there; otherwise, and on PostgreSQL, one INSERT per chunk."""
    if not rows:
        return
    names = list(rows[0])
    if session.get_bind().dialect.name != "sqlite" or any(len(r) != len(names) for r in rows):
        for part in _chunks(rows):
            session.execute(insert(table), list(part))
        return
    from sqlalchemy import bindparam

    connection = session.connection()
    dialect = connection.dialect
    compiled = insert(table).values({n: bindparam(n) for n in names}).compile(dialect=dialect)
    order = list(compiled.positiontup or ())
    # Columns the rows leave out get their defaults: plain values only (`version` = 1).
    defaults = {}
    for n in order:
        if n not in rows[0]:
            default = table.c[n].default if n in table.c else None
            if default is None or not default.is_scalar:
                for part in _chunks(rows):  # not plain parameters: the usual way
                    session.execute(insert(table), list(part))
                return
            defaults[n] = default.arg
    converters = [table.c[n].type._cached_bind_processor(dialect) for n in order]
    columns = [
        [defaults[n]] * len(rows) if n in defaults else [row[n] for row in rows] for n in order
    ]
    for i, convert in enumerate(converters):
        if convert is not None:
            columns[i] = _converted(columns[i], convert)
    with _indexes_after(session, table, len(rows)):
        connection.exec_driver_sql(str(compiled), list(zip(*columns, strict=True)))


# From this many rows, a bulk insert on SQLite indexes its rows after the insert (below, the
# difference does not matter).
BULK_INDEXES = 500


@contextmanager
def _indexes_after(session: Session, table: Any, adding: int) -> Iterator[None]:
    """On SQLite, when `adding` rows (about to be inserted in the block) outnumber the rows
    `table` has, its plain indexes (not the unique ones, which must refuse a duplicate as it
    comes) are dropped for the block and made again after it, from the text SQLite kept:
    building an index from sorted rows at the end is cheaper than updating it row by row
    (measured: 100,000 contacts with their emails and phones, 2.55 s of CPU inserting them
    against 1.78 s). Inside the caller's transaction, like `search_index_after`: no other
    connection sees the table without them, and a failure rolls both back.

    The table's size is judged by its largest id (a count would read a large table whole).
    A table whose insert trigger reads the table itself keeps its indexes: without them each
    row's trigger would scan every row inserted before it (stage changes, whose funnel
    trigger looks up the deal's other changes: 20,000 of them took 99 s, not 0.2 s)."""
    from sqlalchemy import text

    if adding < BULK_INDEXES or "id" not in table.c:
        yield
        return
    largest = int(session.scalar(select(func.max(table.c.id))) or 0)
    if largest >= adding or _insert_trigger_reads(session, table.name):
        yield
        return
    indexes = session.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
            "AND sql IS NOT NULL"
        ),
        {"t": table.name},
    ).all()
    plain = [(str(n), str(sql)) for n, sql in indexes if not _unique(str(sql))]
    for name, _sql in plain:
        session.execute(text(f'DROP INDEX "{name}"'))
    try:
        yield
    finally:
        for _name, sql in plain:
            session.execute(text(sql))


def _insert_trigger_reads(session: Session, name: str) -> bool:
    """Whether an insert trigger on table `name` (as it stands: the search index's is
    dropped by then) names the table in its body."""
    import re

    from sqlalchemy import text

    triggers = session.scalars(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": name},
    )
    itself = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
    for sql in triggers:
        head, _, body = str(sql).upper().partition("BEGIN")
        if re.search(r"\bINSERT\s+ON\b", head) and itself.search(body):
            return True
    return False


def _unique(sql: str) -> bool:
    return sql.lstrip().upper().startswith("CREATE UNIQUE")


def _converted(values: list[Any], convert: Any) -> list[Any]:
    """`convert` applied to each value; a run of the same value (one time stamp for a whole
    import) converted once."""
    out: list[Any] = []
    last: Any = object()
    done: Any = None
    for value in values:
        if value is not last:
            last, done = value, convert(value)
        out.append(done)
    return out


# Below this many rows the search trigger's cost does not matter.
BULK_SEARCH_INDEX = 500


@contextmanager
def search_index_after(session: Session, table: Any, first: int, last: int) -> Iterator[None]:
    """On SQLite, rows `first`..`last` of `table` (about to be inserted in the block) go into
    its search index with one statement after the block, instead of through the insert
    trigger one row at a time (measured: 20,000 contacts, 0.87 s with the trigger against 0.16 s
    without it and 0.15 s for the one statement). The trigger is dropped for
    the block and created again as it was, inside the same transaction: no other connection
    ever sees the table without it, and a failure rolls both back."""
    from sqlalchemy import text

    from crm_cli.store.ddl import SEARCH_COLUMNS

    name = table.name
    if last - first + 1 < BULK_SEARCH_INDEX or name not in SEARCH_COLUMNS:
        yield
        return
    trigger = f"{name}_fts_ai"
    stored = _known_trigger(session, name, 0)
    if stored is None:  # not the trigger this code knows how to stand in for
        yield
        return
    session.execute(text(f"DROP TRIGGER {trigger}"))
    try:
        yield
        where = "id BETWEEN :first AND :last AND deleted_at IS NULL"
        _fill_search_index(session, name, where, {"first": first, "last": last})
    finally:
        session.execute(text(stored))


def delete_ranges(session: Session, table: Any, runs: Sequence[tuple[int, int]]) -> None:
    """Delete the rows of `table` whose ids lie in `runs` ([first, last] pairs), a few hundred
    runs a statement.

    On SQLite, when the rows deleted outnumber the live rows left, the search index is emptied
    and refilled with the rows left in two statements instead of losing each deleted row
    through the delete trigger (measured: 100,000 of 100,000 contacts, 0.9 s of a 2.5 s
    delete). The trigger goes for the statement and comes back as it was, in the same
    transaction, as in `search_index_after`."""
    from sqlalchemy import delete, or_, text

    from crm_cli.store.ddl import SEARCH_COLUMNS

    def statements() -> None:
        for start in range(0, len(runs), _RUNS):
            part = runs[start : start + _RUNS]
            session.execute(delete(table).where(or_(*(table.c.id.between(a, b) for a, b in part))))

    name = table.name
    if session.get_bind().dialect.name != "sqlite" or name not in SEARCH_COLUMNS:
        statements()
        return
    trigger = f"{name}_fts_ad"
    stored = _known_trigger(session, name, 1)
    gone = sum(b - a + 1 for a, b in runs)
    live = int(session.scalar(select(func.count()).select_from(table)) or 0) - gone
    if stored is None or live >= gone:
        statements()
        return
    session.execute(text(f"DROP TRIGGER {trigger}"))
    try:
        statements()
        session.execute(text(f"INSERT INTO {name}_fts({name}_fts) VALUES ('delete-all')"))
        _fill_search_index(session, name, "deleted_at IS NULL", {})
    finally:
        session.execute(text(stored))


# How many runs of one size FTS5 lets pile up before merging them, while a bulk fill writes
# (its default is 4).
_FILL_MERGE = 16


def _fill_search_index(session: Session, name: str, where: str, params: dict[str, Any]) -> None:
    """Put the rows of `name` matching `where` into its search index (SQLite), merging the
    index's runs less often meanwhile: FTS5 merges every 4 runs of a size by default, and a bulk
    fill then merges the same entries again and again (measured: 100,000 contacts, 1.47 s
    against 1.03 s, leaving 9 runs instead of 14). Its own setting comes back afterwards, in
    the same transaction."""
    from sqlalchemy import text

    from crm_cli.store.ddl import sqlite_fts_fill

    fts = f"{name}_fts"
    setting = f"INSERT INTO {fts}({fts}, rank) VALUES ('automerge', :n)"
    own = session.scalar(text(f"SELECT v FROM {fts}_config WHERE k = 'automerge'"))
    session.execute(text(setting), {"n": _FILL_MERGE})
    session.execute(text(sqlite_fts_fill(name, where)), params)
    session.execute(text(setting), {"n": 4 if own is None else int(own)})
    if own is None:  # the default again, as no setting at all (the value in force is the same)
        session.execute(text(f"DELETE FROM {fts}_config WHERE k = 'automerge'"))


# [first, last] id runs per statement (two bind parameters each).
_RUNS = 200


def _known_trigger(session: Session, table: str, which: int) -> str | None:
    """The SQL of the table's search trigger `which` (0 insert, 1 delete) as SQLite keeps it,
    if it is exactly the trigger store/ddl.py makes; else None (leave it alone)."""
    from sqlalchemy import text

    from crm_cli.store.ddl import sqlite_fts_triggers

    trigger = f"{table}_fts_{'ai' if which == 0 else 'ad'}"
    stored = session.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"), {"n": trigger}
    ).scalar()
    expected = sqlite_fts_triggers(table)[which].replace(" IF NOT EXISTS", "", 1)
    return str(stored) if stored == expected else None


def _companies(ctx: Context, session: Session, names: set[str]) -> dict[str, int]:
    """Ids of the named companies (case-insensitive), creating the missing ones in one go."""
    found: dict[str, int] = {}
    wanted = sorted(names)
    for part in _chunks([n.lower() for n in wanted]):
        existing = session.execute(
            select(func.lower(col(Company.name)), col(Company.id)).where(
                col(Company.deleted_at).is_(None), func.lower(col(Company.name)).in_(part)
            )
        )
        for lowered, cid in existing:
            found.setdefault(str(lowered), int(cid))
    missing = [n for n in wanted if n.lower() not in found]
    if missing:
        from crm_cli.domain.text import index_tokens

        now = utcnow()
        rows = [
            {
                "name": n,
                "owner_id": ctx.user_id(),
                "custom": {},
                "search_name": index_tokens(n),
                "search_doc": "",
                "created_at": now,
                "updated_at": now,
            }
            for n in missing
        ]
        table = Company.__table__  # type: ignore[attr-defined]
        ids = insert_rows(session, table, rows)
        created = [{**r, "id": i, "version": 1} for r, i in zip(rows, ids, strict=True)]
        rec = journal.recorder(session)
        if rec is not None:
            rec.note_created("company", created)
        for name, cid in zip(missing, ids, strict=True):
            found[name.lower()] = int(cid)
    return found


_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")


def _tokens(texts: list[str | None]) -> str:
    """`index_tokens(*texts)`; for ASCII text (folding is lower-casing there, words are runs
    of letters and digits) in one pass over the joined text, which finds the same tokens in
    the same order."""
    joined = " ".join(t for t in texts if t)
    if joined.isascii():
        return " ".join(dict.fromkeys(_ASCII_WORD.findall(joined.lower())))
    return index_tokens(*texts)


def search_tokens(c: CheckedContact) -> tuple[str, str]:
    """`contacts.search_columns` of a checked contact."""
    if not c.phones and not c.custom and not c.tags:
        return _tokens([c.name, c.given_name, c.family_name]), _tokens(
            [*c.emails, c.title, c.company, c.source]
        )
    if c.custom or c.tags:
        return search_columns(
            (c.name, c.given_name, c.family_name),
            c.emails,
            c.phones,
            (c.title, c.company, c.source),
            c.custom,
            c.tags,
        )
    phones = [t for p in c.phones for t in phone_tokens(p, national_digits(p))]
    return _tokens([c.name, c.given_name, c.family_name]), _tokens(
        [*c.emails, *phones, c.title, c.company, c.source]
    )


def _label(c: CheckedContact, value: str) -> str | None:
    return c.labels.get(value) if c.labels else None


def add_contacts(ctx: Context, session: Session, contacts: Sequence[CheckedContact]) -> list[int]:
    """Insert checked contacts: one statement per table (in chunks), their companies found or
    created by name, their tags created as needed. Returns the new ids, in order.

    Refused as a whole (Conflict) when an email belongs to an existing contact or to two of
    the new ones: a bulk write never half-applies.
    """
    if not contacts:
        return []
    emails = [e for c in contacts for e in c.emails]
    if len(set(emails)) != len(emails):
        seen: set[str] = set()
        twice = next(e for e in emails if e in seen or seen.add(e))  # type: ignore[func-returns-value]
        raise Conflict(f"email {twice!r} is given to two of the new contacts")
    wanted = set(emails)
    for part in key_batches(session, ContactEmail, emails):
        query = select(ContactEmail.c.email, ContactEmail.c.contact_id)
        if part is not None:
            query = query.where(ContactEmail.c.email.in_(part))
        for email, owner in session.execute(query):
            if email in wanted:
                raise Conflict(f"email {email!r} belongs to contact {owner}")
    companies = _companies(ctx, session, {c.company for c in contacts if c.company})
    owners = {o: resolve_user(session, o) for o in {c.owner for c in contacts if c.owner}}
    me = ctx.user_id()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    no_fields: dict[str, str] = {}  # one object: its JSON is made once for every row
    for c in contacts:
        company_id = companies[c.company.lower()] if c.company else None
        search_name, search_doc = c.search or search_tokens(c)
        rows.append(
            {
                "name": c.name,
                "given_name": c.given_name,
                "family_name": c.family_name,
                "title": c.title,
                "company_id": company_id,
                "lifecycle": c.lifecycle,
                "source": c.source,
                "owner_id": owners[c.owner] if c.owner else me,
                "custom": c.custom or no_fields,
                "cadence_days": c.cadence_days,
                "external_id": c.external_id,
                "search_name": search_name,
                "search_doc": search_doc,
                "created_at": now,
                "updated_at": now,
            }
        )
    ids = insert_rows(session, Contact.__table__, rows)  # type: ignore[attr-defined]
    tag_ids = common.tag_ids(session, {t for c in contacts for t in c.tags})
    pairs = list(zip(ids, contacts, strict=True))
    children: dict[Any, list[dict[str, Any]]] = {
        ContactEmail: [
            {"contact_id": cid, "email": e, "label": _label(c, e), "position": i}
            for cid, c in pairs
            for i, e in enumerate(c.emails)
        ],
        ContactPhone: [
            {"contact_id": cid, "phone": p, "label": _label(c, p), "position": i}
            for cid, c in pairs
            for i, p in enumerate(c.phones)
        ],
        ContactTag: [{"contact_id": cid, "tag_id": tag_ids[t]} for cid, c in pairs for t in c.tags],
    }
    for child, child_rows in children.items():
        insert_many(session, child, child_rows)
    rec = journal.recorder(session)
    if rec is not None:
        # The rows are not used after this: each becomes its journal entry as it is.
        for cid, row, c in zip(ids, rows, contacts, strict=True):
            row["id"] = cid
            row["version"] = 1
            row["emails"] = c.emails
            row["phones"] = c.phones
            row["tags"] = c.tags
        rec.note_created("contact", rows)
    return ids
