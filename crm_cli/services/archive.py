"""The vendor-neutral backup: the whole database as JSON lines, and its exact restore.

`crm db backup` copies a SQLite file; this is the backup that outlives the engine: a text file
any tool can read, that restores into SQLite or PostgreSQL alike (and moves a database from
one to the other).

Format (one JSON object per line, UTF-8):

- line 1, the header: `{"format": "crm-archive", "format_version": 1, "schema": REVISION,
  "crm": VERSION}`: the schema revision says which columns the rows have;
- then one line per row, `{"table": NAME, "row": {COLUMN: VALUE, ...}}`, tables in `TABLES`
  order (parents before children, so restoring in file order never meets a missing
  reference), rows by primary key, columns in the table's order. Ids are kept.
- last (since format version 2), the end line: `{"end": "crm-archive", "rows": {TABLE: N,
  ...}}`, every archived table with its number of rows. A file that lost its end (a copy cut
  short, a full disk) or rows from its middle restores nothing: it is refused with the line
  where it ends or the table whose count differs. Version 1 archives have no end line and
  restore as they are.

Values are JSON as they are: text, integers (money is integer minor units), null, a custom
field object; times are UTC with microseconds (`2026-11-24T02:11:04.123456+00:00`), dates
`YYYY-MM-DD`. Nothing depends on when or where the file was written, so two archives of equal
databases are byte-identical, and restoring one and archiving again gives the same bytes.

Left out: the change journal (its entries describe changes to records, not records; a restore
starts a new history) and what the database derives itself (the SQLite full-text tables and
the report rollups, kept by triggers as the rows go in).

Restore goes into an empty database only (see `empty_problem`): nothing to merge, nothing to
overwrite, in one transaction, with PostgreSQL's id sequences moved past the restored ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Date, Table, delete, func, insert, select, text
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from crm_cli import __version__
from crm_cli.errors import Conflict, CrmError, ExitCode, InvalidValue
from crm_cli.store.types import UTCDateTime

if TYPE_CHECKING:
    from crm_cli.services.context import Context

FORMAT = "crm-archive"
FORMAT_VERSION = 2
# The first version whose archives end with an end line (see the module docstring).
END_LINE_SINCE = 2

# Every table that holds user data, parents before children. A table the models define that
# is neither here nor in NOT_ARCHIVED is still archived, after these, in the order of its
# foreign keys (never silently left out of a backup); a test asks for it to be placed here.
TABLES = (
    "user",
    "tag",
    "company",
    "company_tag",
    "contact",
    "contact_email",
    "contact_phone",
    "contact_tag",
    "pipeline",
    "stage",
    "deal",
    "deal_tag",
    "stage_change",
    "followup",
    "interaction",
    "feedback",
    "event",
    "dupe_ignore",
    "remind_run",
    "reminder_delivery",
)
# Derived by the database from the deals (crm_cli/store/rollups.py): its triggers fill these
# again as `import all` inserts the deals, so an archive does not carry them.
DERIVED = (
    "deal_close_rollup",
    "deal_open_rollup",
    "customer_won_rollup",
    "funnel_reach_rollup",
    "funnel_stay_rollup",
    "activity_rollup",
    "deal_touch_rollup",
)
NOT_ARCHIVED = ("change_set", "change_entry", *DERIVED)

# What a new database is given by its migrations (and by opening it: the current user).
# Restoring replaces these; anything else present means the database is in use.
SEEDED = ("user", "pipeline", "stage")

# Rows per INSERT statement: far below the bind-parameter limits of both databases.
CHUNK = 2_000


class ArchiveError(CrmError):
    """The file is not an archive this crm can restore."""

    exit_code = ExitCode.USAGE


def _metadata_tables() -> dict[str, Table]:
    import crm_cli.store.journal
    import crm_cli.store.models
    import crm_cli.store.sales

    crm_cli.store.sales.load_all()  # define every table on the metadata

    return dict(SQLModel.metadata.tables)


def archived_tables() -> list[Table]:
    """The tables `export all` writes, in restore order: TABLES, then any other table the
    models define (except the journal's) in foreign-key order."""
    tables = _metadata_tables()
    placed = [tables[name] for name in TABLES]
    rest = [
        t
        for t in SQLModel.metadata.sorted_tables
        if t.name not in TABLES and t.name not in NOT_ARCHIVED
    ]
    return placed + rest


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def header(session: Session) -> dict[str, Any]:
    revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema": revision,
        "crm": __version__,
    }


