"""Reminders that arrive exactly once: what `crm remind` reports, and the record that it did.

A reminder is one occurrence of something coming due: a follow-up at its effective due time (a
snooze or a new due time is a new occurrence; a repeat's next occurrence is its own row), or a
stay-in-touch contact at the end of its cadence. Delivery is a row in `reminder_delivery`,
unique on (kind, subject, occurrence), and a run goes:

1. claim: insert the rows of everything due and not yet reported, `ON CONFLICT DO NOTHING
   RETURNING` (a concurrent run's uncommitted claim makes PostgreSQL wait for it, then skip;
   SQLite's write transaction, `BEGIN IMMEDIATE`, makes the second run wait for the first);
2. deliver: the caller writes the reminders out (stdout, flushed) or runs a notifier per
   reminder; a reminder whose notifier failed has its claim taken back;
3. commit.

So a crash or a kill before step 3 leaves every claim undone and the next run reports them
(late rather than never); a kill between the write and the commit reports them again next time
(at least once, never lost). Nothing is ever dropped for being late: a run after a long gap
reports everything missed, oldest first, with how late each is.

Every run is logged in `remind_run`; `status` reads that log to warn when the scheduler has
stopped (no run for much longer than the usual gap between runs).

Deliveries are not part of the change journal: undoing an edit must not make old reminders
come back, and `crm undo` after a `crm remind` undoes the user's last change, not the report.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from statistics import median
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, select, text, update
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain import dates
from crm_cli.errors import InvalidValue
from crm_cli.services.followups import _effective_due_sql, effective_due, followup_records
from crm_cli.services.lookups import owner_names
from crm_cli.services.users import resolve_user
from crm_cli.store.models import Contact
from crm_cli.store.sales import Deal, Followup, ReminderDelivery, RemindRun
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from crm_cli.services.context import Context

FOLLOWUP, CONTACT, DEAL = "followup", "contact", "deal"
# Claims go in batches this size: far below SQLite's limit on bound parameters.
_CLAIM_BATCH = 500
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$")
_DURATION_UNITS = {
    **dict.fromkeys(("min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "wk", "week", "weeks"), 7 * 86400),
}
# The scheduler counts as stopped after this many of its usual gaps without a run, and never
# sooner than an hour (a 15-minute cron that misses one run is not news).
_STALE_GAPS = 2
_STALE_FLOOR = timedelta(hours=1)
_STALE_SLACK = timedelta(minutes=15)


def parse_duration(text: str, field_name: str = "within") -> timedelta:
    """`2h`, `30min`, `1d`, `2 weeks`: a length of time (a bare `m` is refused, as in dates)."""
    m = _DURATION.match(text.lower())
    seconds = _DURATION_UNITS.get(m.group(2)) if m else None
    if m is None or seconds is None:
        raise InvalidValue(field_name, text, "a length of time such as 30min, 2h, 1d or 2w")
    amount = int(m.group(1))
    if amount > 3650 * 86400 // seconds:
        raise InvalidValue(field_name, text, "must be at most ten years")
    return timedelta(seconds=amount * seconds)


def late_text(delta: timedelta) -> str:
    """`3d 2h`, `45min`, `now`: how late a reminder is, for a person."""
    minutes = int(delta.total_seconds() // 60)
    if minutes <= 0:
        return "now" if minutes == 0 else "in " + late_text(-delta)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if mins and not days:
        parts.append(f"{mins}min")
    return " ".join(parts)


@dataclass
class RemindOptions:
    """`crm remind` options. Without owner or everyone: the current user's reminders."""

    owner: str | None = None
    everyone: bool = False
    within: str | None = None  # look ahead: also what comes due in this time
    again: bool = False  # everything still due, reported before or not
    stale_deals: bool = False  # also open deals with nothing scheduled (once a day)


@dataclass
class RunResult:
    """What a run reported (`records`, in order) and what its notifier could not deliver."""

    run_id: int
    at: datetime
    records: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


