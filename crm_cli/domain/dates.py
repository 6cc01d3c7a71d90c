"""Dates and times as people type them, read in the user's time zone.

Times are stored in UTC and shown in the user's zone. This is the one reader of typed dates
(every option that takes a time, and the importers); docs/followups.md tables the forms.

A day without a time is at `defaults.due_time` (09:00, the start of a working day, when a
reminder is useful), never at the current minute: `+3d`, `friday`, `dec 1`. The start of a
listing period (`parse_since`) is 00:00 instead. Hours and minutes are exact. Bare forms
(`friday`, `dec 1`, `17:00`, `2d`) look forward for a due time and back for the start of a
period (`--since monday` is the Monday just gone); explicit words win (`+2d`, `-2d`, `next`,
`last`, `this`, `ago`, a year). `1/12/2026` is read by `defaults.date_order`; unset, a date
that reads both ways is refused naming both readings, not guessed. Dots are day.month.year
in every locale that writes them.

Wall-clock rules, across daylight-saving changes: a time that does not exist (the hour the
clocks skip in spring) moves forward by the gap, 02:30 becomes 03:30; a time that happens twice
(the hour repeated in autumn) means the first of the two, except a time alone, which is the
next reading still to come. `+2h` is two real hours later.

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
END_OF_DAY = time(17, 0)
DATE_ORDERS = ("dmy", "mdy", "ymd")
MIN_YEAR, MAX_YEAR = 1900, 9998
_RANGE = f"must be between {MIN_YEAR}-01-01 and {MAX_YEAR}-12-31"


@dataclass(frozen=True)
class DateSettings:
    """The settings that shape how dates are read (`Config.date_settings` builds one).

    `order` is `defaults.date_order` (None: refuse a numeric date that reads both ways),
    `due_time` the time of a day typed without one, `end_of_day` the time of `eod` and `eow`.
    """

    order: str | None = None
    due_time: time = DEFAULT_TIME
    end_of_day: time = END_OF_DAY


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_ABBR = {n: i for i, name in enumerate(WEEKDAYS) for n in (name, name[:3])}
MONTHS = "january february march april may june july august september october november december"
_MONTH_NAMES = MONTHS.split()
_MONTH = {n: i for i, name in enumerate(_MONTH_NAMES, 1) for n in (name, name[:3])} | {"sept": 9}
_UNITS = {
    word: unit
    for unit, words in {
        "minutes": "min mins minute minutes",
        "hours": "h hr hrs hour hours",
        "days": "d day days",
        "weeks": "w wk week weeks",
        # A bare "m" is refused (see _amount): minutes to some, months to others.
        "months": "mo mon month months",
        "years": "y year years",
    }.items()
    for word in words.split()
}
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$")
# +3d, -1d, in 3 days, in a week, 2d, 3 weeks, 3 days ago, an hour ago
_AMOUNT = re.compile(r"^(?:([+-])|(in) )?(?:(\d+) ?|(an?) )([a-z]+)( ago)?$")
_MONTH_FIRST = re.compile(r"^([a-z]+) (\d{1,2})(?:st|nd|rd|th)?(?: (\d{4}))?$")  # dec 1st 2026
_DAY_FIRST = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?(?: of)? ([a-z]+)(?: (\d{4}))?$")  # 1 dec
_NUMERIC = re.compile(r"^(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})$")  # 1.12.2026, 1/12/2026
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[t ]\s*(.+))?$")
_OFFSET = re.compile(r"(?:z|[+-]\d{2}(?::?\d{2})?)$")
_WHEN_HELP = "use an ISO date/time or today, tomorrow 9:00, +3d, in 2 weeks, next monday, dec 1"


class _Refused(Exception):
    """A form recognised but not readable as typed; the message is the reason shown."""


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
    """Now, in UTC: the clock, or `CRM_NOW` when it is set (for tests; docs/reminders.md).

    `CRM_NOW` is an ISO 8601 time with its offset (`2026-03-29T01:30:00+01:00`, or `Z`), so a
    test can walk a sequence of times through every command without sleeping. A value without
    an offset, or not a time at all, is refused rather than read in some zone.
    """
    import os

    fixed = os.environ.get("CRM_NOW")
    if not fixed:
        return datetime.now(UTC)
    return _fixed_now(fixed)


def _fixed_now(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue(
            "CRM_NOW", text, "not an ISO 8601 time (such as 2026-11-30T09:00:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        raise InvalidValue("CRM_NOW", text, "give the offset (+01:00, Z): a time without one")
    return moment.astimezone(UTC)


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


def _second_reading(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The later of the two readings of a wall-clock time that happens twice (the hour
    repeated in autumn), or None when it happens once."""
    first = localize(day, at, tz)
    naive = datetime.combine(day, at.replace(tzinfo=None))
    later = naive.replace(tzinfo=tz, fold=1).astimezone(UTC).astimezone(tz)
    if later.replace(tzinfo=None) != naive or later.utcoffset() == first.utcoffset():
        return None
    return later


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