def snapshot(session: Session) -> None:
    """One consistent view of every table for the whole export; call before the session's
    first statement. SQLite's read transaction is one already; PostgreSQL's default gives
    each statement its own, so a writer committing between two tables could leave a
    reference pointing at a row the archive lacks."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


def archive_lines(session: Session) -> Iterator[str]:
    """The archive of the database, line by line, read a chunk of rows at a time."""
    snapshot(session)
    yield _line(header(session))
    counts: dict[str, int] = {}
    for table in archived_tables():
        names = [c.name for c in table.columns]
        prefix = '{"table":' + json.dumps(table.name) + ',"row":'
        query = select(table).order_by(*table.primary_key.columns)
        result = session.execute(query.execution_options(yield_per=CHUNK))
        counts[table.name] = 0
        for part in result.partitions():
            counts[table.name] += len(part)
            for row in part:
                body = {name: _encode(value) for name, value in zip(names, row, strict=True)}
                yield prefix + json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "}\n"
    yield _line({"end": FORMAT, "rows": counts})


@dataclass
class ArchiveCounts:
    rows: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def write_archive(session: Session, out: IO[str]) -> ArchiveCounts:
    """Write the archive to `out`; how many rows of each table went in."""
    counts: dict[str, int] = {}
    lines = archive_lines(session)
    out.write(next(lines))
    for line in lines:
        if line.startswith('{"table":'):
            # The table name is the first value of every row line: counted without parsing it.
            name = line[10 : line.index('"', 10)]
            counts[name] = counts.get(name, 0) + 1
        out.write(line)
    return ArchiveCounts(counts)


# --- restore ----------------------------------------------------------------------------


def _known_revisions() -> list[str]:
    """Every schema revision this package ships, oldest first."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from crm_cli.store.migrate import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def check_header(first: str, source: str) -> dict[str, Any]:
    """The archive's header, or an error saying why the file is not one this crm restores."""
    try:
        data = json.loads(first)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArchiveError(f"{source}: not a crm archive (its first line is no {FORMAT} header)")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version > FORMAT_VERSION:
        raise ArchiveError(
            f"{source}: archive format version {version!r} is newer than this crm reads "
            f"({FORMAT_VERSION}); restore it with crm {data.get('crm', '?')} or later"
        )
    schema = data.get("schema")
    known = _known_revisions()
    if schema not in known:
        raise ArchiveError(
            f"{source}: schema {schema!r} is newer than this crm knows (up to {known[-1]!r}); "
            f"restore it with crm {data.get('crm', '?')} or later"
        )
    return data


def empty_problem(session: Session) -> str | None:
    """Why the database cannot take a restore (it holds records), or None when it is empty.

    Empty: no row in any archived table except what every new database has (its users, the
    default pipeline and its stages, unchanged), and no change history."""
    from crm_cli.services.pipelines import DEFAULT_STAGES

    tables = _metadata_tables()
    # The records a person knows first, so the message names what they would look for.
    first = ("contact", "company", "deal", "followup", "interaction", "feedback")
    names = [t.name for t in archived_tables()]
    for name in (*first, *[t for t in names if t not in first], "change_set"):
        if name in SEEDED:
            continue
        table = tables[name]
        count = session.scalar(select(func.count()).select_from(table))
        if count:
            label = "change history entries" if name == "change_set" else f"{name} rows"
            return f"it holds {count} {label}"
    pipelines = session.execute(select(tables["pipeline"].c.name)).scalars().all()
    stage = tables["stage"]
    stages = session.execute(
        select(stage.c.name, stage.c.probability, stage.c.kind, stage.c.deleted_at).order_by(
            stage.c.position, stage.c.id
        )
    ).all()
    fresh = [(n, p, k, None) for n, p, k in DEFAULT_STAGES]
    if list(pipelines) not in ([], ["default"]) or [tuple(s) for s in stages] not in ([], fresh):
        return "its pipelines have been changed"
    return None


def _decoders(table: Table) -> dict[str, Any]:
    decoders: dict[str, Any] = {}
    for column in table.columns:
        if isinstance(column.type, UTCDateTime):
            decoders[column.name] = datetime.fromisoformat
        elif isinstance(column.type, Date):
            decoders[column.name] = date.fromisoformat
    return decoders


