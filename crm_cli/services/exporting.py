"""`crm export KIND`: every record a listing would show, with every field, to a file.

An export is the listing of the same noun with no row cap: the same filter objects and the
same streamed records (services.common.stream, a chunk of rows at a time), written as they
come by the writers in io/csvout.py. Memory stays flat at any row count.

CSV columns carry the field names `crm import --map` takes (`name`, `email`, `phone`,
`tags`, `field.NAME` for a custom field...), so an exported file re-imports with no flags.
Multi-valued fields share a cell joined by "; " (csvout.MULTI_SEPARATOR). Related records
are named as the listings name them (the company's, the owner's, the contact's name).
Times are ISO 8601 with the offset of the configured zone, as in `--json`.

`--preset google|outlook` writes the header layout those address books import instead; the
layouts are the data in PRESETS, one generic writer serves them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeVar

from sqlalchemy import text
from sqlalchemy.orm import Session

from crm_cli.errors import CrmError, InvalidValue
from crm_cli.io import csvout

if TYPE_CHECKING:
    from crm_cli.services.context import Context

KINDS = ("contacts", "companies", "deals", "followups", "interactions", "feedback")
FORMATS = ("csv", "json", "jsonl", "vcf")

Getter = Callable[[dict[str, Any]], Any]
T = TypeVar("T")


def _key(name: str) -> Getter:
    return lambda record: record.get(name)


def _money(record: dict[str, Any]) -> str | None:
    from crm_cli.domain.money import to_major

    minor = record.get("value_minor")
    if minor is None:
        return None
    return str(to_major(int(minor), str(record.get("currency") or "EUR")))


# CSV columns per kind: (header, where the value comes from). A plain string is the record's
# key of that name; the header is the field name the importer maps.
_R = str | Getter
LAYOUTS: dict[str, list[tuple[str, _R]]] = {
    "contacts": [
        ("id", "id"),
        ("name", "name"),
        ("given_name", "given_name"),
        ("family_name", "family_name"),
        ("email", "emails"),
        ("phone", "phones"),
        ("title", "title"),
        ("company", "company"),
        ("lifecycle", "lifecycle"),
        ("source", "source"),
        ("owner", "owner"),
        ("tags", "tags"),
        ("cadence_days", "cadence_days"),
        ("last_contacted_at", "last_contacted_at"),
        ("created_at", "created_at"),
        ("updated_at", "updated_at"),
        ("deleted_at", "deleted_at"),
        # Last, where a script reading columns by position does not see the others move.
        ("external_id", "external_id"),
    ],
    "companies": [
        ("id", "id"),
        ("name", "name"),
        ("domain", "domain"),
        ("industry", "industry"),
        ("size", "size"),
        ("address", "address"),
        ("owner", "owner"),
        ("tags", "tags"),
        ("created_at", "created_at"),
        ("updated_at", "updated_at"),
        ("deleted_at", "deleted_at"),
        ("external_id", "external_id"),
    ],
    "deals": [
        ("id", "id"),
        ("external_id", "external_id"),
        ("title", "title"),
        ("contact", "contact"),
        ("company", "company"),
        ("pipeline", "pipeline"),
        ("stage", "stage"),
        ("status", "status"),
        ("value", _money),
        ("currency", "currency"),
        # Only a probability set on the deal: blank means the stage's default applies.
        ("probability", "probability_override"),
        ("expected_close", "expected_close"),
        ("lost_reason", "lost_reason"),
        ("owner", "owner"),
        ("source", "source"),
        ("tags", "tags"),
        ("created_at", "created_at"),
        ("updated_at", "updated_at"),
        ("closed_at", "closed_at"),
        ("deleted_at", "deleted_at"),
    ],
    "followups": [
        ("id", "id"),
        ("title", "title"),
        ("due_at", "due_at"),
        ("timezone", "timezone"),
        ("contact", "contact"),
        ("deal", "deal"),
        ("owner", "owner"),
        ("priority", "priority"),
        ("repeat", "repeat"),
        ("notes", "notes"),
        ("status", "status"),
        ("done_at", "done_at"),
        ("snoozed_until", "snoozed_until"),
        ("created_at", "created_at"),
        ("updated_at", "updated_at"),
    ],
    "interactions": [
        ("id", "id"),
        ("kind", "kind"),
        ("direction", "direction"),
        ("occurred_at", "occurred_at"),
        ("summary", "summary"),
        ("body", "body"),
        ("contact", "contact"),
        ("deal", "deal"),
        ("owner", "owner"),
        ("created_at", "created_at"),
    ],
    "feedback": [
        ("id", "id"),
        ("kind", "kind"),
        ("score", "score"),
        ("text", "text"),
        ("category", "category"),
        ("status", "status"),
        ("resolved_at", "resolved_at"),
        ("resolution_note", "resolution_note"),
        ("channel", "channel"),
        ("contact", "contact"),
        ("deal", "deal"),
        ("owner", "owner"),
        ("created_at", "created_at"),
        ("updated_at", "updated_at"),
    ],
}

# Kinds with custom fields: their table, for the `field.NAME` columns.
CUSTOM_TABLES = {"contacts": "contact", "companies": "company"}


@dataclass(frozen=True)
class Preset:
    """A contact CSV layout another address book imports: (header, source) per column.

    A source is a record key (`title`), an item of a list (`emails.1`: the second email) or
    its label (`emails.1.label`, from the record's `email_labels`),
    `first_name` (the given name, or the whole name when it was not given apart: names are
    never split by guessing), or "" for a column the layout has but crm has nothing for.
    Lists (tags) are joined by `separator`. `bom`: start the file with a UTF-8 byte-order
    mark, which the reader needs to take the file as UTF-8 rather than the system code page.
    """

    columns: tuple[tuple[str, str], ...]
    separator: str
    bom: bool = False


PRESETS: dict[str, Preset] = {
    # Google Contacts' own export layout ("Google CSV"), the one its import reads best.
    # Several labels in one cell are joined by " ::: ".
    "google": Preset(
        columns=(
            ("First Name", "first_name"),
            ("Middle Name", ""),
            ("Last Name", "family_name"),
            ("Nickname", ""),
            ("Organization Name", "company"),
            ("Organization Title", "title"),
            ("Notes", ""),
            ("Labels", "tags"),
            ("E-mail 1 - Label", "emails.0.label"),
            ("E-mail 1 - Value", "emails.0"),
            ("E-mail 2 - Label", "emails.1.label"),
            ("E-mail 2 - Value", "emails.1"),
            ("E-mail 3 - Label", "emails.2.label"),
            ("E-mail 3 - Value", "emails.2"),
            ("Phone 1 - Label", "phones.0.label"),
            ("Phone 1 - Value", "phones.0"),
            ("Phone 2 - Label", "phones.1.label"),
            ("Phone 2 - Value", "phones.1"),
            ("Phone 3 - Label", "phones.2.label"),
            ("Phone 3 - Value", "phones.2"),
        ),
        separator=" ::: ",
    ),
    # Outlook's import layout (desktop Import/Export wizard and Outlook.com "Import contacts"):
    # fixed columns, three addresses, phones by slot. Categories are separated by ";".
    "outlook": Preset(
        columns=(
            ("First Name", "first_name"),
            ("Middle Name", ""),
            ("Last Name", "family_name"),
            ("Company", "company"),
            ("Job Title", "title"),
            ("E-mail Address", "emails.0"),
            ("E-mail 2 Address", "emails.1"),
            ("E-mail 3 Address", "emails.2"),
            ("Mobile Phone", "phones.0"),
            ("Business Phone", "phones.1"),
            ("Home Phone", "phones.2"),
            ("Categories", "tags"),
            ("Notes", ""),
        ),
        separator=";",
        bom=True,
    ),
}


def _source(spec: str, separator: str) -> Getter:
    if not spec:
        return lambda record: None
    if spec == "first_name":
        return lambda r: r.get("given_name") or (None if r.get("family_name") else r.get("name"))
    if spec.endswith(".label"):
        name, index, _ = spec.split(".")
        labels, at = f"{name[:-1]}_labels", int(index)

        def label(r: dict[str, Any]) -> str | None:
            values = r.get(name) or []
            return (r.get(labels) or {}).get(values[at]) if len(values) > at else None

        return label
    if "." in spec:
        name, index = spec.split(".", 1)
        i = int(index)
        return lambda r: (r.get(name) or [])[i] if len(r.get(name) or []) > i else None
    if spec == "tags":
        return lambda r: separator.join(r.get("tags") or [])
    return _key(spec)


@dataclass(frozen=True)
class ExportOptions:
    """How to write: `fmt` one of FORMATS; `raw` leaves CSV cells as they are (no formula
    guard); `preset` a key of PRESETS (contacts, CSV); `vcard_version` 4.0 or 3.0."""

    fmt: str = "csv"
    raw: bool = False
    preset: str | None = None
    vcard_version: str = "4.0"


def check_options(kind: str, options: ExportOptions) -> None:
    """Refuse a combination that cannot be written, before the database is opened."""
    if options.fmt not in FORMATS:
        raise InvalidValue("format", options.fmt, f"must be one of {', '.join(FORMATS)}")
    if options.fmt == "vcf" and kind != "contacts":
        raise InvalidValue("--vcf", kind, "vCard holds contacts only")
    if options.preset is not None:
        if kind != "contacts":
            raise InvalidValue("--preset", options.preset, "presets are for contacts")
        if options.preset not in PRESETS:
            raise InvalidValue("--preset", options.preset, f"one of {', '.join(PRESETS)}")
        if options.fmt != "csv":
            raise InvalidValue("--preset", options.preset, "a preset is a CSV layout")
    if options.vcard_version not in ("3.0", "4.0"):
        raise InvalidValue("--vcard-version", options.vcard_version, "must be 3.0 or 4.0")


def custom_keys(session: Session, table: str) -> list[str]:
    """Every custom field name used in `table` (removed records too), sorted: the
    `field.NAME` columns of its CSV, known before the first row is written."""
    if session.get_bind().dialect.name == "postgresql":
        query = (
            f"SELECT DISTINCT json_object_keys(custom) FROM {table} "
            "WHERE json_typeof(custom) = 'object'"
        )
    else:
        query = (
            f"SELECT DISTINCT j.key FROM {table}, json_each({table}.custom) AS j "
            f"WHERE json_type({table}.custom) = 'object'"
        )
    return sorted(str(k) for k in session.execute(text(query)).scalars())


def csv_columns(session: Session, kind: str) -> tuple[list[str], list[str | Getter]]:
    """The header and the value getters of `kind`'s CSV."""
    header: list[str] = []
    getters: list[str | Getter] = []
    for name, source in LAYOUTS[kind]:
        header.append(name)
        getters.append(source)
    table = CUSTOM_TABLES.get(kind)
    if table is not None:
        for key in custom_keys(session, table):
            header.append(f"field.{key}")
            getters.append(_custom(key))
    return header, getters


def _custom(key: str) -> Getter:
    return lambda record: (record.get("custom") or {}).get(key)


def _vcards(session: Session, records: Iterable[dict[str, Any]], version: str) -> Iterator[str]:
    import importlib

    try:  # the vCard codec (io/vcard.py, vobject): loaded only for --vcf
        write_vcard = importlib.import_module("crm_cli.io.vcard").write_vcard
    except (ImportError, AttributeError):
        raise CrmError("vCard export is not available in this version of crm") from None
    for record in _with_card_details(session, records):
        card = str(write_vcard(record, version))
        yield card if card.endswith("\n") else card + "\n"


VCARD_CHUNK = 500


def _with_card_details(
    session: Session, records: Iterable[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    """The listing's contact records with what a card carries and a listing does not show:
    the external id (the card's UID, so importing one's own export finds the same contacts)
    and each email's and phone's label (TYPE), read a chunk of records at a time."""
    chunk: list[dict[str, Any]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= VCARD_CHUNK:
            yield from _card_details(session, chunk)
            chunk = []
    if chunk:
        yield from _card_details(session, chunk)


def _card_details(session: Session, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from sqlalchemy import select
    from sqlmodel import col

    from crm_cli.store.models import Contact, ContactEmail, ContactPhone

    ids = [int(r["id"]) for r in chunk if r.get("id") is not None]
    if not ids:
        return chunk
    query = select(col(Contact.id), col(Contact.external_id)).where(col(Contact.id).in_(ids))
    external: dict[int, str | None] = {i: e for i, e in session.execute(query) if i is not None}
    labels: dict[str, dict[tuple[int, str], str]] = {"email": {}, "phone": {}}
    for key, table in (("email", ContactEmail), ("phone", ContactPhone)):
        rows = session.execute(
            select(table.c.contact_id, table.c[key], table.c.label).where(
                table.c.contact_id.in_(ids), table.c.label.is_not(None)
            )
        )
        for cid, value, label in rows:
            if label:
                labels[key][(int(cid), str(value))] = str(label)
    out: list[dict[str, Any]] = []
    for record in chunk:
        cid = record.get("id")
        if cid is None:
            out.append(record)
            continue
        record = dict(record)  # the listing's record as it is when there is nothing to add
        if external.get(cid) and not record.get("external_id"):
            record["external_id"] = external[cid]
        for key, listed in (("email", "emails"), ("phone", "phones")):
            if not any((int(cid), str(v)) in labels[key] for v in record.get(listed) or []):
                continue
            record[listed] = [
                {key: value, "label": labels[key].get((int(cid), str(value)))}
                if isinstance(value, str)
                else value
                for value in record.get(listed) or []
            ]
        out.append(record)
    return out


def write_records(
    session: Session,
    kind: str,
    records: Iterable[dict[str, Any]],
    out: IO[str],
    options: ExportOptions,
) -> int:
    """Write `records` (a listing's stream) to `out` in the chosen form; how many."""
    if options.fmt == "json":
        return csvout.write_json_array(out, records)
    if options.fmt == "jsonl":
        return csvout.write_json_lines(out, records)
    if options.fmt == "vcf":
        return csvout.write_texts(out, _vcards(session, records, options.vcard_version))
    if options.preset is not None:
        preset = PRESETS[options.preset]
        if preset.bom:
            out.write("\ufeff")
        header = [h for h, _ in preset.columns]
        layout: list[str | Getter] = [_source(s, preset.separator) for _, s in preset.columns]
        return csvout.write_csv(out, header, layout, records, raw=options.raw, numbers_plain=True)
    header, getters = csv_columns(session, kind)
    return csvout.write_csv(out, header, getters, records, raw=options.raw)


def export_records(
    ctx: Context,
    session: Session,
    kind: str,
    flt: Any,
    out: IO[str],
    options: ExportOptions,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Export every `kind` record `flt` (the kind's listing filter) matches to `out`; how
    many were written. The listing's row cap is lifted: an export has none. `progress` is
    told the count so far every PROGRESS_EVERY records."""
    if kind not in KINDS:
        raise InvalidValue("kind", kind, f"one of {', '.join(KINDS)}")
    check_options(kind, options)
    flt.limit = None
    from crm_cli.services.archive import snapshot

    snapshot(session)  # the records and their emails, tags, names: all as of one moment
    if kind == "contacts" and options.fmt == "csv" and options.preset is None:
        if _plain_separators(session):
            return _contacts_csv(ctx, session, flt, out, options, progress)
    records = _listing(ctx, session, kind, flt)
    if progress is not None:
        records = _counted(records, progress)
    return write_records(session, kind, records, out, options)


PROGRESS_EVERY = 5_000


def _counted(records: Iterable[T], progress: Callable[[int], None]) -> Iterator[T]:
    for count, record in enumerate(records, start=1):
        if count % PROGRESS_EVERY == 0:
            progress(count)
        yield record


def _listing(ctx: Context, session: Session, kind: str, flt: Any) -> Iterable[dict[str, Any]]:
    if kind == "contacts":
        from crm_cli.services.contacts import list_contacts

        return list_contacts(ctx, session, flt).rows
    if kind == "companies":
        from crm_cli.services.companies import list_companies

        return list_companies(ctx, session, flt).rows
    if kind == "deals":
        from crm_cli.services.deal_views import list_deals

        return list_deals(ctx, session, flt).rows
    if kind == "followups":
        from crm_cli.services.followups import list_followups

        return list_followups(ctx, session, flt).rows
    if kind == "interactions":
        from crm_cli.services.interactions import list_interactions

        return list_interactions(ctx, session, flt).rows
    from crm_cli.services.feedback import list_feedback

    return list_feedback(ctx, session, flt).rows


# --- contacts to CSV, straight from the database ------------------------------------------------
#
# The same rows, cells and order as the contact listing's records written by `write_csv`, read
# with one query: the contact's columns, its company's name by a join, and its emails, phones
# and tags each gathered into one text by a correlated subquery (an index lookup per contact,
# done by the database). Times come as the driver gives them and are shown by
# common.TimeText. No record dictionary, no query per chunk of contacts.

# Joins the values of one contact's emails, phones or tags in one text. No stored email,
# phone or tag holds it (tags cannot: common.clean_tag; emails and phones are checked by
# _plain_separators before this path is taken).
_SEP = "\x1f"
# On SQLite each value is prefixed with its (position, id), zero-padded, so the values can be
# put in the listing's order: group_concat promises no order.
_ORDER_PREFIX = 40


def _plain_separators(session: Session) -> bool:
    """Whether no stored email or phone holds _SEP (always so for what crm writes)."""
    dialect = session.get_bind().dialect.name
    find = "strpos({}, chr(31)) > 0" if dialect == "postgresql" else "instr({}, char(31)) > 0"
    for table, column in (("contact_email", "email"), ("contact_phone", "phone")):
        query = f"SELECT 1 FROM {table} WHERE {find.format(column)} LIMIT 1"
        if session.execute(text(query)).first() is not None:
            return False
    return True


def _gathered_sql(dialect: str, table: str, column: str) -> Any:
    from sqlalchemy import literal_column

    if dialect == "postgresql":
        return literal_column(
            f"(SELECT string_agg({table}.{column}, chr(31) ORDER BY {table}.position, {table}.id)"
            f" FROM {table} WHERE {table}.contact_id = contact.id)"
        )
    return literal_column(
        f"(SELECT group_concat(printf('%020d%020d', {table}.position, {table}.id)"
        f" || {table}.{column}, char(31)) FROM {table} WHERE {table}.contact_id = contact.id)"
    )


def _tags_sql(dialect: str) -> Any:
    from sqlalchemy import literal_column

    if dialect == "postgresql":
        return literal_column(
            "(SELECT string_agg(tag.name, chr(31) ORDER BY tag.name) FROM contact_tag"
            " JOIN tag ON tag.id = contact_tag.tag_id WHERE contact_tag.contact_id = contact.id)"
        )
    # Sorted when read: Python's order of str is SQLite's BINARY collation.
    return literal_column(
        "(SELECT group_concat(tag.name, char(31)) FROM contact_tag"
        " JOIN tag ON tag.id = contact_tag.tag_id WHERE contact_tag.contact_id = contact.id)"
    )


def _contacts_csv(
    ctx: Context,
    session: Session,
    flt: Any,
    out: IO[str],
    options: ExportOptions,
    progress: Callable[[int], None] | None,
) -> int:
    """`crm export contacts` to CSV in the layout of LAYOUTS["contacts"]: the cells
    `write_csv` would write for the listing's records, in the listing's order."""
    keys = custom_keys(session, "contact")
    header = [name for name, _ in LAYOUTS["contacts"]] + [f"field.{k}" for k in keys]
    rows = _contact_rows(ctx, session, flt, keys)
    if progress is not None:
        rows = _counted(rows, progress)
    # id, cadence_days and the four times: digits first, never a formula.
    plain = (0, 12, 13, 14, 15, 16)
    return csvout.write_cells(out, header, rows, raw=options.raw, plain=plain)


def _contact_rows(ctx: Context, session: Session, flt: Any, keys: list[str]) -> Iterator[list[Any]]:
    """The values of each contact `flt` matches, in the columns of LAYOUTS["contacts"] and
    then the custom fields `keys`: lists and None as `write_csv` takes them."""
    import json

    from sqlalchemy import String, select, type_coerce
    from sqlmodel import col

    from crm_cli.services import common
    from crm_cli.services.contacts import contact_query
    from crm_cli.store.models import Company, Contact, User

    dialect = session.get_bind().dialect.name
    sqlite = dialect == "sqlite"

    def raw(column: Any) -> Any:
        return type_coerce(col(column), String)

    query = (
        contact_query(ctx, session, flt)
        .with_only_columns(
            col(Contact.id),
            col(Contact.name),
            col(Contact.given_name),
            col(Contact.family_name),
            _gathered_sql(dialect, "contact_email", "email"),
            _gathered_sql(dialect, "contact_phone", "phone"),
            col(Contact.title),
            col(Company.name),
            col(Contact.lifecycle),
            col(Contact.source),
            col(Contact.owner_id),
            _tags_sql(dialect),
            col(Contact.cadence_days),
            raw(Contact.last_contacted_at),
            raw(Contact.created_at),
            raw(Contact.updated_at),
            raw(Contact.deleted_at),
            col(Contact.external_id),
            raw(Contact.custom),
            maintain_column_froms=False,
        )
        .select_from(Contact)
        .outerjoin(Company, col(Company.id) == col(Contact.company_id))
    )
    owners = {i: str(n) for i, n in session.execute(select(col(User.id), col(User.name))) if i}
    local = _remembered(common.TimeText(common.zone(session), dialect).local)
    separator = csvout.MULTI_SEPARATOR
    prefix = _ORDER_PREFIX if sqlite else 0
    loads = json.loads

    def joined(gathered: str | None) -> str:
        if gathered is None:
            return ""
        if not prefix:
            return gathered.replace(_SEP, separator) if _SEP in gathered else gathered
        if _SEP not in gathered:
            return gathered[prefix:]
        return separator.join(v[prefix:] for v in sorted(gathered.split(_SEP)))

    def tags_of(gathered: str | None) -> str:
        if gathered is None:
            return ""
        if _SEP not in gathered:
            return gathered
        names = gathered.split(_SEP)
        return separator.join(sorted(names) if sqlite else names)

    result = session.connection().execute(query.execution_options(yield_per=common.RECORDS_CHUNK))
    for part in result.partitions():
        for (
            cid, name, given, family, emails, phones, title, company, lifecycle, source,
            owner_id, tags, cadence, contacted, created, updated, deleted, external_id, custom,
        ) in part:  # fmt: skip
            cells = [
                str(cid), name, given, family, joined(emails), joined(phones), title,
                company, lifecycle, source, owners.get(owner_id or 0), tags_of(tags),
                None if cadence is None else str(cadence), local(contacted), local(created),
                local(updated), local(deleted), external_id,
            ]  # fmt: skip
            if keys:
                if custom.__class__ is str:
                    custom = loads(custom) if custom != "{}" else None
                fields = custom or {}
                cells.extend(fields.get(k) for k in keys)
            yield cells


def _remembered(show: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    """`show` with the last few values it was given remembered: records written together
    (an import, a bulk change) share their times."""
    seen: dict[Any, str | None] = {}

    def shown(value: Any) -> str | None:
        if value is None:
            return None
        try:
            return seen[value]
        except KeyError:
            if len(seen) >= 256:
                seen.clear()
            found = seen[value] = show(value)
            return found

    return shown
