"""History and undo, read from the change journal (services/journal.py).

`undo` reverts one change set when every record it touched is still as that change set left
it (the record's version says so); otherwise it refuses and names what changed since. The
revert is itself written through the ORM in a journaled session, so it is a change set of its
own, and undoing that one re-applies the original.

Plan, then apply: every check runs before the first write, so a refused undo changes nothing.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from crm_cli.errors import Conflict, CrmError, ExitCode, InvalidValue, NotFound
from crm_cli.services import common, journal
from crm_cli.services.journal import CREATE, LIST_FIELDS, UPDATE, models
from crm_cli.store.journal import ChangeEntry, ChangeSet
from crm_cli.store.models import ContactEmail, ContactPhone

if TYPE_CHECKING:
    from crm_cli.services.context import Context

# Fields that change with every write and say nothing to a person reading the history.
QUIET = {
    "updated_at",
    "version",
    "search_name",
    "search_doc",
    "stage_entered_at",
    *(journal.rows_key(name) for name in journal.ROW_LISTS),
}
# The tables whose rows belong to their parent record (its list fields): they go with it.
_CHILD_TABLES = {"contact_email", "contact_phone", "contact_tag", "company_tag", "deal_tag"}
_KINDS = ("contact", "company", "deal", "followup", "interaction", "feedback", "pipeline", "stage")


class NothingToUndo(CrmError):
    exit_code = ExitCode.NOT_FOUND


@dataclass(frozen=True)
class UndoResult:
    undone: int  # the change set that was reverted
    command: str  # its command line
    records: list[str]  # "deal 42", "contact 7", ...


def _describe_set(row: Any, users: dict[int, str], tz: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": common.iso(row.at, tz),
        "user": users.get(row.user_id) if row.user_id is not None else None,
        "command": row.command,
        "source": row.source,
        "undoes": row.undoes_id,
        "undone_by": row.undone_by_id,
    }


def _entry(row: Any) -> dict[str, Any]:
    old, new = row.old or {}, row.new or {}
    if row.action == UPDATE:
        fields = {
            k: {"old": old.get(k), "new": new.get(k)} for k in new if k not in QUIET and k in old
        }
        fields.update(_label_changes(old, new))
    elif row.action == CREATE:
        fields = {k: {"old": None, "new": v} for k, v in new.items() if k not in QUIET}
    else:
        fields = {k: {"old": v, "new": None} for k, v in old.items() if k not in QUIET}
    return {
        "entity": row.entity,
        "id": row.record_id,
        "action": row.action,
        "fields": {k: v for k, v in fields.items() if v["old"] != v["new"]},
    }


def _label_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The labels of a contact's emails and phones before and after an update whose entry
    kept both sides' rows (a label an import set, or one undo put back), as `email_labels`
    and `phone_labels` fields shaped as `contact show --json` has them."""
    found: dict[str, dict[str, Any]] = {}
    for name, (_table, column) in journal.ROW_LISTS.items():
        key = journal.rows_key(name)
        if key not in new:
            continue
        was, now = (
            {r[column]: r["label"] for r in side.get(key) or [] if r.get("label")}
            for side in (old, new)
        )
        found[f"{column}_labels"] = {"old": was, "new": now}
    return found


def recent(
    ctx: Context, session: Session, last: int, *, mine: bool = False
) -> list[dict[str, Any]]:
    """The latest change sets, newest first, each with the records it touched."""
    query = select(ChangeSet).order_by(ChangeSet.c.id.desc()).limit(last)
    if mine:
        query = query.where(ChangeSet.c.user_id == ctx.user_id())
    sets = session.execute(query).all()
    return _with_entries(session, sets, None)


def record_history(
    ctx: Context, session: Session, kind: str, ref: str, last: int | None = None
) -> list[dict[str, Any]]:
    """The change sets that touched one record, newest first, with its entries only."""
    entity, record_id = _record(session, kind, ref)
    set_ids = (
        select(ChangeEntry.c.change_set_id)
        .where(ChangeEntry.c.entity == entity, ChangeEntry.c.record_id == record_id)
        .order_by(ChangeEntry.c.change_set_id.desc())
    )
    if last is not None:
        set_ids = set_ids.limit(last)
    ids = sorted(
        {*session.scalars(set_ids), *_created_many(session, entity, record_id)}, reverse=True
    )[:last]
    sets = session.execute(
        select(ChangeSet).where(ChangeSet.c.id.in_(ids)).order_by(ChangeSet.c.id.desc())
    ).all()
    return _with_entries(session, sets, (entity, record_id))


