"""Importing records: check every value, match rows to what is there, plan, write, report.

Every reader (CSV, vCard, ...) hands `SourceRecord`s to `import_records`; what happens next is
the same for all of them, in three steps:

1. **Check**: each row's values are parsed and checked with the same rules as `add` (emails,
   phones to E.164, dates, amounts, stages). A bad value rejects that row, with the field and
   the reason; the other rows go on.
2. **Match and plan**: rows are matched to existing records in one query per key for the
   whole file (contacts by external id, then email, then phone; companies by external id,
   domain, then name; deals by external id). A row that names a record an earlier row of the
   file already named is a duplicate in the file. Each row gets a decision (new, update,
   unchanged, skipped, rejected, duplicate) with its evidence: the key that matched and, for
   an update, each field's old and new value. `--dry-run` stops here.
3. **Write**: new records in bulk (one statement per table and chunk, services/bulk.py), updates
   through the ORM (few, and journaled field by field). The caller's session is the one
   transaction, and its journal records the whole import as one change set, so `crm undo`
   takes it back.

Blank cells never clear a value: an import adds and corrects, it does not erase.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, insert, or_, select, text, update
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain import money
from crm_cli.domain.dates import localize, numeric_order, parse_export_time
from crm_cli.domain.text import clean_line, fold, index_tokens, names_matching
from crm_cli.errors import CrmError, InvalidValue
from crm_cli.io.records import SourceRecord
from crm_cli.services import common, fanout, journal
from crm_cli.store.models import Company, CompanyTag, Contact, ContactEmail, ContactPhone, User
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from crm_cli.services.bulk import CheckedContact
    from crm_cli.services.context import Context
    from crm_cli.services.pipelines import Board
    from crm_cli.store.sales import Pipeline, Stage

ON_MATCH = ("skip", "update", "fill")
NEW, UPDATE, UNCHANGED, SKIPPED, REJECTED, DUPLICATE = (
    "new",
    "update",
    "unchanged",
    "skipped",
    "rejected",
    "duplicate",
)
ACTIONS = (NEW, UPDATE, UNCHANGED, SKIPPED, REJECTED, DUPLICATE)
SUPPORTED = ("contacts", "companies", "deals", "followups", "interactions", "feedback")
CHUNK = 5_000


def _link_tags_and_note(
    session: Session,
    kind: str,
    link: Any,
    ids: Sequence[int],
    rows: Sequence[dict[str, Any]],
    new: Sequence[Any],
) -> None:
    """Link the new `kind` records (`ids`, inserted from `rows`) to their tags through the
    `link` table, and tell the journal they were created, tags included, so `crm undo` takes
    the import back."""
    tag_ids = common.tag_ids(session, {t for r in new for t in r.tags})
    links = [
        {f"{kind}_id": rid, "tag_id": tag_ids[t]}
        for rid, r in zip(ids, new, strict=True)
        for t in r.tags
    ]
    for start in range(0, len(links), CHUNK):
        session.execute(insert(link), links[start : start + CHUNK])
    rec = journal.recorder(session)
    if rec is not None:
        rec.note_created(
            kind,
            [
                {**row, "id": rid, "version": 1, "tags": sorted(r.tags)}
                for rid, row, r in zip(ids, rows, new, strict=True)
            ],
        )


DATE_FIELDS = (
    "expected_close",
    "created_at",
    "closed_at",
    "occurred_at",
    "due_at",
    "done_at",
    "resolved_at",
)
_DATES = frozenset(DATE_FIELDS)


@dataclass
class ImportOptions:
    on_match: str = "update"  # skip | update | fill (only empty fields)
    dry_run: bool = False
    create_missing: bool = False  # create contacts that deals name and nobody has
    create_stages: bool = False  # create pipelines and stages that rows name
    date_format: str | None = None  # dmy | mdy; None: from the file, refused when ambiguous
    decimal_comma: bool | None = None
    # The file's `id` column holds this database's ids (crm's own export): a row matches the
    # record its id names, and an id naming none is rejected.
    match_id: bool = False
    # Told (rows done, rows in the file) as rows are checked: the progress bar at a terminal.
    progress: Callable[[int, int], None] | None = None


@dataclass
class RowResult:
    """The decision about one row, with its evidence."""

    number: int
    action: str
    record_id: int | None = None
    match: str | None = None  # "external_id 'X'", "email 'a@b.c'", "line 12" (a duplicate)
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field -> [old, new]
    error: str | None = None
    original: list[str] = field(default_factory=list)
    # Why a row that looks like a record is there is not matched to it (a new row).
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"line": self.number, "decision": self.action}
        if self.record_id is not None:
            data["id"] = self.record_id
        if self.match:
            data["match"] = self.match
        if self.changes:
            data["changes"] = {k: {"old": o, "new": n} for k, (o, n) in self.changes.items()}
        if self.error:
            data["error"] = self.error
        if self.note:
            data["note"] = self.note
        return data


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    # What a row's number counts, as the report names it: a CSV file's "line", a vCard
    # file's "card" (JSON keeps the key `line` either way).
    unit: str = "line"
    # Related records made along the way (or that would be, in a dry run): kind -> names.
    created: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Contacts a won deal made customers, one line each (after `notes` in JSON).
    customers: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTIONS, 0)
        for row in self.rows:
            counts[row.action] += 1
        return counts

    @property
    def rejected(self) -> list[RowResult]:
        return [r for r in self.rows if r.action in (REJECTED, DUPLICATE)]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "created": self.created,
            "notes": [*self.notes, *self.customers],
            "rows": [r.as_json() for r in self.rows],
        }


class _Reject(Exception):
    """A row cannot go in: the message names the field and the problem."""


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, CrmError) else str(exc)


# --- values ------------------------------------------------------------------------------------


def _all(rec: SourceRecord, base: str) -> list[str]:
    """Every value of a multi-valued field, labelled ones (`email:work`) included."""
    values_of = rec.values
    # Rows of one file mostly have the same fields: which of them feed `base` is worked out
    # once per set of fields.
    shape = (base, *values_of)
    keys = _FEEDS.get(shape)
    if keys is None:
        if len(_FEEDS) > 1000:
            _FEEDS.clear()
        keys = _FEEDS[shape] = [k for k in values_of if k == base or k.startswith(base + ":")]
    out: list[str] = []
    for key in keys:
        out.extend(v for v in values_of[key] if v.strip())
    return out


_FEEDS: dict[tuple[str, ...], list[str]] = {}


def _tags(rec: SourceRecord) -> list[str]:
    found: list[str] = []
    for value in _all(rec, "tags"):
        for part in value.replace(";", ",").split(","):
            if part.strip():
                tag = common.clean_tag(part)
                if tag not in found:
                    found.append(tag)
    return found


def _custom(rec: SourceRecord) -> dict[str, str]:
    if not any(key.startswith("field.") for key in rec.values):
        return {}
    custom: dict[str, str] = {}
    for key, values in rec.values.items():
        if key.startswith("field.") and any(v.strip() for v in values):
            custom[common.clean_field_key(key[6:])] = " ".join(v for v in values if v.strip())
    return custom


def _line(rec: SourceRecord, name: str, *, collapse: bool = True) -> str | None:
    if name not in rec.values:
        return None
    value = rec.first(name)
    if value is None:
        return None
    return _cleaned(value, name, required=False, collapse=collapse) or None


def _cleaned(value: str, name: str, *, required: bool = True, collapse: bool = True) -> str:
    """`clean_line(value, name, ...)`, with its common case first: printable ASCII is
    already NFC, holds no control character and shows something once it is not blank, so
    only its spaces need collapsing (or trimming)."""
    if value.isascii() and value.isprintable():
        text = " ".join(value.split()) if collapse else value.strip()
        if text and len(text) <= 500:
            return text
    return clean_line(value, name, required=required, collapse=collapse)


class _Dates:
    """Reads the file's dates with one order for the whole file."""

    def __init__(
        self,
        ctx: Context,
        records: Sequence[SourceRecord],
        opts: ImportOptions,
        unit: str = "line",
    ) -> None:
        self.tz: ZoneInfo = ctx.tz
        self.order = opts.date_format
        if self.order is None:
            self.order = _file_order(records, unit)

    def day(self, value: str, name: str) -> date:
        return parse_export_time(value, self.tz, order=self.order, field=name)[0]

    def moment(self, value: str, name: str) -> datetime:
        day, at = parse_export_time(value, self.tz, order=self.order, field=name)
        return at if at is not None else localize(day, time(0), self.tz)


def _file_order(records: Sequence[SourceRecord], unit: str = "line") -> str | None:
    """The file's order of day and month, from the dates that tell; refused when its dates
    disagree, naming a row of each reading."""
    seen: dict[str, int] = {}
    for rec in records:
        if _DATES.isdisjoint(rec.values):  # most rows of most kinds: one set operation
            continue
        for name in DATE_FIELDS:
            for value in rec.values.get(name, ()):
                found = numeric_order(value)
                if found in ("dmy", "mdy"):
                    seen.setdefault(found, rec.number)
    if len(seen) > 1:
        raise InvalidValue(
            "date-format",
            "",
            f"the file's dates read day-first on {unit} {seen['dmy']} and month-first on "
            f"{unit} {seen['mdy']}; give --date-format dmy or mdy",
        )
    return next(iter(seen), None)


def _ambiguous_lines(records: Sequence[SourceRecord], order: str | None) -> list[tuple[int, str]]:
    """The lines (and a date of each) that read both day-first and month-first."""
    if order is not None:
        return []
    lines = []
    for rec in records:
        if _DATES.isdisjoint(rec.values):
            continue
        for name in DATE_FIELDS:
            found = [v for v in rec.values.get(name, ()) if numeric_order(v) == "either"]
            if found:
                lines.append((rec.number, found[0]))
                break
    return lines


# --- related records: owners and companies --------------------------------------------------


class _Related:
    """Owners and companies rows name, found in one query each, made when missing."""

    def __init__(self, ctx: Context, session: Session, report: ImportReport) -> None:
        self.ctx, self.session, self.report = ctx, session, report
        self.owners: dict[str, int | None] = {}
        self.companies: dict[str, int | None] = {}
        self.company_names: dict[int, str] = {}

    def plan_owners(self, refs: Iterable[str]) -> None:
        wanted = {r.strip() for r in refs if r and r.strip()} - set(self.owners)
        if not wanted:
            return
        users = self.session.execute(select(col(User.id), col(User.name), col(User.email))).all()
        for ref in sorted(wanted):
            low = ref.lower()
            match = [
                u for u in users if (u.email or "").lower() == low or (u.name or "").lower() == low
            ]
            if not match:
                # As `--owner` finds a user: the one whose name is the same with case and
                # accents folded ("jose perez" is José Pérez); several such are no match.
                alike = names_matching([u.name or "" for u in users], ref)
                match = [users[alike[0]]] if len(alike) == 1 else []
            if common.id_of(ref) is not None:
                match = [u for u in users if u.id == common.id_of(ref)]
            self.owners[ref] = int(match[0].id) if match else None
            if not match:
                self.report.created.setdefault("users", []).append(ref)

    def owner_id(self, ref: str | None) -> int | None:
        if ref is None:
            return None
        return self.owners.get(ref.strip())

    def write_owners(self) -> None:
        from crm_cli.services.users import ensure_user

        for ref, uid in self.owners.items():
            if uid is None:
                email = ref.lower() if "@" in ref else None
                name = ref.split("@")[0] if email else ref
                self.owners[ref] = ensure_user(self.session, name, email)

    def plan_companies(self, names: Iterable[str]) -> None:
        wanted = {n.strip() for n in names if n and n.strip()}
        lowered = sorted({n.lower() for n in wanted} - set(self.companies))
        for start in range(0, len(lowered), CHUNK):
            part = lowered[start : start + CHUNK]
            rows = self.session.execute(
                select(func.lower(col(Company.name)), col(Company.id), col(Company.name)).where(
                    col(Company.deleted_at).is_(None), func.lower(col(Company.name)).in_(part)
                )
            )
            for low, cid, name in rows:
                self.companies.setdefault(str(low), int(cid))
                self.company_names[int(cid)] = str(name)
        for name in sorted(wanted):
            if name.lower() not in self.companies:
                self.companies[name.lower()] = None
                self.report.created.setdefault("companies", []).append(name)

    def company_id(self, name: str | None) -> int | None:
        return self.companies.get(name.strip().lower()) if name else None

    def write_companies(self) -> None:
        from crm_cli.services.bulk import _companies

        missing = set(self.report.created.get("companies", []))
        if missing:
            made = _companies(self.ctx, self.session, missing)
            for name in missing:
                cid = made[name.lower()]
                self.companies[name.lower()] = cid
                self.company_names[cid] = name