def parse_clock(text: str, field: str = "time") -> time:
    """A time of day for a setting: `17:00`, `9:30`, `5pm`, `noon` (`17:00:00` as TOML
    writes a time)."""
    cleaned = text.strip().lower()
    if re.fullmatch(r"\d{1,2}:\d{2}:00", cleaned):
        cleaned = cleaned[:-3]
    at = time(12, 0) if cleaned == "noon" else _parse_time(cleaned)
    if at is None:
        raise InvalidValue(field, text, "not a time of day (such as 09:00, 17:30 or 5pm)")
    return at


def _clock(text: str, end_of_day: time) -> tuple[time, int] | None:
    """A time of day as typed, and the days it is after the day it is on: `midnight` ends
    the day (`friday midnight` is Saturday 00:00)."""
    words = {"noon": (time(12, 0), 0), "midnight": (time(0, 0), 1), "eod": (end_of_day, 0)}
    if text in words:
        return words[text]
    at = _parse_time(text)
    return None if at is None else (at, 0)


def _clock_splits(words: list[str], end_of_day: time) -> Iterator[tuple[tuple[time, int], str]]:
    """The ways `words` read as a time and a day: the time last (`tomorrow 9 am`, `friday
    at noon`) or first (`noon tomorrow`, `3pm on friday`). The day is "" for a time alone."""
    n = 2 if len(words) > 1 and words[-1] in ("am", "pm") else 1
    clock = _clock("".join(words[-n:]), end_of_day)
    if clock is not None:
        rest = words[:-n]
        yield clock, " ".join(rest[:-1] if rest and rest[-1] == "at" else rest)
    first = words[1:] if words[0] == "at" else words
    n = 2 if len(first) > 1 and first[1] in ("am", "pm") else 1
    clock = _clock("".join(first[:n]), end_of_day)
    rest = first[n:]
    rest = rest[1:] if rest and rest[0] == "on" else rest
    if clock is not None and rest:
        yield clock, " ".join(rest)


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    import calendar

    last = calendar.monthrange(year, month)[1]
    return day.replace(year=year, month=month, day=min(day.day, last))


def parse_when(
    text: str,
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
    field: str = "due",
    settings: DateSettings | None = None,
) -> datetime:
    """Parse WHEN into an aware UTC datetime. `now` is for tests; `settings` are the user's
    (`ctx.config.date_settings`), the defaults without them."""
    settings = settings or DateSettings()
    return _parse(text, tz, now, field, settings, settings.due_time, back=False)


def parse_since(
    text: str,
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
    field: str = "since",
    settings: DateSettings | None = None,
) -> datetime:
    """Parse the start of a period (`--since`): like `parse_when`, but a day without a time
    means the start of that day (00:00 local), so `--since today` includes this morning, and
    bare forms count back: `--since monday` is the last Monday, `--since 2d` two days ago."""
    return _parse(text, tz, now, field, settings or DateSettings(), time(0, 0), back=True)


def _parse(
    text: str,
    tz: ZoneInfo,
    now: datetime | None,
    field: str,
    settings: DateSettings,
    default: time,
    *,
    back: bool,
) -> datetime:
    raw = text
    text = " ".join(text.strip().lower().replace(",", " ").split())
    if not text:
        raise InvalidValue(field, raw, _WHEN_HELP)
    reader = _Reader(tz, (now or now_utc()).astimezone(tz), settings, default, back)
    try:
        result = _parse_absolute(text, tz, default, settings.end_of_day) or reader.read(text)
        if result is not None:
            result = result.astimezone(UTC)
            year = result.astimezone(tz).year
    except _Refused as refused:
        raise InvalidValue(field, raw, str(refused)) from None
    except (OverflowError, ValueError):  # "+99999999d", "in 9000 years", "9999-12-31 23:00-05"
        raise InvalidValue(field, raw, _RANGE) from None
    if result is None:
        raise InvalidValue(field, raw, f"not a date or time; {_WHEN_HELP}")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidValue(field, raw, _RANGE)
    return result