def _created_many(session: Session, entity: str, record_id: int) -> list[int]:
    """The change sets whose packed entries (`create_many`: imports; `remove_many`: their
    undos) hold the record.
    Such an entry is stored under its first id, at most `MANY_SPAN` ids below the record's
    (a run longer than that is split); the index on (entity, record_id) finds the few
    candidates."""
    found = session.execute(
        select(ChangeEntry.c.change_set_id, ChangeEntry.c.old, ChangeEntry.c.new).where(
            ChangeEntry.c.entity == entity,
            ChangeEntry.c.record_id <= record_id,
            ChangeEntry.c.record_id > record_id - journal.MANY_SPAN,
            ChangeEntry.c.action.in_(journal.PACKED),
        )
    ).all()
    return [int(set_id) for set_id, old, new in found if journal.created_in(new or old, record_id)]


def _with_entries(
    session: Session, sets: Sequence[Any], only: tuple[str, int] | None
) -> list[dict[str, Any]]:
    from crm_cli.services.users import user_names

    tz = common.zone(session)
    users = user_names(session, {s.user_id for s in sets if s.user_id is not None})
    ids = [s.id for s in sets]
    entries: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        query = select(ChangeEntry).where(ChangeEntry.c.change_set_id.in_(ids))
        if only is not None:
            query = query.where(
                ChangeEntry.c.entity == only[0],
                (ChangeEntry.c.record_id == only[1]) | (ChangeEntry.c.action.in_(journal.PACKED)),
            )
        stored = session.execute(query.order_by(ChangeEntry.c.position)).all()
        for row in journal.expand(stored):
            if only is None or row.record_id == only[1]:
                entries[int(row.change_set_id or 0)].append(_entry(row))
    _name_stages(session, [e for found in entries.values() for e in found])
    return [{**_describe_set(s, users, tz), "changes": entries[s.id]} for s in sets]


def _name_stages(session: Session, entries: list[dict[str, Any]]) -> None:
    """Next to a changed `stage_id`, the stage's name (`stage: {old, new}`): a person reads
    "lead -> proposal", not "1 -> 3"."""
    changed = [e["fields"]["stage_id"] for e in entries if "stage_id" in e["fields"]]
    ids = {v for change in changed for v in (change["old"], change["new"]) if v is not None}
    if not ids:
        return
    from crm_cli.store.sales import Stage

    table = Stage.__table__  # type: ignore[attr-defined]
    names: dict[int, str] = dict(
        session.execute(select(table.c.id, table.c.name).where(table.c.id.in_(ids))).all()
    )
    for entry in entries:
        change = entry["fields"].get("stage_id")
        if change is not None:
            entry["fields"]["stage"] = {
                "old": names.get(change["old"]),
                "new": names.get(change["new"]),
            }


def _record(session: Session, kind: str, ref: str) -> tuple[str, int]:
    """The journal's name and the id of the record `ref` names (removed records too)."""
    kind = kind.strip().lower()
    if kind not in _KINDS:
        raise InvalidValue("kind", kind, f"must be one of {', '.join(_KINDS)}")
    number = common.id_of(ref)
    if kind in ("contact", "company") and number is None:
        from crm_cli.services.lookups import find_company, find_contact

        finder = find_contact if kind == "contact" else find_company
        try:
            found: Any = finder(session, ref)
        except NotFound:
            found = finder(session, ref, removed=True)
        number = int(found.id)
    if number is None:
        raise InvalidValue(kind, ref, "not an id (a whole number)")
    return kind, number


# --- undo ------------------------------------------------------------------------------------