# --- entry point -------------------------------------------------------------------------------


# The key of the PostgreSQL advisory lock imports take turns on (migrations use 7232431).
IMPORT_LOCK = 7232432


def import_records(
    ctx: Context,
    session: Session,
    kind: str,
    records: Iterable[SourceRecord],
    options: ImportOptions | None = None,
    *,
    unit: str = "line",
) -> ImportReport:
    """Import `records` of `kind` in `session` (one transaction: the caller commits it, and
    its journal makes the import one change set). With `options.dry_run`, nothing is written
    and the report says what would happen. `unit` is what a record's number counts ("line",
    or "card" in a vCard file), for the report's words."""
    opts = options or ImportOptions()
    if opts.on_match not in ON_MATCH:
        raise InvalidValue("on-match", opts.on_match, f"must be one of {', '.join(ON_MATCH)}")
    if opts.date_format is not None and opts.date_format not in ("dmy", "mdy"):
        raise InvalidValue("date-format", opts.date_format, "must be dmy or mdy")
    if kind not in SUPPORTED:
        raise InvalidValue("kind", kind, f"importing supports {', '.join(SUPPORTED)}")
    postgres = session.get_bind().dialect.name == "postgresql"
    if not opts.dry_run and common.locking(session) and postgres:
        # Imports take turns on PostgreSQL, as every writer does on SQLite. Two imports
        # naming the same contacts in different orders each hold rows the other needs next
        # (the rollups their deals' triggers fill, the contacts their foreign keys lock):
        # PostgreSQL then cancels one as a deadlock, after it did all its work.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK})
        # And with `company add` and `contact add`, which check that a company name or an
        # email is free under a lock of their own (lookups.lock_values): an import may create
        # thousands of either, so it holds their gate instead, one lock, until it commits.
        from crm_cli.services.lookups import lock_all_values

        lock_all_values(session)
    rows = list(records)
    report = ImportReport(kind, opts.dry_run, unit=unit)
    dates = _Dates(ctx, rows, opts, unit)
    unclear = _ambiguous_lines(rows, dates.order)
    if unclear:
        shown = ", ".join(str(n) for n, _ in unclear[:5]) + (" ..." if len(unclear) > 5 else "")
        raise InvalidValue(
            "date",
            unclear[0][1],
            f"{unit}{'' if len(unclear) == 1 else 's'} {shown}: read as day/month and as "
            "month/day, and no date in the file tells which; give --date-format dmy or mdy",
        )
    if kind == "contacts":
        _ContactImport(ctx, session, report, opts).run(rows)
    elif kind == "companies":
        _CompanyImport(ctx, session, report, opts).run(rows)
    elif kind == "deals":
        _DealImport(ctx, session, report, opts, dates).run(rows)
    else:
        _ActivityImport(ctx, session, report, opts, dates, kind).run(rows)
    report.rows.sort(key=lambda r: r.number)
    return report


_T = TypeVar("_T")
_R = TypeVar("_R")  # a row of an import, with its source record


class _Base:
    entity = ""

    def __init__(
        self, ctx: Context, session: Session, report: ImportReport, opts: ImportOptions
    ) -> None:
        self.ctx, self.session, self.report, self.opts = ctx, session, report, opts
        self.related = _Related(ctx, session, report)
        self.seen: dict[tuple[str, str], int] = {}  # key -> line that used it first
        self.claimed: dict[int, int] = {}  # record id -> line that matched it
        self.notes: dict[int, str] = {}  # line -> why it is not matched (RowResult.note)
        self.unit = report.unit

    def checked(
        self,
        records: list[SourceRecord],
        check: Callable[[SourceRecord], _T],
        *,
        transfer: _Transfer | None = None,
    ) -> list[tuple[SourceRecord, _T]]:
        """Each record the codec could read, through `check`; the others, and those `check`
        refuses, are rejected with their reason.

        Given how to send what `check` makes from one process to another (`transfer`: for a
        check that reads no database and keeps no state but caches), a large file is checked
        on two cores: the second half of the records in a forked process
        (`_outcomes_forked`)."""
        progress, total = self.opts.progress, len(records)
        outcomes: list[tuple[bool, Any]] | None = None
        if transfer is not None and total >= PARALLEL_ROWS and fanout.cores() >= 2:
            outcomes = _outcomes_forked(records, check, transfer, progress)
        if outcomes is None:
            outcomes = _outcomes(records, check, progress, 0, total)
        if progress is not None:
            progress(total, total)
        rows: list[tuple[SourceRecord, _T]] = []
        for rec, (ok, value) in zip(records, outcomes, strict=True):
            if ok:
                rows.append((rec, value))
            else:
                self.reject(rec, value)
        return rows

    def given_ids(
        self, rows: list[_R], record_of: Callable[[_R], SourceRecord], model: Any
    ) -> tuple[dict[int, int], list[_R]]:
        """With `--match-id`: the live record each row's `id` names, by line, and the rows
        left once those whose id is not a whole number or names no live record of the kind
        are rejected. Without `--match-id`: nothing, and every row."""
        if not self.opts.match_id:
            return {}, rows
        wanted: dict[int, int] = {}
        refused: set[int] = set()
        for rec in map(record_of, rows):
            value = rec.first("id") if "id" in rec.values else rec.record_id
            if value is None or not value.strip():
                continue
            text = value.strip().lstrip("#")
            if not text.isdigit() or len(text) > 18:
                self.reject(rec, f"id {value.strip()!r}: not a record id (a whole number)")
                refused.add(rec.number)
                continue
            wanted[rec.number] = int(text)
        ids = sorted(set(wanted.values()))
        live: set[int] = set()
        for start in range(0, len(ids), CHUNK):
            live.update(
                int(i or 0)
                for i in self.session.scalars(
                    select(col(model.id)).where(
                        col(model.id).in_(ids[start : start + CHUNK]),
                        col(model.deleted_at).is_(None),
                    )
                )
            )
        for rec in map(record_of, rows):
            rid = wanted.get(rec.number)
            if rid is not None and rid not in live:
                self.reject(rec, f"id {rid}: no {self.entity} {rid} in this database")
                refused.add(rec.number)
                del wanted[rec.number]
        return wanted, [r for r in rows if record_of(r).number not in refused]

    def reject(self, rec: SourceRecord, message: str) -> None:
        self.report.rows.append(
            RowResult(rec.number, REJECTED, error=message, original=rec.original)
        )

    def duplicate(self, rec: SourceRecord, keys: list[tuple[str, str]]) -> bool:
        """Whether an earlier row of the file has one of `keys`; records the row if so."""
        for key in keys:
            if key in self.seen:
                self.report.rows.append(
                    RowResult(
                        rec.number,
                        DUPLICATE,
                        match=f"{self.unit} {self.seen[key]}",
                        error=f"{key[0]} {key[1]!r}: the same as {self.unit} {self.seen[key]}",
                        original=rec.original,
                    )
                )
                return True
        for key in keys:
            self.seen[key] = rec.number
        return False

    def decide(
        self, rec: SourceRecord, record_id: int, match: str, changes: dict[str, list[Any]]
    ) -> RowResult | None:
        """The decision for a matched row; None when an earlier row matched the same record."""
        earlier = self.claimed.get(record_id)
        if earlier is not None:
            self.report.rows.append(
                RowResult(
                    rec.number,
                    DUPLICATE,
                    record_id,
                    match=f"{match}; {self.unit} {earlier} matched the same {self.entity}",
                    error=(
                        f"{match}: {self.unit} {earlier} matched the same {self.entity} {record_id}"
                    ),
                    original=rec.original,
                )
            )
            return None
        self.claimed[record_id] = rec.number
        if self.opts.on_match == "skip":
            action = SKIPPED if changes else UNCHANGED
            result = RowResult(rec.number, action, record_id, match, changes, None, rec.original)
        else:
            action = UPDATE if changes else UNCHANGED
            result = RowResult(rec.number, action, record_id, match, changes, None, rec.original)
        self.report.rows.append(result)
        return result

    def wanted(self, old: Any, new: Any) -> bool:
        """Whether a field changes: the row gives a value, it differs, and (fill) the record
        has none yet."""
        if new is None or new == old:
            return False
        return not (self.opts.on_match == "fill" and old not in (None, "", [], {}))


# From this many rows, a pure check runs on two cores (below it, forking and sending the
# results back cost about what the second core saves).
PARALLEL_ROWS = 20_000


def _outcomes(
    records: Sequence[SourceRecord],
    check: Callable[[SourceRecord], Any],
    progress: Callable[[int, int], None] | None,
    shown: int,
    total: int,
    scale: int = 1,
) -> list[tuple[bool, Any]]:
    """Per record, (True, what `check` made of it) or (False, why it is rejected). Progress
    is told as `shown` + `scale` x the records done, of `total`."""
    out: list[tuple[bool, Any]] = []
    for done, rec in enumerate(records):
        if progress is not None and done % 256 == 0:
            progress(min(shown + scale * done, total), total)
        if rec.problem:
            out.append((False, rec.problem))
            continue
        try:
            out.append((True, check(rec)))
        except (_Reject, CrmError) as exc:
            out.append((False, _reason(exc)))
    return out


@dataclass(frozen=True)
class _Transfer:
    """How a checked row goes from the checking child back to the importing parent: `pack`
    makes it plain data (tuples, lists, dicts, strings, numbers: what `marshal` writes, ten
    times faster than pickling the row objects), `unpack` makes the row again around the
    parent's own record."""

    pack: Callable[[Any], Any]
    unpack: Callable[[SourceRecord, Any], Any]