def _parse_absolute(text: str, tz: ZoneInfo, default: time, end_of_day: time) -> datetime | None:
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
    clock = _clock(rest, end_of_day)  # "2026-11-30 9:00", "2026-11-30 9am", "2026-11-30 noon"
    if clock is not None:
        return localize(day + timedelta(days=clock[1]), clock[0], tz)
    candidate = f"{m.group(1)}T{rest.replace(' ', '').upper()}".replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return localize(parsed.date(), parsed.time(), tz)
    return parsed


def _date(year: int, month: int, day: int) -> date | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _Refused(_RANGE)
    try:
        return date(year, month, day)
    except ValueError:  # 30 February, month 13
        return None


@dataclass(frozen=True)
class _Reader:
    """One reading of WHEN in `tz` at `now` (local). `default` is the time of a day typed
    without one; `back` makes bare forms count back from now (the start of a period)."""

    tz: ZoneInfo
    now: datetime
    settings: DateSettings
    default: time
    back: bool

    def read(self, text: str) -> datetime | None:
        if text == "now":
            return self.now
        amount = self._amount(text)
        if amount is not None and amount[1] in ("minutes", "hours"):
            # Real elapsed time: "+2h" across a DST change is still two hours from now.
            delta = timedelta(**{amount[1]: amount[0]})
            return (self.now.astimezone(UTC) + delta).astimezone(self.tz)
        if text == "eow":  # the end of the working week: Friday at the end of the day
            return self._next(self.now.date(), self.settings.end_of_day, step=7, weekday=4)
        day = self._day(text)
        if day is not None:
            return localize(day, self.default, self.tz)
        for (at, after), rest in _clock_splits(text.split(" "), self.settings.end_of_day):
            if not rest:  # a time alone: the next time the clock shows it (or the last)
                return self._next(self.now.date() + timedelta(days=after), at, step=1)
            day = self._day(rest)
            if day is not None:
                return localize(day + timedelta(days=after), at, self.tz)
        return None

    def _next(self, day: date, at: time, *, step: int, weekday: int | None = None) -> datetime:
        """`at` on `day` (moved to `weekday`), or `step` days on (back) when that is past
        (still to come)."""
        if weekday is not None:
            shift = (day.weekday() - weekday) % 7 if self.back else (weekday - day.weekday()) % 7
            day += timedelta(days=-shift if self.back else shift)
        moment = localize(day, at, self.tz)
        # Compared in UTC: two times of one zone compare by their wall clocks, which in the
        # autumn's repeated hour puts 02:45 CEST after 02:30 CET.
        now = self.now.astimezone(UTC)
        if self.back and moment.astimezone(UTC) > now:
            return localize(day - timedelta(days=step), at, self.tz)
        if not self.back and moment.astimezone(UTC) < now:
            # In the repeated hour the second reading (02:45 CET) may still be to come.
            second = _second_reading(day, at, self.tz)
            if second is not None and second.astimezone(UTC) >= now:
                return second
            return localize(day + timedelta(days=step), at, self.tz)
        return moment

    def _amount(self, text: str) -> tuple[int, str] | None:
        """`+3d`, `in a week`, `-1d`, `3 days ago`, and bare `2d` (back in a period's start)."""
        m = _AMOUNT.match(text)
        if not m:
            return None
        sign, into, number, _, word, ago = m.groups()
        if word == "m":
            raise _Refused("m could be minutes or months; write min or mo (+30min, +2mo)")
        unit = _UNITS.get(word)
        if unit is None or (ago and (sign or into)):
            return None
        amount = int(number) if number else 1
        bare_back = self.back and not (sign or into or ago)
        return (-amount if sign == "-" or ago or bare_back else amount), unit

    def _day(self, text: str) -> date | None:
        today = self.now.date()
        named = {"today": 0, "tomorrow": 1, "tmr": 1, "yesterday": -1}
        if text in named:
            return today + timedelta(days=named[text])
        if text == "next week":
            return today + timedelta(days=7 - today.weekday())
        if text == "next month":
            return add_months(today.replace(day=1), 1)
        amount = self._amount(text)
        if amount is not None and amount[1] not in ("minutes", "hours"):
            count, unit = amount
            if unit in ("months", "years"):
                return add_months(today, count * (12 if unit == "years" else 1))
            return today + timedelta(**{unit: count})
        words = text.split(" ")
        if len(words) == 2 and words[0] in ("last", "next", "this") and words[1] in _WEEKDAY_ABBR:
            wanted = _WEEKDAY_ABBR[words[1]]
            if words[0] == "last":
                return today - timedelta(days=(today.weekday() - wanted) % 7 or 7)
            ahead = (wanted - today.weekday()) % 7
            return today + timedelta(days=ahead or (0 if words[0] == "this" else 7))
        if text in _WEEKDAY_ABBR:  # a bare weekday: the next one (not today), or the last one
            wanted = _WEEKDAY_ABBR[text]
            if self.back:
                return today - timedelta(days=(today.weekday() - wanted) % 7)
            return today + timedelta(days=(wanted - today.weekday()) % 7 or 7)
        return self._calendar_date(text, today)

    def _calendar_date(self, text: str, today: date) -> date | None:
        if m := _NUMERIC.match(text):
            return self._numeric(*m.groups())
        if m := _MONTH_FIRST.match(text):
            name, number, year = m.groups()
        elif m := _DAY_FIRST.match(text):
            number, name, year = m.groups()
        else:
            return None
        month = _MONTH.get(name)
        if month is None:
            return None
        if year is not None:
            return _date(int(year), month, int(number))
        # Without a year: the next such day (today included), or the last one; 29 February
        # comes round within eight years.
        for years in range(9):
            found = _date(today.year + (-years if self.back else years), month, int(number))
            if found is not None and (found <= today if self.back else found >= today):
                return found
        return None

    def _numeric(self, first: str, sep: str, second: str, third: str) -> date | None:
        if len(first) == 4:  # 2026/12/01, 2026.12.01: nobody writes year-day-month
            return _date(int(first), int(second), int(third))
        if len(third) != 4:
            raise _Refused("write the year with four digits (1.12.2026), or 2026-12-01")
        a, b, year = int(first), int(second), int(third)
        if a == 0 or b == 0:  # 0/1/2026: no day or month is 0, in either order
            return None
        order = self.settings.order
        if sep == ".":  # day.month.year wherever dots are written
            order = "dmy"
        elif order not in ("dmy", "mdy"):
            if a <= 12 and b <= 12 and a != b:
                iso_dmy = _date(year, b, a)
                raise _Refused(
                    f"could be {a} {_MONTH_NAMES[b - 1].title()} or {b} "
                    f"{_MONTH_NAMES[a - 1].title()}; set defaults.date_order to dmy or mdy, "
                    f"or write {iso_dmy}"
                )
            order = "mdy" if b > 12 else "dmy"
        found = _date(year, b, a) if order == "dmy" else _date(year, a, b)
        if found is None and self.settings.order in ("dmy", "mdy") and sep != ".":
            shape = "day/month/year" if order == "dmy" else "month/day/year"
            raise _Refused(f"not a date as {shape} (defaults.date_order is {order})")
        return found


