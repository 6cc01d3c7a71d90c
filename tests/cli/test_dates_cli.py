"""Dates as people type them, through the real commands: `followup add --due` and the date
settings of `crm config`.

The parser's clock is fixed (`dates.now_utc`) at Wednesday 2026-11-25 14:37 in Berlin, the
zone every test runs in (conftest sets CRM_TIMEZONE), so the stored due times are exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest

from crm_cli.domain import dates
from crm_cli.errors import ConfigError, ExitCode

NOW = datetime(2026, 11, 25, 13, 37, 41, tzinfo=UTC)

# What `crm followup add X --due TEXT` stores, as `followup list --json` shows it.
FORMS = [
    ("+3d", "2026-11-28T09:00:00+01:00"),  # the due time, not 14:37
    ("in a week", "2026-12-02T09:00:00+01:00"),
    ("2d", "2026-11-27T09:00:00+01:00"),
    ("+1mo", "2026-12-25T09:00:00+01:00"),
    ("friday", "2026-11-27T09:00:00+01:00"),
    ("monday 3pm", "2026-11-30T15:00:00+01:00"),
    ("noon tomorrow", "2026-11-26T12:00:00+01:00"),
    ("noon", "2026-11-26T12:00:00+01:00"),
    ("eod", "2026-11-25T17:00:00+01:00"),
    ("eow", "2026-11-27T17:00:00+01:00"),
    ("dec 1", "2026-12-01T09:00:00+01:00"),
    ("December 1st 14:30", "2026-12-01T14:30:00+01:00"),
    ("1.12.2026", "2026-12-01T09:00:00+01:00"),
    ("13/12/2026", "2026-12-13T09:00:00+01:00"),
    ("+2h", "2026-11-25T16:37:41+01:00"),  # hours are exact
]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(dates, "now_utc", lambda: NOW)
    return NOW


def due_times(crm: Any) -> dict[str, str]:
    return {f["title"]: f["due_at"] for f in crm.json("followup", "list", "--all")}


def test_due_times_as_typed(crm: Any, db_url: str, clock: datetime) -> None:
    for text, _ in FORMS:
        crm.ok("followup", "add", f"due {text}", "--due", text)
    assert due_times(crm) == {f"due {text}": stored for text, stored in FORMS}


def test_an_ambiguous_date_is_refused_naming_the_setting(
    crm: Any, db_url: str, clock: datetime
) -> None:
    result = crm("followup", "add", "X", "--due", "1/12/2026")
    assert result.code == ExitCode.USAGE
    assert result.err.count("\n") == 1
    assert (
        "'1/12/2026': could be 1 December or 12 January; "
        "set defaults.date_order to dmy or mdy, or write 2026-12-01"
    ) in result.err
    assert crm.json("followup", "list", "--all") == []


def test_date_settings(crm: Any, crm_home: Path) -> None:
    from crm_cli import config

    cfg = config.load()
    assert (cfg.date_order, cfg.due_time, cfg.end_of_day) == (None, time(9), time(17))
    listed = crm.json("config", "list")
    assert (listed["defaults.due_time"], listed["defaults.end_of_day"]) == ("09:00", "17:00")
    crm.ok("config", "set", "defaults.date_order", "MDY")
    crm.ok("config", "set", "defaults.due_time", "8:30")
    crm.ok("config", "set", "defaults.end_of_day", "6pm")
    assert crm.ok("config", "get", "defaults.date_order").out == "mdy\n"
    assert crm.ok("config", "get", "defaults.due_time").out == "08:30\n"
    assert crm.ok("config", "get", "defaults.end_of_day").out == "18:00\n"
    assert config.load().date_settings == dates.DateSettings("mdy", time(8, 30), time(18))
    for key, bad in [
        ("defaults.date_order", "dym"),
        ("defaults.date_order", ""),
        ("defaults.due_time", "25:00"),
        ("defaults.due_time", "morning"),
        ("defaults.end_of_day", "eod"),
    ]:
        result = crm("config", "set", key, bad)
        assert result.code == ExitCode.USAGE and result.err.count("\n") == 1, (key, bad)
        assert key in result.err
    crm.ok("config", "unset", "defaults.due_time")
    assert config.load().due_time == time(9)


def test_hand_edited_date_settings(crm_home: Path) -> None:
    from crm_cli import config

    path = crm_home / "hand.toml"
    # A TOML local time reads back as "08:30:00".
    path.write_text('[defaults]\ndue_time = 08:30:00\ndate_order = "dmy"\n')
    assert config.load(path).date_settings == dates.DateSettings("dmy", time(8, 30), time(17))
    path.write_text('[defaults]\nend_of_day = "late"\n')
    with pytest.raises(ConfigError, match="hand.toml"):
        _ = config.load(path).date_settings


def test_the_settings_reach_the_parser(crm: Any, db_url: str, clock: datetime) -> None:
    crm.ok("config", "set", "defaults.date_order", "dmy")
    crm.ok("config", "set", "defaults.due_time", "08:30")
    crm.ok("config", "set", "defaults.end_of_day", "18:00")
    for text in ("1/12/2026", "+3d", "eod"):
        crm.ok("followup", "add", f"due {text}", "--due", text)
    assert due_times(crm) == {
        "due 1/12/2026": "2026-12-01T08:30:00+01:00",
        "due +3d": "2026-11-28T08:30:00+01:00",
        "due eod": "2026-11-25T18:00:00+01:00",
    }