# A delivery callback: given the reminders in order, it writes them out and returns the
# indexes of those it could not deliver (their claims are taken back).
Deliver = Callable[[list[dict[str, Any]]], Sequence[int]]


def _owner_id(ctx: Context, session: Session, owner: str | None, everyone: bool) -> int | None:
    if owner:
        return resolve_user(session, owner)
    return None if everyone else ctx.user_id(session)


def _due_followups(
    session: Session, owner_id: int | None, horizon: datetime, again: bool
) -> list[Followup]:
    """Open follow-ups that have come due by `horizon`, not yet reported at their current
    occurrence (all of them with `again`), by when each came due. The open-effective-due
    index (migration 0005) bounds the search, so a million follow-ups not yet due cost
    nothing."""
    due = _effective_due_sql()
    query = select(Followup).where(
        col(Followup.done_at).is_(None), col(Followup.deleted_at).is_(None), due <= horizon
    )
    if owner_id is not None:
        query = query.where(col(Followup.owner_id) == owner_id)
    if not again:
        query = query.where(
            ~exists().where(
                col(ReminderDelivery.kind) == FOLLOWUP,
                col(ReminderDelivery.subject_id) == col(Followup.id),
                col(ReminderDelivery.occurrence) == due,
            )
        )
    query = query.order_by(due, col(Followup.id))
    if session.get_bind().dialect.name != "postgresql":
        return list(session.scalars(query))
    # PostgreSQL estimates "open" and "due by now" as independent, but in a team's data they
    # are not (done follow-ups are the old ones, open ones mostly to come): at a million
    # follow-ups it guessed 200,000 rows and read the table (190 ms) where the index reads the
    # 1,100 that match (30 ms). Scans are priced out for this one statement.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        return list(session.scalars(query))
    finally:
        session.execute(text("SET LOCAL enable_seqscan = on"))


def contact_due(contact: Contact, tz: ZoneInfo, at: time) -> datetime | None:
    """When a stay-in-touch contact comes due: its cadence in days after the last logged
    interaction (or after it was added), at the start of the working day in the user's zone.
    Logging an interaction moves `last_contacted_at`, so it resets the cadence."""
    if not contact.cadence_days:
        return None
    basis = contact.last_contacted_at or contact.created_at
    day = basis.astimezone(tz).date() + timedelta(days=contact.cadence_days)
    return dates.localize(day, at, tz).astimezone(basis.tzinfo)


def due_contacts(
    ctx: Context, session: Session, owner_id: int | None, horizon: datetime
) -> list[tuple[Contact, datetime]]:
    """Stay-in-touch contacts that have come due by `horizon`, soonest first."""
    query = select(Contact).where(
        col(Contact.cadence_days).is_not(None),
        col(Contact.cadence_days) > 0,
        col(Contact.deleted_at).is_(None),
    )
    if owner_id is not None:
        query = query.where(col(Contact.owner_id) == owner_id)
    at = ctx.config.date_settings.due_time
    found = []
    for contact in session.scalars(query):
        due = contact_due(contact, ctx.tz, at)
        if due is not None and due <= horizon:
            found.append((contact, due))
    found.sort(key=lambda pair: (pair[1], pair[0].id or 0))
    return found


def stale_deals_query(owner_id: int | None) -> Any:
    """Open deals with no open follow-up: nothing scheduled to move them on."""
    query = select(Deal).where(
        col(Deal.status) == "open",
        col(Deal.deleted_at).is_(None),
        ~exists().where(
            col(Followup.deal_id) == col(Deal.id),
            col(Followup.done_at).is_(None),
            col(Followup.deleted_at).is_(None),
        ),
    )
    if owner_id is not None:
        query = query.where(col(Deal.owner_id) == owner_id)
    return query.order_by(col(Deal.id))


def _lateness(record: dict[str, Any], occurrence: datetime, now: datetime, tz: ZoneInfo) -> None:
    delta = now - occurrence
    record["occurrence"] = dates.iso(occurrence, tz)
    record["late_seconds"] = max(0, int(delta.total_seconds()))
    record["late"] = late_text(delta)


