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