def _outcomes_forked(
    records: Sequence[SourceRecord],
    check: Callable[[SourceRecord], Any],
    transfer: _Transfer,
    progress: Callable[[int, int], None] | None,
) -> list[tuple[bool, Any]] | None:
    """`_outcomes` of all `records`, the second half checked by a forked copy of this process
    on the other core while this one checks the first half (measured: checking 100,000
    contacts, phones parsed and validated, their search tokens made, 4 s on one core).

    The child touches no database and no file: it checks its records, sends the outcomes back
    through a pipe (`transfer`, marshalled) and leaves with `os._exit` (no cleanup of the
    parent's connections, no code of the parent run twice). Whatever goes wrong in it (an
    error, a signal) the parent checks those records itself, so the outcomes are the same
    either way. Ctrl-C reaches both: the child dies at once (SIGINT's default action), and the
    parent stops as it would alone, after killing and reaping the child; so does an error in
    the parent. None when this system cannot fork."""
    import marshal
    import os

    if not hasattr(os, "fork"):
        return None
    mid = (len(records) + 1) // 2
    second = records[mid:]
    reading, writing = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(reading)
        os.close(writing)
        return None
    if pid == 0:  # the child: never returns
        code = 1
        try:
            import signal

            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.close(reading)
            pack = transfer.pack
            data = marshal.dumps(
                [(ok, pack(v) if ok else v) for ok, v in _outcomes(second, check, None, 0, 0)]
            )
            with os.fdopen(writing, "wb") as pipe:
                pipe.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(writing)
    theirs: list[tuple[bool, Any]] | None = None
    try:
        mine = _outcomes(records[:mid], check, progress, 0, len(records), scale=2)
        with os.fdopen(reading, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        pid = 0
        if status == 0:
            try:
                theirs = marshal.loads(data)
            except (EOFError, ValueError, TypeError):  # cut short: checked here instead
                theirs = None
    finally:
        if pid:
            import signal

            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    if theirs is None or len(theirs) != len(second):
        return mine + _outcomes(second, check, progress, mid, len(records))
    unpack = transfer.unpack
    return mine + [
        (ok, unpack(rec, value) if ok else value)
        for rec, (ok, value) in zip(second, theirs, strict=True)
    ]


def _ids_by(
    session: Session, column: Any, id_column: Any, values: Sequence[str], *where: Any
) -> dict[str, int]:
    found: dict[str, int] = {}
    wanted = sorted(set(values))
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start : start + CHUNK]
        for value, rid in session.execute(
            select(column, id_column).where(column.in_(part), *where).order_by(id_column)
        ):
            found.setdefault(str(value), int(rid))
    return found


# --- contacts ----------------------------------------------------------------------------------


class _Creates(_Base):
    """An import whose rows name contacts it may create (`--create-missing`)."""

    def write_contacts(self, missing: list[str], contacts: dict[str, int | None]) -> None:
        """Contacts rows named that do not exist (`--create-missing`): by email, or by name."""
        from crm_cli.services.bulk import check_contact
        from crm_cli.services.contacts import ContactInput

        if not missing:
            return
        from crm_cli.services.bulk import add_contacts

        checked = [
            check_contact(self.ctx, ContactInput(name=ref, add_emails=[ref] if "@" in ref else []))
            for ref in missing
        ]
        for ref, cid in zip(missing, add_contacts(self.ctx, self.session, checked), strict=True):
            contacts[ref] = cid


@dataclass
class _ContactRow:
    rec: SourceRecord
    checked: CheckedContact
    external_id: str | None


class _ContactImport(_Base):
    entity = "contact"

    def check(self, rec: SourceRecord) -> _ContactRow:
        """The row's values checked as `contact add` checks them (`bulk.check_contact`'s
        rules, written out here: the import calls it once a row, so every step counts)."""
        from crm_cli.services.bulk import CheckedContact
        from crm_cli.services.contacts import _emails, _phones, check_lifecycle

        values = rec.values
        given, family = _line(rec, "given_name"), _line(rec, "family_name")
        emails = _all(rec, "email")
        phones = _all(rec, "phone")
        name = rec.first("name")
        if name is None:
            # A name given apart is joined; one name field is kept whole (名 does not split).
            name = " ".join(p for p in (given, family) if p) or None
        if name is None:
            name = emails[0].strip() if emails else (phones[0].strip() if phones else None)
        if name is None:
            if self.unit == "card":
                raise _Reject("name: missing (the card has no FN, N or ORG, no email and no phone)")
            raise _Reject("name: missing (map a name, given_name or family_name column)")
        cadence = rec.first("cadence_days") if "cadence_days" in values else None
        if cadence is not None and not cadence.strip().isdigit():
            raise _Reject(InvalidValue("cadence_days", cadence, "a whole number of days").message)
        cadence_days = int(cadence) if cadence else None
        if cadence_days is not None and not 0 <= cadence_days <= 3650:
            raise InvalidValue("cadence", cadence_days, "must be from 0 to 3650 days")
        company = _line(rec, "company", collapse=False)
        lifecycle = rec.first("lifecycle") if "lifecycle" in values else None
        owner = rec.first("owner") if "owner" in values else None
        tags = _tags(rec) if "tags" in values else []
        external_id = _line(rec, "external_id")
        # Checked in the order of the record's fields, so a row's first bad value is the one
        # reported.
        clean_name = _cleaned(name, "name")
        title = _line(rec, "title")
        clean_company = _cleaned(company, "company", collapse=False) if company else None
        stage = check_lifecycle(lifecycle) if lifecycle else "lead"
        source = _line(rec, "source")
        region = self.ctx.config.phone_region
        labels: dict[str, str] | None = None
        if any(":" in key for key in values):
            # Labelled emails or phones (`email:work`): read with their labels, each once.
            emails, phones, labels = _labelled(rec, region)
        else:
            emails = _emails(emails) if emails else []
            phones = _phones(phones, region) if phones else []
        return _ContactRow(
            rec,
            CheckedContact(
                name=clean_name,
                given_name=given,
                family_name=family,
                title=title,
                company=clean_company,
                lifecycle=stage,
                source=source,
                owner=owner.strip() if owner else owner,
                cadence_days=cadence_days or None,
                emails=emails,
                phones=phones,
                tags=sorted(set(tags)),
                custom=_custom(rec),
                external_id=external_id,
                labels=labels,
            ),
            external_id,
        )

    def check_for_insert(self, rec: SourceRecord) -> _ContactRow:
        """`check`, and the search tokens the row gets if it is new (made on the core that
        checks it, when a large file is checked on two)."""
        from crm_cli.services.bulk import search_tokens

        row = self.check(rec)
        row.checked.search = search_tokens(row.checked)
        return row

    def run(self, records: list[SourceRecord]) -> None:
        self.ctx.config.phone_region  # noqa: B018 (the configuration read before any fork)
        if len(records) >= PARALLEL_ROWS:
            checked = self.checked(records, self.check_for_insert, transfer=_contact_transfer())
        else:
            checked = self.checked(records, self.check)
        rows: list[_ContactRow] = [row for _rec, row in checked]
        given, rows = self.given_ids(rows, operator.attrgetter("rec"), Contact)
        s = self.session
        live = col(Contact.deleted_at).is_(None)
        by_ext = _ids_by(
            s,
            col(Contact.external_id),
            col(Contact.id),
            [r.external_id for r in rows if r.external_id],
            live,
        )
        emails = [e for r in rows for e in r.checked.emails]
        by_email: dict[str, tuple[int, bool]] = {}
        email_query = select(ContactEmail.c.email, col(Contact.id), col(Contact.deleted_at)).join(
            Contact, col(Contact.id) == ContactEmail.c.contact_id
        )
        from crm_cli.services.bulk import key_batches

        for part in key_batches(s, ContactEmail, emails):
            query = (
                email_query if part is None else email_query.where(ContactEmail.c.email.in_(part))
            )
            for email, cid, deleted in s.execute(query):
                by_email[str(email)] = (int(cid), deleted is not None)
        phones = [p for r in rows for p in r.checked.phones]
        by_phone: dict[str, int] = {}
        phone_query = (
            select(ContactPhone.c.phone, ContactPhone.c.contact_id)
            .join(Contact, col(Contact.id) == ContactPhone.c.contact_id)
            .where(live)
            .order_by(ContactPhone.c.contact_id)
        )
        for part in key_batches(s, ContactPhone, phones):
            query = (
                phone_query if part is None else phone_query.where(ContactPhone.c.phone.in_(part))
            )
            for phone, cid in s.execute(query):
                by_phone.setdefault(str(phone), int(cid))

        matched: list[tuple[_ContactRow, int, str]] = []
        new: list[_ContactRow] = []
        keyless: list[_ContactRow] = []  # no external id, email or phone: matched by name
        for row in rows:
            c = row.checked
            given_id = given.get(row.rec.number)
            keys = [("id", str(given_id))] if given_id is not None else []
            keys += [("external_id", row.external_id)] if row.external_id else []
            keys += [("email", e) for e in c.emails] + [("phone", p) for p in c.phones]
            if self.duplicate(row.rec, keys):
                continue
            removed = [e for e in c.emails if e in by_email and by_email[e][1]]
            if removed:
                cid = by_email[removed[0]][0]
                self.reject(
                    row.rec,
                    f"email {removed[0]!r}: belongs to removed contact {cid}; "
                    f"restore it with `crm contact restore {cid}`",
                )
                continue
            found: tuple[int, str] | None = None
            if given_id is not None:
                found = given_id, f"id {given_id}"
            elif row.external_id and row.external_id in by_ext:
                found = by_ext[row.external_id], f"external_id {row.external_id!r}"
            for e in c.emails:
                if found is None and e in by_email:
                    found = by_email[e][0], f"email {e!r}"
            for p in c.phones:
                if found is None and p in by_phone:
                    found = by_phone[p], f"phone {p!r}"
            if found is None:
                new.append(row)
                if not keys:
                    keyless.append(row)
                continue
            others = [e for e in c.emails if e in by_email and by_email[e][0] != found[0]]
            if others:
                self.reject(
                    row.rec,
                    f"email {others[0]!r}: belongs to contact {by_email[others[0]][0]}, "
                    f"not to the matched contact {found[0]} ({found[1]})",
                )
                continue
            matched.append((row, *found))
        if keyless:
            by_name = self.match_names(keyless, {cid for _row, cid, _m in matched})
            matched.extend(by_name)
            named = {id(row) for row, _cid, _m in by_name}
            new = [row for row in new if id(row) not in named]
        self.related.plan_owners(r.checked.owner or "" for r in rows)
        self.related.plan_companies(r.checked.company or "" for r in rows)
        updates = self.plan_updates(matched)
        for row in new:
            self.report.rows.append(
                RowResult(
                    row.rec.number,
                    NEW,
                    original=row.rec.original,
                    note=self.notes.get(row.rec.number),
                )
            )
        if self.opts.dry_run:
            return
        self.related.write_owners()
        self.related.write_companies()
        self.write_new(new)
        self.write_updates(updates)

    def match_names(
        self, rows: list[_ContactRow], taken: set[int]
    ) -> list[tuple[_ContactRow, int, str]]:
        """Rows with no external id, email or phone, matched to the live contact with the same
        name (case and accents folded as name lookups fold them) that has no email and no
        phone either (and no earlier key matched): crm's own export of such a contact goes
        back in unchanged. Only one-to-one: a name several such contacts have, or several
        such rows give, matches nothing, and those rows are new, each with a note saying why
        (and one note for the report)."""

        def folded(name: str) -> str:
            return " ".join(fold(name).split())

        has_email = select(ContactEmail.c.id).where(ContactEmail.c.contact_id == Contact.id)
        has_phone = select(ContactPhone.c.id).where(ContactPhone.c.contact_id == Contact.id)
        bare = (
            col(Contact.deleted_at).is_(None),
            ~has_email.exists(),
            ~has_phone.exists(),
        )
        # The stored name's folded words (`search_name` begins with them), or the name as
        # typed but for case: together every spelling the comparison below accepts, but for
        # a contact whose given or family name adds words and whose accents differ.
        wanted = sorted({(index_tokens(r.checked.name), r.checked.name.lower()) for r in rows})
        names: dict[int, str] = {}
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start : start + CHUNK]
            query = select(col(Contact.id), col(Contact.name)).where(
                *bare,
                or_(
                    col(Contact.search_name).in_([t for t, _low in part if t]),
                    func.lower(col(Contact.name)).in_([low for _t, low in part]),
                ),
            )
            for cid, name in self.session.execute(query):
                names[int(cid or 0)] = str(name)
        contacts: dict[str, list[int]] = {}
        for cid, name in sorted(names.items()):
            if cid not in taken:
                contacts.setdefault(folded(name), []).append(cid)
        in_file: dict[str, int] = {}
        for row in rows:
            key = folded(row.checked.name)
            in_file[key] = in_file.get(key, 0) + 1
        found: list[tuple[_ContactRow, int, str]] = []
        unclear: list[int] = []
        for row in rows:
            key, name = folded(row.checked.name), row.checked.name
            ids = contacts.get(key, [])
            if len(ids) == 1 and in_file[key] == 1:
                found.append((row, ids[0], f"name {name!r}"))
                continue
            if len(ids) > 1:
                shown = ", ".join(str(i) for i in ids[:5]) + (", ..." if len(ids) > 5 else "")
                self.notes[row.rec.number] = (
                    f"name {name!r}: {len(ids)} contacts have it and no email or phone "
                    f"({shown}); not matched"
                )
            elif ids:
                self.notes[row.rec.number] = (
                    f"name {name!r}: {in_file[key]} rows of the file have it and no email, "
                    "phone or external id; not matched"
                )
            else:
                continue
            unclear.append(row.rec.number)
        if unclear:
            lines = ", ".join(str(n) for n in unclear[:10]) + (" ..." if len(unclear) > 10 else "")
            self.report.notes.append(
                f"{len(unclear)} {'row' if len(unclear) == 1 else 'rows'} without email, phone "
                f"or external id not matched by name, which several contacts or rows share "
                f"({self.unit}{'s' if len(unclear) > 1 else ''} {lines}): "
                f"{'would be' if self.opts.dry_run else 'imported as'} new contacts"
            )
        return found

    def plan_updates(
        self, matched: list[tuple[_ContactRow, int, str]]
    ) -> list[tuple[RowResult, Contact, _ContactRow, dict[int, list[str]]]]:
        from crm_cli.services.contacts import _details

        ids = [cid for _row, cid, _m in matched]
        contacts: dict[int, Contact] = {}
        for start in range(0, len(ids), CHUNK):
            for contact in self.session.scalars(
                select(Contact).where(col(Contact.id).in_(ids[start : start + CHUNK]))
            ):
                contacts[int(contact.id or 0)] = contact
        details = _details(self.session, list(contacts.values()))
        owners = details.owners
        planned = []
        for row, cid, match in matched:
            contact = contacts[cid]
            c = row.checked
            changes: dict[str, list[Any]] = {}
            for name, new in (
                ("name", c.name),
                ("given_name", c.given_name),
                ("family_name", c.family_name),
                ("title", c.title),
                ("source", c.source),
                ("cadence_days", c.cadence_days),
                ("external_id", row.external_id),
            ):
                if self.wanted(getattr(contact, name), new):
                    changes[name] = [getattr(contact, name), new]
            if row.rec.first("lifecycle") and self.wanted(contact.lifecycle, c.lifecycle):
                changes["lifecycle"] = [contact.lifecycle, c.lifecycle]
            company = details.companies.get(contact.company_id or 0)
            if c.company and (company or "").lower() != c.company.lower():
                if self.wanted(company, c.company):
                    changes["company"] = [company, c.company]
            owner = owners.get(contact.owner_id or 0)
            if c.owner and self.related.owner_id(c.owner) != contact.owner_id:
                if self.wanted(owner, c.owner):
                    changes["owner"] = [owner, c.owner]
            lists = {
                "emails": (details.emails.get(cid, []), c.emails),
                "phones": (details.phones.get(cid, []), c.phones),
                "tags": (details.tags.get(cid, []), c.tags),
            }
            for name, (old, given) in lists.items():
                added = [v for v in given if v not in old]
                if added and self.wanted(old, old + added):
                    changes[name] = [old, old + added]
            if c.labels:
                had = {"emails": details.email_labels, "phones": details.phone_labels}
                for name, key in (("emails", "email_labels"), ("phones", "phone_labels")):
                    old, _given = lists[name]
                    after = changes[name][1] if name in changes else old
                    relabelled = self.labels(had[name].get(cid, {}), old, after, c.labels)
                    if relabelled is not None:
                        changes[key] = relabelled
            for key, value in c.custom.items():
                old_value = contact.custom.get(key)
                if self.wanted(old_value, value):
                    changes[f"field.{key}"] = [old_value, value]
            result = self.decide(row.rec, cid, match, changes)
            if result is not None and result.action == UPDATE:
                planned.append((result, contact, row, details.emails))
        return planned

    def labels(
        self, had: dict[str, str], old: list[str], after: list[str], given: dict[str, str]
    ) -> list[dict[str, str]] | None:
        """The change of a contact's email (or phone) labels, [old, new] as `contact show
        --json`'s `email_labels` has them (value -> label, labelled values only, in the list's
        order), or None when they stay. `had`: the labels of its values `old`; `after`: its
        values once the import adds its own; `given`: the file's labels. A value it has takes
        the file's label as any field does (`--on-match fill`: only if it has none); a value
        the import adds comes with its label. A label is never taken away."""
        new = dict(had)
        for value in after:
            label = given.get(value)
            if label is not None and (value not in old or self.wanted(had.get(value), label)):
                new[value] = label
        if new == had:
            return None
        return [had, {v: new[v] for v in after if v in new}]

    def write_new(self, new: list[_ContactRow]) -> None:
        from crm_cli.services.bulk import add_contacts

        if not new:
            return
        checked = [
            _replace(r.checked, owner=str(self.related.owner_id(r.checked.owner)))
            if r.checked.owner
            else r.checked
            for r in new
        ]
        ids = add_contacts(self.ctx, self.session, checked)
        by_line = {r.rec.number: i for r, i in zip(new, ids, strict=True)}
        for result in self.report.rows:
            if result.action == NEW:
                result.record_id = by_line.get(result.number)

    def write_updates(
        self, planned: list[tuple[RowResult, Contact, _ContactRow, dict[int, list[str]]]]
    ) -> None:
        from crm_cli.services.contacts import reindex_contacts

        if not planned:
            return
        now = utcnow()
        for result, contact, row, _emails in planned:
            cid = int(contact.id or 0)
            labels = row.checked.labels or {}
            for name, (old, new) in result.changes.items():
                if name == "company":
                    contact.company_id = self.related.company_id(new)
                elif name == "owner":
                    contact.owner_id = self.related.owner_id(new)
                elif name == "emails":
                    _add_rows(self.session, ContactEmail, "email", cid, old, new, labels)
                elif name == "phones":
                    _add_rows(self.session, ContactPhone, "phone", cid, old, new, labels)
                elif name in ("email_labels", "phone_labels"):
                    # After "emails" and "phones": the rows the import adds have theirs.
                    _set_labels(self.session, f"{name.partition('_')[0]}s", cid, new)
                elif name == "tags":
                    from crm_cli.store.models import ContactTag

                    common.set_tags(self.session, ContactTag, "contact_id", cid, add=new)
                elif name.startswith("field."):
                    contact.custom = {**contact.custom, name[6:]: new}
                else:
                    setattr(contact, name, new)
            contact.updated_at = now
        self.session.flush()
        ids = [int(c.id or 0) for _r, c, _row, _e in planned]
        for start in range(0, len(ids), CHUNK):
            reindex_contacts(
                self.session,
                select(col(Contact.id)).where(col(Contact.id).in_(ids[start : start + CHUNK])),
            )