def _followup_reminders(
    ctx: Context, session: Session, followups: list[Followup], now: datetime
) -> list[tuple[datetime, dict[str, Any]]]:
    out = []
    for followup, record in zip(followups, followup_records(ctx, session, followups), strict=True):
        occurrence = effective_due(followup)
        reminder = {"kind": FOLLOWUP, **record}
        _lateness(reminder, occurrence, now, ctx.tz)
        reminder["act"] = f"crm followup done {followup.id}"
        out.append((occurrence, reminder))
    return out


def _contact_reminders(
    ctx: Context, session: Session, found: list[tuple[Contact, datetime]], now: datetime
) -> list[tuple[datetime, dict[str, Any]]]:
    tz = ctx.tz
    owners = owner_names(session, {c.owner_id for c, _ in found})
    out = []
    for contact, due in found:
        reminder: dict[str, Any] = {
            "kind": CONTACT,
            "id": contact.id,
            "title": f"Stay in touch with {contact.name}",
            "contact_id": contact.id,
            "contact": contact.name,
            "cadence_days": contact.cadence_days,
            "last_contacted_at": dates.iso(contact.last_contacted_at, tz),
            "due_at": dates.iso(due, tz),
            "due_local": _local(due, tz),
            "owner_id": contact.owner_id,
            "owner": owners.get(contact.owner_id or 0),
        }
        _lateness(reminder, due, now, tz)
        reminder["act"] = f'crm log call {contact.id} "..."'
        out.append((due, reminder))
    return out


def _deal_reminders(
    ctx: Context, session: Session, owner_id: int | None, now: datetime, again: bool
) -> list[tuple[datetime, dict[str, Any]]]:
    """Open deals with nothing scheduled, once a day: the occurrence is the local midnight."""
    tz = ctx.tz
    day_start = dates.localize(now.astimezone(tz).date(), time(0, 0), tz)
    query = stale_deals_query(owner_id)
    if not again:
        query = query.where(
            ~exists().where(
                col(ReminderDelivery.kind) == DEAL,
                col(ReminderDelivery.subject_id) == col(Deal.id),
                col(ReminderDelivery.occurrence) == day_start,
            )
        )
    deals = list(session.scalars(query))
    owners = owner_names(session, {d.owner_id for d in deals})
    out = []
    for deal in deals:
        reminder: dict[str, Any] = {
            "kind": DEAL,
            "id": deal.id,
            "title": f"No next step: {deal.title}",
            "deal_id": deal.id,
            "deal": deal.title,
            "owner_id": deal.owner_id,
            "owner": owners.get(deal.owner_id or 0),
            "due_at": dates.iso(day_start, tz),
            "due_local": _local(day_start, tz),
        }
        _lateness(reminder, day_start, now, tz)
        reminder["late"] = "nothing scheduled"
        reminder["act"] = f'crm followup add "Next step" --deal {deal.id} --due tomorrow'
        out.append((day_start, reminder))
    return out


def _local(value: datetime, tz: ZoneInfo) -> str:
    from crm_cli.services.followups import local_text

    return local_text(value, tz)


def _claim(
    session: Session, run_id: int, now: datetime, keys: list[tuple[str, int, datetime]]
) -> set[tuple[str, int, datetime]]:
    """Insert the delivery rows of `keys`; the keys this run now holds (those another run
    had already claimed are skipped, after waiting for it to commit or roll back)."""
    if not keys:
        return set()
    table: Any = ReminderDelivery.__table__  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    claimed: set[tuple[str, int, datetime]] = set()
    for start in range(0, len(keys), _CLAIM_BATCH):
        rows = [
            {"kind": k, "subject_id": s, "occurrence": o, "delivered_at": now, "run_id": run_id}
            for k, s, o in keys[start : start + _CLAIM_BATCH]
        ]
        statement = (
            insert(table)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["kind", "subject_id", "occurrence"])
            .returning(table.c.kind, table.c.subject_id, table.c.occurrence)
        )
        for kind, subject, occurrence in session.execute(statement):
            claimed.add((str(kind), int(subject), _utc(occurrence)))
    return claimed


