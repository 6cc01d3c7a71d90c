"""Dates and times as people type them, read in the user's time zone.

Times are stored in UTC and shown in the user's zone. WHEN accepts ISO dates and times and
everyday forms: `now`, `today`, `tomorrow 9:00`, `+3d`, `+2h`, `in 2 weeks`, `next monday`,
`friday 14:30`. A date without a time means 09:00 local: the start of a working day, when a
reminder is useful.

Repeat rules keep the local wall-clock time across daylight-saving changes: a weekly 10:00
follow-up stays at 10:00 in Berlin when the clocks go back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from crm_cli.errors import InvalidValue

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

DEFAULT_TIME = time(9, 0)

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_ABBR = {name[:3]: i for i, name in enumerate(WEEKDAYS)} | {
    name: i for i, name in enumerate(WEEKDAYS)
}
_UNITS = {
    "m": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "h": "hours", "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours",
    "d": "days", "day": "days", "days": "days",
    "w": "weeks", "wk": "weeks", "week": "weeks", "weeks": "weeks",
    "mo": "months", "month": "months", "months": "months",
    "y": "years", "year": "years", "years": "years",
}
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_RELATIVE = re.compile(r"^(?:\+|in\s+)(\d+)\s*([a-z]+)$")
_WHEN_HELP = "use an ISO date/time or today, tomorrow 9:00, +3d, in 2 weeks, next monday"


def zone(name: str | None, field: str = "timezone") -> ZoneInfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name:
        return local_zone()
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(field, name, "not a time zone (an IANA name such as Europe/Berlin)") \
            from None


def local_zone() -> ZoneInfo:
    """The machine's zone, as an IANA zone when it can be found; UTC otherwise."""
    import os
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        link = os.readlink("/etc/localtime")
        candidates.append(link.split("zoneinfo/", 1)[-1])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def now_utc() -> datetime:
    return datetime.now(UTC)


