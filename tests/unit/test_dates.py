"""Dates as people type them, in the user's zone, and repeat rules across DST and month ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from crm_cli.domain.dates import (
    DateSettings,
    Repeat,
    gap_origin,
    iso,
    localize,
    parse_clock,
    parse_date,
    parse_repeat,
    parse_since,
    parse_when,
    zone,
)
from crm_cli.errors import InvalidValue

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 2026-11-18, 14:20 in Berlin (CET, UTC+1).
NOW = datetime(2026, 11, 18, 13, 20, 17, tzinfo=UTC)


def local(text: str, tz: ZoneInfo = BERLIN, now: datetime = NOW) -> str:
    """parse_when's answer as local ISO text, for readable expectations."""
    value = parse_when(text, tz, now=now)
    assert value.tzinfo is not None and value.utcoffset() == UTC.utcoffset(None)
    return f"{value.astimezone(tz):%Y-%m-%dT%H:%M}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", "2026-11-18T14:20"),
        ("today", "2026-11-18T09:00"),
        ("Today", "2026-11-18T09:00"),
        ("tomorrow", "2026-11-19T09:00"),
        ("tomorrow 9:00", "2026-11-19T09:00"),
        ("tomorrow at 16:30", "2026-11-19T16:30"),
        ("tomorrow 9 am", "2026-11-19T09:00"),
        ("tomorrow 4pm", "2026-11-19T16:00"),
        ("yesterday", "2026-11-17T09:00"),
        # A relative day is at the due time (09:00), not at the current minute.
        ("+3d", "2026-11-21T09:00"),
        ("+2h", "2026-11-18T16:20"),
        ("+90 min", "2026-11-18T15:50"),
        ("in 2 weeks", "2026-12-02T09:00"),
        ("in 1 month", "2026-12-18T09:00"),
        ("-7d", "2026-11-11T09:00"),
        ("3 days ago", "2026-11-15T09:00"),
        ("next monday", "2026-11-23T09:00"),
        ("monday 10:00", "2026-11-23T10:00"),
        ("wednesday", "2026-11-25T09:00"),  # a bare weekday is the next one, not today
        ("this wednesday", "2026-11-18T09:00"),
        ("last monday", "2026-11-16T09:00"),
        ("fri 14:30", "2026-11-20T14:30"),
        ("next week", "2026-11-23T09:00"),
        ("next month", "2026-12-01T09:00"),
        ("17:00", "2026-11-18T17:00"),  # later today
        ("at 17:00", "2026-11-18T17:00"),
        ("9:00", "2026-11-19T09:00"),  # already past today: tomorrow
        ("2026-11-30", "2026-11-30T09:00"),
        ("2026-11-30 10:15", "2026-11-30T10:15"),
        ("2026-11-30 9:05", "2026-11-30T09:05"),
        ("2026-11-30T10:15:00", "2026-11-30T10:15"),
        ("2026-11-30T10:15:00Z", "2026-11-30T11:15"),
        ("2026-11-30T10:15:00+09:00", "2026-11-30T02:15"),
        ("  2026-11-30   10:15 ", "2026-11-30T10:15"),
        ("31/12/2026", "2026-12-31T09:00"),  # only one reading: day/month
    ],
)
def test_parse_when(text: str, expected: str) -> None:
    assert local(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "someday",
        "",
        "   ",
        "2026-02-30",
        "2026-11-30 25:00",
        "tomorrow at",
        "+3 parsecs",
        "13pm",
        "next",
        "every monday",
    ],
)
def test_parse_when_refuses_and_names_the_value(text: str) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_when(text, BERLIN, now=NOW, field="due")
    assert info.value.field == "due"
    assert repr(text) in str(info.value)


def test_parse_since_starts_a_day_at_midnight() -> None:
    assert (
        parse_since("today", BERLIN, now=NOW).astimezone(BERLIN).isoformat()
        == "2026-11-18T00:00:00+01:00"
    )
    assert parse_since("2026-11-01", BERLIN, now=NOW).astimezone(BERLIN).hour == 0
    # A relative day starts at 00:00 too (it was the current minute, as for a due time).
    assert (
        parse_since("-7d", BERLIN, now=NOW).astimezone(BERLIN).isoformat()
        == "2026-11-11T00:00:00+01:00"
    )


