"""The iCalendar feed of follow-ups: plain follow-up records in, an .ics file's bytes out.

Each follow-up is a VTODO a calendar can subscribe to and re-read:

- `UID` is derived from the record alone (its id and when it was created, no host or user
  name), so a calendar that reads the file again updates the entry instead of adding a second;
  `SEQUENCE` is the record's edit count, so the update wins.
- `DTSTART` is the promised due time and `DUE` when it is due now (later, if snoozed), both in
  the follow-up's own zone with that zone's VTIMEZONE; a repeat rule becomes an `RRULE` that
  keeps the local wall-clock time, as crm does.
- Done follow-ups are `STATUS:COMPLETED` with `COMPLETED` (their time); open ones
  `NEEDS-ACTION` with a `VALARM` at the due time.

Written with the `icalendar` library (folding, escaping and VTIMEZONE generation are its job).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

PRODID = "-//crm//follow-ups//EN"
PRIORITY = {"high": 1, "normal": 5, "low": 9}
_WEEKDAYS = ["MO", "TU", "WE", "TH", "FR"]


def uid(record: dict[str, Any]) -> str:
    """A stable UID: the record's id and its creation instant, nothing about the machine."""
    created: datetime = record["created_at"]
    return f"crm-followup-{record['id']}-{created.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def rrule(repeat: str) -> dict[str, Any]:
    """crm's repeat rule (`weekly`, `every 2 months`, `weekdays`) as an RRULE."""
    from crm_cli.domain.dates import parse_repeat

    rule = parse_repeat(repeat)
    if rule.unit == "weekdays":
        return {"FREQ": "WEEKLY", "BYDAY": _WEEKDAYS}
    freq = {"days": "DAILY", "weeks": "WEEKLY", "months": "MONTHLY"}[rule.unit]
    return {"FREQ": freq, "INTERVAL": rule.count} if rule.count > 1 else {"FREQ": freq}


def _description(record: dict[str, Any]) -> str:
    lines = [f"{label}: {record[key]}" for key, label in (("contact", "Contact"), ("deal", "Deal"))]
    lines = [line for line, key in zip(lines, ("contact", "deal"), strict=True) if record.get(key)]
    if record.get("notes"):
        lines += ["", str(record["notes"])]
    if record.get("done_at") is None:
        lines += ["", f"crm followup done {record['id']}"]
    return "\n".join(lines).strip()


def write_followups(records: Iterable[dict[str, Any]], *, name: str = "crm follow-ups") -> bytes:
    """The .ics bytes of `records`: dicts with id, title, due_at, timezone, snoozed_until,
    done_at, priority, repeat, notes, contact, deal, version, created_at, updated_at (times
    aware datetimes)."""
    from zoneinfo import ZoneInfo

    from icalendar import Alarm, Calendar, Todo

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for record in records:
        tz = ZoneInfo(record.get("timezone") or "UTC")
        due: datetime = record["due_at"]
        snoozed: datetime | None = record.get("snoozed_until")
        now_due = snoozed if snoozed is not None and snoozed > due else due
        todo = Todo()
        todo.add("uid", uid(record))
        todo.add("sequence", max(0, int(record.get("version") or 1) - 1))
        todo.add("dtstamp", record["updated_at"].astimezone(UTC))
        todo.add("created", record["created_at"].astimezone(UTC))
        todo.add("last-modified", record["updated_at"].astimezone(UTC))
        todo.add("summary", record["title"])
        description = _description(record)
        if description:
            todo.add("description", description)
        todo.add("dtstart", due.astimezone(tz))
        todo.add("due", now_due.astimezone(tz))
        todo.add("priority", PRIORITY.get(str(record.get("priority")), 5))
        if record.get("repeat"):
            todo.add("rrule", rrule(str(record["repeat"])))
        done: datetime | None = record.get("done_at")
        if done is not None:
            todo.add("status", "COMPLETED")
            todo.add("completed", done.astimezone(UTC))
            todo.add("percent-complete", 100)
        else:
            todo.add("status", "NEEDS-ACTION")
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", record["title"])
            alarm.add("trigger", timedelta(0), parameters={"RELATED": "END"})
            todo.add_component(alarm)
        cal.add_component(todo)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
