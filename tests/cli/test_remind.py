"""`crm remind` options through the real command, on SQLite and PostgreSQL, the clock fixed by
CRM_NOW: look-ahead, --again, owners, stale deals, notifiers, scheduler health."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crm_cli.errors import ExitCode
from tests.conftest import Runner

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 13:00 in Berlin


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setenv("CRM_NOW", moment.isoformat())


def remind(crm: Runner, *args: str) -> list[dict[str, Any]]:
    result = crm.ok("remind", "--json", *args)
    return list(json.loads(result.out)) if result.out else []


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    at(monkeypatch, NOW - timedelta(days=2))
    return monkeypatch


def test_within_looks_ahead_and_again_repeats(
    db_url: str, crm: Runner, clock: pytest.MonkeyPatch
) -> None:
    soon = crm.json("followup", "add", "Soon", "--due", "2026-11-30 14:00")["id"]
    later = crm.json("followup", "add", "Later", "--due", "2026-11-30 18:00")["id"]
    past = crm.json("followup", "add", "Past", "--due", "2026-11-29 09:00")["id"]
    at(clock, NOW)
    assert [r["id"] for r in remind(crm, "--within", "2h")] == [past, soon]
    assert remind(crm, "--within", "2h") == []
    assert [r["id"] for r in remind(crm, "--again")] == [past]  # due now, reported or not
    assert remind(crm) == []
    at(clock, NOW + timedelta(hours=6))
    [late] = remind(crm)
    assert (late["id"], late["late"]) == (later, "1h")
    assert late["act"] == f"crm followup done {later}"


def test_plain_output_names_the_id_the_time_and_how_late(
    db_url: str, crm: Runner, clock: pytest.MonkeyPatch
) -> None:
    ident = crm.json("followup", "add", "Call Ana", "--due", "2026-11-30 09:00")["id"]
    at(clock, NOW)
    out = crm.ok("remind").out
    assert out == f"[followup {ident}] Call Ana: due Mon 2026-11-30 09:00 CET, 4h late\n"
    assert crm.ok("remind").out == ""


def test_owner_and_everyone(db_url: str, crm: Runner, clock: pytest.MonkeyPatch) -> None:
    crm.ok("user", "add", "Bo Chen", "--email", "bo@example.com")
    mine = crm.json("followup", "add", "Mine", "--due", "2026-11-29 09:00")["id"]
    theirs = crm.json(
        "followup", "add", "Theirs", "--due", "2026-11-29 10:00", "--owner", "bo@example.com"
    )["id"]
    at(clock, NOW)
    assert [r["id"] for r in remind(crm, "--owner", "bo@example.com")] == [theirs]
    assert [r["id"] for r in remind(crm)] == [mine]
    assert remind(crm, "--everyone") == []
    assert [r["id"] for r in remind(crm, "--everyone", "--again")] == [mine, theirs]


def test_snooze_and_a_new_due_time_make_it_due_again(
    db_url: str, crm: Runner, clock: pytest.MonkeyPatch
) -> None:
    ident = crm.json("followup", "add", "Call", "--due", "2026-11-29 09:00")["id"]
    at(clock, NOW)
    assert len(remind(crm)) == 1
    crm.ok("followup", "snooze", str(ident), "--for", "2h")
    assert remind(crm) == []
    at(clock, NOW + timedelta(hours=2))
    [again] = remind(crm)
    assert again["occurrence"] == "2026-11-30T15:00:00+01:00"
    crm.ok("followup", "edit", str(ident), "--due", "2026-11-30 16:00")
    at(clock, NOW + timedelta(hours=3))
    assert [r["due_at"] for r in remind(crm)] == ["2026-11-30T16:00:00+01:00"]


def test_snooze_for_refuses_a_bad_length(
    db_url: str, crm: Runner, clock: pytest.MonkeyPatch
) -> None:
    ident = crm.json("followup", "add", "Call", "--due", "2026-11-29 09:00")["id"]
    result = crm("followup", "snooze", str(ident), "--for", "soon")
    assert result.code == ExitCode.USAGE
    assert "for" in result.err and "soon" in result.err
    both = crm("followup", "snooze", str(ident), "--for", "2h", "--until", "tomorrow")
    assert both.code == ExitCode.USAGE


def test_stale_deals_once_a_day(db_url: str, crm: Runner, clock: pytest.MonkeyPatch) -> None:
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@example.com")
    idle = crm.json("deal", "add", "Idle deal", "--contact", "ana@example.com")["id"]
    busy = crm.json("deal", "add", "Busy deal", "--contact", "ana@example.com")["id"]
    crm.ok("followup", "add", "Next step", "--deal", str(busy), "--due", "2026-12-24 09:00")
    at(clock, NOW)
    assert [(r["kind"], r["id"]) for r in remind(crm, "--stale-deals")] == [("deal", idle)]
    assert remind(crm, "--stale-deals") == []
    at(clock, NOW + timedelta(days=1))
    assert [r["id"] for r in remind(crm, "--stale-deals")] == [idle]
    listed = crm.json("deal", "list", "--no-next-step")
    rows = listed["rows"] if isinstance(listed, dict) else listed
    assert [d["id"] for d in rows] == [idle]


def test_exec_failure_keeps_the_reminder_success_does_not_repeat(
    db_url: str, crm: Runner, clock: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ident = crm.json("followup", "add", "Call Ana", "--due", "2026-11-29 09:00")["id"]
    at(clock, NOW)
    failing = crm("remind", "--exec", "cat > /dev/null; echo no route >&2; exit 3")
    assert failing.code == ExitCode.FAILURE
    assert failing.out == ""
    assert f"followup {ident}" in failing.err and "exit status 3: no route" in failing.err

    hanging = crm("remind", "--exec", "sleep 30", "--timeout", "0.5")
    assert hanging.code == ExitCode.FAILURE and "timed out" in hanging.err

    log = tmp_path / "notified.jsonl"
    script = f'cat >> {log}; echo >> {log}; echo "$CRM_REMINDER_ID $CRM_REMINDER_TITLE" >> {log}'
    assert crm.ok("remind", "--exec", script).out == ""
    lines = log.read_text().splitlines()
    assert json.loads(lines[0])["id"] == ident
    assert lines[1] == f"{ident} Call Ana"
    crm.ok("remind", "--exec", script)
    assert len(log.read_text().splitlines()) == 2  # not run again
    assert remind(crm) == []


def test_status_warns_when_runs_stop(db_url: str, crm: Runner, clock: pytest.MonkeyPatch) -> None:
    never = crm("remind", "--status", "--json")
    assert never.json["last_run"] is None and "never run" in never.err
    for minutes in range(0, 60, 15):
        at(clock, NOW + timedelta(minutes=minutes))
        crm.ok("remind")
    healthy = crm.ok("remind", "--status", "--json")
    assert healthy.json["usual_gap_seconds"] == 900
    assert healthy.json["stopped"] is False and healthy.err == ""
    at(clock, NOW + timedelta(hours=3))
    stopped = crm.ok("remind", "--status", "--json")
    assert stopped.json["stopped"] is True
    assert stopped.json["last_run"] == "2026-11-30T13:45:00+01:00"
    assert "last ran 2h 15min ago" in stopped.err


def test_print_crontab_and_systemd(db_url: str, crm: Runner, crm_home: Path) -> None:
    line = crm.ok("remind", "--print-crontab").out.strip()
    assert line.startswith("*/15 * * * * ")
    assert f"CRM_HOME={crm_home}" in line and line.endswith(" remind")
    command = line.split()[-2]
    assert command.startswith("/") and command.endswith("crm")
    units = crm.ok("remind", "--print-systemd").out
    assert "OnCalendar=*:0/15" in units and f"ExecStart={command} remind" in units


def test_bad_within_names_the_value(db_url: str, crm: Runner) -> None:
    result = crm("remind", "--within", "2m")
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("crm: error: ") and "2m" in result.err