def _labelled(
    rec: SourceRecord, region: str | None
) -> tuple[list[str], list[str], dict[str, str] | None]:
    """The record's emails and phones as `contacts._emails` and `_phones` check them (in
    order, without repeats), and the label of each the record gives with one (`email:work`,
    a vCard's `TYPE=home`) by the value as it is stored; the first label given wins."""
    from crm_cli.domain.contactinfo import normalize_email, normalize_phone

    labels: dict[str, str] = {}
    emails: list[str] = []
    for value, label in rec.labelled("email"):
        address = normalize_email(value).lower()
        if address not in emails:
            emails.append(address)
        if label:
            labels.setdefault(address, label)
    phones: list[str] = []
    for value, label in rec.labelled("phone"):
        number = normalize_phone(value, region)
        if number not in phones:
            phones.append(number)
        if label:
            labels.setdefault(number, label)
    return emails, phones, labels or None


def _add_rows(
    session: Session,
    table: Any,
    column: str,
    contact_id: int,
    old: list[str],
    new: list[str],
    labels: dict[str, str],
) -> None:
    """Give a contact the emails or phones of `new` it does not have yet (after its own, each
    with the label the file gave it). The rows it has stay as they are (a label the file gives
    one of them is set by `_set_labels`): an import adds, it does not rewrite. The journal
    keeps the old rows, so undo puts them back."""
    journal.note_list(session, "contact", contact_id, f"{column}s", old, new)
    added = [v for v in new if v not in old]
    if added:
        session.execute(
            insert(table),
            [
                {"contact_id": contact_id, column: v, "label": labels.get(v), "position": i}
                for i, v in enumerate(added, start=len(old))
            ],
        )


def _set_labels(session: Session, name: str, contact_id: int, labels: dict[str, str]) -> None:
    """Give a contact's emails or phones (`name`) the labels `labels` gives them (value ->
    label) where they differ. The journal keeps the rows as they were, labels included, so
    undo puts the old labels back."""
    table = {"emails": ContactEmail, "phones": ContactPhone}[name]
    column = journal.ROW_LISTS[name][1]
    rows = journal.read_rows(session, contact_id, name)
    relabelled = [{**r, "label": labels.get(r[column], r["label"])} for r in rows]
    changed = [r for r, was in zip(relabelled, rows, strict=True) if r["label"] != was["label"]]
    if not changed:
        return
    journal.note_rows(session, contact_id, name, relabelled, before=rows)
    for row in changed:
        session.execute(update(table).where(table.c.id == row["id"]).values(label=row["label"]))


def _contact_transfer() -> _Transfer:
    import operator
    from dataclasses import fields

    from crm_cli.services.bulk import CheckedContact

    values = operator.attrgetter(*(f.name for f in fields(CheckedContact)))

    def pack(row: _ContactRow) -> Any:
        return values(row.checked), row.external_id

    def unpack(rec: SourceRecord, data: Any) -> _ContactRow:
        return _ContactRow(rec, CheckedContact(*data[0]), data[1])

    return _Transfer(pack, unpack)


def _replace(checked: CheckedContact, **changes: Any) -> CheckedContact:
    from dataclasses import replace

    return replace(checked, **changes)


# --- companies ---------------------------------------------------------------------------------


@dataclass
class _CompanyRow:
    rec: SourceRecord
    name: str
    values: dict[str, str | None]
    tags: list[str]
    custom: dict[str, str]
    owner: str | None
    external_id: str | None


