"""The change journal: every command that writes records one change set, in the same
transaction as its change.

Capture is automatic for ORM records: after each flush the `Recorder` reads what the session
inserted, changed (each changed column's old and new value, from the ORM's attribute history)
and deleted. Fields that live in child tables (a contact's emails, phones and tags; a company's
and a deal's tags) are reported by the code that changes them (`note_list`), so they appear as
fields of their record. At commit, the whole set is written with one insert per table.

Records a bulk statement created (an import's new rows, `note_created`) are kept as one entry
per table and statement (action `create_many`): their ids as runs and their fields column by
column, a field every row shares written once. Encoding and inserting an entry per record was
a quarter of a 100,000-row import; this is one JSON text per table. `expand` turns such an
entry back into the per-record `create` entries it stands for, so history and undo read every
change set the same way.

The journal is what `crm history` reads and what `crm undo` reverts (services/undo.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, DateTime, delete, event, insert, inspect, select, update
from sqlalchemy.orm import Session

from crm_cli.store.journal import ChangeEntry, ChangeSet
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from crm_cli.services.context import Context

# The tables whose rows are journaled. Tags and link rows are not records of their own: they
# are fields of the record they belong to (LIST_FIELDS). Names, not classes: a command about
# contacts does not pay for defining the sales tables (~3 ms each) to journal its change.
JOURNALED = frozenset(
    {
        "user",
        "tag",
        "company",
        "contact",
        "pipeline",
        "stage",
        "deal",
        "stage_change",
        "followup",
        "interaction",
        "feedback",
        "event",
        "dupe_ignore",
    }
)


@cache
def models() -> dict[str, Any]:
    """The ORM class of each journaled table, by table name (for undo)."""
    from crm_cli.store.models import Company, Contact, DupeIgnore, Tag, User
    from crm_cli.store.sales import (
        Deal,
        Event,
        Feedback,
        Followup,
        Interaction,
        Pipeline,
        Stage,
        StageChange,
    )

    classes: tuple[Any, ...] = (
        User,
        Tag,
        Company,
        Contact,
        Pipeline,
        Stage,
        Deal,
        StageChange,
        Followup,
        Interaction,
        Feedback,
        Event,
        DupeIgnore,
    )
    found = {m.__tablename__: m for m in classes}
    assert set(found) == JOURNALED
    return found


LIST_FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("emails", "phones", "tags"),
    "company": ("tags",),
    "deal": ("tags",),
}
# The child rows behind a contact's emails and phones: their table and value column.
ROW_LISTS = {"emails": ("contact_email", "email"), "phones": ("contact_phone", "phone")}
CREATE, UPDATE, REMOVE = "create", "update", "remove"
# Many records created by one bulk statement: one entry (see the module docstring).
CREATE_MANY = "create_many"
# Many records removed by one bulk statement (the undo of a `create_many`): the same packed
# form, in `old`, search tokens included (putting the records back writes them as they were).
REMOVE_MANY = "remove_many"
PACKED = (CREATE_MANY, REMOVE_MANY)
# Fields a `create_many` entry leaves out: derived from the others (the search index's
# tokens), never shown by history and not needed to undo a creation.
_DERIVED = ("search_name", "search_doc")


def rows_key(name: str) -> str:
    """The entry field that holds a list field's rows (ids, labels, positions) next to its
    values, so that undo writes back the very rows: `emails_rows` next to `emails`. Entries
    written before it existed have values only; undo then writes new rows with those values."""
    return f"{name}_rows"


# Above this many entries a change set is written with the driver's executemany.
_MANY_ENTRIES = 500
# Old change sets are pruned once every this many change sets.
PRUNE_EVERY = 200


def encode(value: Any) -> Any:
    """A database value as JSON: times and dates as ISO 8601 (times in UTC)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def decode(model: Any, name: str, value: Any) -> Any:
    """The value `encode` wrote, back in the column's Python type."""
    if value is None or name not in model.__table__.c:
        return value
    column_type = model.__table__.c[name].type
    kind = getattr(column_type, "impl", column_type)  # a TypeDecorator's storage type
    if isinstance(kind, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    return value


def row_of(obj: Any) -> dict[str, Any]:
    """Every column of an ORM record, encoded."""
    mapper = inspect(obj).mapper
    return {attr.key: encode(getattr(obj, attr.key)) for attr in mapper.column_attrs}


@dataclass
class Entry:
    entity: str
    record_id: int
    action: str
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None
    change_set_id: int | None = None
    position: int | None = None


def _encode_column(values: list[Any]) -> list[Any]:
    kinds = set(map(type, values))
    if kinds & {datetime, date, Decimal}:
        return [encode(v) for v in values]
    return values


def _runs(ids: list[int]) -> list[list[int]]:
    """Ids as [first, last] runs of consecutive numbers."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


# A `create_many` entry holds ids from its first one to less than this many above it (its
# first id is its record_id: history finds it from a record's id with the index).
MANY_SPAN = 10_000


def _spans(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """`rows` cut where an id is not within MANY_SPAN above its group's first id."""
    groups: list[list[dict[str, Any]]] = []
    first = 0
    for row in rows:
        rid = int(row["id"])
        if not groups or not first <= rid < first + MANY_SPAN:
            groups.append([])
            first = rid
        groups[-1].append(row)
    return groups


def pack_columns(ids: list[int], columns: dict[str, list[Any]]) -> dict[str, Any]:
    """A packed entry (the `old` of a `remove_many`) from the records' ids and their values
    column by column (`id` left out; a column whose every value is the same written once)."""
    same: dict[str, Any] = {}
    varying: dict[str, list[Any]] = {}
    for key, values in columns.items():
        if key == "id":
            continue
        first = values[0] if values else None
        if values.count(first) == len(values):
            same[key] = encode(first)
        else:
            varying[key] = _encode_column(values)
    return {
        "ids": _runs(ids),
        "fields": [k for k in columns if k != "id"],
        "same": same,
        "columns": varying,
    }


def pack_created(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The `new` of a `create_many` entry for `rows` (each with its id), or None when the
    rows do not share one set of fields."""
    keys = [k for k in rows[0] if k != "id" and k not in _DERIVED]
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        return None
    ids = [int(r["id"]) for r in rows]
    same: dict[str, Any] = {}
    columns: dict[str, list[Any]] = {}
    for key in keys:
        try:
            values = [r[key] for r in rows]
        except KeyError:
            return None
        first = values[0]
        if values.count(first) == len(values):
            same[key] = encode(first)
        else:
            columns[key] = _encode_column(values)
    return {"ids": _runs(ids), "fields": keys, "same": same, "columns": columns}


def packed_ids(packed: dict[str, Any] | None) -> list[int]:
    """The record ids of a packed entry's `new` (create_many) or `old` (remove_many)."""
    return [i for first, last in (packed or {}).get("ids", []) for i in range(first, last + 1)]


def unpack(packed: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The rows a packed entry stands for, each with its id, in id order."""
    packed = packed or {}
    same = packed.get("same", {})
    columns = packed.get("columns", {})
    order = packed.get("fields", [*same, *columns])
    return [
        {"id": record_id, **{k: same[k] if k in same else columns[k][n] for k in order}}
        for n, record_id in enumerate(packed_ids(packed))
    ]


def expand(rows: Sequence[Any], *, reverse: bool = False) -> list[Entry]:
    """Stored entries (rows of change_entry) as `Entry`s, each `create_many` (`remove_many`)
    entry as the `create` (`remove`) entries of its records (in id order, or reversed)."""
    out: list[Entry] = []
    for row in rows:
        if row.action == REMOVE_MANY:
            gone = [
                Entry(row.entity, r["id"], REMOVE, r, None, row.change_set_id, row.position)
                for r in unpack(row.old)
            ]
            out.extend(reversed(gone) if reverse else gone)
            continue
        if row.action != CREATE_MANY:
            out.append(
                Entry(
                    row.entity,
                    int(row.record_id),
                    row.action,
                    row.old,
                    row.new,
                    row.change_set_id,
                    row.position,
                )
            )
            continue
        made = [
            Entry(row.entity, r["id"], CREATE, None, r, row.change_set_id, row.position)
            for r in unpack(row.new)
        ]
        out.extend(reversed(made) if reverse else made)
    return out


def created_in(entry_new: dict[str, Any] | None, record_id: int) -> bool:
    """Whether a packed entry's records (its `new`, or a `remove_many`'s `old`) include
    `record_id`."""
    runs = (entry_new or {}).get("ids", [])
    return any(first <= record_id <= last for first, last in runs)


@dataclass
class Recorder:
    """Collects one transaction's changes and writes them as a change set before commit."""

    ctx: Context
    entries: dict[tuple[str, int], Entry] = field(default_factory=dict)
    # Set by undo: the change set this one reverts.
    undoes: int | None = None
    written: int | None = None

    # The list fields of records about to be deleted, read before the database's cascades
    # remove their rows.
    _lists_before: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    # The `create_many` entries of this transaction.
    _packed: list[Entry] = field(default_factory=list)
    # Per `create_many` entry (its index in _packed): the ids that got entries of their own,
    # and where each id sits in its columns.
    _taken: dict[int, set[int]] = field(default_factory=dict)
    _where: dict[int, dict[int, int]] = field(default_factory=dict)

    def _own(self, entity: str, record_id: int) -> None:
        """A record a `create_many` entry holds gets a `create` entry of its own, so that a
        later change in the same transaction is recorded on it as for any created record.
        The packed entry keeps the record until `commit` leaves out those taken (an import
        that makes each of its 23,570 new contacts a customer rewrote the whole entry for
        each one: minutes)."""
        if not self._packed or (entity, record_id) in self.entries:
            return
        for k, packed in enumerate(self._packed):
            if packed.entity != entity or not created_in(packed.new, record_id):
                continue
            taken = self._taken.setdefault(k, set())
            if record_id in taken:
                continue  # created and removed in this transaction
            assert packed.new is not None
            stored = packed.new
            if k not in self._where:
                self._where[k] = {rid: n for n, rid in enumerate(packed_ids(stored))}
            n = self._where[k][record_id]
            same, columns = stored["same"], stored["columns"]
            row = {"id": record_id}
            row.update({f: same[f] if f in same else columns[f][n] for f in stored["fields"]})
            taken.add(record_id)
            self.entries[(entity, record_id)] = Entry(entity, record_id, CREATE, None, row)
            return

    def _settle_packed(self) -> None:
        """Leave out of each `create_many` entry the records that got entries of their own."""
        for k, taken in self._taken.items():
            stored = self._packed[k].new
            if not taken or stored is None:
                continue
            ids = packed_ids(stored)
            keep = [n for n, rid in enumerate(ids) if rid not in taken]
            stored["ids"] = _runs([ids[n] for n in keep])
            for name, values in stored["columns"].items():
                stored["columns"][name] = [values[n] for n in keep]
        self._taken.clear()
        self._where.clear()

    def attach(self, session: Session) -> None:
        session.info["journal"] = self
        event.listen(session, "before_flush", self._before_flush)
        event.listen(session, "after_flush", self._after_flush)

    def _before_flush(self, session: Session, _flush_context: Any, _instances: Any) -> None:
        for obj in session.deleted:
            entity = _table(obj)
            if entity in LIST_FIELDS and obj.id is not None:
                lists: dict[str, Any] = read_lists(session, entity, obj.id)
                if entity == "contact":
                    for name in ROW_LISTS:
                        lists[rows_key(name)] = read_rows(session, int(obj.id), name)
                self._lists_before[(entity, int(obj.id))] = lists

    # --- capture ------------------------------------------------------------------------

    def _after_flush(self, session: Session, _flush_context: Any) -> None:
        for obj in session.new:
            if _table(obj) in JOURNALED:
                self._created(obj)
        for obj in session.dirty:
            if _table(obj) in JOURNALED and session.is_modified(obj, include_collections=False):
                self._updated(obj)
        for obj in session.deleted:
            if _table(obj) in JOURNALED:
                self._removed(obj)

    def _created(self, obj: Any) -> None:
        key = (_table(obj), int(obj.id))
        entry = self.entries.get(key)
        lists = entry.new if entry is not None and entry.new else {}
        self.entries[key] = Entry(key[0], key[1], CREATE, None, {**row_of(obj), **lists})

    def _updated(self, obj: Any) -> None:
        key = (_table(obj), int(obj.id))
        self._own(*key)
        entry = self.entries.get(key)
        if entry is not None and entry.action == CREATE:
            assert entry.new is not None
            entry.new.update(row_of(obj))
            return
        if entry is None:
            entry = self.entries[key] = Entry(key[0], key[1], UPDATE, {}, {})
        assert entry.old is not None and entry.new is not None
        state = inspect(obj)
        for attr in state.mapper.column_attrs:
            history = state.attrs[attr.key].history
            if not history.has_changes():
                continue
            if attr.key not in entry.old:
                entry.old[attr.key] = encode(history.deleted[0]) if history.deleted else None
            entry.new[attr.key] = encode(history.added[0]) if history.added else None
        if hasattr(obj, "version"):
            # The ORM bumps the version in the flush, outside the attribute history.
            entry.old.setdefault("version", int(obj.version) - 1)
            entry.new["version"] = int(obj.version)

    def _removed(self, obj: Any) -> None:
        key = (_table(obj), int(obj.id))
        self._own(*key)
        entry = self.entries.pop(key, None)
        if entry is not None and entry.action == CREATE:
            return  # created and removed in one go: nothing happened
        before = {**row_of(obj), **self._lists_before.pop(key, {})}
        if entry is not None and entry.old:
            before.update(entry.old)
        self.entries[key] = Entry(key[0], key[1], REMOVE, before, None)

    def note_created(self, entity: str, rows: list[dict[str, Any]]) -> None:
        """Records created by a bulk statement (not seen by the ORM): each row with its id.
        Two or more are kept as one `create_many` entry; a later change to one of them in the
        same transaction turns that one back into an entry of its own (`_own`)."""
        if len(rows) >= 2 and entity != "tag":
            groups = _spans(rows)
            packs = [pack_created(g) for g in groups]
            if all(p is not None for p in packs):
                for group, packed in zip(groups, packs, strict=True):
                    key = (f"{entity}*", len(self._packed))
                    self.entries[key] = Entry(
                        entity, int(group[0]["id"]), CREATE_MANY, None, packed
                    )
                    self._packed.append(self.entries[key])
                return
        for row in rows:
            key = (entity, int(row["id"]))
            self.entries[key] = Entry(
                entity, key[1], CREATE, None, {k: encode(v) for k, v in row.items()}
            )

    def note_updated(
        self, entity: str, record_id: int, old: dict[str, Any], new: dict[str, Any]
    ) -> None:
        """A record changed by a set-based statement (not seen by the ORM): `old` and `new`
        hold the fields it changed, its version among them, as they were and are."""
        key = (entity, record_id)
        self._own(entity, record_id)
        entry = self.entries.get(key)
        if entry is not None and entry.action == CREATE:
            assert entry.new is not None
            entry.new.update({k: encode(v) for k, v in new.items()})
            return
        if entry is None:
            entry = self.entries[key] = Entry(entity, record_id, UPDATE, {}, {})
        assert entry.old is not None and entry.new is not None
        for k, v in old.items():
            entry.old.setdefault(k, encode(v))
        entry.new.update({k: encode(v) for k, v in new.items()})

    def note_removed_many(self, entity: str, ids: list[int], columns: dict[str, list[Any]]) -> None:
        """Records removed by a bulk statement (the undo of `create_many` entries), their ids
        ascending and their values column by column as they were (list fields and their rows
        included): one `remove_many` entry per MANY_SPAN of ids, as for `create_many`."""
        start = 0
        while start < len(ids):
            end = start
            while end < len(ids) and ids[end] < ids[start] + MANY_SPAN:
                end += 1
            packed = pack_columns(ids[start:end], {k: v[start:end] for k, v in columns.items()})
            key = (f"{entity}-", len(self.entries))
            self.entries[key] = Entry(entity, ids[start], REMOVE_MANY, packed, None)
            start = end

    def note_list(
        self,
        entity: str,
        record_id: int,
        name: str,
        old: list[str],
        new: list[str],
        session: Session | None = None,
        *,
        rows: list[dict[str, Any]] | None = None,
        before: list[dict[str, Any]] | None = None,
    ) -> None:
        """A list-valued field (emails, phones, tags) of a record changed. Given the session,
        and before the change is written, the rows of emails and phones are kept too.
        `rows` are an email or phone list's rows as they become (`note_rows`), `before` as
        they are: a change of labels alone is a change too."""
        if old == new and (rows is None or rows == before):
            return
        key = (entity, record_id)
        self._own(entity, record_id)
        entry = self.entries.get(key)
        if entry is not None and entry.action == CREATE:
            assert entry.new is not None
            entry.new[name] = list(new)
            return
        if entry is None:
            entry = self.entries[key] = Entry(entity, record_id, UPDATE, {}, {})
        assert entry.old is not None and entry.new is not None
        if name not in entry.old and session is not None and name in ROW_LISTS and old:
            kept = before if before is not None else read_rows(session, record_id, name)
            if [r[ROW_LISTS[name][1]] for r in kept] == list(old):
                entry.old[rows_key(name)] = kept
        entry.old.setdefault(name, list(old))
        entry.new[name] = list(new)
        if rows is not None:
            entry.new[rows_key(name)] = rows
        else:  # the rows it gets are not known: an earlier `rows` no longer holds
            entry.new.pop(rows_key(name), None)

    # --- write --------------------------------------------------------------------------

    def commit(self, session: Session) -> None:
        """Write the change set; called inside the transaction, right before it commits."""
        session.flush()
        self._settle_packed()
        rows = []
        for position, entry in enumerate(self.entries.values()):
            if entry.action == UPDATE:
                assert entry.old is not None and entry.new is not None
                changed = {
                    k for k in entry.new if k != "version" and entry.old.get(k) != entry.new[k]
                }
                if not changed:
                    continue
                # Rows whose labels alone changed keep their values beside them: undo puts
                # the list back from its rows.
                relabelled = {k for k in ROW_LISTS if rows_key(k) in changed}
                keep = changed | relabelled | {"version"} | {rows_key(k) for k in changed}
                old = {k: v for k, v in entry.old.items() if k in keep}
                new = {k: v for k, v in entry.new.items() if k in keep}
            elif entry.action == CREATE_MANY:
                if not (entry.new or {}).get("ids"):
                    continue  # each of its records got an entry of its own
                assert entry.new is not None
                entry.record_id = int(entry.new["ids"][0][0])
                old, new = {}, entry.new
            elif entry.action == REMOVE_MANY:
                old, new = entry.old or {}, {}
            else:
                old, new = entry.old or {}, entry.new or {}
            rows.append(
                {
                    "position": position,
                    "entity": entry.entity,
                    "record_id": entry.record_id,
                    "action": entry.action,
                    "old": old,
                    "new": new,
                }
            )
        if not rows:
            return
        set_id = session.execute(
            insert(ChangeSet)
            .values(
                at=utcnow(),
                user_id=self.ctx.user_id(),
                command=self.ctx.command[:1000],
                source=self.ctx.source,
                undoes_id=self.undoes,
            )
            .returning(ChangeSet.c.id)
        ).scalar_one()
        entries = [{**r, "change_set_id": set_id} for r in rows]
        if len(entries) > _MANY_ENTRIES:
            # The driver's executemany (an undo of a big import writes an entry per record).
            from crm_cli.services.bulk import insert_many

            insert_many(session, ChangeEntry, entries)
        else:
            session.execute(insert(ChangeEntry), entries)
        if self.undoes is not None:
            session.execute(
                update(ChangeSet).where(ChangeSet.c.id == self.undoes).values(undone_by_id=set_id)
            )
            # Undoing an undo re-applies the change set it had undone: that one stands again
            # and can be undone again (a plain `crm undo` must not skip past it).
            reapplied = session.scalar(
                select(ChangeSet.c.undoes_id).where(ChangeSet.c.id == self.undoes)
            )
            if reapplied is not None:
                session.execute(
                    update(ChangeSet).where(ChangeSet.c.id == reapplied).values(undone_by_id=None)
                )
        self.written = int(set_id)
        if set_id % PRUNE_EVERY == 0:
            prune(session, self.ctx.config.journal_retention_days)


def tag_link(entity: str) -> Any:
    """The link table that holds the tags of a contact, company or deal."""
    from crm_cli.store.models import CompanyTag, ContactTag
    from crm_cli.store.sales import DealTag

    return {"contact": ContactTag, "company": CompanyTag, "deal": DealTag}[entity]


def read_lists(session: Session, entity: str, record_id: int) -> dict[str, list[str]]:
    """A record's list fields as they are in the database."""
    from crm_cli.services.common import tag_names
    from crm_cli.store.models import ContactEmail, ContactPhone

    lists = {"tags": tag_names(session, tag_link(entity), f"{entity}_id", record_id)}
    if entity == "contact":
        for table, column in ((ContactEmail, "email"), (ContactPhone, "phone")):
            lists[f"{column}s"] = list(
                session.scalars(
                    select(table.c[column])
                    .where(table.c.contact_id == record_id)
                    .order_by(table.c.position, table.c.id)
                )
            )
    return lists


def read_rows(session: Session, contact_id: int, name: str) -> list[dict[str, Any]]:
    """A contact's email or phone rows, in order: id, value, label, position."""
    from crm_cli.store.models import ContactEmail, ContactPhone

    table = {"emails": ContactEmail, "phones": ContactPhone}[name]
    column = ROW_LISTS[name][1]
    found = session.execute(
        select(table.c.id, table.c[column], table.c.label, table.c.position)
        .where(table.c.contact_id == contact_id)
        .order_by(table.c.position, table.c.id)
    )
    return [
        {"id": int(i), column: value, "label": label, "position": int(position)}
        for i, value, label, position in found
    ]


def _table(obj: Any) -> str:
    return str(getattr(obj, "__tablename__", ""))


def recorder(session: Session) -> Recorder | None:
    found = session.info.get("journal")
    return found if isinstance(found, Recorder) else None


def note_list(
    session: Session, entity: str, record_id: int, name: str, old: list[str], new: list[str]
) -> None:
    """Report a change of a list-valued field to the session's journal, if it has one.
    Call it before writing the change: the journal reads the rows it replaces."""
    rec = recorder(session)
    if rec is not None:
        rec.note_list(entity, record_id, name, old, new, session)


def note_rows(
    session: Session,
    contact_id: int,
    name: str,
    rows: list[dict[str, Any]],
    before: list[dict[str, Any]] | None = None,
) -> None:
    """Report to the session's journal, if it has one, that a contact's email or phone rows
    (`name`: emails or phones) are about to become `rows` (id, value, label, position, as
    `read_rows` gives them), their values perhaps unchanged: a label an import sets, or one
    undo puts back. Call it before writing the rows; `before`: the rows as they are, when
    the caller has read them."""
    rec = recorder(session)
    if rec is None:
        return
    if before is None:
        before = read_rows(session, contact_id, name)
    column = ROW_LISTS[name][1]
    rec.note_list(
        "contact",
        contact_id,
        name,
        [r[column] for r in before],
        [r[column] for r in rows],
        session,
        rows=rows,
        before=before,
    )


def prune(session: Session, retention_days: int) -> int:
    """Remove change sets older than the retention (0 keeps everything)."""
    if retention_days <= 0:
        return 0
    from datetime import timedelta

    cutoff = utcnow() - timedelta(days=retention_days)
    old_ids = select(ChangeSet.c.id).where(ChangeSet.c.at < cutoff)
    session.execute(delete(ChangeEntry).where(ChangeEntry.c.change_set_id.in_(old_ids)))
    result = session.execute(delete(ChangeSet).where(ChangeSet.c.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