def test_parse_date() -> None:
    assert parse_date("2026-12-24", BERLIN) == date(2026, 12, 24)
    assert parse_date("tomorrow", BERLIN, now=NOW) == date(2026, 11, 19)
    with pytest.raises(InvalidValue):
        parse_date("2026-13-01", BERLIN)


# --- the forms people type (docs/followups.md has them as a table) ---------------------------

# Wednesday 2026-11-25, 14:37 in Berlin (CET, UTC+1).
WED = datetime(2026, 11, 25, 13, 37, 41, tzinfo=UTC)
DMY, MDY = DateSettings(order="dmy"), DateSettings(order="mdy")


def read(
    text: str, settings: DateSettings | None = None, *, since: bool = False, tz: ZoneInfo = BERLIN
) -> str:
    parse = parse_since if since else parse_when
    value = parse(text, tz, now=WED, settings=settings)
    assert value.utcoffset() == UTC.utcoffset(None)
    return f"{value.astimezone(tz):%a %Y-%m-%d %H:%M}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Clock words: alone, the next time the clock shows them.
        ("noon", "Thu 2026-11-26 12:00"),  # 12:00 has passed today
        ("at noon", "Thu 2026-11-26 12:00"),
        ("midnight", "Thu 2026-11-26 00:00"),  # tonight
        ("eod", "Wed 2026-11-25 17:00"),
        ("eow", "Fri 2026-11-27 17:00"),
        # Days, at the due time.
        ("today", "Wed 2026-11-25 09:00"),
        ("tomorrow", "Thu 2026-11-26 09:00"),
        ("yesterday", "Tue 2026-11-24 09:00"),
        ("monday", "Mon 2026-11-30 09:00"),
        ("mon", "Mon 2026-11-30 09:00"),
        ("Monday", "Mon 2026-11-30 09:00"),
        ("next monday", "Mon 2026-11-30 09:00"),
        ("this friday", "Fri 2026-11-27 09:00"),
        ("wednesday", "Wed 2026-12-02 09:00"),  # a bare weekday is never today
        ("this wednesday", "Wed 2026-11-25 09:00"),
        ("last monday", "Mon 2026-11-23 09:00"),
        # Named dates: the next one, today included; a year makes it that one.
        ("dec 1", "Tue 2026-12-01 09:00"),
        ("1 dec", "Tue 2026-12-01 09:00"),
        ("December 1st", "Tue 2026-12-01 09:00"),
        ("1st of december", "Tue 2026-12-01 09:00"),
        ("Dec 1, 2027", "Wed 2027-12-01 09:00"),
        ("1 december 2027", "Wed 2027-12-01 09:00"),
        ("sept 3rd", "Fri 2027-09-03 09:00"),
        ("nov 25", "Wed 2026-11-25 09:00"),
        ("nov 20", "Sat 2027-11-20 09:00"),  # gone this year: next year's
        ("feb 29", "Tue 2028-02-29 09:00"),
        # Amounts of days, weeks, months, years: at the due time.
        ("+3d", "Sat 2026-11-28 09:00"),
        ("+2w", "Wed 2026-12-09 09:00"),
        ("+1mo", "Fri 2026-12-25 09:00"),
        ("+1y", "Thu 2027-11-25 09:00"),
        ("2d", "Fri 2026-11-27 09:00"),
        ("3 weeks", "Wed 2026-12-16 09:00"),
        ("in 3 days", "Sat 2026-11-28 09:00"),
        ("in a week", "Wed 2026-12-02 09:00"),
        ("-1d", "Tue 2026-11-24 09:00"),
        ("2 days ago", "Mon 2026-11-23 09:00"),
        ("a week ago", "Wed 2026-11-18 09:00"),
        # Hours and minutes: exact.
        ("+2h", "Wed 2026-11-25 16:37"),
        ("2h", "Wed 2026-11-25 16:37"),
        ("in 30 minutes", "Wed 2026-11-25 15:07"),
        ("in an hour", "Wed 2026-11-25 15:37"),
        ("+45min", "Wed 2026-11-25 15:22"),
        ("30 min ago", "Wed 2026-11-25 14:07"),
        # A day with a time, either way round.
        ("tomorrow 9:00", "Thu 2026-11-26 09:00"),
        ("tomorrow at 4pm", "Thu 2026-11-26 16:00"),
        ("dec 1 14:30", "Tue 2026-12-01 14:30"),
        ("1.12.2026 14:30", "Tue 2026-12-01 14:30"),
        ("monday 3pm", "Mon 2026-11-30 15:00"),
        ("monday 3 pm", "Mon 2026-11-30 15:00"),
        ("noon tomorrow", "Thu 2026-11-26 12:00"),
        ("9 am tomorrow", "Thu 2026-11-26 09:00"),
        ("3pm on friday", "Fri 2026-11-27 15:00"),
        ("friday eod", "Fri 2026-11-27 17:00"),
        ("eod friday", "Fri 2026-11-27 17:00"),
        ("friday midnight", "Sat 2026-11-28 00:00"),  # the end of Friday
        ("in 3 days at 14:00", "Sat 2026-11-28 14:00"),
        ("2026-12-01 noon", "Tue 2026-12-01 12:00"),
        # Numeric dates.
        ("2026-12-01", "Tue 2026-12-01 09:00"),
        ("2026/12/01", "Tue 2026-12-01 09:00"),
        ("1.12.2026", "Tue 2026-12-01 09:00"),  # dots: day.month.year
        ("01.12.2026", "Tue 2026-12-01 09:00"),
        ("13/12/2026", "Sun 2026-12-13 09:00"),  # only one reading
        ("12/13/2026", "Sun 2026-12-13 09:00"),
        ("5/5/2026", "Tue 2026-05-05 09:00"),  # both readings are the same day
    ],
)
def test_the_forms_people_type(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(
    ("text", "settings", "expected"),
    [
        ("1/12/2026", DMY, "Tue 2026-12-01 09:00"),
        ("1/12/2026", MDY, "Mon 2026-01-12 09:00"),
        ("12/1/2026", MDY, "Tue 2026-12-01 09:00"),
        ("1-12-2026", DMY, "Tue 2026-12-01 09:00"),
        ("1.12.2026", MDY, "Tue 2026-12-01 09:00"),  # dots are day.month.year everywhere
        ("13/12/2026", DateSettings(order="ymd"), "Sun 2026-12-13 09:00"),
        ("+3d", DateSettings(due_time=time(8, 30)), "Sat 2026-11-28 08:30"),
        ("dec 1", DateSettings(due_time=time(8, 30)), "Tue 2026-12-01 08:30"),
        ("friday", DateSettings(due_time=time(8, 30)), "Fri 2026-11-27 08:30"),
        ("friday 10:00", DateSettings(due_time=time(8, 30)), "Fri 2026-11-27 10:00"),
        ("+2h", DateSettings(due_time=time(8, 30)), "Wed 2026-11-25 16:37"),
        ("eod", DateSettings(end_of_day=time(18, 30)), "Wed 2026-11-25 18:30"),
        ("eow", DateSettings(end_of_day=time(18, 30)), "Fri 2026-11-27 18:30"),
        ("eod", DateSettings(end_of_day=time(14, 0)), "Thu 2026-11-26 14:00"),  # past: next
    ],
)
def test_the_settings(text: str, settings: DateSettings, expected: str) -> None:
    assert read(text, settings) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", "Wed 2026-11-25 00:00"),
        ("-1d", "Tue 2026-11-24 00:00"),
        ("2d", "Mon 2026-11-23 00:00"),  # bare amounts count back, as git's --since does
        ("3 weeks", "Wed 2026-11-04 00:00"),
        ("2h", "Wed 2026-11-25 12:37"),
        ("+1d", "Thu 2026-11-26 00:00"),  # a sign is taken as written
        ("monday", "Mon 2026-11-23 00:00"),  # the Monday just gone
        ("wednesday", "Wed 2026-11-25 00:00"),
        ("dec 1", "Mon 2025-12-01 00:00"),
        ("nov 20", "Fri 2026-11-20 00:00"),
        ("9:00", "Wed 2026-11-25 09:00"),
        ("16:00", "Tue 2026-11-24 16:00"),
        ("midnight", "Wed 2026-11-25 00:00"),
        ("eow", "Fri 2026-11-20 17:00"),
        ("1.11.2026", "Sun 2026-11-01 00:00"),
    ],
)
def test_since_reads_bare_forms_back(text: str, expected: str) -> None:
    assert read(text, since=True) == expected


