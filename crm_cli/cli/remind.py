"""`crm remind`: report each follow-up that has come due exactly once, for cron.

Made to run unattended (`*/15 * * * * crm remind`): stdout holds the reminders and nothing
else, so with nothing due cron sends no mail; times are in the configured zone whatever the
environment; the output is written and flushed before the delivery is committed
(services/reminders.py), so a run that dies first leaves its reminders for the next one.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import JsonOpt
from crm_cli.errors import CrmError

# How long `crm remind` keeps trying while another command holds the database (seconds).
_BUSY_PATIENCE = 300


def _line(record: dict[str, Any]) -> str:
    """One reminder as a line a person reads in a cron mail."""
    head = f"[{record['kind']} {record['id']}] {record['title']}"
    if record["kind"] == "deal":
        return f"{head}: nothing scheduled (add one: {record['act']})"
    late = record["late"]
    when = "due now" if late == "now" else (f"due {late}" if late.startswith("in ") else None)
    timing = when or f"{late} late"
    extra = [str(record[k]) for k in ("contact", "deal") if record.get(k)]
    if record["kind"] == "contact":
        extra = [f"every {record['cadence_days']} days"]
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"{head}: due {record['due_local']}, {timing}{tail}"


def _crm_path() -> str:
    import os
    import shutil

    argv0 = sys.argv[0] if sys.argv else ""
    if argv0 and os.path.basename(argv0) == "crm" and os.path.exists(argv0):
        return os.path.abspath(argv0)
    return shutil.which("crm") or os.path.join(os.path.dirname(sys.executable), "crm")


def remind(
    owner: Annotated[
        str | None, typer.Option("--owner", help="This user's reminders: id, email or name.")
    ] = None,
    everyone: Annotated[
        bool, typer.Option("--everyone", help="Everyone's reminders (one cron job for a team).")
    ] = False,
    within: Annotated[
        str | None,
        typer.Option("--within", help="Also what comes due within this time: 30min, 2h, 1d."),
    ] = None,
    again: Annotated[
        bool, typer.Option("--again", help="Everything still due, reported before or not.")
    ] = False,
    stale_deals: Annotated[
        bool,
        typer.Option(
            "--stale-deals", help="Also open deals with no open follow-up (once a day each)."
        ),
    ] = False,
    exec_: Annotated[
        str | None,
        typer.Option(
            "--exec",
            help="Run CMD once per reminder, the reminder as JSON on stdin; a failure keeps "
            "it for the next run.",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, help="Seconds an --exec command may take."),
    ] = 30.0,
    status: Annotated[
        bool, typer.Option("--status", help="When reminders last ran, and whether they stopped.")
    ] = False,
    print_crontab: Annotated[
        bool, typer.Option("--print-crontab", help="Print a crontab line that runs this crm.")
    ] = False,
    print_systemd: Annotated[
        bool,
        typer.Option("--print-systemd", help="Print a systemd user timer and service for it."),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Report follow-ups that have come due, each occurrence once (for cron).

    Example: crm remind --within 15min
    """
    if print_crontab or print_systemd:
        import os

        from crm_cli.services.reminders import crontab_line, systemd_units

        env = dict(os.environ)
        text = crontab_line(_crm_path(), env) if print_crontab else systemd_units(_crm_path(), env)
        print(text)
        return
    ctx = common.context()
    if status:
        from crm_cli.services.reminders import status as read_status

        with ctx.session(write=False) as session:
            found = read_status(ctx, session)
        _show_status(found, json_)
        return

    from crm_cli.services.reminders import RemindOptions, notify, run

    failures: list[str] = []
    started = [False]  # whether this attempt has written anything out

    def deliver(records: list[dict[str, Any]]) -> list[int]:
        started[0] = True
        if exec_ is None:
            _write(records, json_)
            return []
        failed = []
        for i, record in enumerate(records):
            reason = notify(exec_, record, timeout)
            if reason is not None:
                failed.append(i)
                failures.append(
                    f"{record['kind']} {record['id']} ({record['title']}) was not delivered: "
                    f"{reason}; it stays for the next run"
                )
        return failed

    opts = RemindOptions(
        owner=owner, everyone=everyone, within=within, again=again, stale_deals=stale_deals
    )
    import time

    from crm_cli.errors import Conflict, DatabaseError

    # A job under cron has time: when another command holds the database for longer than the
    # busy timeout (a big import), try again rather than fail, as long as nothing has been
    # written out yet (then the transaction was rolled back whole and nothing was claimed).
    give_up = time.monotonic() + _BUSY_PATIENCE
    while True:
        try:
            # No journal: a report is not a change to undo (services/reminders.py).
            with ctx.session(journal=False) as session:
                run(ctx, session, opts, deliver)
            break
        except (DatabaseError, Conflict) as exc:
            retry = isinstance(exc, Conflict) or "busy" in str(exc)
            if started[0] or not retry or time.monotonic() > give_up:
                raise
            time.sleep(1)
    for message in failures:
        common.note(message)
    if failures:
        raise CrmError(f"{len(failures)} reminder(s) not delivered by --exec")


def _write(records: list[dict[str, Any]], json_: bool) -> None:
    """Write the reminders and flush: the caller commits their delivery only after this."""
    if json_:
        from crm_cli.render.output import write_json

        write_json(records)
    else:
        from crm_cli.domain.text import escape_controls

        for record in records:
            print(escape_controls(_line(record)))
    sys.stdout.flush()


def _show_status(found: dict[str, Any], json_: bool) -> None:
    if json_:
        from crm_cli.render.output import write_json

        write_json(found)
    elif found["last_run"] is None:
        print("last run: never")
    else:
        print(f"last run: {found['last_run_local']}")
        print(f"reported: {found['last_reported']}")
        if found["last_failed"]:
            print(f"not delivered: {found['last_failed']}")
        print(f"runs: {found['runs']}")
    if found["warning"]:
        common.note(f"warning: {found['warning']}")