def _utc(value: datetime) -> datetime:
    from datetime import UTC

    # RETURNING rows come back through the column type on both databases, but be sure.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def run(ctx: Context, session: Session, opts: RemindOptions, deliver: Deliver) -> RunResult:
    """One `crm remind` run: claim what has come due, hand it to `deliver`, log the run.

    The caller commits after this returns (after its output is written and flushed), so
    the claims and the output stand or fall together.
    """
    now = utcnow()
    horizon = now + (parse_duration(opts.within) if opts.within else timedelta(0))
    owner_id = _owner_id(ctx, session, opts.owner, opts.everyone)
    run_row = RemindRun(at=now, user_id=ctx.user_id(session))
    session.add(run_row)
    session.flush()
    assert run_row.id is not None
    followups = _due_followups(session, owner_id, horizon, opts.again)
    candidates = _followup_reminders(ctx, session, followups, now)
    contacts = due_contacts(ctx, session, owner_id, horizon)
    candidates += _contact_reminders(ctx, session, contacts, now)
    if opts.stale_deals:
        candidates += _deal_reminders(ctx, session, owner_id, now, opts.again)
    candidates.sort(key=lambda pair: (pair[0], pair[1]["kind"], pair[1]["id"]))

    keys = [(r["kind"], int(r["id"]), _utc(o)) for o, r in candidates]
    claimed = _claim(session, run_row.id, now, keys)
    if opts.again:
        chosen = list(zip(keys, (r for _, r in candidates), strict=True))
    else:
        # With contacts, the filter before the claim is in Python; the claim decides.
        chosen = [(k, r) for k, (_, r) in zip(keys, candidates, strict=True) if k in claimed]
    records = [r for _, r in chosen]
    failed_at = set(deliver(records)) if records else set()
    failed = [chosen[i] for i in sorted(failed_at)]
    for (kind, subject, occurrence), _ in failed:
        if (kind, subject, occurrence) in claimed:
            session.execute(
                delete(ReminderDelivery).where(
                    col(ReminderDelivery.kind) == kind,
                    col(ReminderDelivery.subject_id) == subject,
                    col(ReminderDelivery.occurrence) == occurrence,
                    col(ReminderDelivery.run_id) == run_row.id,
                )
            )
    session.execute(
        update(RemindRun)
        .where(col(RemindRun.id) == run_row.id)
        .values(reported=len(records) - len(failed), failed=len(failed))
    )
    return RunResult(run_id=run_row.id, at=now, records=records, failed=[r for _, r in failed])


# --- notifiers --------------------------------------------------------------------------------


def notify(command: str, reminder: dict[str, Any], timeout: float) -> str | None:
    """Run a notifier `command` (through the shell) with the reminder as JSON on stdin and
    CRM_REMINDER_* in its environment. None when it succeeded; else why it failed. A command
    still running after `timeout` seconds is killed, with everything it started."""
    env = dict(os.environ)
    env.update(
        {
            "CRM_REMINDER_KIND": str(reminder.get("kind", "")),
            "CRM_REMINDER_ID": str(reminder.get("id", "")),
            "CRM_REMINDER_TITLE": str(reminder.get("title", "")),
            "CRM_REMINDER_DUE": str(reminder.get("due_at", "")),
            "CRM_REMINDER_LATE": str(reminder.get("late", "")),
        }
    )
    payload = json.dumps(reminder, ensure_ascii=False).encode()
    try:
        proc = subprocess.Popen(
            command,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: a timeout kills all of it
        )
    except OSError as exc:
        return f"could not start: {exc.strerror}"
    try:
        _, err = proc.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        return f"timed out after {timeout:g} s"
    except BrokenPipeError:  # it exited without reading stdin: fine, judge by its status
        err = b""
        proc.wait()
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        return f"exit status {proc.returncode}" + (f": {detail[-1]}" if detail else "")
    return None


# --- scheduler health -------------------------------------------------------------------------