def test_eow_on_friday_evening_and_at_the_weekend_is_next_friday() -> None:
    friday_evening = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)  # 18:30 CET
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert local("eow", now=friday_evening) == "2026-12-04T17:00"
    assert local("eow", now=saturday) == "2026-12-04T17:00"
    assert local("eow", now=datetime(2026, 11, 27, 8, 0, tzinfo=UTC)) == "2026-11-27T17:00"


def test_a_due_time_in_the_spring_gap_moves_forward() -> None:
    early = DateSettings(due_time=time(2, 30))
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    sunday = parse_when("+1d", BERLIN, now=saturday, settings=early)
    assert sunday.astimezone(BERLIN).isoformat() == "2026-03-29T03:30:00+02:00"
    autumn = parse_when("oct 25", BERLIN, now=saturday, settings=early)
    assert autumn.astimezone(BERLIN).isoformat() == "2026-10-25T02:30:00+02:00"  # the first


def test_the_ambiguous_date_names_both_readings_and_the_setting() -> None:
    with pytest.raises(InvalidValue) as info:
        parse_when("1/12/2026", BERLIN, now=WED, field="date")
    assert str(info.value) == (
        "date '1/12/2026': could be 1 December or 12 January; "
        "set defaults.date_order to dmy or mdy, or write 2026-12-01"
    )
    with pytest.raises(InvalidValue) as info:
        parse_when("12/1/2026 9:00", BERLIN, now=WED, settings=DateSettings(order="ymd"))
    assert info.value.reason == (
        "could be 12 January or 1 December; set defaults.date_order to dmy or mdy, "
        "or write 2026-01-12"
    )


