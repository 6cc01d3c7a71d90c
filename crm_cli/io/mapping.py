"""Which column of a file feeds which field: `--map`, `--set`, `--stage-map` and mapping files.

A mapping file is TOML with the same three parts as the options:

    [columns]                # field = column (or a list of columns)
    title = "Opportunity Name"
    email = ["E-mail 1 - Value", "E-mail 2 - Value"]
    "field.segment" = "Segment"

    [set]                    # a constant for every row
    currency = "BRL"

    [values.status]          # translate what the file says into what crm says
    Ganho = "won"
    Perdido = "lost"

Options given on the command line add to the file (and win over it for the same field). A
column that no mapping names but whose header is a field's name (`email`, `Given name`,
`field.segment`) maps to that field, so a file `crm export` wrote needs no mapping at all.
One column may feed several fields; several columns feed one multi-valued field (`email`,
`phone`, `tags`) value by value, or are joined with a space for a single-valued one. Google's
` ::: ` cells (Google) and `;`-separated cells (crm's own export) hold several values of one
multi-valued field. An email cell's `mailto:` (a link copied from a page) is taken off.

Headers in another language are mapped with a mapping file, never guessed. No database here.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources

from crm_cli.errors import InvalidValue
from crm_cli.io.records import SourceRecord

KINDS = ("contacts", "companies", "deals", "followups", "interactions", "feedback")
# The fields each kind of record takes (the data model's names).
FIELDS: dict[str, tuple[str, ...]] = {
    "contacts": (
        "name",
        "given_name",
        "family_name",
        "email",
        "phone",
        "company",
        "title",
        "lifecycle",
        "source",
        "owner",
        "tags",
        "external_id",
        "cadence_days",
    ),
    "companies": (
        "name",
        "domain",
        "industry",
        "size",
        "address",
        "owner",
        "tags",
        "external_id",
    ),
    "deals": (
        "title",
        "contact",
        "company",
        "pipeline",
        "stage",
        "status",
        "value",
        "currency",
        "probability",
        "expected_close",
        "owner",
        "source",
        "external_id",
        "lost_reason",
        "tags",
        "created_at",
        "closed_at",
    ),
    "interactions": (
        "kind",
        "direction",
        "occurred_at",
        "summary",
        "body",
        "contact",
        "deal",
        "owner",
    ),
    "feedback": (
        "kind",
        "score",
        "text",
        "category",
        "status",
        "channel",
        "contact",
        "deal",
        "owner",
        "created_at",
        "resolved_at",
        "resolution_note",
    ),
    "followups": (
        "title",
        "due_at",
        "contact",
        "deal",
        "owner",
        "priority",
        "notes",
        "done_at",
    ),
}
MULTI = frozenset({"email", "phone", "tags"})
# Export's column names that differ from the field's (plural lists).
ALIASES = {
    "emails": "email",
    "phones": "phone",
    "tag": "tags",
    "close": "expected_close",
    "due": "due_at",
    "when": "occurred_at",
}
GOOGLE_SEPARATOR = " ::: "
# How crm's own export (and HubSpot's multi-select) puts several values in one cell.
LIST_SEPARATOR = ";"


def _norm(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def check_field(kind: str, name: str, option: str = "map") -> str:
    """A field name as given to `--map` / `--set`: a data-model field of `kind`, `field.NAME`
    (a custom field), or `email:LABEL` / `phone:LABEL`."""
    text = name.strip()
    if text.startswith("field.") and len(text) > 6:
        return text
    base, _, label = text.partition(":")
    known = FIELDS.get(kind, ())
    base = ALIASES.get(base.lower(), base.lower())
    if base in known and (not label or base in ("email", "phone")):
        return f"{base}:{label}" if label else base
    raise InvalidValue(
        option, name, f"not a field of {kind}: {', '.join(known)}, or field.NAME for a custom field"
    )


@dataclass
class Mapping:
    """A mapping as built from a file and options (see the module docstring)."""

    columns: dict[str, list[str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    keep_unmapped: bool = False
    skip_lines: int | None = None
    source: str = "options"
    # A preset names the columns of every layout a vendor has had; a file has some of them.
    lenient: bool = False

    def add_map(self, kind: str, text: str) -> None:
        """`FIELD=COLUMN` from `--map` (the column given replaces the file's for that field
        the first time the option names it, and adds to it after)."""
        name, sep, column = text.partition("=")
        if not sep or not column.strip():
            raise InvalidValue("map", text, "write it as FIELD=COLUMN")
        key = check_field(kind, name)
        self.columns.setdefault(key, []).append(column.strip())

    def add_set(self, kind: str, text: str) -> None:
        name, sep, value = text.partition("=")
        if not sep:
            raise InvalidValue("set", text, "write it as FIELD=VALUE")
        self.constants[check_field(kind, name, "set")] = value

    def add_value(self, field_name: str, text: str, option: str) -> None:
        source, sep, target = text.rpartition("=")
        if not sep or not source.strip():
            raise InvalidValue(option, text, "write it as VALUE=NEW (e.g. 'Closed Won=won')")
        self.values.setdefault(field_name, {})[source.strip().casefold()] = target.strip()

    def to_toml(self) -> str:
        """The mapping as a file a user can start their own from."""
        import tomli_w

        doc: dict[str, object] = {}
        if self.skip_lines:
            doc["skip_lines"] = self.skip_lines
        if self.columns:
            doc["columns"] = {k: v[0] if len(v) == 1 else v for k, v in self.columns.items()}
        if self.constants:
            doc["set"] = dict(self.constants)
        if self.values:
            doc["values"] = {k: dict(v) for k, v in self.values.items()}
        return tomli_w.dumps(doc)


def load_mapping(kind: str, text: str, source: str, *, lenient: bool = False) -> Mapping:
    """A mapping file's contents, every field checked; `source` names it in errors. With
    `lenient` (presets), columns the file lacks are passed over."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidValue("mapping", source, f"not valid TOML: {exc}") from None
    mapping = Mapping(source=source, lenient=lenient)
    unknown = set(doc) - {"columns", "set", "values", "skip_lines", "kind", "description"}
    if unknown:
        raise InvalidValue("mapping", source, f"unknown table {sorted(unknown)[0]!r}")
    skip = doc.get("skip_lines")
    if skip is not None:
        if not isinstance(skip, int) or skip < 0:
            raise InvalidValue("mapping", source, "skip_lines must be a whole number")
        mapping.skip_lines = skip
    for name, columns in dict(doc.get("columns", {})).items():
        listed = [columns] if isinstance(columns, str) else columns
        if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
            raise InvalidValue("mapping", source, f"columns.{name}: a column name or a list")
        mapping.columns.setdefault(check_field(kind, name, "mapping"), []).extend(listed)
    for name, value in dict(doc.get("set", {})).items():
        mapping.constants[check_field(kind, name, "mapping")] = str(value)
    for name, table in dict(doc.get("values", {})).items():
        if not isinstance(table, dict):
            raise InvalidValue("mapping", source, f"values.{name} must be a table")
        key = check_field(kind, name, "mapping")
        mapping.values[key] = {str(k).strip().casefold(): str(v) for k, v in table.items()}
    return mapping


