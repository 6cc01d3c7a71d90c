"""`crm export followups --ics`: a feed the `icalendar` library reads back, that a calendar can
re-read without duplicating entries. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.conftest import Runner

BERLIN = ZoneInfo("Europe/Berlin")


def export(crm: Runner, path: Path, *args: str) -> dict[str, Any]:
    crm.ok("export", "followups", "--ics", "-o", str(path), *args)
    cal = Calendar.from_ical(path.read_bytes())
    return {str(todo["SUMMARY"]): todo for todo in cal.walk("VTODO")}


def test_feed_round_trips_and_updates_in_place(
    db_url: str, crm: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_NOW", "2026-11-20T10:00:00+01:00")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@example.com")
    call = crm.json(
        "followup",
        "add",
        "Call Ana",
        "--due",
        "2026-11-30 09:00",
        "--contact",
        "ana@example.com",
        "--priority",
        "high",
    )["id"]
    crm.ok(
        "followup", "add", "Weekly sync", "--due", "2026-03-29 02:30", "--repeat", "every 2 weeks"
    )
    done = crm.json("followup", "add", "Send offer", "--due", "2026-11-19 09:00")["id"]
    monkeypatch.setenv("CRM_NOW", "2026-11-20T11:00:00+01:00")
    crm.ok("followup", "done", str(done))
    path = tmp_path / "f.ics"
    first = export(crm, path)

    todo = first["Call Ana"]
    assert todo.decoded("DUE") == datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    assert todo["DUE"].params["TZID"] == "Europe/Berlin"
    assert todo.decoded("DTSTART") == todo.decoded("DUE")
    assert "Contact: Ana Lima" in str(todo["DESCRIPTION"])
    assert (str(todo["STATUS"]), int(todo["PRIORITY"])) == ("NEEDS-ACTION", 1)
    assert todo.walk("VALARM")
    tzids = {str(tz["TZID"]) for tz in Calendar.from_ical(path.read_bytes()).walk("VTIMEZONE")}
    assert tzids == {"Europe/Berlin"}

    weekly = first["Weekly sync"]
    assert weekly["RRULE"]["FREQ"] == ["WEEKLY"] and weekly["RRULE"]["INTERVAL"] == [2]
    assert weekly.decoded("DUE").astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)

    finished = first["Send offer"]
    assert str(finished["STATUS"]) == "COMPLETED"
    assert finished.decoded("COMPLETED") == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert not finished.walk("VALARM")

    # An edit keeps the UID and raises the SEQUENCE; nothing about the machine is in a UID.
    crm.ok("followup", "edit", str(call), "--due", "2026-12-01 14:00")
    second = export(crm, path)
    assert second["Call Ana"]["UID"] == todo["UID"]
    assert int(second["Call Ana"]["SEQUENCE"]) > int(todo["SEQUENCE"])
    assert second["Call Ana"].decoded("DUE") == datetime(2026, 12, 1, 14, 0, tzinfo=BERLIN)
    assert second["Weekly sync"]["UID"] == weekly["UID"]
    assert int(second["Weekly sync"]["SEQUENCE"]) == int(weekly["SEQUENCE"])
    import getpass
    import socket

    for entry in second.values():
        text = str(entry["UID"])
        assert socket.gethostname() not in text and getpass.getuser() not in text


def test_feed_to_stdout_and_one_format(db_url: str, crm: Runner) -> None:
    crm.ok("followup", "add", "Call", "--due", "tomorrow 9:00")
    out = crm.ok("export", "followups", "--ics").out
    assert out.startswith("BEGIN:VCALENDAR")
    refused = crm("export", "followups", "--ics", "--json")
    assert refused.code == 2 and "--ics" in refused.err