@pytest.mark.parametrize(
    ("text", "settings", "reason"),
    [
        ("1/12/2026", None, "could be 1 December or 12 January"),
        ("1.12.26", None, "four digits"),
        ("+30m", None, "m could be minutes or months; write min or mo"),
        ("1/12/26", DMY, "four digits"),
        ("13/12/2026", MDY, "not a date as month/day/year (defaults.date_order is mdy)"),
        ("12/13/2026", DMY, "not a date as day/month/year (defaults.date_order is dmy)"),
        ("1.13.2026", None, "not a date or time"),
        ("32.12.2026", None, "not a date or time"),
        ("31/31/2026", None, "not a date or time"),
        ("feb 30", None, "not a date or time"),
        ("feb 30 2027", None, "not a date or time"),
        ("dec 32", None, "not a date or time"),
        ("smarch 1", None, "not a date or time"),
        ("1.12.0202", None, "must be between 1900-01-01 and 9998-12-31"),
        ("dec 1 9999", None, "must be between 1900-01-01 and 9998-12-31"),
        ("+3d ago", None, "not a date or time"),
        ("in 3 days ago", None, "not a date or time"),
        ("+3 parsecs", None, "not a date or time"),
        ("noon on", None, "not a date or time"),
        ("eow 9:00", None, "not a date or time"),
        ("friday 25:00", None, "not a date or time"),
        ("+2h 14:00", None, "not a date or time"),
        ("at", None, "not a date or time"),
    ],
)
def test_refusals(text: str, settings: DateSettings | None, reason: str) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_when(text, BERLIN, now=WED, settings=settings)
    assert info.value.field == "due" and info.value.value == text
    assert reason in info.value.reason
    assert "\n" not in str(info.value)