# --- presets ---------------------------------------------------------------------------------


def presets() -> list[dict[str, str]]:
    """The shipped presets: name, kind and what each reads."""
    found = []
    for entry in sorted(resources.files("crm_cli.io.presets").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            doc = tomllib.loads(entry.read_text("utf-8"))
            found.append(
                {
                    "name": entry.name.removesuffix(".toml"),
                    "kind": str(doc.get("kind", "contacts")),
                    "description": str(doc.get("description", "")),
                }
            )
    return found


def preset_text(name: str, kind: str) -> str:
    """The TOML of preset `name` for `kind` (`google` or `hubspot-deals`)."""
    known = {p["name"]: p for p in presets()}
    for candidate in (f"{name}-{kind}", name):
        if candidate in known and known[candidate]["kind"] == kind:
            return (resources.files("crm_cli.io.presets") / f"{candidate}.toml").read_text("utf-8")
    names = sorted({n.split("-")[0] for n, p in known.items() if p["kind"] == kind})
    raise InvalidValue(
        "preset", name, f"no preset for {kind}; presets: {', '.join(names) or 'none'}"
    )


# --- applying a mapping to a header -----------------------------------------------------------


@dataclass
class Layout:
    """A mapping resolved against a file's header: the column indexes of each field."""

    fields: dict[str, list[int]]
    constants: dict[str, str]
    values: dict[str, dict[str, str]]
    unmapped: list[str]
    width: int


def resolve(kind: str, header: list[str], mapping: Mapping) -> Layout:
    """Which header positions feed each field. A mapped column the header lacks is refused,
    naming the column and the header's columns; a name several columns share feeds the field
    from each of them."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(name.casefold(), []).append(i)
    fields: dict[str, list[int]] = {}
    for key, columns in mapping.columns.items():
        for column in columns:
            found = positions.get(column.strip().casefold())
            if found is None and mapping.lenient:
                continue
            if found is None:
                shown = ", ".join(h for h in header[:30] if h)
                raise InvalidValue(
                    "map", f"{key}={column}", f"the file has no column {column!r}; it has: {shown}"
                )
            fields.setdefault(key, []).extend(found)
    if mapping.lenient and mapping.columns and not fields:
        raise InvalidValue(
            "preset",
            mapping.source,
            "the file has none of the columns this preset reads; is it that vendor's export?",
        )
    used = {i for idx in fields.values() for i in idx}
    unmapped: list[str] = []
    own = _own_export(header)
    for i, name in enumerate(header):
        if i in used or not name:
            continue
        named: str | None
        try:
            named = check_field(kind, _header_field(name))
        except InvalidValue:
            named = None
        if named is not None and named not in mapping.columns and named not in mapping.constants:
            fields.setdefault(named, []).append(i)
        elif mapping.keep_unmapped and not (own and _norm(name) in BOOKKEEPING):
            fields.setdefault(f"field.{_custom_key(name)}", []).append(i)
        else:
            unmapped.append(name)
    return Layout(fields, dict(mapping.constants), mapping.values, unmapped, len(header))


# The columns crm's own exports write about a record's life in crm: its id and times. Read
# back from crm's export, none is data the file brings, so `--keep-unmapped` does not make
# them custom fields (each re-import would then change `field.updated_at`); a field that takes
# one (a deal's created_at) still does.
BOOKKEEPING = ("id", "created_at", "updated_at", "deleted_at", "last_contacted_at")


def _own_export(header: list[str]) -> bool:
    """Whether `header` is one crm's own CSV export writes: its id and times are there."""
    names = {_norm(h) for h in header}
    return {"id", "created_at", "updated_at", "deleted_at"} <= names


def _header_field(name: str) -> str:
    text = name.strip()
    return text if text.startswith("field.") else _norm(text)


def _custom_key(name: str) -> str:
    key = "_".join("".join(ch if ch.isalnum() or ch in "-_." else " " for ch in name).split())
    if not key or not key[0].isalpha():
        key = f"f_{key}"
    return key[:64]


def records(
    layout: Layout, rows: Iterable[tuple[int, list[str], list[str]]]
) -> Iterator[SourceRecord]:
    """A `SourceRecord` per row (its line, its cells as values, its cells as the file had
    them): its values by field (translated by `[values.FIELD]`), the row as the file had it."""
    # Once per row of a file of any size: what each field needs is worked out once, and a
    # field fed by one column (the usual case) takes its cell without building lists.
    plan = [
        (key, indexes[0] if len(indexes) == 1 else None, indexes, key.partition(":")[0] in MULTI)
        for key, indexes in layout.fields.items()
    ]
    constants = list(layout.constants.items())
    translated = list(layout.values.items())
    emails = [key for key in layout.fields if key.partition(":")[0] == "email"]
    for number, cells, raw in rows:
        if type(cells) is not list and getattr(cells, "problem", None):
            # A row the CSV reader could not read (`csvfile.UnreadableCells`).
            yield SourceRecord(number, {}, raw, problem=cells.problem)  # type: ignore[attr-defined]
            continue
        values: dict[str, list[str]] = {}
        width = len(cells)
        for key, single, indexes, multi in plan:
            if single is not None:
                if single >= width:
                    continue
                cell = cells[single]
                if not cell.strip():
                    continue
                if not multi:
                    values[key] = [cell]
                    continue
                if GOOGLE_SEPARATOR not in cell and LIST_SEPARATOR not in cell:
                    values[key] = [cell.strip()]
                    continue
                cells_of = [cell]
            else:
                cells_of = [cells[i] for i in indexes if i < width and cells[i].strip()]
                if not cells_of:
                    continue
            if multi:
                out = [
                    v.strip()
                    for c in cells_of
                    for part in c.split(GOOGLE_SEPARATOR)
                    for v in part.split(LIST_SEPARATOR)
                    if v.strip()
                ]
            elif len(cells_of) > 1:
                out = [" ".join(c.strip() for c in cells_of)]
            else:
                out = cells_of
            values[key] = out
        for key, value in constants:
            values[key] = [value]
        for key, table in translated:
            if key in values:
                values[key] = [table.get(v.strip().casefold(), v) for v in values[key]]
        for key in emails:
            # A link copied from a web page or an Outlook cell: `mailto:ana@acme.com`.
            if key in values and any(v[:7].lower() == "mailto:" for v in values[key]):
                values[key] = [
                    v[7:].strip() if v[:7].lower() == "mailto:" else v for v in values[key]
                ]
        if "given_name" in values and "family_name" in values and "name" not in values:
            cjk = cjk_name(values["family_name"][0], values["given_name"][0])
            if cjk:
                values["name"] = [cjk]
        yield SourceRecord(number, values, raw)


def cjk_name(family: str, given: str) -> str | None:
    """The name of a Chinese, Japanese or Korean family and given name: family name first,
    no space (名無し, 権兵衛: 名無し権兵衛), as a vCard's N is read; None when either part is
    not CJK (a Western name is joined given name first, by the import)."""
    family, given = family.strip(), given.strip()
    if family and given and _is_cjk(family) and _is_cjk(given):
        return family + given
    return None


def _is_cjk(text: str) -> bool:
    return all(
        unicodedata.name(ch, "").startswith(
            ("CJK", "HANGUL", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC")
        )
        for ch in text
        if not ch.isspace()
    )
