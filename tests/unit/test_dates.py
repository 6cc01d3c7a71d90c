"""Dates as people type them, in the user's zone, and repeat rules across DST and month ends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from crm_cli.domain.dates import (
    Repeat,
    gap_origin,
    iso,
    localize,
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
        ("+3d", "2026-11-21T14:20"),
        ("+2h", "2026-11-18T16:20"),
        ("+90 min", "2026-11-18T15:50"),
        ("in 2 weeks", "2026-12-02T14:20"),
        ("in 1 month", "2026-12-18T14:20"),
        ("-7d", "2026-11-11T14:20"),
        ("3 days ago", "2026-11-15T14:20"),
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
        "31/12/2026",
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
    assert parse_since("-7d", BERLIN, now=NOW) == parse_when("-7d", BERLIN, now=NOW)


def test_parse_date() -> None:
    assert parse_date("2026-12-24", BERLIN) == date(2026, 12, 24)
    assert parse_date("tomorrow", BERLIN, now=NOW) == date(2026, 11, 19)
    with pytest.raises(InvalidValue):
        parse_date("2026-13-01", BERLIN)


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
    assert local("+1d", now=before) == "2026-10-25T10:00"
    assert parse_when("+1d", BERLIN, now=before).hour == 9  # 10:00 CET is 09:00 UTC


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