def test_parse_date_reads_the_same_forms() -> None:
    assert parse_date("dec 1", BERLIN, now=WED) == date(2026, 12, 1)
    assert parse_date("1.12.2026", BERLIN, now=WED) == date(2026, 12, 1)
    assert parse_date("1/12/2026", BERLIN, now=WED, settings=MDY) == date(2026, 1, 12)
    with pytest.raises(InvalidValue) as info:
        parse_date("1/12/2026", BERLIN, now=WED, field="close")
    assert info.value.field == "close" and "defaults.date_order" in info.value.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17:00", time(17)),
        ("9:30", time(9, 30)),
        ("5pm", time(17)),
        ("noon", time(12)),
        (" 08:30:00 ", time(8, 30)),
    ],
)
def test_parse_clock(text: str, expected: time) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["25:00", "eod", "17:00:30", "", "soon"])
def test_parse_clock_refuses(text: str) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_clock(text, field="defaults.end_of_day")
    assert info.value.field == "defaults.end_of_day"


# --- daylight saving ------------------------------------------------------------------------

SPRING = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET; at 02:00 clocks jump to 03:00
AUTUMN = datetime(2026, 10, 25, 0, 10, tzinfo=UTC)  # 02:10 CEST; at 03:00 back to 02:00


def test_a_time_in_the_spring_gap_moves_forward() -> None:
    value = localize(date(2026, 3, 29), time(2, 30), BERLIN)
    assert value.isoformat() == "2026-03-29T03:30:00+02:00"
    assert local("2026-03-29 02:30") == "2026-03-29T03:30"
    assert gap_origin(value, BERLIN) == time(2, 30)
    assert gap_origin(localize(date(2026, 3, 30), time(3, 30), BERLIN), BERLIN) is None
    assert gap_origin(localize(date(2026, 3, 29), time(10, 0), BERLIN), BERLIN) is None


def test_a_time_in_the_autumn_fold_is_the_first() -> None:
    value = localize(date(2026, 10, 25), time(2, 30), BERLIN)
    assert value.isoformat() == "2026-10-25T02:30:00+02:00"
    assert value.astimezone(UTC).hour == 0


def test_hours_are_real_hours_across_dst() -> None:
    assert parse_when("+2h", BERLIN, now=SPRING) == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
    assert parse_when("+2h", BERLIN, now=AUTUMN) == datetime(2026, 10, 25, 2, 10, tzinfo=UTC)


def test_days_keep_the_wall_clock_across_dst() -> None:
    before = datetime(2026, 10, 24, 8, 0, tzinfo=UTC)  # 10:00 CEST
    assert local("+1d 10:00", now=before) == "2026-10-25T10:00"
    assert parse_when("+1d 10:00", BERLIN, now=before).hour == 9  # 10:00 CET is 09:00 UTC
    assert local("+1d", now=before) == "2026-10-25T09:00"  # the due time, in winter time
    assert parse_when("+1d", BERLIN, now=before).hour == 8


def test_new_york_dst_falls_on_other_days() -> None:
    # 2026-03-08 is New York's spring change, three weeks before Europe's.
    assert (
        localize(date(2026, 3, 8), time(2, 30), NEW_YORK).isoformat() == "2026-03-08T03:30:00-04:00"
    )
    assert (
        localize(date(2026, 3, 8), time(2, 30), BERLIN).isoformat() == "2026-03-08T02:30:00+01:00"
    )


# --- repeat rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule", "canonical"),
    [
        ("daily", Repeat("days"), "daily"),
        ("Weekly", Repeat("weeks"), "weekly"),
        ("monthly", Repeat("months"), "monthly"),
        ("weekdays", Repeat("weekdays"), "weekdays"),
        ("every weekday", Repeat("weekdays"), "weekdays"),
        ("every 2 weeks", Repeat("weeks", 2), "every 2 weeks"),
        ("every  2   weeks", Repeat("weeks", 2), "every 2 weeks"),
        ("biweekly", Repeat("weeks", 2), "every 2 weeks"),
        ("every 3 days", Repeat("days", 3), "every 3 days"),
        ("every month", Repeat("months"), "monthly"),
        ("every 1 weeks", Repeat("weeks"), "weekly"),
    ],
)
def test_parse_repeat(text: str, rule: Repeat, canonical: str) -> None:
    assert parse_repeat(text) == rule
    assert str(rule) == canonical
    assert parse_repeat(str(rule)) == rule  # the stored text reads back