def _target(ctx: Context, session: Session, set_id: int | None) -> Any:
    if set_id is None:
        # Your latest change that is neither undone nor itself an undo: repeated `crm undo`
        # walks back through your changes.
        row = session.execute(
            select(ChangeSet)
            .where(
                ChangeSet.c.user_id == ctx.user_id(),
                ChangeSet.c.undone_by_id.is_(None),
                ChangeSet.c.undoes_id.is_(None),
            )
            .order_by(ChangeSet.c.id.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NothingToUndo("nothing to undo: no change of yours is left in the journal")
        set_id = int(row.id)
    query = select(ChangeSet).where(ChangeSet.c.id == set_id)
    if common.locking(session):
        # Two undos of one change set at once: the second waits and then sees it undone.
        query = query.with_for_update()
    row = session.execute(query).first()
    if row is None:
        raise NotFound("change set", set_id)
    if row.undone_by_id is not None:
        raise Conflict(
            f"change set {set_id} was undone already (by change set {row.undone_by_id}); "
            f"`crm undo {row.undone_by_id}` re-applies it"
        )
    return row


def _current(session: Session, entity: str, record_id: int) -> Any:
    model = models()[entity]
    obj = session.get(model, record_id, with_for_update=common.locking(session))
    return obj


def _describe(entity: str, record_id: int) -> str:
    return f"{entity.replace('_', ' ')} {record_id}"


def _check(
    session: Session, target_id: int, entries: list[Any], created: Container[tuple[str, int]]
) -> list[str]:
    """What stands in the way of reverting `entries`: one line per record that changed."""
    problems: list[str] = []
    for e in entries:
        if e.entity == "tag":
            continue  # a tag the change created goes only if nothing uses it (_remove_tag)
        name = _describe(e.entity, e.record_id)
        current = _current(session, e.entity, e.record_id)
        expected = (e.new or {}).get("version")
        if e.action in (CREATE, UPDATE):
            if current is None:
                problems.append(f"{name} no longer exists")
                continue
            if expected is not None and getattr(current, "version", None) != expected:
                later = _unexplained_change(session, e, target_id)
                if later is not None:
                    problems.append(f"{name} has changed since ({later})")
                    continue
            if e.action == CREATE:
                problems.extend(_references(session, e.entity, e.record_id, created))
        elif current is not None:
            problems.append(f"{name} exists again")
    return problems


def _unexplained_change(session: Session, entry: Any, target_id: int) -> str | None:
    """The latest later change of the entry's record that still stands, if any.

    A record's version moves with every write, undos included. When every later change set
    that touched it has been undone, or is itself the undo of a later one, the record is as
    the target change set left it, and stepping further back is safe. A version moved by
    something the journal does not know of counts as a change.
    """
    later = session.execute(
        select(ChangeSet.c.id, ChangeSet.c.command, ChangeSet.c.undoes_id, ChangeSet.c.undone_by_id)
        .join(ChangeEntry, ChangeEntry.c.change_set_id == ChangeSet.c.id)
        .where(
            ChangeEntry.c.entity == entry.entity,
            ChangeEntry.c.record_id == entry.record_id,
            ChangeSet.c.id > target_id,
        )
        .order_by(ChangeSet.c.id.desc())
    ).all()
    if not later:
        return "by a change the journal did not record"
    for row in later:
        settled = row.undone_by_id is not None or (
            row.undoes_id is not None and row.undoes_id > target_id
        )
        if not settled:
            return f"change set {row.id}: {row.command}"
    return None


def _references(
    session: Session, entity: str, record_id: int, created: Container[tuple[str, int]]
) -> list[str]:
    """Rows made since that point at a record whose creation would be undone."""
    from crm_cli.store.sales import load_all

    load_all()  # every table that could point at the record
    table = models()[entity].__table__
    problems = []
    for other in SQLModel.metadata.sorted_tables:
        if other.name in _CHILD_TABLES or other.name.startswith("change_"):
            continue
        for fk in other.foreign_keys:
            if fk.column.table is not table:
                continue
            ids = session.scalars(select(other.c.id).where(fk.parent == record_id).limit(20)).all()
            later = [i for i in ids if (other.name, int(i)) not in created]
            if later:
                problems.append(
                    f"{_describe(entity, record_id)} has {other.name.replace('_', ' ')} "
                    f"{later[0]} pointing at it, added since"
                )
    return problems


def undo(ctx: Context, session: Session, set_id: int | None = None) -> UndoResult:
    """Revert a change set (default: your latest one not undone). One transaction."""
    rec = journal.recorder(session)
    if rec is None:
        raise Conflict("undo needs the change journal; it is off (journal.enabled)")
    target = _target(ctx, session, set_id)
    stored = session.execute(
        select(ChangeEntry)
        .where(ChangeEntry.c.change_set_id == target.id)
        .order_by(ChangeEntry.c.position.desc())
    ).all()
    # Each `create_many` entry (an import's new records) is undone as a whole, with set-based
    # statements (_Many); every other entry record by record.
    steps: list[Any] = []
    for row in stored:
        if row.action == journal.CREATE_MANY and row.entity != "tag":
            last = steps[-1] if steps else None
            if not (isinstance(last, _Many) and last.entity == row.entity):
                last = _Many(row.entity)
                steps.append(last)
            last.add(row.new or {})
        elif row.action == journal.REMOVE_MANY and row.entity != "tag":
            back = steps[-1] if steps else None
            if not (isinstance(back, _Back) and back.entity == row.entity):
                back = _Back(row.entity)
                steps.append(back)
            back.add(row.old or {})
        else:
            steps.extend(journal.expand([row], reverse=True))
    entries = [e for e in steps if not isinstance(e, _Many | _Back)]
    many = [m for m in steps if isinstance(m, _Many | _Back)]
    # Rows this change set touched are put back by it too: their references do not count.
    touched = _Touched({(e.entity, e.record_id) for e in entries}, many)
    problems = []
    for m in many:
        problems.extend(m.check(session, int(target.id), touched))
    problems.extend(_check(session, int(target.id), entries, touched))
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise Conflict(f"cannot undo change set {target.id} ({target.command}): {shown}")
    rec.undoes = int(target.id)
    for e in steps:
        if isinstance(e, _Many):
            e.remove(session, rec)
        elif isinstance(e, _Back):
            e.restore(session, rec)
        elif e.entity == "tag":
            if e.action == CREATE:
                continue  # last, once the records that used it are put back
            _recreate_tag(session, e)  # first (it was removed last): before records use it
        elif e.action == CREATE:
            session.delete(_current(session, e.entity, e.record_id))
            session.flush()
        elif e.action == UPDATE:
            _revert_update(session, e)
        else:
            _recreate(session, e)
    session.flush()
    for e in entries:
        if e.entity == "tag":
            _remove_tag(session, e)
    _restore_versions(session, rec, entries)
    return UndoResult(
        int(target.id),
        str(target.command),
        # Tags are not records of their own (a new tag that went is not worth a line).
        [
            _describe(entity, record_id)
            for entity, record_id in _records(reversed(steps))
            if entity != "tag"
        ],
    )


def _records(steps: Iterable[Any]) -> Iterator[tuple[str, int]]:
    for step in steps:
        if isinstance(step, _Many | _Back):
            yield from ((step.entity, i) for i in sorted(step.ids))
        else:
            yield step.entity, step.record_id


class _Touched:
    """The records a change set touched: single ones, and the id runs of its `create_many`
    entries (a hundred thousand ids are tested against their few runs, not held in a set)."""

    def __init__(self, single: set[tuple[str, int]], many: list[_Many | _Back]) -> None:
        self.single = single
        self.runs: dict[str, list[tuple[int, int]]] = {}
        for m in many:
            self.runs.setdefault(m.entity, []).extend(m.runs)

    def __contains__(self, key: object) -> bool:
        if key in self.single:
            return True
        if not isinstance(key, tuple):
            return False
        entity, record_id = key
        return any(a <= int(record_id) <= b for a, b in self.runs.get(str(entity), ()))


# Id runs per statement: each is two bind parameters.
_RUNS_PER_QUERY = 200


class _Many:
    """The undo of one `create_many` entry: its records checked and removed with a few
    set-based statements (by id runs, never one bind parameter per record), and journaled
    as one `remove_many` entry, so that undoing the undo puts them back the same way.

    Record by record, a 100,000-row import took minutes to undo: a lookup, a reference check
    per foreign key and an ORM delete per record, and a journal entry each."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.runs: list[tuple[int, int]] = []
        self.ids: list[int] = []
        self.model = models()[entity]
        self.table = self.model.__table__
        # The version each record had when the change set left it (1 for a new record).
        self.versions: list[Any] = []

    def add(self, packed: dict[str, Any]) -> None:
        """One more `create_many` entry of the same table (an import writes one per
        MANY_SPAN ids): all are checked and removed together."""
        ids = journal.packed_ids(packed)
        self.runs.extend((int(a), int(b)) for a, b in packed.get("ids", []))
        self.ids.extend(ids)
        same, columns = packed.get("same", {}), packed.get("columns", {})
        self.versions.extend(columns.get("version") or [same.get("version")] * len(ids))

    def _where(self, column: Any) -> Iterator[Any]:
        from sqlalchemy import or_

        runs = sorted(self.runs)  # ascending ids, statement after statement
        for start in range(0, len(runs), _RUNS_PER_QUERY):
            part = runs[start : start + _RUNS_PER_QUERY]
            yield or_(*(column.between(a, b) for a, b in part))

    def check(self, session: Session, target_id: int, touched: _Touched) -> list[str]:
        """What stands in the way: a record gone, changed since (its version moved and the
        journal does not explain it away), or pointed at by a row added since."""
        table = self.table
        versioned = "version" in table.c
        found: dict[int, Any] = {}
        for where in self._where(table.c.id):
            query = select(table.c.id, table.c.version if versioned else table.c.id).where(where)
            if common.locking(session):
                query = query.with_for_update()
            found.update((int(i), v) for i, v in session.execute(query))
        problems: list[str] = []
        if len(found) != len(self.ids):
            gone = next(i for i in self.ids if i not in found)
            problems.append(f"{_describe(self.entity, gone)} no longer exists")
        if versioned:
            for n, record_id in enumerate(self.ids):
                expected = self.versions[n]
                if record_id not in found or expected is None or found[record_id] == expected:
                    continue
                later = _unexplained_change(session, _Ref(self.entity, record_id), target_id)
                if later is not None:
                    problems.append(
                        f"{_describe(self.entity, record_id)} has changed since ({later})"
                    )
        problems.extend(self._references(session, touched))
        return problems

    def _references(self, session: Session, touched: _Touched) -> list[str]:
        from crm_cli.store.sales import load_all

        load_all()  # every table that could point at the records
        problems = []
        for other in SQLModel.metadata.sorted_tables:
            if other.name in _CHILD_TABLES or other.name.startswith("change_"):
                continue
            for fk in other.foreign_keys:
                if fk.column.table is not self.table:
                    continue
                for where in self._where(fk.parent):
                    for oid, rid in session.execute(
                        select(other.c.id, fk.parent).where(where).order_by(fk.parent, other.c.id)
                    ):
                        if (other.name, int(oid)) in touched:
                            continue
                        problems.append(
                            f"{_describe(self.entity, int(rid))} has "
                            f"{other.name.replace('_', ' ')} {oid} pointing at it, added since"
                        )
                        if len(problems) >= 20:
                            return problems
        return problems

    def remove(self, session: Session, rec: journal.Recorder) -> None:
        """Read the records as they are (for the undo's own journal entry), then delete
        their child rows and them, a run of ids at a time. On SQLite the search index loses
        them through its delete trigger; PostgreSQL's index goes with the rows."""
        from sqlalchemy import delete

        ids, columns = self._read(session)
        if ids:
            rec.note_removed_many(self.entity, ids, columns)
        children = [
            (t, fk.parent)
            for t in SQLModel.metadata.sorted_tables
            if t.name in _CHILD_TABLES
            for fk in t.foreign_keys
            if fk.column.table is self.table
        ]
        for child, column in children:
            for where in self._where(column):
                session.execute(delete(child).where(where))
        from crm_cli.services.bulk import delete_ranges

        delete_ranges(session, self.table, self.runs)

    def _read(self, session: Session) -> tuple[list[int], dict[str, list[Any]]]:
        """The records' ids and their values column by column, as they are: every column,
        and the list fields (tags; a contact's emails and phones, with their rows)."""
        table = self.table
        # The driver's values, each column's distinct ones converted once (an import's rows
        # share their times and their empty custom fields): SQLAlchemy converting every
        # value of 100,000 rows was half of reading them.
        from sqlalchemy import type_coerce
        from sqlalchemy.types import NullType

        raw = [type_coerce(c, NullType()).label(c.name) for c in table.columns]
        found: list[Any] = []
        for where in self._where(table.c.id):
            found.extend(session.execute(select(*raw).where(where).order_by(table.c.id)).all())
        if not found:
            return [], {}
        dialect = session.get_bind().dialect
        columns = {
            c.name: _converted(list(values), c.type._cached_result_processor(dialect, None))
            for c, values in zip(table.columns, zip(*found, strict=True), strict=True)
        }
        ids = [int(i) for i in columns["id"]]
        lists = LIST_FIELDS.get(self.entity, ())
        if "tags" in lists:
            from crm_cli.store.models import Tag

            tag = Tag.__table__  # type: ignore[attr-defined]
            link = journal.tag_link(self.entity)
            link = getattr(link, "__table__", link)
            owner = link.c[f"{self.entity}_id"]
            tags: dict[int, list[str]] = {}
            for where in self._where(owner):
                query = select(owner, tag.c.name).join(tag, tag.c.id == link.c.tag_id).where(where)
                for rid, name in session.execute(query).all():
                    tags.setdefault(int(rid), []).append(str(name))
            columns["tags"] = [sorted(tags.get(i, ())) for i in ids]
        for name in journal.ROW_LISTS if self.entity == "contact" else ():
            child = {"emails": ContactEmail, "phones": ContactPhone}[name]
            column = journal.ROW_LISTS[name][1]
            kept: dict[int, list[dict[str, Any]]] = {}
            positioned = (child.c.label, child.c.position)
            for where in self._where(child.c.contact_id):
                query = (
                    select(child.c.contact_id, child.c.id, child.c[column], *positioned)
                    .where(where)
                    .order_by(child.c.contact_id, child.c.position, child.c.id)
                )
                for cid, i, value, label, position in session.execute(query).all():
                    kept.setdefault(int(cid), []).append(
                        {"id": int(i), column: value, "label": label, "position": int(position)}
                    )
            columns[name] = [[r[column] for r in kept.get(i, ())] for i in ids]
            columns[journal.rows_key(name)] = [kept.get(i, []) for i in ids]
        return ids, columns


class _Back:
    """The undo of `remove_many` entries (the undo of an import's undo): the records put back
    as they were, ids, child rows and search tokens included, with bulk inserts, and journaled
    as `create_many` entries again, so that a further undo is set-based too."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.runs: list[tuple[int, int]] = []
        self.ids: list[int] = []
        self.rows: list[dict[str, Any]] = []
        self.model = models()[entity]
        self.table = self.model.__table__

    def add(self, packed: dict[str, Any]) -> None:
        self.runs.extend((int(a), int(b)) for a, b in packed.get("ids", []))
        rows = journal.unpack(packed)
        self.ids.extend(r["id"] for r in rows)
        self.rows.extend(rows)

    def check(self, session: Session, target_id: int, touched: _Touched) -> list[str]:
        """A record with one of the ids made since stands in the way."""
        table = self.table
        for start in range(0, len(self.runs), _RUNS_PER_QUERY):
            from sqlalchemy import or_

            part = sorted(self.runs)[start : start + _RUNS_PER_QUERY]
            found = session.scalar(
                select(table.c.id)
                .where(or_(*(table.c.id.between(a, b) for a, b in part)))
                .order_by(table.c.id)
                .limit(1)
            )
            if found is not None:
                return [f"{_describe(self.entity, int(found))} exists again"]
        return []

    def restore(self, session: Session, rec: journal.Recorder) -> None:
        from sqlalchemy import insert

        from crm_cli.services.bulk import insert_many, search_index_after

        table = self.table
        names = [c.name for c in table.columns]
        rows = sorted(self.rows, key=lambda r: int(r["id"]))
        lists = [n for n in LIST_FIELDS.get(self.entity, ()) if rows and n in rows[0]]
        decoded: dict[tuple[str, Any], Any] = {}

        def value(name: str, raw: Any) -> Any:
            if isinstance(raw, str):
                key = (name, raw)
                if key not in decoded:
                    decoded[key] = journal.decode(self.model, name, raw)
                return decoded[key]
            return journal.decode(self.model, name, raw)

        records = [{n: value(n, r.get(n)) for n in names if n in r} for r in rows]
        first, last = int(rows[0]["id"]), int(rows[-1]["id"])
        if last - first + 1 == len(rows):  # one run: the search index in one statement
            with search_index_after(session, table, first, last):
                insert_many(session, table, records)
        else:
            insert_many(session, table, records)
        for name in journal.ROW_LISTS if self.entity == "contact" else ():
            child = {"emails": ContactEmail, "phones": ContactPhone}[name]
            column = journal.ROW_LISTS[name][1]
            kept = [
                {
                    "id": int(c["id"]),
                    "contact_id": int(r["id"]),
                    column: c[column],
                    "label": c.get("label"),
                    "position": c.get("position", i),
                }
                for r in rows
                for i, c in enumerate(r.get(journal.rows_key(name)) or [])
            ]
            ids = [c["id"] for c in kept]
            taken = any(
                session.scalars(select(child.c.id).where(child.c.id.in_(ids[s : s + 5000]))).first()
                for s in range(0, len(ids), 5000)
            )
            if taken:
                for c in kept:
                    del c["id"]
            insert_many(session, child, kept)
        if "tags" in lists:
            tag_ids = common.tag_ids(session, {t for r in rows for t in r.get("tags") or []})
            link = journal.tag_link(self.entity)
            links = [
                {f"{self.entity}_id": int(r["id"]), "tag_id": tag_ids[t]}
                for r in rows
                for t in r.get("tags") or []
            ]
            for s in range(0, len(links), 5000):
                session.execute(insert(link), links[s : s + 5000])
        created = [{k: v for k, v in r.items() if not k.endswith("_rows")} for r in rows]
        rec.note_created(self.entity, created)


def _converted(values: list[Any], convert: Any) -> list[Any]:
    """`convert` (a result processor, or None) applied to `values`, once per distinct value
    (a JSON value read as a Python object is converted each time)."""
    if convert is None:
        return values
    done: dict[Any, Any] = {}
    out = []
    for value in values:
        try:
            found = done.get(value, done)
        except TypeError:  # not hashable
            out.append(convert(value))
            continue
        if found is done:
            found = done[value] = convert(value)
        out.append(found)
    return out


@dataclass(frozen=True)
class _Ref:
    entity: str
    record_id: int


def _revert_update(session: Session, entry: Any) -> None:
    model = models()[entry.entity]
    obj = _current(session, entry.entity, entry.record_id)
    lists = LIST_FIELDS.get(entry.entity, ())
    old = dict(entry.old or {})
    rows = {name: old.pop(journal.rows_key(name), None) for name in journal.ROW_LISTS}
    for name, value in old.items():
        if name == "version":
            continue
        if name in lists:
            _set_list(
                session, entry.entity, entry.record_id, name, list(value or []), rows.get(name)
            )
        else:
            setattr(obj, name, journal.decode(model, name, value))
    session.flush()


def _recreate(session: Session, entry: Any) -> None:
    model = models()[entry.entity]
    old = dict(entry.old or {})
    lists = {k: old.pop(k) for k in LIST_FIELDS.get(entry.entity, ()) if k in old}
    rows = {name: old.pop(journal.rows_key(name), None) for name in journal.ROW_LISTS}
    columns = {c.name for c in model.__table__.columns}
    obj = model(**{k: journal.decode(model, k, v) for k, v in old.items() if k in columns})
    session.add(obj)
    session.flush()
    for name, value in lists.items():
        _set_list(session, entry.entity, entry.record_id, name, list(value or []), rows.get(name))


def _remove_tag(session: Session, entry: Any) -> None:
    """Undo of a tag's creation: the tag goes when no record uses it any more (the records
    this change set tagged have been put back by now; one tagged since keeps it)."""
    from crm_cli.store.models import Tag

    if entry.action != CREATE:
        return
    tag = session.get(Tag, entry.record_id)
    if tag is None:
        return
    for link in ("contact", "company", "deal"):
        table = journal.tag_link(link)
        table = getattr(table, "__table__", table)
        if session.scalar(select(table.c.tag_id).where(table.c.tag_id == tag.id).limit(1)):
            return
    session.delete(tag)
    session.flush()


def _recreate_tag(session: Session, entry: Any) -> None:
    """Undo of an undo that removed a new tag: the tag again, with its id, unless one of its
    name was made since (the records then use that one)."""
    from crm_cli.store.models import Tag

    name = (entry.old or {}).get("name")
    if entry.action != journal.REMOVE or name is None or session.get(Tag, entry.record_id):
        return
    from sqlmodel import col

    if session.scalar(select(col(Tag.id)).where(col(Tag.name) == name)) is None:
        _recreate(session, entry)


def _restore_versions(session: Session, rec: journal.Recorder, entries: list[Any]) -> None:
    """Give each record put back the version it had before the change set: an undone change
    leaves no trace in the records (`crm export all` reads as before it). The version still
    guards: a write based on a read taken after the change expects the later version and is
    refused. The undo's own journal entries say so, so that undoing the undo checks and
    restores the versions the change set had left."""
    from sqlalchemy import update
    from sqlalchemy.orm.attributes import set_committed_value

    for e in entries:
        if e.action == CREATE or e.entity == "tag":
            continue
        version = (e.old or {}).get("version")
        model = models()[e.entity]
        if version is None or "version" not in model.__table__.c:
            continue
        table = model.__table__
        session.execute(update(table).where(table.c.id == e.record_id).values(version=version))
        obj = session.identity_map.get(session.identity_key(model, e.record_id))
        if obj is not None:
            set_committed_value(obj, "version", version)
        mine = rec.entries.get((e.entity, e.record_id))
        if mine is not None and mine.new is not None:
            mine.new["version"] = version


def _set_list(
    session: Session,
    entity: str,
    record_id: int,
    name: str,
    values: list[str],
    rows: list[dict[str, Any]] | None = None,
) -> None:
    """Give a record's list field exactly `values`, as the journal wrote them, through the
    same writers as any edit (which report the change to this session's journal). Emails
    and phones come back as the very rows they were (ids, labels) when the journal kept them
    and their ids are free."""
    current = journal.read_lists(session, entity, record_id)[name]
    if name in journal.ROW_LISTS and rows:
        column = journal.ROW_LISTS[name][1]
        if [r.get(column) for r in rows] == values:
            _put_rows(session, record_id, name, current, rows)
            return
    if name == "tags":
        common.set_tags(
            session,
            journal.tag_link(entity),
            f"{entity}_id",
            record_id,
            add=[v for v in values if v not in current],
            remove=[v for v in current if v not in values],
        )
        return
    from crm_cli.services.contacts import replace_list

    table = {"emails": ContactEmail, "phones": ContactPhone}[name]
    replace_list(session, table, name.removesuffix("s"), record_id, values, existing=current)


def _put_rows(
    session: Session, record_id: int, name: str, current: list[str], rows: list[dict[str, Any]]
) -> None:
    """Replace a contact's emails or phones with `rows` as the journal kept them."""
    from sqlalchemy import delete, insert

    table = {"emails": ContactEmail, "phones": ContactPhone}[name]
    column = journal.ROW_LISTS[name][1]
    # Told as rows, not values: rows whose labels alone differ are a change to journal too
    # (the undo of this undo puts the labels back).
    journal.note_rows(
        session,
        record_id,
        name,
        [
            {
                "id": int(r["id"]),
                column: r[column],
                "label": r.get("label"),
                "position": int(r.get("position", i)),
            }
            for i, r in enumerate(rows)
        ],
    )
    if current:
        session.execute(delete(table).where(table.c.contact_id == record_id))
    ids = [int(r["id"]) for r in rows]
    taken = session.scalars(select(table.c.id).where(table.c.id.in_(ids))).first()
    session.execute(
        insert(table),
        [
            {
                **({} if taken is not None else {"id": r["id"]}),
                "contact_id": record_id,
                column: r[column],
                "label": r.get("label"),
                "position": r.get("position", i),
            }
            for i, r in enumerate(rows)
        ],
    )