def localize(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` as an aware datetime. In a DST gap, the later reading."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz)
    # Round-trip through UTC: a time that does not exist (spring forward) moves forward.
    roundtrip = aware.astimezone(UTC).astimezone(tz)
    if roundtrip.replace(tzinfo=None) != naive:
        aware = naive.replace(tzinfo=tz, fold=1).astimezone(UTC).astimezone(tz)
    return aware


def _parse_time(text: str) -> time | None:
    m = _TIME.match(text.strip())
    if not m:
        return None
    hour, minute, ampm = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    import calendar

    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


def parse_when(text: str, tz: ZoneInfo, *, now: datetime | None = None,
               field: str = "due") -> datetime:
    """Parse WHEN into an aware UTC datetime. `now` is for tests."""
    raw = text
    text = " ".join(text.strip().lower().split())
    current = (now or now_utc()).astimezone(tz)
    if not text:
        raise InvalidValue(field, raw, _WHEN_HELP)
    result = _parse_absolute(text, tz)
    if result is None:
        result = _parse_everyday(text, tz, current)
    if result is None:
        raise InvalidValue(field, raw, f"not a date or time; {_WHEN_HELP}")
    return result.astimezone(UTC)


def _parse_absolute(text: str, tz: ZoneInfo) -> datetime | None:
    candidate = text.upper().replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2}", text) else ""
    if not candidate:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return localize(date.fromisoformat(text), DEFAULT_TIME, tz)
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return localize(parsed.date(), parsed.time(), tz)
    return parsed


def _parse_everyday(text: str, tz: ZoneInfo, current: datetime) -> datetime | None:
    if text == "now":
        return current
    m = _RELATIVE.match(text)
    if m:
        amount, unit = int(m.group(1)), _UNITS.get(m.group(2))
        if unit is None:
            return None
        if unit in ("minutes", "hours"):
            return current + timedelta(**{unit: amount})
        if unit == "months":
            day = add_months(current.date(), amount)
        elif unit == "years":
            day = add_months(current.date(), 12 * amount)
        else:
            day = current.date() + timedelta(**{unit: amount})
        # A relative day keeps the current time of day: "+1d" is this time tomorrow.
        return localize(day, current.time().replace(second=0, microsecond=0), tz)
    words = text.split(" ")
    at: time | None = None
    if len(words) > 1:
        at = _parse_time(words[-1])
        if at is not None:
            words = words[:-1]
        elif words[-2] == "at" or words[-1] in ("am", "pm"):
            return None
    if words and words[-1] == "at":
        words = words[:-1]
    day = _parse_day(" ".join(words), current.date())
    if day is None:
        only_time = _parse_time(text)
        if only_time is None:
            return None
        candidate = localize(current.date(), only_time, tz)
        return candidate if candidate >= current else localize(
            current.date() + timedelta(days=1), only_time, tz)
    return localize(day, at or DEFAULT_TIME, tz)


def _parse_day(text: str, today: date) -> date | None:
    if text == "today":
        return today
    if text in ("tomorrow", "tmr"):
        return today + timedelta(days=1)
    if text == "yesterday":
        return today - timedelta(days=1)
    if text in ("next week",):
        return today + timedelta(days=7 - today.weekday())
    if text in ("next month",):
        return add_months(today.replace(day=1), 1)
    words = text.split(" ")
    nxt = words[0] in ("next", "this") and len(words) == 2
    name = words[-1] if nxt else text
    if name in _WEEKDAY_ABBR and (nxt or len(words) == 1):
        ahead = (_WEEKDAY_ABBR[name] - today.weekday()) % 7
        if ahead == 0 and words[0] != "this":
            ahead = 7
        return today + timedelta(days=ahead)
    return None


def parse_date(text: str, tz: ZoneInfo, *, now: datetime | None = None,
               field: str = "date") -> date:
    """A calendar date from an ISO date or the everyday forms of `parse_when`."""
    stripped = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", stripped):
        try:
            return date.fromisoformat(stripped)
        except ValueError:
            raise InvalidValue(field, text, "not a valid date (YYYY-MM-DD)") from None
    return parse_when(text, tz, now=now, field=field).astimezone(tz).date()


# --- repeat rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Repeat:
    """A repeat rule: every `count` `unit`s, or every weekday (Monday to Friday)."""

    unit: str  # days, weeks, months, weekdays
    count: int = 1

    def __str__(self) -> str:
        if self.unit == "weekdays":
            return "weekdays"
        names = {"days": "daily", "weeks": "weekly", "months": "monthly"}
        if self.count == 1:
            return names[self.unit]
        return f"every {self.count} {self.unit}"

    def next_after(self, due: datetime, tz: ZoneInfo) -> datetime:
        """The next occurrence after `due`, at the same local wall-clock time."""
        local = due.astimezone(tz)
        day = local.date()
        if self.unit == "days":
            day += timedelta(days=self.count)
        elif self.unit == "weeks":
            day += timedelta(weeks=self.count)
        elif self.unit == "months":
            day = add_months(day, self.count)
        else:
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
        return localize(day, local.time().replace(tzinfo=None), tz).astimezone(UTC)


_REPEAT_WORDS = {"daily": ("days", 1), "weekly": ("weeks", 1), "monthly": ("months", 1),
                 "weekdays": ("weekdays", 1), "biweekly": ("weeks", 2),
                 "fortnightly": ("weeks", 2)}


def parse_repeat(text: str, field: str = "repeat") -> Repeat:
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in _REPEAT_WORDS:
        unit, count = _REPEAT_WORDS[cleaned]
        return Repeat(unit, count)
    m = re.fullmatch(r"every\s+(\d+)?\s*([a-z]+)", cleaned)
    if m:
        count = int(m.group(1) or 1)
        unit = _UNITS.get(m.group(2))
        if unit in ("days", "weeks", "months") and 1 <= count <= 366:
            return Repeat(unit, count)
    raise InvalidValue(field, text,
                       "use daily, weekly, monthly, weekdays or \"every N days|weeks|months\"")


def iso(value: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """ISO 8601 with offset, in `tz` when given (else UTC)."""
    if value is None:
        return None
    return value.astimezone(tz or UTC).isoformat(timespec="seconds")
