"""`crm today`: the morning's agenda through the real command, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.cells import cell_len

from tests.conftest import Runner

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin


@pytest.fixture
def agenda_data(crm: Runner, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    monkeypatch.setenv("CRM_NOW", (NOW - timedelta(days=10)).isoformat())
    ana = crm.json("contact", "add", "张伟 " + "Longname " * 8, "--email", "zw@example.com")["id"]
    crm.ok("contact", "edit", str(ana), "--every", "7d")
    quiet = crm.json("contact", "add", "Bo Quiet", "--cadence", "30")["id"]
    deal = crm.json("deal", "add", "Renewal " + "with a long title " * 5, "--contact", str(ana))[
        "id"
    ]
    busy = crm.json("deal", "add", "Busy", "--contact", str(ana))["id"]
    ids = {
        "overdue": crm.json(
            "followup", "add", "Call back", "--due", "2026-11-27 10:00", "--contact", str(ana)
        )["id"],
        "today": crm.json("followup", "add", "Send offer", "--due", "2026-11-30 15:00")["id"],
        "tomorrow": crm.json(
            "followup", "add", "Later", "--due", "2026-12-01 09:00", "--deal", str(busy)
        )["id"],
        "ana": ana,
        "quiet": quiet,
        "deal": deal,
    }
    monkeypatch.setenv("CRM_NOW", NOW.isoformat())
    return ids


def test_agenda_sections(db_url: str, crm: Runner, agenda_data: dict[str, int]) -> None:
    found = crm.json("today")
    assert [r["id"] for r in found["overdue"]] == [agenda_data["overdue"]]
    assert found["overdue"][0]["late"] == "2d 23h"
    assert [r["id"] for r in found["today"]] == [agenda_data["today"]]
    assert [r["id"] for r in found["stay_in_touch"]] == [agenda_data["ana"]]
    assert [r["id"] for r in found["no_next_step"]] == [agenda_data["deal"]]
    assert found["counts"] == {"overdue": 1, "today": 1, "stay_in_touch": 1, "no_next_step": 1}
    assert found["warning"] is None


def test_agenda_fits_80_columns_and_names_ids(
    db_url: str, crm: Runner, agenda_data: dict[str, int]
) -> None:
    out = crm.ok("today").out
    lines = out.splitlines()
    assert lines and all(cell_len(line) <= 80 for line in lines), out
    assert lines[0] == "Overdue (1)"
    assert lines[1].startswith(f"  #{agenda_data['overdue']} ")
    assert "2d 23h late: Call back" in lines[1]
    assert any(line.startswith(f"  contact {agenda_data['ana']}  张伟") for line in lines)
    assert any(line.startswith(f"  deal {agenda_data['deal']}  Renewal") for line in lines)


def test_a_logged_interaction_resets_stay_in_touch(
    db_url: str, crm: Runner, agenda_data: dict[str, int]
) -> None:
    crm.ok("log", "call", str(agenda_data["ana"]), "Caught up")
    assert crm.json("today")["stay_in_touch"] == []
    listed = crm.json("contact", "list", "--due")
    rows = listed["rows"] if isinstance(listed, dict) else listed
    assert rows == []


def test_contact_list_due(db_url: str, crm: Runner, agenda_data: dict[str, int]) -> None:
    listed = crm.json("contact", "list", "--due")
    rows = listed["rows"] if isinstance(listed, dict) else listed
    assert [r["id"] for r in rows] == [agenda_data["ana"]]


def test_today_warns_when_reminders_stopped(
    db_url: str, crm: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    for minutes in (0, 15, 30):
        monkeypatch.setenv("CRM_NOW", (NOW + timedelta(minutes=minutes)).isoformat())
        crm.ok("remind")
    assert crm.ok("today").err == "crm: nothing due today\n"
    monkeypatch.setenv("CRM_NOW", (NOW + timedelta(days=1)).isoformat())
    result = crm.ok("today")
    assert "warning: crm remind last ran 23h 30min ago" in result.err
    assert crm.json("today")["warning"].startswith("crm remind last ran")
