"""`crm history` and `crm undo`: read and revert the change journal."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import JsonOpt


def history(
    kind: Annotated[
        str | None,
        typer.Argument(help="contact, company, deal, followup, ... (omit for all changes)."),
    ] = None,
    ref: Annotated[str | None, typer.Argument(help="The record: id, email or name.")] = None,
    last: Annotated[
        int, typer.Option("--last", "-n", min=1, help="How many change sets to show.")
    ] = 20,
    mine: Annotated[bool, typer.Option("--mine", help="Only your own changes.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Show what changed: the latest change sets, or one record's changes, newest first.

    Example: crm history deal 42
    """
    from crm_cli.services import undo as service

    if kind is not None and ref is None:
        raise typer.BadParameter("give the record too, e.g. `crm history deal 42`")
    ctx = common.context()
    with ctx.session(write=False) as session:
        if kind is None:
            sets = service.recent(ctx, session, last, mine=mine)
        else:
            assert ref is not None
            number = _record_id(session, kind, ref)
            sets = service.record_history(ctx, session, kind, number, last)
            if not sets:
                _must_exist(session, kind, ref, number)
    if json_:
        from crm_cli.render.output import write_json

        write_json(sets)
        return
    if not sets:
        common.note("no changes recorded")
        return
    for change_set in sets:
        print(_heading(change_set))
        for entry in change_set["changes"]:
            print(f"    {_entry_line(entry)}")


# The kinds whose records are also named by name (or email): live ones first, then removed.
_BY_NAME = ("contact", "company", "deal")


def _record_id(session: Any, kind: str, ref: str) -> str:
    """The id `ref` names for `crm history KIND REF`: as given when it is an id, else the
    contact (by email or name), company or deal (by title) it names, live or removed. When
    neither finds it, the error is the one for live records (`no contact 'nobody'`)."""
    from crm_cli.errors import NotFound
    from crm_cli.services import common as services
    from crm_cli.services.lookups import find_company, find_contact, find_deal

    kind = kind.strip().lower()
    if services.id_of(ref) is not None or kind not in _BY_NAME:
        return ref
    finder: Any = {"contact": find_contact, "company": find_company, "deal": find_deal}[kind]
    try:
        if kind == "deal":  # won and lost deals have a history too
            return str(find_deal(session, ref, closed=True).id)
        return str(finder(session, ref).id)
    except NotFound as live_error:
        try:
            return str(finder(session, ref, removed=True).id)
        except NotFound:
            raise live_error from None


def _must_exist(session: Any, kind: str, ref: str, number: str) -> None:
    """A record with no change recorded: fine when it exists (live or removed), `no deal
    '999'` (exit 3) when it never did."""
    from crm_cli.errors import NotFound
    from crm_cli.services import common as services
    from crm_cli.services.journal import models

    record_id = services.id_of(number)
    model = models().get(kind.strip().lower())
    if record_id is not None and model is not None and session.get(model, record_id) is None:
        raise NotFound(kind.strip().lower(), ref)


def _heading(change_set: dict[str, Any]) -> str:
    at = (change_set["at"] or "").replace("T", " ")[:16]
    parts = [f"#{change_set['id']}", at, change_set["user"] or "-", change_set["command"]]
    if change_set["undone_by"]:
        parts.append(f"(undone by #{change_set['undone_by']})")
    return "  ".join(parts)


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def _entry_line(entry: dict[str, Any]) -> str:
    name = f"{entry['entity'].replace('_', ' ')} {entry['id']}"
    if entry["action"] == "create":
        return f"{name} added"
    if entry["action"] == "remove":
        return f"{name} deleted"
    fields = entry["fields"]
    changes = ", ".join(
        f"{k}: {_value(v['old'])} -> {_value(v['new'])}"
        for k, v in fields.items()
        if not (k.endswith("_id") and k.removesuffix("_id") in fields)
    )
    return f"{name}: {changes}" if changes else f"{name} changed"


def undo(
    change_set: Annotated[
        int | None,
        typer.Argument(help="The change set to revert (see `crm history`); default: your last."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Revert a change set, if nothing it touched has changed since. An undo can be undone.

    Example: crm undo
    """
    from crm_cli.services import journal
    from crm_cli.services import undo as service

    ctx = common.context()
    with ctx.session() as session:
        result = service.undo(ctx, session, change_set)
        recorder = journal.recorder(session)
    new_id = recorder.written if recorder is not None else None
    if json_:
        from crm_cli.render.output import write_json

        write_json(
            {
                "undone": result.undone,
                "change_set": new_id,
                "command": result.command,
                "records": result.records,
            }
        )
        return
    common.done(
        f"Undid change set {result.undone} ({result.command}): {_named(result.records)}"
        + (f"; `crm undo {new_id}` re-applies it" if new_id else "")
    )


_PLURAL = {"company": "companies", "feedback": "feedback answers"}


def _named(records: list[str], most: int = 10) -> str:
    """The records an undo touched: each by name when they are a few, else counted by kind,
    most first ("20,000 contacts, 3 companies"): an import's undo touches thousands, and a
    line of every id helps nobody. `--json` still lists every record."""
    if len(records) <= most:
        return ", ".join(records)
    counts: dict[str, int] = {}
    for record in records:
        kind = record.rsplit(" ", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(
        f"{n:,} {kind if n == 1 else _PLURAL.get(kind, kind + 's')}"
        for kind, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    )
