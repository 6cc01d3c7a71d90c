"""Dates and times as people type them, read in the user's time zone.

Times are stored in UTC and shown in the user's zone. WHEN accepts ISO dates and times and
everyday forms: `now`, `today`, `tomorrow 9:00`, `+3d`, `+2h`, `in 2 weeks`, `next monday`,
`friday 14:30`, `-7d`, `3 days ago`, `last monday`. A date without a time means 09:00 local for
a due time (the start of a working day, when a reminder is useful) and 00:00 for the start of
a listing period (`parse_since`).

Wall-clock rules, across daylight-saving changes: a time that does not exist (the hour the
clocks skip in spring) moves forward by the gap, 02:30 becomes 03:30; a time that happens twice
(the hour repeated in autumn) means the first of the two. `+2h` is two real hours later.

Repeat rules keep the local wall-clock time across daylight-saving changes: a weekly 10:00
follow-up stays at 10:00 in Berlin when the clocks go back, and a daily 02:30 moved to 03:30
by the spring gap is back at 02:30 the next day.

Every time read is between 1900-01-01 and 9998-12-31 (in the zone it was typed in). Python's
datetime ends at 9999-12-31, and a stored time must convert to every zone (UTC-12 to UTC+14,
a day either way) and have a repeat step added without running off that end; 1900 is older
than any date a CRM records, and keeps typos such as 0202 out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from crm_cli.errors import InvalidValue

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

DEFAULT_TIME = time(9, 0)
MIN_YEAR, MAX_YEAR = 1900, 9998
_RANGE = f"must be between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31"

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_ABBR = {name[:3]: i for i, name in enumerate(WEEKDAYS)} | {
    name: i for i, name in enumerate(WEEKDAYS)
}
_UNITS = {
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "wk": "weeks",
    "week": "weeks",
    "weeks": "weeks",
    "mo": "months",
    "month": "months",
    "months": "months",
    "y": "years",
    "year": "years",
    "years": "years",
}
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
_RELATIVE = re.compile(r"^(?:\+|in\s+)(\d+)\s*([a-z]+)$")
_RELATIVE_PAST = re.compile(r"^(?:-(\d+)\s*([a-z]+)|(\d+)\s*([a-z]+)\s+ago)$")
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[t ]\s*(.+))?$")
_WHEN_HELP = "use an ISO date/time or today, tomorrow 9:00, +3d, in 2 weeks, next monday"


def zone(name: str | None, field: str = "timezone") -> ZoneInfo:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not name:
        return local_zone()
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a directory
        raise InvalidValue(
            field, name, "not a time zone (an IANA name such as Europe/Berlin)"
        ) from None


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
    """A wall-clock time in `tz` as an aware datetime.

    In a DST gap (a time the clocks skip) the time moves forward by the gap: 02:30 on the
    spring-forward night in Berlin is 03:30 CEST. In a fold (a time that happens twice) it is
    the first of the two readings.
    """
    naive = datetime.combine(day, at.replace(tzinfo=None))
    # fold=0 reads a time in a gap with the offset from before the change, which lands after
    # the gap once normalised through UTC; in a fold it is the first (summer-time) reading.
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def exists(day: date, at: time, tz: ZoneInfo) -> bool:
    """Whether the wall-clock time `at` on `day` happens in `tz` (False inside a DST gap)."""
    naive = datetime.combine(day, at.replace(tzinfo=None))
    return localize(day, at, tz).replace(tzinfo=None) == naive


def gap_origin(reading: datetime, tz: ZoneInfo) -> time | None:
    """The skipped wall-clock time that `localize` moved forward to `reading`, if any.

    03:30 CEST on the spring-forward night in Berlin may be 02:30 moved past the gap; a repeat
    rule uses this to go back to 02:30 on the following days.
    """
    local = reading.astimezone(tz)
    after = local.utcoffset()
    before = (local.astimezone(UTC) - timedelta(days=1)).astimezone(tz).utcoffset()
    if after is None or before is None or after <= before:
        return None
    naive = local.replace(tzinfo=None) - (after - before)
    if naive.date() != local.date() or exists(naive.date(), naive.time(), tz):
        return None
    return naive.time() if localize(naive.date(), naive.time(), tz) == local else None


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


def parse_when(
    text: str, tz: ZoneInfo, *, now: datetime | None = None, field: str = "due"
) -> datetime:
    """Parse WHEN into an aware UTC datetime. `now` is for tests."""
    return _parse(text, tz, now, field, DEFAULT_TIME)


def parse_since(
    text: str, tz: ZoneInfo, *, now: datetime | None = None, field: str = "since"
) -> datetime:
    """Parse the start of a period (`--since`): like `parse_when`, but a day without a time
    means the start of that day (00:00 local), so `--since today` includes this morning."""
    return _parse(text, tz, now, field, time(0, 0))


def _parse(text: str, tz: ZoneInfo, now: datetime | None, field: str, default: time) -> datetime:
    raw = text
    text = " ".join(text.strip().lower().split())
    current = (now or now_utc()).astimezone(tz)
    if not text:
        raise InvalidValue(field, raw, _WHEN_HELP)
    try:
        result = _parse_absolute(text, tz, default)
        if result is None:
            result = _parse_everyday(text, tz, current, default)
        if result is not None:
            result = result.astimezone(UTC)
            year = result.astimezone(tz).year
    except (OverflowError, ValueError):  # "+99999999d", "in 9000 years", "9999-12-31 23:00-05"
        raise InvalidValue(field, raw, _RANGE) from None
    if result is None:
        raise InvalidValue(field, raw, f"not a date or time; {_WHEN_HELP}")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidValue(field, raw, _RANGE)
    return result


def _parse_absolute(text: str, tz: ZoneInfo, default: time = DEFAULT_TIME) -> datetime | None:
    m = _ISO_DATE.match(text)
    if not m:
        return None
    try:
        day = date.fromisoformat(m.group(1))
    except ValueError:
        return None
    rest = m.group(2)
    if rest is None:
        return localize(day, default, tz)
    at = _parse_time(rest)  # "2026-11-30 9:00", "2026-11-30 9am"
    if at is not None:
        return localize(day, at, tz)
    candidate = f"{m.group(1)}T{rest.replace(' ', '').upper()}".replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return localize(parsed.date(), parsed.time(), tz)
    return parsed


def _relative(amount: int, unit: str, current: datetime, tz: ZoneInfo) -> datetime:
    if unit in ("minutes", "hours"):
        # Real elapsed time: "+2h" across a DST change is still two hours from now.
        return (current.astimezone(UTC) + timedelta(**{unit: amount})).astimezone(tz)
    if unit == "months":
        day = add_months(current.date(), amount)
    elif unit == "years":
        day = add_months(current.date(), 12 * amount)
    else:
        day = current.date() + timedelta(**{unit: amount})
    # A relative day keeps the current time of day: "+1d" is this time tomorrow.
    return localize(day, current.time().replace(second=0, microsecond=0), tz)


def _parse_everyday(
    text: str, tz: ZoneInfo, current: datetime, default: time = DEFAULT_TIME
) -> datetime | None:
    if text == "now":
        return current
    m = _RELATIVE.match(text)
    if m:
        unit = _UNITS.get(m.group(2))
        return _relative(int(m.group(1)), unit, current, tz) if unit else None
    m = _RELATIVE_PAST.match(text)
    if m:
        amount, unit = int(m.group(1) or m.group(3)), _UNITS.get(m.group(2) or m.group(4))
        return _relative(-amount, unit, current, tz) if unit else None
    words = text.split(" ")
    if len(words) > 1 and words[-1] in ("am", "pm"):  # "tomorrow 9 am"
        words = [*words[:-2], words[-2] + words[-1]]
    at: time | None = None
    if len(words) > 1:
        at = _parse_time(words[-1])
        if at is not None:
            words = words[:-1]
            if words[-1] == "at":  # "tomorrow at 9:00"
                words = words[:-1]
        elif words[-2] == "at":
            return None
    if words and words[-1] == "at":  # "tomorrow at": the time is missing
        return None
    day = _parse_day(" ".join(words), current.date())
    if day is None:
        if not words:  # "at 9:00"
            only_time: time | None = at
        else:
            only_time = _parse_time(" ".join(words)) if at is None else None
        if only_time is None:
            return None
        candidate = localize(current.date(), only_time, tz)
        return (
            candidate
            if candidate >= current
            else localize(current.date() + timedelta(days=1), only_time, tz)
        )
    return localize(day, at or default, tz)


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
    if len(words) == 2 and words[0] == "last" and words[1] in _WEEKDAY_ABBR:
        back = (today.weekday() - _WEEKDAY_ABBR[words[1]]) % 7
        return today - timedelta(days=back or 7)
    nxt = words[0] in ("next", "this") and len(words) == 2
    name = words[-1] if nxt else text
    if name in _WEEKDAY_ABBR and (nxt or len(words) == 1):
        ahead = (_WEEKDAY_ABBR[name] - today.weekday()) % 7
        if ahead == 0 and words[0] != "this":
            ahead = 7
        return today + timedelta(days=ahead)
    return None


def parse_date(
    text: str, tz: ZoneInfo, *, now: datetime | None = None, field: str = "date"
) -> date:
    """A calendar date from an ISO date or the everyday forms of `parse_when`."""
    stripped = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", stripped):
        try:
            day = date.fromisoformat(stripped)
        except ValueError:
            raise InvalidValue(field, text, "not a valid date (YYYY-MM-DD)") from None
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise InvalidValue(field, text, _RANGE)
        return day
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

    def next_after(
        self, due: datetime, tz: ZoneInfo, *, previous: Iterable[datetime] = ()
    ) -> datetime:
        """The next occurrence after `due`, at the same local wall-clock time.

        `previous` are the series' earlier occurrences, newest first (read lazily, only as far
        as needed). They keep the series on its intended day and time when `due` itself was
        moved: a monthly rule on the 31st clamped to Feb 28 goes back to Mar 31, and a 02:30
        moved to 03:30 by the spring-forward gap goes back to 02:30 the next day.

        A time the gap could have moved (03:30 on the spring-forward night in Berlin) is read
        as moved, back to 02:30, unless the occurrence before it was at 03:30 too: the instant
        cannot tell "02:30" typed from "03:30" typed, and 02:30 typed is how a series created
        that night is kept at its time (the first occurrence has no history to ask).
        """
        local = due.astimezone(tz)
        day, at = local.date(), local.time()
        earlier = iter(previous)
        first: datetime | None = None
        shifted = gap_origin(local, tz)
        if shifted is not None:
            first = next(earlier, None)
            if first is None or first.astimezone(tz).time() != at:
                at = shifted
        if self.unit == "days":
            day += timedelta(days=self.count)
        elif self.unit == "weeks":
            day += timedelta(weeks=self.count)
        elif self.unit == "months":
            anchor = day.day
            chain = earlier if first is None else _chain(first, earlier)
            seen = local
            # Read back through occurrences clamped to a month's end for the intended day.
            while anchor < 31 and _month_end(seen.date()):
                before = next(chain, None)
                if before is None:
                    break
                seen = before.astimezone(tz)
                anchor = max(anchor, seen.day)
            day = add_months(day.replace(day=1), self.count)
            day = day.replace(day=min(anchor, _days_in_month(day)))
        else:
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
        return localize(day, at, tz).astimezone(UTC)


def _chain(first: datetime, rest: Iterable[datetime]) -> Iterator[datetime]:
    yield first
    yield from rest


def _days_in_month(day: date) -> int:
    import calendar

    return calendar.monthrange(day.year, day.month)[1]


def _month_end(day: date) -> bool:
    return day.day == _days_in_month(day)


_REPEAT_WORDS = {
    "daily": ("days", 1),
    "weekly": ("weeks", 1),
    "monthly": ("months", 1),
    "weekdays": ("weekdays", 1),
    "every weekday": ("weekdays", 1),
    "biweekly": ("weeks", 2),
    "fortnightly": ("weeks", 2),
}


def parse_repeat(text: str, field: str = "repeat") -> Repeat:
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in _REPEAT_WORDS:
        unit, count = _REPEAT_WORDS[cleaned]
        return Repeat(unit, count)
    m = re.fullmatch(r"every\s+(\d+)?\s*([a-z]+)", cleaned)
    if m:
        count = int(m.group(1) or 1)
        every = _UNITS.get(m.group(2))
        if every in ("days", "weeks", "months") and 1 <= count <= 366:
            return Repeat(str(every), count)
    raise InvalidValue(
        field, text, 'use daily, weekly, monthly, weekdays or "every N days|weeks|months"'
    )


def iso(value: datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """ISO 8601 with offset, in `tz` when given (else UTC).

    A stored time too close to the end of the calendar to convert (9999-12-31 23:30 UTC in
    Tokyo is in the year 10000; such rows predate the input bounds) is given in UTC rather
    than failing the whole listing.
    """
    if value is None:
        return None
    try:
        return value.astimezone(tz or UTC).isoformat(timespec="seconds")
    except OverflowError:
        pass
    try:
        return value.astimezone(UTC).isoformat(timespec="seconds")
    except OverflowError:  # an aware time at the very edge, west of UTC: as it is
        return value.isoformat(timespec="seconds")