@pytest.mark.parametrize(
    "text",
    [
        "hourly",
        "every 3 hours",
        "every 0 days",
        "sometimes",
        "",
        "every 400 days",
        "every -1 weeks",
    ],
)
def test_parse_repeat_refuses(text: str) -> None:
    with pytest.raises(InvalidValue) as info:
        parse_repeat(text)
    assert repr(text) in str(info.value)


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = BERLIN) -> datetime:
    return localize(day, time(hour, minute), tz).astimezone(UTC)


def series(rule: str, start: datetime, count: int, tz: ZoneInfo = BERLIN) -> list[str]:
    """`count` occurrences after `start`, each given the ones before it (as the service does)."""
    repeat = parse_repeat(rule)
    done = [start]
    for _ in range(count):
        done.append(repeat.next_after(done[-1], tz, previous=reversed(done[:-1])))
    return [d.astimezone(tz).isoformat(timespec="minutes") for d in done[1:]]


def test_weekly_keeps_local_time_over_the_autumn_change() -> None:
    start = at(date(2026, 10, 23), 10)
    assert start == datetime(2026, 10, 23, 8, 0, tzinfo=UTC)
    after = parse_repeat("weekly").next_after(start, BERLIN)
    assert after == datetime(2026, 10, 30, 9, 0, tzinfo=UTC)
    assert after.astimezone(BERLIN).hour == 10


def test_daily_through_the_spring_gap_goes_back_to_its_time() -> None:
    assert series("daily", at(date(2026, 3, 28), 2, 30), 3) == [
        "2026-03-29T03:30+02:00",
        "2026-03-30T02:30+02:00",
        "2026-03-31T02:30+02:00",
    ]


def test_weekdays_skip_the_weekend() -> None:
    friday = at(date(2026, 11, 20), 9)
    assert series("weekdays", friday, 3) == [
        "2026-11-23T09:00+01:00",
        "2026-11-24T09:00+01:00",
        "2026-11-25T09:00+01:00",
    ]
    saturday = at(date(2026, 11, 21), 9)
    assert series("weekdays", saturday, 1) == ["2026-11-23T09:00+01:00"]


def test_monthly_on_the_31st_clamps_and_comes_back() -> None:
    assert [d[:10] for d in series("monthly", at(date(2026, 1, 31), 10), 6)] == [
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
        "2026-07-31",
    ]
    # Leap year February.
    assert series("monthly", at(date(2028, 1, 31), 10), 1)[0][:10] == "2028-02-29"
    # Without the history the rule can only go on from the date it is given.
    assert parse_repeat("monthly").next_after(at(date(2026, 2, 28), 10), BERLIN) == at(
        date(2026, 3, 28), 10
    )


def test_monthly_on_the_30th_and_every_two_months_on_the_31st() -> None:
    assert [d[:10] for d in series("monthly", at(date(2026, 1, 30), 10), 3)] == [
        "2026-02-28",
        "2026-03-30",
        "2026-04-30",
    ]
    assert [d[:10] for d in series("every 2 months", at(date(2025, 12, 31), 10), 5)] == [
        "2026-02-28",
        "2026-04-30",
        "2026-06-30",
        "2026-08-31",
        "2026-10-31",
    ]


def test_every_two_weeks() -> None:
    assert series("every 2 weeks", at(date(2026, 11, 18), 15), 2) == [
        "2026-12-02T15:00+01:00",
        "2026-12-16T15:00+01:00",
    ]


def test_next_after_reads_history_lazily() -> None:
    def history() -> Iterator[datetime]:
        yield at(date(2026, 1, 31), 10)
        raise AssertionError("read further than needed")

    rule = parse_repeat("monthly")
    assert rule.next_after(at(date(2026, 2, 28), 10), BERLIN, previous=history()) == at(
        date(2026, 3, 31), 10
    )


def test_zone_and_iso() -> None:
    assert zone("Asia/Tokyo").key == "Asia/Tokyo"
    with pytest.raises(InvalidValue) as info:
        zone("Mars/Olympus", field="defaults.timezone")
    assert "Mars/Olympus" in str(info.value)
    assert iso(None) is None
    assert iso(datetime(2026, 11, 18, 13, 0, tzinfo=UTC), BERLIN) == "2026-11-18T14:00:00+01:00"
    assert iso(datetime(2026, 11, 18, 13, 0, tzinfo=UTC)) == "2026-11-18T13:00:00+00:00"