def status(ctx: Context, session: Session) -> dict[str, Any]:
    """When `crm remind` last ran, what it reported, and a warning when the runs have stopped:
    no run for twice the usual gap between runs (a quarter of an hour of slack, at least an
    hour in all)."""
    now = utcnow()
    tz = ctx.tz
    recent = list(
        session.execute(
            select(col(RemindRun.at), col(RemindRun.reported), col(RemindRun.failed))
            .order_by(col(RemindRun.at).desc(), col(RemindRun.id).desc())
            .limit(20)
        )
    )
    total = session.scalar(select(func.count()).select_from(RemindRun)) or 0
    if not recent:
        return {
            "last_run": None,
            "last_reported": None,
            "runs": 0,
            "usual_gap_seconds": None,
            "stopped": False,
            "warning": "crm remind has never run on this database; see `crm remind "
            "--print-crontab` to run it every 15 minutes",
        }
    last_at = _utc(recent[0][0])
    gaps = [
        (_utc(a[0]) - _utc(b[0])).total_seconds()
        for a, b in zip(recent, recent[1:], strict=False)
        if a[0] != b[0]
    ]
    usual = timedelta(seconds=median(gaps)) if gaps else timedelta(minutes=15)
    limit = max(_STALE_GAPS * usual + _STALE_SLACK, _STALE_FLOOR)
    since = now - last_at
    stopped = since > limit
    warning = None
    if stopped:
        warning = (
            f"crm remind last ran {late_text(since)} ago ({_local(last_at, tz)}), it usually "
            f"runs every {late_text(usual)}: is its cron job or timer still running?"
        )
    return {
        "last_run": dates.iso(last_at, tz),
        "last_run_local": _local(last_at, tz),
        "last_reported": int(recent[0][1]),
        "last_failed": int(recent[0][2]),
        "runs": int(total),
        "usual_gap_seconds": int(usual.total_seconds()),
        "since_seconds": int(since.total_seconds()),
        "stopped": stopped,
        "warning": warning,
    }


def stopped_warning(ctx: Context, session: Session) -> str | None:
    """The warning `crm today` shows: only once reminders have run here and then stopped."""
    found = status(ctx, session)
    return found["warning"] if found["stopped"] else None


# --- scheduling -------------------------------------------------------------------------------

# What a job under cron or systemd needs from the current environment to reach the same data.
_CARRIED = ("CRM_HOME", "CRM_DATABASE_URL")


def _carried(env: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, env[name]) for name in _CARRIED if env.get(name)]


def crontab_line(crm: str, env: dict[str, str], every_minutes: int = 15) -> str:
    """A crontab line that runs `crm remind` every quarter of an hour with this `crm` (an
    absolute path: cron's PATH is minimal) and this CRM_HOME / CRM_DATABASE_URL."""
    import shlex

    assigns = " ".join(f"{name}={shlex.quote(value)}" for name, value in _carried(env))
    prefix = f"{assigns} " if assigns else ""
    return f"*/{every_minutes} * * * * {prefix}{shlex.quote(crm)} remind"


def systemd_units(crm: str, env: dict[str, str], every_minutes: int = 15) -> str:
    """A systemd user service and timer for `crm remind`, as two files to save under
    ~/.config/systemd/user/ (the comment lines say which is which)."""
    environment = "".join(
        f'Environment="{name}={value.replace(chr(34), chr(92) + chr(34))}"\n'
        for name, value in _carried(env)
    )
    return (
        "# ~/.config/systemd/user/crm-remind.service\n"
        "[Unit]\n"
        "Description=crm reminders\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"{environment}"
        f"ExecStart={crm} remind\n\n"
        "# ~/.config/systemd/user/crm-remind.timer\n"
        "[Unit]\n"
        "Description=crm reminders every "
        f"{every_minutes} minutes\n\n"
        "[Timer]\n"
        f"OnCalendar=*:0/{every_minutes}\n"
        "Persistent=true\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n\n"
        "# then: systemctl --user daemon-reload && systemctl --user enable --now crm-remind.timer"
    )