class _CompanyImport(_Base):
    entity = "company"

    def check(self, rec: SourceRecord) -> _CompanyRow:
        from crm_cli.services.companies import _clean_domain

        name = _line(rec, "name", collapse=False)
        if name is None:
            raise _Reject("name: missing (map a name column)")
        domain = rec.first("domain")
        values: dict[str, str | None] = {
            "domain": _clean_domain(domain) if domain else None,
            "industry": _line(rec, "industry"),
            "size": _line(rec, "size"),
            "address": _line(rec, "address", collapse=False),
        }
        owner = rec.first("owner")
        return _CompanyRow(
            rec,
            name,
            values,
            _tags(rec),
            _custom(rec),
            owner.strip() if owner else None,
            _line(rec, "external_id"),
        )

    def run(self, records: list[SourceRecord]) -> None:
        rows: list[_CompanyRow] = [row for _rec, row in self.checked(records, self.check)]
        given, rows = self.given_ids(rows, operator.attrgetter("rec"), Company)
        s = self.session
        live = col(Company.deleted_at).is_(None)
        by_ext = _ids_by(
            s,
            col(Company.external_id),
            col(Company.id),
            [r.external_id for r in rows if r.external_id],
            live,
        )
        by_domain = _ids_by(
            s,
            col(Company.domain),
            col(Company.id),
            [str(r.values["domain"]) for r in rows if r.values["domain"]],
            live,
        )
        by_name = _ids_by(
            s, func.lower(col(Company.name)), col(Company.id), [r.name.lower() for r in rows], live
        )
        matched: list[tuple[_CompanyRow, int, str]] = []
        new: list[_CompanyRow] = []
        for row in rows:
            given_id = given.get(row.rec.number)
            keys = [("id", str(given_id))] if given_id is not None else []
            keys += [("external_id", row.external_id)] if row.external_id else []
            if row.values["domain"]:
                keys.append(("domain", str(row.values["domain"])))
            keys.append(("name", row.name.lower()))
            if self.duplicate(row.rec, keys):
                continue
            found: tuple[int, str] | None = None
            if given_id is not None:
                found = given_id, f"id {given_id}"
            elif row.external_id and row.external_id in by_ext:
                found = by_ext[row.external_id], f"external_id {row.external_id!r}"
            elif row.values["domain"] and row.values["domain"] in by_domain:
                found = by_domain[str(row.values["domain"])], f"domain {row.values['domain']!r}"
            elif row.name.lower() in by_name:
                found = by_name[row.name.lower()], f"name {row.name!r}"
            if found is None:
                new.append(row)
                continue
            taken = by_name.get(row.name.lower())
            if taken is not None and taken != found[0]:
                self.reject(
                    row.rec,
                    f"name {row.name!r}: company {taken} has it, not the matched company "
                    f"{found[0]} ({found[1]})",
                )
                continue
            matched.append((row, *found))
        self.related.plan_owners(r.owner or "" for r in rows)
        planned = self.plan_updates(matched)
        for row in new:
            self.report.rows.append(RowResult(row.rec.number, NEW, original=row.rec.original))
        if self.opts.dry_run:
            return
        self.related.write_owners()
        self.write_new(new)
        self.write_updates(planned)

    def plan_updates(
        self, matched: list[tuple[_CompanyRow, int, str]]
    ) -> list[tuple[RowResult, Company]]:
        from crm_cli.services.users import user_names

        ids = [cid for _r, cid, _m in matched]
        companies: dict[int, Company] = {}
        for start in range(0, len(ids), CHUNK):
            for company in self.session.scalars(
                select(Company).where(col(Company.id).in_(ids[start : start + CHUNK]))
            ):
                companies[int(company.id or 0)] = company
        tags = common.tags_by_owner(self.session, CompanyTag, "company_id", ids)
        owners = user_names(self.session, {c.owner_id for c in companies.values() if c.owner_id})
        planned = []
        for row, cid, match in matched:
            company = companies[cid]
            changes: dict[str, list[Any]] = {}
            if self.wanted(company.name, row.name):
                changes["name"] = [company.name, row.name]
            for name, value in [*row.values.items(), ("external_id", row.external_id)]:
                if self.wanted(getattr(company, name), value):
                    changes[name] = [getattr(company, name), value]
            if row.owner and self.related.owner_id(row.owner) != company.owner_id:
                old_owner = owners.get(company.owner_id or 0)
                if self.wanted(old_owner, row.owner):
                    changes["owner"] = [old_owner, row.owner]
            old_tags = tags.get(cid, [])
            added = [t for t in row.tags if t not in old_tags]
            if added and self.wanted(old_tags, old_tags + added):
                changes["tags"] = [old_tags, old_tags + added]
            for key, value in row.custom.items():
                if self.wanted(company.custom.get(key), value):
                    changes[f"field.{key}"] = [company.custom.get(key), value]
            result = self.decide(row.rec, cid, match, changes)
            if result is not None and result.action == UPDATE:
                planned.append((result, company))
        return planned

    def write_new(self, new: list[_CompanyRow]) -> None:
        if not new:
            return
        now = utcnow()
        me = self.ctx.user_id()
        rows = []
        for r in new:
            owner = self.related.owner_id(r.owner) if r.owner else me
            rows.append(
                {
                    "name": r.name,
                    **r.values,
                    "external_id": r.external_id,
                    "owner_id": owner,
                    "custom": r.custom,
                    "search_name": index_tokens(r.name),
                    "search_doc": index_tokens(
                        r.values["domain"],
                        r.values["industry"],
                        r.values["address"],
                        *r.custom.values(),
                        *r.tags,
                    ),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        from crm_cli.services.bulk import insert_rows

        ids = insert_rows(self.session, Company.__table__, rows)  # type: ignore[attr-defined]
        _link_tags_and_note(self.session, "company", CompanyTag, ids, rows, new)
        by_line = {r.rec.number: i for r, i in zip(new, ids, strict=True)}
        for result in self.report.rows:
            if result.action == NEW:
                result.record_id = by_line.get(result.number)

    def write_updates(self, planned: list[tuple[RowResult, Company]]) -> None:
        from crm_cli.services.lookups import index_company

        now = utcnow()
        for result, company in planned:
            cid = int(company.id or 0)
            for name, (_old, new) in result.changes.items():
                if name == "owner":
                    company.owner_id = self.related.owner_id(new)
                elif name == "tags":
                    common.set_tags(self.session, CompanyTag, "company_id", cid, add=new)
                elif name.startswith("field."):
                    company.custom = {**company.custom, name[6:]: new}
                else:
                    setattr(company, name, new)
            company.updated_at = now
            tags = common.tags_by_owner(self.session, CompanyTag, "company_id", [cid])[cid]
            index_company(company, tags)
        self.session.flush()


# --- deals -------------------------------------------------------------------------------------


@dataclass
class _DealRow:
    rec: SourceRecord
    title: str
    external_id: str | None
    stage: Stage | None  # None: to be created (--create-stages), named in stage_name
    pipeline: Pipeline | None
    pipeline_name: str
    stage_name: str
    status: str | None  # won / lost from a status column
    open_stage: Stage | None  # the open stage a won/lost deal was in, kept in its history
    value_minor: int | None
    currency: str
    probability: int | None
    expected_close: date | None
    created_at: datetime | None
    closed_at: datetime | None
    owner: str | None
    company: str | None
    contact: str | None
    source: str | None
    lost_reason: str | None
    tags: list[str]


class _DealImport(_Creates):
    entity = "deal"

    def __init__(
        self,
        ctx: Context,
        session: Session,
        report: ImportReport,
        opts: ImportOptions,
        dates: _Dates,
    ) -> None:
        from crm_cli.services.pipelines import load_board

        super().__init__(ctx, session, report, opts)
        self.dates = dates
        self.board: Board = load_board(session)
        self.new_stages: dict[tuple[str, str], str] = {}  # (pipeline, stage) -> kind
        # Stages found, by what the row named: most rows of a file name the same few.
        self.found_stages: dict[tuple[str, str, str | None], tuple[Pipeline, Stage]] = {}

    def find_stage(
        self, pipeline_name: str, name: str, kind: str | None
    ) -> tuple[Pipeline | None, Stage | None]:
        key = (pipeline_name, name, kind)
        if key not in self.found_stages:
            pipeline, stage = self._find_stage(pipeline_name, name, kind)
            if pipeline is None or stage is None:
                return pipeline, stage
            self.found_stages[key] = (pipeline, stage)
        return self.found_stages[key]

    def _find_stage(
        self, pipeline_name: str, name: str, kind: str | None
    ) -> tuple[Pipeline | None, Stage | None]:
        from crm_cli.services.pipelines import LOST, WON

        pipeline = next(
            (p for p in self.board.pipelines if p.name.lower() == pipeline_name.lower()), None
        )
        if pipeline is None and not self.opts.create_stages:
            names = ", ".join(p.name for p in self.board.pipelines)
            raise _Reject(
                f"pipeline {pipeline_name!r}: no such pipeline (pipelines: {names}); "
                "--create-stages makes it"
            )
        if pipeline is not None and pipeline.id is not None:
            for stage in self.board.live(pipeline.id):
                if stage.name.lower() == " ".join(name.split()).lower():
                    return pipeline, stage
            if kind is not None and not name:
                return pipeline, self.board.first(pipeline.id, kind)
        if not self.opts.create_stages:
            assert pipeline is not None and pipeline.id is not None
            names = ", ".join(s.name for s in self.board.live(pipeline.id))
            raise _Reject(
                f"stage {name!r}: no such stage in pipeline {pipeline.name!r} (stages: {names}); "
                "map it with --stage-map, or --create-stages"
            )
        low = name.lower()
        guess = WON if "won" in low else LOST if "lost" in low else "open"
        self.new_stages.setdefault((pipeline_name, name), kind or guess)
        return pipeline, None

    def check(self, rec: SourceRecord) -> _DealRow:
        from crm_cli.services.pipelines import LOST, OPEN, WON, check_probability

        title = _line(rec, "title")
        if title is None:
            raise _Reject("title: missing (map a title column, or several joined)")
        if len(title) > 500:
            raise _Reject(InvalidValue("title", title, "at most 500 characters").message)
        currency = money.currency_code(rec.first("currency") or self.ctx.config.currency)
        value = rec.first("value")
        decimal_comma = (
            self.opts.decimal_comma
            if self.opts.decimal_comma is not None
            else self.ctx.config.decimal_comma
        )
        value_minor = (
            money.parse_amount(value, currency, decimal_comma=decimal_comma)
            if value is not None
            else None
        )
        if value_minor is not None and value_minor > 10**14:
            raise _Reject(InvalidValue("value", value, "too large").message)
        status = rec.first("status")
        if status is not None:
            status = status.strip().lower()
            if status not in (OPEN, WON, LOST):
                raise _Reject(
                    InvalidValue(
                        "status",
                        rec.first("status"),
                        "must be open, won or lost (map it with [values.status] or --map)",
                    ).message
                )
        pipeline_name = (rec.first("pipeline") or self.ctx.config.pipeline).strip()
        stage_name = " ".join((rec.first("stage") or "").split())
        open_stage: Stage | None = None
        if status in (WON, LOST):
            pipeline, stage = (
                self.find_stage(pipeline_name, stage_name, None) if stage_name else (None, None)
            )
            if stage is not None and stage.kind == OPEN:
                open_stage = stage
            if stage is None or stage.kind != status:
                pipeline, stage = self.find_stage(pipeline_name, "", status)
        elif stage_name:
            pipeline, stage = self.find_stage(pipeline_name, stage_name, None)
            if status == OPEN and stage is not None and stage.kind != OPEN:
                raise _Reject(f"status 'open': stage {stage.name!r} is a {stage.kind} stage")
        else:
            pipeline, stage = self.find_stage(pipeline_name, "", OPEN)
        probability = rec.first("probability")
        expected = rec.first("expected_close")
        created = rec.first("created_at")
        closed = rec.first("closed_at")
        kind = stage.kind if stage is not None else self.new_stages.get((pipeline_name, stage_name))
        closed_at = self.dates.moment(closed, "closed_at") if closed else None
        if closed_at is not None and kind == OPEN:
            raise _Reject(
                f"closed_at {closed!r}: the deal is open (stage {stage_name or 'first'!r}); "
                "map a status column or a won/lost stage"
            )
        owner, company, contact = rec.first("owner"), rec.first("company"), rec.first("contact")
        return _DealRow(
            rec=rec,
            title=title,
            external_id=_line(rec, "external_id"),
            stage=stage,
            pipeline=pipeline,
            pipeline_name=pipeline_name,
            stage_name=stage_name,
            status=status,
            open_stage=open_stage,
            value_minor=value_minor,
            currency=currency,
            probability=check_probability(probability) if probability else None,
            expected_close=self.dates.day(expected, "expected_close") if expected else None,
            created_at=self.dates.moment(created, "created_at") if created else None,
            closed_at=closed_at,
            owner=owner.strip() if owner else None,
            company=clean_line(company, "company", collapse=False) if company else None,
            contact=contact.strip() if contact else None,
            source=_line(rec, "source"),
            lost_reason=_line(rec, "lost_reason") if kind == LOST else None,
            tags=_tags(rec),
        )

    def run(self, records: list[SourceRecord]) -> None:
        from crm_cli.store.sales import Deal

        rows: list[_DealRow] = [row for _rec, row in self.checked(records, self.check)]
        contacts = self.find_contacts(rows)
        kept: list[_DealRow] = []
        for row in rows:
            if row.contact and contacts.get(row.contact) is None and not self.opts.create_missing:
                self.reject(
                    row.rec,
                    f"contact {row.contact!r}: no such contact (add it first, or --create-missing)",
                )
                continue
            kept.append(row)
        rows = kept
        given, rows = self.given_ids(rows, operator.attrgetter("rec"), Deal)
        live = col(Deal.deleted_at).is_(None)
        by_ext = _ids_by(
            self.session,
            col(Deal.external_id),
            col(Deal.id),
            [r.external_id for r in rows if r.external_id],
            live,
        )
        matched: list[tuple[_DealRow, int, str]] = []
        new: list[_DealRow] = []
        for row in rows:
            given_id = given.get(row.rec.number)
            keys = [("id", str(given_id))] if given_id is not None else []
            keys += [("external_id", row.external_id)] if row.external_id else []
            if keys and self.duplicate(row.rec, keys):
                continue
            if given_id is not None:
                matched.append((row, given_id, f"id {given_id}"))
            elif row.external_id and row.external_id in by_ext:
                matched.append((row, by_ext[row.external_id], f"external_id {row.external_id!r}"))
            else:
                new.append(row)
        self.related.plan_owners(r.owner or "" for r in rows)
        self.related.plan_companies(r.company or "" for r in rows)
        missing_contacts = sorted(
            {r.contact for r in rows if r.contact and contacts.get(r.contact) is None}
        )
        if missing_contacts:
            self.report.created["contacts"] = missing_contacts
        if self.new_stages:
            self.report.created["stages"] = [f"{p}/{s}" for p, s in self.new_stages]
        planned = self.plan_updates(matched, contacts)
        for row in new:
            self.report.rows.append(RowResult(row.rec.number, NEW, original=row.rec.original))
        if self.opts.dry_run:
            return
        self.related.write_owners()
        self.related.write_companies()
        self.write_stages(rows)
        self.write_contacts(missing_contacts, contacts)
        self.write_new(new, contacts)
        self.write_updates(planned, contacts)

    def find_contacts(self, rows: list[_DealRow]) -> dict[str, int | None]:
        return _contacts_by_ref(self.session, {r.contact for r in rows if r.contact})

    def plan_updates(
        self, matched: list[tuple[_DealRow, int, str]], contacts: dict[str, int | None]
    ) -> list[tuple[RowResult, Any, _DealRow]]:
        from crm_cli.services.users import user_names
        from crm_cli.store.sales import Deal, DealTag

        ids = [did for _r, did, _m in matched]
        deals: dict[int, Deal] = {}
        for start in range(0, len(ids), CHUNK):
            for deal in self.session.scalars(
                select(Deal).where(col(Deal.id).in_(ids[start : start + CHUNK]))
            ):
                deals[int(deal.id or 0)] = deal
        tags = common.tags_by_owner(self.session, DealTag, "deal_id", ids)
        owners = user_names(self.session, {d.owner_id for d in deals.values() if d.owner_id})
        stage_names = {sid: s.name for sid, s in self.board.stages.items()}
        planned = []
        for row, did, match in matched:
            deal = deals[did]
            changes: dict[str, list[Any]] = {}

            def change(name: str, old: Any, new: Any, into: dict[str, list[Any]] = changes) -> None:
                if self.wanted(old, new):
                    into[name] = [_shown(old), _shown(new)]

            change("title", deal.title, row.title)
            if row.value_minor is not None:
                change("value_minor", deal.value_minor, row.value_minor)
            if row.rec.first("currency"):
                change("currency", deal.currency, row.currency)
            if row.stage is not None:
                if self.wanted(deal.stage_id, row.stage.id):
                    changes["stage"] = [stage_names.get(deal.stage_id), row.stage.name]
            change("probability", deal.probability, row.probability)
            change("expected_close", deal.expected_close, row.expected_close)
            # Exports write times to the second: the same second is the same time.
            if _second(deal.created_at) != _second(row.created_at):
                change("created_at", _utc(deal.created_at), row.created_at)
            if _second(deal.closed_at) != _second(row.closed_at):
                change("closed_at", _utc(deal.closed_at), row.closed_at)
            change("source", deal.source, row.source)
            change("lost_reason", deal.lost_reason, row.lost_reason)
            if row.owner and self.related.owner_id(row.owner) != deal.owner_id:
                change("owner", owners.get(deal.owner_id or 0), row.owner)
            if row.company and self.related.company_id(row.company) != deal.company_id:
                change("company", self.related.company_names.get(deal.company_id or 0), row.company)
            if row.contact and contacts.get(row.contact) != deal.contact_id:
                change("contact", deal.contact_id, row.contact)
            old_tags = tags.get(did, [])
            added = [t for t in row.tags if t not in old_tags]
            if added:
                change("tags", old_tags, old_tags + added)
            result = self.decide(row.rec, did, match, changes)
            if result is not None and result.action == UPDATE:
                planned.append((result, deal, row))
        return planned

    def write_stages(self, rows: list[_DealRow]) -> None:
        """Pipelines and stages rows named that do not exist (`--create-stages`), in the
        order first seen; a new pipeline also gets won and lost stages."""
        from crm_cli.services.pipelines import LOST, WON, load_board
        from crm_cli.store.sales import Pipeline, Stage

        if not self.new_stages:
            return
        now = utcnow()
        for (pipeline_name, stage_name), kind in self.new_stages.items():
            pipeline = next(
                (p for p in self.board.pipelines if p.name.lower() == pipeline_name.lower()), None
            )
            if pipeline is None:
                pipeline = Pipeline(name=pipeline_name, position=len(self.board.pipelines))
                self.session.add(pipeline)
                self.session.flush()
                self.board.pipelines.append(pipeline)
            assert pipeline.id is not None
            stages = self.board.live(pipeline.id)
            if not any(s.name.lower() == stage_name.lower() for s in stages) and stage_name:
                stage = Stage(
                    pipeline_id=pipeline.id,
                    name=stage_name,
                    position=len(stages) + 1,
                    kind=kind,
                    probability=100 if kind == WON else 0 if kind == LOST else 10,
                    created_at=now,
                    updated_at=now,
                )
                self.session.add(stage)
                self.session.flush()
                assert stage.id is not None
                self.board.stages[stage.id] = stage
        self.session.flush()
        self.board = load_board(self.session)
        self.found_stages.clear()
        for row in rows:
            if row.stage is None or row.pipeline is None:
                row.pipeline, row.stage = self.find_stage(row.pipeline_name, row.stage_name, None)

    def write_new(self, new: list[_DealRow], contacts: dict[str, int | None]) -> None:
        from crm_cli.services.pipelines import OPEN
        from crm_cli.store.sales import Deal, DealTag, StageChange

        if not new:
            return
        now = utcnow()
        me = self.ctx.user_id()
        rows: list[dict[str, Any]] = []
        histories: list[list[tuple[int | None, int, datetime]]] = []
        for r in new:
            assert r.stage is not None and r.stage.id is not None
            closed = r.closed_at if r.stage.kind != OPEN else None
            # Without a creation time, a closed deal was made no later than it closed.
            created = r.created_at or (min(closed, now) if closed is not None else now)
            if r.stage.kind != OPEN and closed is None:
                closed = created
            # The stage history the file tells: the open stage a closed deal was in (from
            # when it was created), then its close; or the one stage it is in.
            history: list[tuple[int | None, int, datetime]] = []
            if r.open_stage is not None and r.open_stage.id is not None:
                history.append((None, r.open_stage.id, created))
                history.append((r.open_stage.id, r.stage.id, closed or created))
            else:
                history.append((None, r.stage.id, closed or created))
            contact_id = contacts.get(r.contact) if r.contact else None
            company_id = self.related.company_id(r.company) if r.company else None
            rows.append(
                {
                    "title": r.title,
                    "contact_id": contact_id,
                    "company_id": company_id,
                    "pipeline_id": r.stage.pipeline_id,
                    "stage_id": r.stage.id,
                    "value_minor": r.value_minor or 0,
                    "currency": r.currency,
                    "probability": r.probability,
                    "expected_close": r.expected_close,
                    "status": r.stage.kind,
                    "lost_reason": r.lost_reason,
                    "owner_id": self.related.owner_id(r.owner) if r.owner else me,
                    "source": r.source,
                    "external_id": r.external_id,
                    "stage_entered_at": history[-1][2],
                    "closed_at": closed,
                    "search_name": index_tokens(r.title),
                    "created_at": created,
                    "updated_at": now,
                }
            )
            histories.append(history)
        # A deal's company defaults to its contact's, as `deal add` does.
        need = {row["contact_id"] for row in rows if row["contact_id"] and not row["company_id"]}
        if need:
            of = dict(
                self.session.execute(
                    select(col(Contact.id), col(Contact.company_id)).where(
                        col(Contact.id).in_(need)
                    )
                ).all()
            )
            for row in rows:
                if row["contact_id"] and not row["company_id"]:
                    row["company_id"] = of.get(row["contact_id"])
        from crm_cli.services.bulk import insert_rows

        ids = insert_rows(self.session, Deal.__table__, rows)  # type: ignore[attr-defined]
        changes = [
            {
                "deal_id": did,
                "from_stage_id": frm,
                "to_stage_id": to,
                "changed_at": at,
                "user_id": me,
            }
            for did, history in zip(ids, histories, strict=True)
            for frm, to, at in history
        ]
        change_ids = insert_rows(
            self.session,
            StageChange.__table__,  # type: ignore[attr-defined]
            changes,
        )
        _link_tags_and_note(self.session, "deal", DealTag, ids, rows, new)
        rec = journal.recorder(self.session)
        if rec is not None:
            rec.note_created(
                "stage_change",
                [{**c, "id": cid} for cid, c in zip(change_ids, changes, strict=True)],
            )
        by_line = {r.rec.number: i for r, i in zip(new, ids, strict=True)}
        for result in self.report.rows:
            if result.action == NEW:
                result.record_id = by_line.get(result.number)
        self.make_customers(
            [
                (did, row["contact_id"])
                for did, row in zip(ids, rows, strict=True)
                if row["status"] == "won" and row["contact_id"]
            ]
        )

    def make_customers(self, won: list[tuple[int, int]]) -> None:
        """A won deal makes its contact a customer, as `deal won` does (with its event)."""
        from crm_cli.services.deals import make_customers

        notes = make_customers(self.session, won, utcnow(), self.ctx.user_id())
        self.report.customers.extend(notes)

    def write_updates(
        self, planned: list[tuple[RowResult, Any, _DealRow]], contacts: dict[str, int | None]
    ) -> None:
        from crm_cli.store.sales import DealTag, StageChange

        now = utcnow()
        won: list[tuple[int, int]] = []
        for result, deal, row in planned:
            for name in result.changes:
                if name == "stage":
                    assert row.stage is not None and row.stage.id is not None
                    at = row.closed_at or now
                    self.session.add(
                        StageChange(
                            deal_id=deal.id,
                            from_stage_id=deal.stage_id,
                            to_stage_id=row.stage.id,
                            changed_at=at,
                            user_id=self.ctx.user_id(),
                        )
                    )
                    deal.stage_id = row.stage.id
                    deal.pipeline_id = row.stage.pipeline_id
                    deal.status = row.stage.kind
                    deal.stage_entered_at = at
                    if row.stage.kind == "won" and deal.contact_id:
                        won.append((int(deal.id), int(deal.contact_id)))
                    if row.stage.kind == "open":
                        deal.closed_at = None
                    elif deal.closed_at is None:
                        deal.closed_at = at
                elif name == "owner":
                    deal.owner_id = self.related.owner_id(row.owner)
                elif name == "company":
                    deal.company_id = self.related.company_id(row.company)
                elif name == "contact":
                    deal.contact_id = contacts.get(row.contact or "")
                elif name == "tags":
                    common.set_tags(self.session, DealTag, "deal_id", deal.id, add=row.tags)
                else:
                    setattr(deal, name, getattr(row, name))
            deal.updated_at = now
        self.session.flush()
        self.make_customers(won)


# --- follow-ups, interactions, feedback ------------------------------------------------------


class _ActivityImport(_Creates):
    """Follow-ups, interactions and feedback. They have no id from another system, so a row
    matches a record that has the same contact and the same content (an interaction: kind,
    time and summary; feedback: kind, score, text and, when the file gives it, its time; a
    follow-up: title and due time): a second import of the same file finds them all and
    changes nothing. Matched rows are left as they are."""

    def __init__(
        self,
        ctx: Context,
        session: Session,
        report: ImportReport,
        opts: ImportOptions,
        dates: _Dates,
        kind: str,
    ) -> None:
        super().__init__(ctx, session, report, opts)
        self.kind = kind
        self.dates = dates
        self.entity = {"followups": "followup", "interactions": "interaction"}.get(kind, kind)

    def check(self, rec: SourceRecord) -> dict[str, Any]:
        from crm_cli.services import feedback as fb
        from crm_cli.services import followups as fu
        from crm_cli.services import interactions as it

        def text(name: str, required: bool = False) -> str | None:
            value = rec.first(name)
            if value is None:
                if required:
                    raise _Reject(f"{name}: missing (map a {name} column)")
                return None
            if "\x00" in value:
                raise _Reject(InvalidValue(name, value, "contains NUL characters").message)
            return value.strip() or None

        def when(name: str, required: bool = False) -> datetime | None:
            value = rec.first(name)
            if value is None:
                if required:
                    raise _Reject(f"{name}: missing (map a {name} column)")
                return None
            return self.dates.moment(value, name)

        row: dict[str, Any] = {
            "contact": text("contact"),
            "deal": text("deal"),
            "owner": text("owner"),
        }
        if self.kind == "interactions":
            summary = text("summary", required=True)
            assert summary is not None
            row.update(
                kind=it.check_kind(rec.first("kind") or "note"),
                direction=it.check_direction(d) if (d := rec.first("direction")) else None,
                occurred_at=when("occurred_at", required=True),
                summary=clean_line(summary, "summary", max_len=500),
                body=text("body"),
            )
            row["key"] = (row["kind"], _second(row["occurred_at"]), row["summary"])
        elif self.kind == "feedback":
            kind = fb.check_kind(rec.first("kind") or "")
            # As `crm feedback add` stores them (and `crm export feedback` writes them): a
            # complaint is open until resolved, any other feedback is closed.
            given = (rec.first("status") or "").strip().lower()
            if given and given not in (fb.OPEN, fb.RESOLVED, fb.CLOSED):
                raise _Reject(
                    InvalidValue("status", given, "must be open, resolved or closed").message
                )
            if kind != "complaint":
                status = fb.CLOSED
            elif given == fb.CLOSED:
                raise _Reject(
                    InvalidValue("status", given, "a complaint is open or resolved").message
                )
            else:
                status = given or fb.OPEN
            row.update(
                kind=kind,
                score=fb.check_score(kind, rec.first("score")),
                text=text("text"),
                category=text("category"),
                channel=text("channel"),
                status=status,
                created_at=when("created_at"),
                resolved_at=when("resolved_at"),
                resolution_note=text("resolution_note"),
            )
            if kind in fb.NEEDS_TEXT and not row["text"]:
                raise _Reject(f"text: {kind} feedback needs a text")
            row["key"] = (kind, row["score"], row["text"], _second(row["created_at"]))
        else:
            title = text("title", required=True)
            assert title is not None
            priority = rec.first("priority")
            row.update(
                title=clean_line(title, "title", max_len=500),
                due_at=when("due_at", required=True),
                priority=fu.check_priority(priority) if priority else "normal",
                notes=text("notes"),
                done_at=when("done_at"),
            )
            row["key"] = (row["title"], _second(row["due_at"]))
        return row

    def run(self, records: list[SourceRecord]) -> None:
        rows = self.checked(records, self.check)
        named = {r["contact"] for _rec, r in rows if r["contact"]}
        contacts = _contacts_by_ref(self.session, named)
        deals = self.find_deals({r["deal"] for _rec, r in rows if r["deal"]})
        if self.opts.create_missing:
            missing = sorted(ref for ref in named if contacts.get(ref) is None)
            if missing:
                self.report.created["contacts"] = missing
                if not self.opts.dry_run:
                    self.write_contacts(missing, contacts)
        kept: list[tuple[SourceRecord, dict[str, Any]]] = []
        for rec, row in rows:
            if row["contact"] and contacts.get(row["contact"]) is None:
                if self.opts.create_missing:  # a dry run: it would be created
                    row["contact_id"] = None
                else:
                    self.reject(
                        rec,
                        f"contact {row['contact']!r}: no such contact "
                        "(add it first, or --create-missing)",
                    )
                    continue
            if row["deal"] and deals.get(row["deal"]) is None:
                self.reject(rec, f"deal {row['deal']!r}: no deal with this id or external id")
                continue
            row["contact_id"] = contacts.get(row["contact"]) if row["contact"] else None
            row["deal_id"] = deals.get(row["deal"]) if row["deal"] else None
            kept.append((rec, row))
        given, kept = self.given_ids(kept, operator.itemgetter(0), self.model())
        existing = self.existing(
            {r["contact_id"] for _rec, r in kept},
            {r["deal_id"] for _rec, r in kept},
            [r["key"] for _rec, r in kept if r["contact_id"] is None and r["deal_id"] is None],
        )
        new: list[tuple[SourceRecord, dict[str, Any]]] = []
        for rec, row in kept:
            key = (row["contact_id"], row["deal_id"], *row["key"])
            given_id = given.get(rec.number)
            if given_id is not None:
                if not self.duplicate(rec, [("id", str(given_id))]):
                    self.decide(rec, given_id, f"id {given_id}", {})
                continue
            if self.duplicate(rec, [("record", repr(key))]):
                continue
            found = existing.get(key)
            if found is not None:
                same = {
                    "interactions": "contact, kind, time and summary",
                    "feedback": "contact, kind, score, text and time",
                    "followups": "contact, title and due time",
                }[self.kind]
                self.decide(rec, found, same, {})
                continue
            new.append((rec, row))
            self.report.rows.append(RowResult(rec.number, NEW, original=rec.original))
        self.related.plan_owners(r["owner"] or "" for _rec, r in new)
        if self.opts.dry_run:
            return
        self.related.write_owners()
        self.write_new(new)

    def find_deals(self, refs: set[str]) -> dict[str, int | None]:
        from crm_cli.store.sales import Deal

        found: dict[str, int | None] = dict.fromkeys(refs)
        live = col(Deal.deleted_at).is_(None)
        by_ext = _ids_by(self.session, col(Deal.external_id), col(Deal.id), sorted(refs), live)
        numbers = {r: int(r.lstrip("#")) for r in refs if r.lstrip("#").isdigit()}
        ids = (
            set(
                self.session.scalars(
                    select(col(Deal.id)).where(col(Deal.id).in_(list(numbers.values())), live)
                )
            )
            if numbers
            else set()
        )
        for ref in refs:
            if ref in by_ext:
                found[ref] = by_ext[ref]
            elif ref in numbers and numbers[ref] in ids:
                found[ref] = numbers[ref]
        return found

    def model(self) -> Any:
        return _model(self.kind)

    def existing(
        self,
        contact_ids: set[int | None],
        deal_ids: set[int | None],
        loose: list[tuple[Any, ...]],
    ) -> dict[Any, int]:
        """The live records of these contacts and deals, by the key rows are matched on; and
        the records of neither whose first key value one of `loose` has (the keys of rows
        that name no contact and no deal: crm's own export of such records goes back in
        unchanged)."""
        model = self.model()
        fields = {
            "interactions": ("kind", "occurred_at", "summary"),
            "feedback": ("kind", "score", "text", "created_at"),
            "followups": ("title", "due_at"),
        }[self.kind]
        columns = [getattr(model, f) for f in fields]
        live = col(model.deleted_at).is_(None)
        found: dict[Any, int] = {}

        def read(where: Any) -> None:
            query = select(col(model.id), col(model.contact_id), col(model.deal_id), *columns)
            for rid, contact_id, deal_id, *values in self.session.execute(query.where(*where)):
                key = [_second(v) if isinstance(v, datetime) else v for v in values]
                found[(contact_id, deal_id, *key)] = int(rid)
                if self.kind == "feedback":  # a row without a time matches any time
                    found.setdefault((contact_id, deal_id, *key[:-1], None), int(rid))

        for owner_column, wanted in (("contact_id", contact_ids), ("deal_id", deal_ids)):
            ids = sorted(i for i in wanted if i is not None)
            for start in range(0, len(ids), CHUNK):
                read((getattr(model, owner_column).in_(ids[start : start + CHUNK]), live))
        firsts = sorted({key[0] for key in loose if key[0] is not None})
        orphan = (col(model.contact_id).is_(None), col(model.deal_id).is_(None), live)
        for start in range(0, len(firsts), CHUNK):
            read((*orphan, columns[0].in_(firsts[start : start + CHUNK])))
        return found

    def write_new(self, new: list[tuple[SourceRecord, dict[str, Any]]]) -> None:
        from crm_cli.services.bulk import insert_rows

        if not new:
            return
        now = utcnow()
        me = self.ctx.user_id()
        rows = []
        for _rec, r in new:
            row: dict[str, Any] = {
                "contact_id": r["contact_id"],
                "deal_id": r["deal_id"],
                "owner_id": self.related.owner_id(r["owner"]) if r["owner"] else me,
                "updated_at": now,
            }
            if self.kind == "interactions":
                row.update(
                    kind=r["kind"],
                    direction=r["direction"],
                    occurred_at=r["occurred_at"],
                    summary=r["summary"],
                    body=r["body"],
                    search_doc=index_tokens(r["summary"], r["body"]),
                    created_at=now,
                )
            elif self.kind == "feedback":
                resolved = r["status"] == "resolved"
                row.update(
                    kind=r["kind"],
                    score=r["score"],
                    text=r["text"],
                    category=r["category"],
                    channel=r["channel"],
                    status=r["status"],
                    resolved_at=(r["resolved_at"] or now) if resolved else None,
                    resolution_note=r["resolution_note"],
                    created_at=r["created_at"] or now,
                )
            else:
                row.update(
                    title=r["title"],
                    due_at=r["due_at"],
                    timezone=str(self.ctx.tz),
                    priority=r["priority"],
                    notes=r["notes"],
                    done_at=r["done_at"],
                    created_at=now,
                )
            rows.append(row)
        ids = insert_rows(self.session, self.model().__table__, rows)
        rec = journal.recorder(self.session)
        if rec is not None:
            created = [{**row, "id": i, "version": 1} for row, i in zip(rows, ids, strict=True)]
            rec.note_created(self.entity, created)
        by_line = {r.number: i for (r, _row), i in zip(new, ids, strict=True)}
        for result in self.report.rows:
            if result.action == NEW:
                result.record_id = by_line.get(result.number)
        if self.kind == "interactions":
            self.move_last_contacted(rows)

    def move_last_contacted(self, rows: list[dict[str, Any]]) -> None:
        """Logged interactions move their contacts' last contact forward, never back, as
        `crm log` does; journaled, so `crm undo` of the import puts it back."""
        latest: dict[int, datetime] = {}
        for row in rows:
            cid, when = row["contact_id"], _utc(row["occurred_at"])
            if cid is not None and when is not None and (cid not in latest or latest[cid] < when):
                latest[cid] = when
        ids = sorted(latest)
        for start in range(0, len(ids), CHUNK):
            for contact in self.session.scalars(
                select(Contact).where(col(Contact.id).in_(ids[start : start + CHUNK]))
            ):
                assert contact.id is not None
                when = latest[contact.id]
                before = _utc(contact.last_contacted_at)
                if before is None or before < when:
                    contact.last_contacted_at = when
        self.session.flush()


def _contacts_by_ref(session: Session, wanted: set[str]) -> dict[str, int | None]:
    """The contacts rows name, by email, external id or (when only one has it) name."""
    refs = sorted(wanted)
    found: dict[str, int | None] = dict.fromkeys(refs)
    if not refs:
        return found
    live = col(Contact.deleted_at).is_(None)
    emails = {r: r.lower() for r in refs if "@" in r}
    by_email: dict[str, int] = {}
    values = list(emails.values())
    for start in range(0, len(values), CHUNK):
        for email, cid in session.execute(
            select(ContactEmail.c.email, col(Contact.id))
            .join(Contact, col(Contact.id) == ContactEmail.c.contact_id)
            .where(ContactEmail.c.email.in_(values[start : start + CHUNK]), live)
        ):
            by_email[str(email)] = int(cid)
    by_ext = _ids_by(session, col(Contact.external_id), col(Contact.id), refs, live)
    lowered = [r.lower() for r in refs]
    names: dict[str, list[int]] = {}
    for start in range(0, len(lowered), CHUNK):
        for name, cid in session.execute(
            select(func.lower(col(Contact.name)), col(Contact.id)).where(
                func.lower(col(Contact.name)).in_(lowered[start : start + CHUNK]), live
            )
        ):
            names.setdefault(str(name), []).append(int(cid))
    for ref in refs:
        if ref in emails and emails[ref] in by_email:
            found[ref] = by_email[emails[ref]]
        elif ref in by_ext:
            found[ref] = by_ext[ref]
        elif len(names.get(ref.lower(), [])) == 1:
            found[ref] = names[ref.lower()][0]
    return found


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _ignore_error_column(layout: Any, header: list[str], mapping: Any) -> None:
    """A rejects file's last column, `error`, is the reason a row failed, not data: it is
    neither kept as a custom field nor listed as a column not imported (unless a `--map`
    names it)."""
    last = len(header) - 1
    if last < 0 or header[last] != "error":
        return
    if any(c.strip().casefold() == "error" for cs in mapping.columns.values() for c in cs):
        return
    for key in list(layout.fields):
        kept = [i for i in layout.fields[key] if i != last]
        if kept:
            layout.fields[key] = kept
        else:
            del layout.fields[key]
    if "error" in layout.unmapped:
        at = len(layout.unmapped) - 1 - layout.unmapped[::-1].index("error")
        del layout.unmapped[at]


def _second(value: datetime | None) -> datetime | None:
    """A time as rows are matched on it: in UTC, to the second. Exports and listings write
    whole seconds, so crm's own export matches the records it was written from."""
    value = _utc(value)
    return value.replace(microsecond=0) if value is not None else None


def _shown(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _id_column(layout: Any, header: list[str], match_id: bool) -> int | None:
    """The position of the file's `id` column (crm's own export writes one), fed to the
    records as their `id`: with `--match-id`, to match by it (and it is no longer listed as
    not imported); without, only to tell whether `--match-id` would have matched rows, and
    only when no field takes the column (another system's `id` mapped to external_id)."""
    at = next((i for i, h in enumerate(header) if h.strip().casefold() == "id"), None)
    if at is None:
        if match_id:
            shown = ", ".join(h for h in header[:30] if h)
            raise InvalidValue(
                "match-id", "id", f"the file has no id column to match by; it has: {shown}"
            )
        return None
    if match_id:
        if header[at] in layout.unmapped:
            layout.unmapped.remove(header[at])
        # The match key, not a custom field as well (`--keep-unmapped` took it for one).
        for key in [k for k in layout.fields if k.startswith("field.")]:
            layout.fields[key] = [i for i in layout.fields[key] if i != at]
            if not layout.fields[key]:
                del layout.fields[key]
        return at
    return at if header[at] in layout.unmapped else None


def _model(kind: str) -> Any:
    """The table an import of `kind` writes."""
    from crm_cli.store.sales import Deal, Feedback, Followup, Interaction

    return {
        "contacts": Contact,
        "companies": Company,
        "deals": Deal,
        "followups": Followup,
        "interactions": Interaction,
        "feedback": Feedback,
    }[kind]


def _largest_id(session: Session, kind: str) -> int:
    model = _model(kind)
    return int(session.scalar(select(func.max(col(model.id)))) or 0)


def _suggest_match_id(
    session: Session,
    kind: str,
    report: ImportReport,
    records: Sequence[SourceRecord],
    before: int,
) -> None:
    """A note when rows went in (or would) as new records while their `id` column names
    records this database had before the import: the file is likely crm's own export, and
    `--match-id` would match them. One query over at most a chunk of the ids."""
    new = {r.number for r in report.rows if r.action == NEW}
    ids: dict[int, int] = {}
    for rec in records:
        value = rec.first("id") if rec.number in new else None
        if value is not None and value.strip().isdigit() and len(value.strip()) <= 18:
            ids[rec.number] = int(value.strip())
    wanted = sorted({i for i in ids.values() if i <= before})[:CHUNK]
    if not wanted:
        return
    model = _model(kind)
    found = set(
        session.scalars(
            select(col(model.id)).where(col(model.id).in_(wanted), col(model.deleted_at).is_(None))
        )
    )
    rows = sum(1 for i in ids.values() if i in found)
    if rows:
        report.notes.append(
            f"{rows} new {'row has an id' if rows == 1 else 'rows have ids'} naming "
            f"{kind} in this database: if the file is crm's own export of it, --match-id "
            "matches rows by their id instead"
        )


# --- files -------------------------------------------------------------------------------------


@dataclass
class SourceOptions:
    """How to read the file: its format and, for CSV, encoding, delimiter and preamble."""

    format: str | None = None  # csv | vcard; None: from the file name
    name: str = "-"
    encoding: str | None = None
    delimiter: str | None = None
    skip_lines: int | None = None
    photos: bool = True


@dataclass
class FileImport:
    """An import of a file: the report, and what the reader saw (for the rejects file)."""

    report: ImportReport
    header: list[str]
    source: dict[str, Any]


def file_format(source: SourceOptions, data: bytes = b"") -> str:
    """csv or vcard: as `--format` says, else by the name, else by the content (stdin, or a
    vCard saved as .txt, begins with BEGIN:VCARD)."""
    if source.format:
        fmt = source.format.lower()
        if fmt not in ("csv", "vcard"):
            raise InvalidValue("format", source.format, "must be csv or vcard")
        return fmt
    if source.name.lower().endswith((".vcf", ".vcard")):
        return "vcard"
    from crm_cli.io.vcard_read import is_vcard

    return "vcard" if is_vcard(data) else "csv"


def import_file(
    ctx: Context,
    session: Session,
    kind: str,
    data: bytes,
    source: SourceOptions,
    mapping: Any,
    options: ImportOptions,
) -> FileImport:
    """Read `data` (CSV through `mapping`, a `crm_cli.io.mapping.Mapping`, or vCard) and
    import its records of `kind` in `session`."""
    with _collector_paused():
        return _import_file(ctx, session, kind, data, source, mapping, options)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a file is imported.

    An import holds millions of small objects (cells, records, checked rows, statement
    parameters) until it is done, and the collector would walk all of them again every few
    thousand allocations: a quarter of the CPU time of a 100,000-row import (measured: 11.7 s
    against 8.8 s). They make no reference cycles anyone waits on; reference counting frees
    everything as usual, and the collector runs again afterwards.
    """
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _import_file(
    ctx: Context,
    session: Session,
    kind: str,
    data: bytes,
    source: SourceOptions,
    mapping: Any,
    options: ImportOptions,
) -> FileImport:
    fmt = file_format(source, data)
    if fmt == "vcard":
        try:
            from crm_cli.io.vcard import read_vcards  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise InvalidValue("format", "vcard", "vCard import is not available") from None
        if kind != "contacts":
            raise InvalidValue("kind", kind, "a vCard file holds contacts")
        from crm_cli.services.cards import screen_cards

        records = list(read_vcards(data, photos=source.photos))
        skipped = screen_cards(records, ctx.config.phone_region)
        if not records:  # said, not refused: a contacts app exports an empty address book so
            skipped.append("the file holds no vCard (no BEGIN:VCARD ... END:VCARD)")
        report = import_records(ctx, session, kind, records, options, unit="card")
        report.notes[:0] = skipped
        return FileImport(report, [], {"format": "vcard", "records": len(records)})
    from crm_cli.io import csvfile
    from crm_cli.io import mapping as mapping_mod

    skip = source.skip_lines if source.skip_lines is not None else mapping.skip_lines or 0
    table = csvfile.read_csv(
        data,
        encoding=source.encoding,
        delimiter=source.delimiter,
        skip_lines=skip,
        name=source.name,
    )
    layout = mapping_mod.resolve(kind, table.header, mapping)
    _ignore_error_column(layout, table.header, mapping)
    fields = {k: [table.header[i] for i in v] for k, v in layout.fields.items()}
    ids = _id_column(layout, table.header, options.match_id)
    if ids is not None:
        layout.fields["id"] = [ids]
        if options.match_id:
            fields["id"] = [table.header[ids]]
    records = list(
        mapping_mod.records(layout, ((row.line, row.cells, row.raw) for row in table.rows))
    )
    before = _largest_id(session, kind) if ids is not None and not options.match_id else None
    report = import_records(ctx, session, kind, records, options)
    if before is not None:
        _suggest_match_id(session, kind, report, records, before)
    info = {
        "format": "csv",
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "columns": table.header,
        "fields": fields,
        "unmapped": layout.unmapped,
        "samples": table.samples,
        "records": len(records),
    }
    return FileImport(report, table.raw_header, info)