def parse_date(
    text: str,
    tz: ZoneInfo,
    *,
    now: datetime | None = None,
    field: str = "date",
    settings: DateSettings | None = None,
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
    moment = parse_when(text, tz, now=now, field=field, settings=settings)
    written = _ISO_DATE.match(stripped.lower())
    if written and written.group(2) and _OFFSET.search(written.group(2)):
        # A time with its own offset: the date as written, not that moment's date here.
        return date.fromisoformat(written.group(1))
    return moment.astimezone(tz).date()


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


# --- dates as exports write them ---------------------------------------------------------------

_EXPORT_NUMERIC = re.compile(r"^(\d{1,2})([./-])(\d{1,2})\2(\d{4})(?:[ t]+(.+))?$")
# 2026/12/31 (Japanese and Chinese Excel), 2026.12.31: a four-digit year first is never read
# year-day-month.
_EXPORT_YEAR_FIRST = re.compile(r"^(\d{4})([./-])(\d{1,2})\2(\d{1,2})(?:[ t]+(.+))?$")
# ISO 8601's basic form: 20260105, 20260105T100000Z, 20260105T1000+0530.
_EXPORT_BASIC = re.compile(r"^\d{8}(?:t\d{4}(?:\d{2}(?:[.,]\d+)?)?(?:z|[+-]\d{2}(?::?\d{2})?)?)?$")
_EXPORT_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y")
# A spreadsheet's serial day numbers (days since 1899-12-30) for 1954..2119: a bare number
# in that range in a date column is such a day, never a year or an amount.
_SERIAL_MIN, _SERIAL_MAX = 20_000, 80_000


def _export_clock(day: date, clock: str | None, field: str, text: str) -> datetime | None:
    """The time of day written after a numeric date (`31/12/2026 14:30`), naive."""
    if not clock:
        return None
    moment = _parse_time(clock.replace(".", ":"))
    if moment is None:
        raise InvalidValue(field, text, "not a time of day after the date")
    return datetime.combine(day, moment)


def numeric_order(text: str) -> str | None:
    """What a numeric date such as `03/11/2026` tells about the file's order: "dmy" when the
    first number cannot be a month, "mdy" when the second cannot, "either" when both read,
    None when it is no such date (ISO, a serial, a month name, or a dotted date)."""
    m = _EXPORT_NUMERIC.match(text.strip().lower())
    if m is None or m.group(2) == ".":
        return None
    a, b = int(m.group(1)), int(m.group(3))
    if a > 12 >= b:
        return "dmy"
    if b > 12 >= a:
        return "mdy"
    return "either" if a != b else None


def parse_export_time(
    text: str, tz: ZoneInfo, *, order: str | None = None, field: str = "date"
) -> tuple[date, datetime | None]:
    """A date, and its time when it has one, as exports write them: ISO (with a zone or
    not, extended or basic: `20260105T100000Z`), `dd/mm/yyyy` or `mm/dd/yyyy` by `order`
    (refused when it reads both ways and no order is given), `yyyy/mm/dd`, `dd.mm.yyyy`,
    month names (`Oct 20, 2016`), and spreadsheet serial days. A time without a zone is in
    `tz`. Returns the day as written and the time in UTC."""
    stripped = " ".join(text.strip().split())
    lowered = stripped.lower()
    day: date | None = None
    at: datetime | None = None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", stripped):
            day = date.fromisoformat(stripped)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}[t ].+", lowered):
            at = datetime.fromisoformat(stripped.replace(" UTC", "Z"))
        elif _EXPORT_BASIC.match(lowered):
            if "t" in lowered:
                at = datetime.fromisoformat(stripped.upper().replace(",", "."))
            else:
                day = date.fromisoformat(stripped)
        elif (
            re.fullmatch(r"\d+(\.\d+)?", stripped) and _SERIAL_MIN <= float(stripped) < _SERIAL_MAX
        ):
            serial = float(stripped)
            base = datetime(1899, 12, 30) + timedelta(days=serial)
            day = base.date()
            if serial % 1:
                at = base.replace(microsecond=0)
        elif m := _EXPORT_YEAR_FIRST.match(lowered):
            year, _sep, month, number, clock = m.groups()
            day = date(int(year), int(month), int(number))
            at = _export_clock(day, clock, field, text)
        elif m := _EXPORT_NUMERIC.match(lowered):
            first, sep, second, year, clock = m.groups()
            a, b = int(first), int(second)
            if sep == ".":
                chosen = "dmy"
            elif order in ("dmy", "mdy"):
                chosen = order
            elif a > 12:
                chosen = "dmy"
            elif b > 12 or a == b:
                chosen = "mdy"
            else:
                raise InvalidValue(
                    field, text, "reads as day/month and as month/day; give --date-format"
                )
            day = date(int(year), b, a) if chosen == "dmy" else date(int(year), a, b)
            at = _export_clock(day, clock, field, text)
        else:
            for form in _EXPORT_FORMATS:
                try:
                    day = datetime.strptime(stripped, form).date()
                    break
                except ValueError:
                    continue
    except ValueError:
        raise InvalidValue(field, text, "not a valid date") from None
    if at is not None:
        # The day is the date as written: a date-only field (a deal's expected close) given
        # `2026-12-31T23:30:00-05:00` is 31 December, wherever the reader is.
        day = at.date()
        if at.tzinfo is None:
            at = localize(at.date(), at.time(), tz)
        at = at.astimezone(UTC)
    if day is None:
        raise InvalidValue(field, text, "not a date (ISO 2026-03-01, 01/03/2026, Mar 1, 2026)")
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidValue(field, text, _RANGE)
    return day, at