def cadence_days(text: str) -> int:
    """A stay-in-touch cadence as typed (`30d`, `2w`, `30`; `off` or `0` for none) in days."""
    cleaned = text.strip().lower()
    if cleaned in ("off", "none", "never", "0", "0d"):
        return 0
    if cleaned.isdigit():
        cleaned += "d"
    span = parse_duration(cleaned, "every")
    if span < timedelta(days=1) or span % timedelta(days=1):
        raise InvalidValue("every", text, "a whole number of days or weeks, such as 30d or 2w")
    return span.days


def end_of_today(ctx: Context) -> datetime:
    """The last instant of today in the user's zone."""
    tz = ctx.tz
    tomorrow = utcnow().astimezone(tz).date() + timedelta(days=1)
    return dates.localize(tomorrow, time(0, 0), tz) - timedelta(microseconds=1)


def in_touch_due(ctx: Context, session: Session) -> list[dict[str, Any]]:
    """The current user's stay-in-touch contacts due by tonight, soonest first, as `crm today`
    lists them (at most AGENDA_LIMIT)."""
    owner_id = _owner_id(ctx, session, None, False)
    contacts = due_contacts(ctx, session, owner_id, end_of_today(ctx))
    return [r for _, r in _contact_reminders(ctx, session, contacts[:AGENDA_LIMIT], utcnow())]


# --- the day's agenda -------------------------------------------------------------------------

AGENDA_LIMIT = 50


def agenda(
    ctx: Context, session: Session, owner: str | None = None, everyone: bool = False
) -> dict[str, Any]:
    """What a person reads in the morning (`crm today`): overdue follow-ups, those due today,
    stay-in-touch contacts due by tonight, open deals with nothing scheduled, and the warning
    when reminders have stopped running. Reads only; reports nothing as delivered. Each list
    holds at most AGENDA_LIMIT items; `counts` says how many there are in all."""
    now = utcnow()
    tz = ctx.tz
    owner_id = _owner_id(ctx, session, owner, everyone)
    tomorrow = dates.localize(now.astimezone(tz).date() + timedelta(days=1), time(0, 0), tz)
    due = _effective_due_sql()
    base = select(Followup).where(
        col(Followup.done_at).is_(None), col(Followup.deleted_at).is_(None)
    )
    if owner_id is not None:
        base = base.where(col(Followup.owner_id) == owner_id)
    order = (due, col(Followup.id))

    def followups(*conds: Any) -> tuple[list[dict[str, Any]], int]:
        query = base.where(*conds)
        count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        found = list(session.scalars(query.order_by(*order).limit(AGENDA_LIMIT)))
        return [r for _, r in _followup_reminders(ctx, session, found, now)], int(count)

    overdue, overdue_count = followups(due <= now)
    today, today_count = followups(due > now, due < tomorrow)
    contacts = due_contacts(ctx, session, owner_id, end_of_today(ctx))
    in_touch = [r for _, r in _contact_reminders(ctx, session, contacts[:AGENDA_LIMIT], now)]
    stale = stale_deals_query(owner_id)
    stale_count = session.scalar(select(func.count()).select_from(stale.subquery())) or 0
    deals = list(session.scalars(stale.limit(AGENDA_LIMIT)))
    owners = owner_names(session, {d.owner_id for d in deals})
    no_next = [
        {
            "kind": DEAL,
            "id": d.id,
            "title": d.title,
            "owner_id": d.owner_id,
            "owner": owners.get(d.owner_id or 0),
            "act": f'crm followup add "Next step" --deal {d.id} --due tomorrow',
        }
        for d in deals
    ]
    return {
        "now": dates.iso(now, tz),
        "overdue": overdue,
        "today": today,
        "stay_in_touch": in_touch,
        "no_next_step": no_next,
        "counts": {
            "overdue": overdue_count,
            "today": today_count,
            "stay_in_touch": len(contacts),
            "no_next_step": int(stale_count),
        },
        "warning": stopped_warning(ctx, session),
    }
