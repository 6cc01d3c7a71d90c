"""Dates as files and people write them: a date-only field keeps the date as written, a
four-digit year first and ISO 8601's basic form are read, zero days and months are not
dates, and a bare time in the repeated autumn hour is the reading still to come."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm_cli.domain.dates import parse_export_time, zone
from crm_cli.errors import InvalidValue

BERLIN = zone("Europe/Berlin")


def test_date_only_field_takes_the_date_as_written() -> None:
    day, at = parse_export_time("2026-12-31T23:30:00-05:00", BERLIN)
    assert day == date(2026, 12, 31)
    assert at == datetime(2027, 1, 1, 4, 30, tzinfo=UTC)
    day, _ = parse_export_time("2026-01-01T00:30:00+09:00", BERLIN)
    assert day == date(2026, 1, 1)


@pytest.mark.parametrize("order", [None, "ymd", "dmy", "mdy"])
@pytest.mark.parametrize("text", ["2026/12/31", "2026.12.31", "2026/12/31 14:30"])
def test_year_first_is_read(text: str, order: str | None) -> None:
    day, _ = parse_export_time(text, BERLIN, order=order)
    assert day == date(2026, 12, 31)


def test_year_first_with_a_time_is_in_the_zone() -> None:
    _, at = parse_export_time("2026/1/5 10:00", BERLIN)
    assert at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260105T100000Z", datetime(2026, 1, 5, 10, 0, tzinfo=UTC)),
        ("20260105T1000+0530", datetime(2026, 1, 5, 4, 30, tzinfo=UTC)),
        ("20260105T100000", datetime(2026, 1, 5, 9, 0, tzinfo=UTC)),
    ],
)
def test_basic_iso_8601(text: str, expected: datetime) -> None:
    day, at = parse_export_time(text, BERLIN)
    assert (day, at) == (date(2026, 1, 5), expected)


def test_basic_iso_date() -> None:
    assert parse_export_time("20260105", BERLIN) == (date(2026, 1, 5), None)


@pytest.mark.parametrize("text", ["2026/13/01", "2026/02/30", "20261340"])
def test_year_first_bad_dates_are_refused(text: str) -> None:
    with pytest.raises(InvalidValue, match="not a valid date"):
        parse_export_time(text, BERLIN)


@pytest.mark.parametrize("text", ["0/1/2026", "1/0/2026", "0/0/2026", "00/12/2026"])
@pytest.mark.parametrize("order", [None, "dmy", "mdy"])
def test_zero_day_or_month_is_not_a_date(text: str, order: str | None) -> None:
    from crm_cli.domain.dates import DateSettings, parse_when

    with pytest.raises(InvalidValue) as caught:
        parse_when(text, BERLIN, settings=DateSettings(order=order))
    assert "could be" not in str(caught.value)
    assert "None" not in str(caught.value)
    assert "not a date" in str(caught.value)


@pytest.mark.parametrize(
    ("now", "typed", "expected"),
    [
        # the second 02:30 (CET): 02:45 CET is 15 minutes on, not 02:45 CEST 45 minutes ago
        ("2027-10-31T02:30:00+01:00", "2:45", "2027-10-31T02:45:00+01:00"),
        # the first 02:30 (CEST): the first 02:45 is still to come
        ("2027-10-31T02:30:00+02:00", "2:45", "2027-10-31T02:45:00+02:00"),
        # after both: tomorrow
        ("2027-10-31T02:50:00+01:00", "2:45", "2027-11-01T02:45:00+01:00"),
        # the second 02:30 and 02:15: the first 02:15 has gone, the second too: tomorrow
        ("2027-10-31T02:30:00+01:00", "2:15", "2027-11-01T02:15:00+01:00"),
    ],
)
def test_bare_time_in_the_repeated_hour_is_still_to_come(
    now: str, typed: str, expected: str
) -> None:
    from crm_cli.domain.dates import parse_when

    at = parse_when(typed, BERLIN, now=datetime.fromisoformat(now))
    assert at >= datetime.fromisoformat(now)
    assert at == datetime.fromisoformat(expected)


def test_bare_time_since_in_the_repeated_hour_is_past() -> None:
    from crm_cli.domain.dates import parse_since

    now = datetime.fromisoformat("2027-10-31T02:30:00+02:00")  # the first 02:30 (CEST)
    at = parse_since("2:45", BERLIN, now=now)
    assert at <= now


# --- amounts: a decimal mark written twice --------------------------------------------------


@pytest.mark.parametrize(("text", "comma"), [("1,234,567", True), ("1.234.567", False)])
def test_decimal_mark_twice_is_not_well_formed(text: str, comma: bool) -> None:
    from crm_cli.domain.money import parse_amount

    with pytest.raises(InvalidValue, match="not a well-formed number") as caught:
        parse_amount(text, "EUR", decimal_comma=comma)
    assert "EUR takes" not in str(caught.value)


@pytest.mark.parametrize(
    "text", ["2026-12-31T23:30:00-05:00", "2026-12-31 23:30-05", "2026-12-31T23:30:00+09:00"]
)
def test_typed_date_with_an_offset_is_the_date_written(text: str) -> None:
    from crm_cli.domain.dates import parse_date

    assert parse_date(text, BERLIN) == date(2026, 12, 31)