def restore_archive(
    ctx: Context, session: Session, lines: Iterator[str], source: str
) -> ArchiveCounts:
    """Restore the archive read from `lines` into this (empty) database, in this session's
    transaction. Refuses a file that is not an archive, a newer one, and a database that
    holds records; on any error the caller's transaction is rolled back, changing nothing."""
    first = next(lines, "")
    version = check_header(first, source)["format_version"]
    problem = empty_problem(session)
    if problem is not None:
        raise Conflict(
            f"the database is not empty ({problem}); restore into a new one "
            "(point CRM_DATABASE_URL or database.url at it)"
        )
    archived = archived_tables()
    tables = {t.name: t for t in archived}
    # What a new database was given goes: the archive has its own users and pipelines. Children
    # first; nothing else refers to these rows (the database is empty).
    for name in reversed(SEEDED):
        session.execute(delete(tables[name]))
    order = {t.name: i for i, t in enumerate(archived)}
    counts: dict[str, int] = {}
    current: str | None = None
    batch: list[dict[str, Any]] = []
    decoders: dict[str, Any] = {}
    columns: set[str] = set()

    def flush(at: int) -> None:
        from sqlalchemy.exc import IntegrityError

        if batch and current is not None:
            try:
                session.execute(insert(tables[current]), batch)
            except IntegrityError as exc:
                first = str(exc.orig).strip().splitlines()[0] if exc.orig else "refused"
                raise ArchiveError(
                    f"{source}, line {at}: the database refused the {current} rows up to here "
                    f"({first}): rows they refer to are missing, or one is there twice; "
                    "nothing was restored"
                ) from None
            batch.clear()

    ended: int | None = None  # the end line's number
    number = 1
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        if ended is not None:
            raise ArchiveError(f"{source}, line {number}: a line after the archive's end line")
        try:
            item = json.loads(line)
            if isinstance(item, dict) and "end" in item and version >= END_LINE_SINCE:
                _check_end(item, counts, archived, f"{source}, line {number}")
                ended = number
                continue
            name, row = item["table"], item["row"]
        except (ValueError, KeyError, TypeError):
            if not line.endswith("\n"):
                raise ArchiveError(
                    f"{source}: the file ends in the middle of line {number}: it was cut "
                    "short; nothing was restored"
                ) from None
            raise ArchiveError(f"{source}, line {number}: not a row of a crm archive") from None
        if name != current:
            if name not in tables or not isinstance(row, dict):
                raise ArchiveError(f"{source}, line {number}: unknown table {name!r}")
            if current is not None and order[name] < order[current]:
                raise ArchiveError(
                    f"{source}, line {number}: table {name!r} after {current!r}: "
                    "the rows are out of order"
                )
            flush(number - 1)
            current = name
            decoders = _decoders(tables[name])
            columns = {c.name for c in tables[name].columns}
        unknown = set(row) - columns
        if unknown:
            raise ArchiveError(
                f"{source}, line {number}: table {name!r} has no column {sorted(unknown)[0]!r}"
            )
        try:
            for key, decode in decoders.items():
                value = row.get(key)
                if value is not None:
                    row[key] = decode(value)
        except (ValueError, TypeError):
            raise InvalidValue(
                f"{source}, line {number}, {name}.{key}", row.get(key), "not an ISO date or time"
            ) from None
        batch.append(row)
        counts[name] = counts.get(name, 0) + 1
        if len(batch) >= CHUNK:
            flush(number)
    if ended is None and version >= END_LINE_SINCE:
        raise ArchiveError(
            f"{source}: the file ends at line {number} without the archive's end line: it was "
            "cut short; nothing was restored"
        )
    flush(number)
    session.flush()
    _reset_sequences(session, list(tables.values()))
    return ArchiveCounts(counts)


def _check_end(
    item: dict[str, Any], counts: dict[str, int], archived: list[Table], at: str
) -> None:
    """The end line's row counts against the rows read: every table the same (rows lost from
    the middle of a file, or a file put together from two, are refused)."""
    rows = item.get("rows")
    if item.get("end") != FORMAT or not isinstance(rows, dict):
        raise ArchiveError(f"{at}: not the end line of a crm archive")
    for table in archived:
        said, read = rows.get(table.name, 0), counts.get(table.name, 0)
        if said != read:
            raise ArchiveError(
                f"{at}: the archive says {said} {table.name} rows, the file holds {read}: rows "
                "are missing or added; nothing was restored"
            )


def _reset_sequences(session: Session, tables: list[Table]) -> None:
    """PostgreSQL hands out ids from a sequence that explicit ids do not move: set each past
    the highest restored id (or back to the start for an empty table). SQLite takes max+1."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        quoted = session.get_bind().dialect.identifier_preparer.quote(table.name)
        session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{quoted}', 'id'), "
                f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {quoted}"
            )
        )
