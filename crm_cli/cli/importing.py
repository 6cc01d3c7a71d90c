"""`crm import KIND FILE`: records from CSV (or vCard) files, and the shipped presets.

One command per kind, all with the same options (built by `_command`). The body reads the
options, calls `services.importing.import_file` in one transaction (read-only for a dry run),
writes the rejects file and the report. Exit codes: 0 when every row went in (or was
unchanged), `ROWS_REJECTED` when some were rejected (docs/scripting.md).
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.archive import import_all
from crm_cli.cli.common import JsonOpt
from crm_cli.errors import InvalidValue

app = typer.Typer(
    help="Import records from CSV or vCard files (with mappings and vendor presets).",
    no_args_is_help=True,
)

# Some rows were rejected (the rest went in): scripts tell it from a failure (1) or bad usage (2).
ROWS_REJECTED = 6
# Rows shown per decision in a dry run's text form (--json gives all).
SHOWN_ROWS = 200
# A won deal's contact becoming a customer: this many lines, then a count.
CUSTOMERS_SHOWN = 10

FileArg = Annotated[str, typer.Argument(help="The file to read; - reads stdin.")]
MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", "-m", help="FIELD=COLUMN: the column that feeds a field (repeatable)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="FIELD=VALUE: the same value for every row (repeatable)."),
]
StageMapOpt = Annotated[
    list[str] | None,
    typer.Option("--stage-map", help="VALUE=STAGE: the file's stage VALUE is STAGE (repeatable)."),
]
MappingOpt = Annotated[
    str | None, typer.Option("--mapping", help="A mapping file (TOML: [columns], [set], [values])")
]
PresetOpt = Annotated[
    str | None,
    typer.Option(
        "--preset", help="A vendor layout: google, outlook, hubspot, pipedrive, linkedin."
    ),
]
PrintMappingOpt = Annotated[
    bool,
    typer.Option(
        "--print-mapping", help="Print the preset's mapping file (a starting point) and stop."
    ),
]
OnMatchOpt = Annotated[
    str,
    typer.Option(
        "--on-match",
        help="When a row matches a record: update it, skip it, or fill only its empty fields.",
    ),
]
DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", "-n", help="Write nothing; show each row's decision and why."),
]
RejectsOpt = Annotated[
    str | None,
    typer.Option("--rejects", help="Write rejected rows here (CSV: the row plus an error column)."),
]
EncodingOpt = Annotated[
    str | None, typer.Option("--encoding", help="The file's encoding (default: detected).")
]
DelimiterOpt = Annotated[
    str | None, typer.Option("--delimiter", help="The delimiter: , ; | or tab (default: sniffed).")
]
SkipOpt = Annotated[
    int | None,
    typer.Option("--skip-lines", min=0, help="Lines before the header to skip (a preamble)."),
]
DateFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--date-format", help="dmy or mdy: how 03/04/2026 reads (default: from the file)."
    ),
]
DecimalCommaOpt = Annotated[
    bool | None,
    typer.Option("--decimal-comma/--decimal-point", help="Amounts write 1.234,56 (or 1,234.56)."),
]
KeepUnmappedOpt = Annotated[
    bool,
    typer.Option("--keep-unmapped", help="Keep columns no field takes, as custom fields."),
]
CreateMissingOpt = Annotated[
    bool, typer.Option("--create-missing", help="Create contacts that rows name and nobody has.")
]
CreateStagesOpt = Annotated[
    bool, typer.Option("--create-stages", help="Create pipelines and stages that rows name.")
]
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", help="csv or vcard (default: from the file name, else its content)."),
]
MatchIdOpt = Annotated[
    bool,
    typer.Option(
        "--match-id",
        help="The file's ids (id column, vCard X-CRM-ID) are this database's: match by them.",
    ),
]
NoPhotosOpt = Annotated[bool, typer.Option("--no-photos", help="vCard: leave photos out.")]

EXAMPLES = {
    "contacts": "crm import contacts google.csv --preset google --dry-run",
    "companies": "crm import companies accounts.csv --map name=NAME --map domain=WEBSITE",
    "deals": "crm import deals deals.csv --map title=Name --stage-map 'Closed Won=won'",
    "followups": "crm import followups tasks.csv --map title=Subject --map due_at=Due",
    "interactions": "crm import interactions calls.csv --set kind=call --map occurred_at=Date",
    "feedback": "crm import feedback survey.csv --set kind=nps --map score=Score",
}


def _build_mapping(
    kind: str,
    mapping_file: str | None,
    preset: str | None,
    maps: list[str] | None,
    sets: list[str] | None,
    stage_maps: list[str] | None,
    keep_unmapped: bool,
) -> Any:
    from crm_cli.io import mapping as m

    if mapping_file and preset:
        raise InvalidValue("mapping", mapping_file, "give --mapping or --preset, not both")
    if preset:
        built = m.load_mapping(kind, m.preset_text(preset, kind), f"preset {preset}", lenient=True)
    elif mapping_file:
        from pathlib import Path

        try:
            text = Path(mapping_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidValue("mapping", mapping_file, exc.strerror or "cannot be read") from None
        built = m.load_mapping(kind, text, mapping_file)
    else:
        built = m.Mapping()
    replaced: set[str] = set()
    for item in maps or []:
        key = m.check_field(kind, item.partition("=")[0])
        if key not in replaced:  # the option replaces what a file said for that field
            built.columns.pop(key, None)
            replaced.add(key)
        built.add_map(kind, item)
    for item in sets or []:
        built.add_set(kind, item)
    for item in stage_maps or []:
        built.add_value("stage", item, "stage-map")
    built.keep_unmapped = keep_unmapped or built.keep_unmapped
    return built


def _read(path: str) -> bytes:
    if path == "-":
        return (
            sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        )
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InvalidValue("file", path, exc.strerror or "cannot be read") from None


def _run(kind: str, file: str, opts: dict[str, Any]) -> None:
    from crm_cli.services import importing as service

    mapping = _build_mapping(
        kind,
        opts["mapping"],
        opts["preset"],
        opts["map"],
        opts["set"],
        opts["stage_map"],
        opts["keep_unmapped"],
    )
    if opts["print_mapping"]:
        sys.stdout.write(mapping.to_toml())
        return
    if opts["on_match"] not in service.ON_MATCH:
        raise InvalidValue("on-match", opts["on_match"], "must be skip, update or fill")
    data = _read(file)
    source = service.SourceOptions(
        format=opts["format"],
        name=file,
        encoding=opts["encoding"],
        delimiter=opts["delimiter"],
        skip_lines=opts["skip_lines"],
        photos=not opts["no_photos"],
    )
    options = service.ImportOptions(
        on_match=opts["on_match"],
        dry_run=opts["dry_run"],
        create_missing=opts["create_missing"],
        create_stages=opts["create_stages"],
        date_format=opts["date_format"],
        decimal_comma=opts["decimal_comma"],
        match_id=opts["match_id"],
    )
    ctx = common.context()
    with _Progress(kind, file) as bar, ctx.session(write=not opts["dry_run"]) as session:
        options.progress = bar.update
        result = service.import_file(ctx, session, kind, data, source, mapping, options)
    report = result.report
    rejected = report.rejected
    if opts["rejects"] and rejected:
        from crm_cli.io.csvfile import write_rejects

        write_rejects(
            opts["rejects"],
            result.header,
            [(r.original, r.error or "") for r in rejected],
            str(result.source.get("delimiter", ",")),
        )
    _render(report, result.source, opts["json"], opts["rejects"])
    if rejected:
        raise typer.Exit(ROWS_REJECTED)


class _Progress:
    """A progress bar on stderr while the import runs, when stderr is a terminal; nothing
    otherwise (a pipe, a log file). Rows done of the rows in the file, once the file is read;
    a moving bar before that."""

    def __init__(self, kind: str, file: str) -> None:
        import os.path

        self.label = f"importing {kind} from {'stdin' if file == '-' else os.path.basename(file)}"
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty():
            # ~40 ms: only at a terminal, never at import time of this module.
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rows"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=None)
        return self

    def update(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *_exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _render(report: Any, source: dict[str, Any], json_: bool, rejects: str | None) -> None:
    if json_:
        from crm_cli.render.output import write_json

        write_json({**report.as_json(), "source": source})
        return
    counts = report.counts
    verb = "would import" if report.dry_run else "imported"
    parts = [
        f"{counts['new']} new",
        f"{counts['update']} updated",
        f"{counts['unchanged']} unchanged",
    ]
    if counts["skipped"]:
        parts.append(f"{counts['skipped']} skipped (--on-match skip)")
    if counts["duplicate"]:
        # As --json counts them: a row repeating an earlier one is its own decision.
        parts.append(f"{counts['duplicate']} duplicate")
    parts.append(f"{counts['rejected']} rejected")
    if source.get("format") == "csv":
        samples = ", ".join(source["samples"])
        common.note(
            f"read {source['records']} rows as {source['encoding']}, delimiter "
            f"{source['delimiter']!r}" + (f"; text such as: {samples}" if samples else "")
        )
        if source["unmapped"]:
            common.note(
                "columns not imported: "
                + ", ".join(source["unmapped"])
                + " (--map FIELD=COLUMN, or --keep-unmapped)"
            )
    for what, names in report.created.items():
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        made = "would create" if report.dry_run else "created"
        common.note(f"{made} {len(names)} {what}: {shown}")
    for text in report.notes:
        common.note(text)
    for text in report.customers[:CUSTOMERS_SHOWN]:
        common.note(text)
    if len(report.customers) > CUSTOMERS_SHOWN:
        more = len(report.customers) - CUSTOMERS_SHOWN
        common.note(f"and {more} more contacts are now customers (--json lists every one)")
    if report.dry_run:
        _decisions(report)
    else:
        for row in report.rejected[:SHOWN_ROWS]:
            common.note(_at(report.unit, row.number, row.error or ""))
    common.done(f"{report.kind}: {verb} " + ", ".join(parts))
    if report.rejected:
        where = f"; see {rejects}" if rejects else "; --rejects FILE keeps them"
        rows = "cards" if report.unit == "card" else "rows"
        common.note(f"{len(report.rejected)} {rows} were not imported{where}")


def _at(unit: str, number: int, error: str, *, bare: bool = False) -> str:
    """`error` after the row's position ("card 3: ..."); a reason that begins with the
    position itself (a vCard reader's "card 3 (line 12) never ends") is not given it twice."""
    if error.startswith(f"{unit} {number} "):
        return error
    return error if bare else f"{unit} {number}: {error}"


def _decisions(report: Any) -> None:
    """Each row's decision with its evidence, one line each (the dry run's output)."""
    from crm_cli.domain.text import escape_controls

    for row in report.rows[:SHOWN_ROWS]:
        line = f"{report.unit} {row.number}: {row.action}"
        if row.record_id is not None:
            line += f" {report.kind.rstrip('s').replace('companie', 'company')} {row.record_id}"
        if row.match:
            line += f" (matched by {row.match})"
        if row.changes:
            line += ": " + "; ".join(f"{k} {o!r} -> {n!r}" for k, (o, n) in row.changes.items())
        if row.error:
            line += f": {_at(report.unit, row.number, row.error, bare=True)}"
        if row.note:
            line += f" ({row.note})"
        print(escape_controls(line))
    if len(report.rows) > SHOWN_ROWS:
        common.note(f"{len(report.rows) - SHOWN_ROWS} more rows; --json shows every decision")


def _command(kind: str) -> Any:
    def command(
        file: FileArg,
        map_: MapOpt = None,
        set_: SetOpt = None,
        stage_map: StageMapOpt = None,
        mapping: MappingOpt = None,
        preset: PresetOpt = None,
        print_mapping: PrintMappingOpt = False,
        on_match: OnMatchOpt = "update",
        dry_run: DryRunOpt = False,
        rejects: RejectsOpt = None,
        encoding: EncodingOpt = None,
        delimiter: DelimiterOpt = None,
        skip_lines: SkipOpt = None,
        date_format: DateFormatOpt = None,
        decimal_comma: DecimalCommaOpt = None,
        keep_unmapped: KeepUnmappedOpt = False,
        create_missing: CreateMissingOpt = False,
        create_stages: CreateStagesOpt = False,
        match_id: MatchIdOpt = False,
        format_: FormatOpt = None,
        no_photos: NoPhotosOpt = False,
        json_: JsonOpt = False,
    ) -> None:
        _run(
            kind,
            file,
            {
                "map": map_,
                "set": set_,
                "stage_map": stage_map,
                "mapping": mapping,
                "preset": preset,
                "print_mapping": print_mapping,
                "on_match": on_match,
                "dry_run": dry_run,
                "rejects": rejects,
                "encoding": encoding,
                "delimiter": delimiter,
                "skip_lines": skip_lines,
                "date_format": date_format,
                "decimal_comma": decimal_comma,
                "keep_unmapped": keep_unmapped,
                "create_missing": create_missing,
                "create_stages": create_stages,
                "match_id": match_id,
                "format": format_,
                "no_photos": no_photos,
                "json": json_,
            },
        )

    command.__name__ = kind
    command.__doc__ = (
        f"Import {kind} from a CSV file (or vCard), matching rows to existing records.\n\n"
        f"Example: {EXAMPLES[kind]}"
    )
    return command


for _kind in EXAMPLES:
    app.command(_kind)(_command(_kind))


@app.command("presets")
def presets(json_: JsonOpt = False) -> None:
    """List the shipped vendor presets (mapping files) and what each reads.

    Example: crm import presets
    """
    from crm_cli.io.mapping import presets as shipped

    found = shipped()
    if json_:
        from crm_cli.render.output import write_json

        write_json(found)
        return
    for preset in found:
        print(f"{preset['name']:<20} {preset['kind']:<10} {preset['description']}")


# `crm import all FILE`: the vendor-neutral restore, kept in its own module (cli/archive.py).
app.command("all")(import_all)
