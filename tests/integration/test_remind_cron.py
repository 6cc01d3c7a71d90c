"""`crm remind` as cron runs it: the installed command, a bare environment, a walk through time.

Each run is a subprocess with only PATH, HOME, CRM_HOME (and CRM_DATABASE_URL for PostgreSQL)
and CRM_NOW: no TTY, no LANG, no TZ. Between runs the user acts (done, snooze, a logged call)
through the real command at the same fixed time. Every follow-up (one-off, repeating, snoozed)
and the stay-in-touch contact must be reported exactly once per occurrence, at the first run
at or after it, in order, shown in the configured zone, across both daylight-saving changes of
the zone and after a three-day gap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Runner

CRM = str(Path(sys.executable).parent / "crm")


@dataclass(frozen=True)
class Zone:
    name: str
    spring: date  # the night the clocks go forward (02:00 -> 03:00 in both zones)
    autumn: date  # the night they go back
    repeated: time  # a wall-clock time that happens twice that night


ZONES = [
    Zone("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25), time(2, 30)),
    Zone("America/New_York", date(2026, 3, 8), date(2026, 11, 1), time(1, 30)),
]


def cron_env(crm_home: Path, now: datetime) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(crm_home),
        "CRM_HOME": str(crm_home),
        "CRM_NOW": now.isoformat(),
        "SHELL": "/bin/sh",
    }
    if os.environ.get("CRM_DATABASE_URL"):
        env["CRM_DATABASE_URL"] = os.environ["CRM_DATABASE_URL"]
    return env


def cron_remind(crm_home: Path, now: datetime, *args: str) -> list[dict[str, Any]]:
    """`crm remind --json` as cron would start it at `now`; the reminders it printed."""
    proc = subprocess.run(
        [CRM, "remind", "--json", *args],
        env=cron_env(crm_home, now),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    if not proc.stdout:
        return []
    assert "\x1b" not in proc.stdout  # no colour without a terminal
    return list(json.loads(proc.stdout))


class Walk:
    """The runs so far: every reminder with the time of the run that reported it."""

    def __init__(self, crm_home: Path, crm: Runner, monkeypatch: pytest.MonkeyPatch):
        self.crm_home, self.crm, self.monkeypatch = crm_home, crm, monkeypatch
        self.runs: list[tuple[datetime, list[dict[str, Any]]]] = []

    def at(self, now: datetime) -> None:
        """Act as the user at `now` (the in-process commands read CRM_NOW too)."""
        self.monkeypatch.setenv("CRM_NOW", now.isoformat())

    def remind(self, now: datetime) -> list[dict[str, Any]]:
        found = cron_remind(self.crm_home, now)
        self.runs.append((now, found))
        return found

    def every(self, start: datetime, end: datetime, step: timedelta) -> None:
        now = start
        while now <= end:
            self.remind(now)
            now += step

    def reports(self, kind: str, ident: int) -> list[tuple[datetime, dict[str, Any]]]:
        return [
            (now, r)
            for now, found in self.runs
            for r in found
            if (r["kind"], r["id"]) == (kind, ident)
        ]


def local(day: date, at: time, tz: ZoneInfo, *, fold: int = 0) -> datetime:
    """A wall-clock time read as the crm documents it: a skipped time moves forward by the
    gap; a repeated one is its first reading."""
    naive = datetime.combine(day, at)
    if fold == 0:
        return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
    return naive.replace(tzinfo=tz, fold=1)


def assert_on_time(walk: Walk, reports: list[tuple[datetime, dict[str, Any]]]) -> None:
    """Each report came from the first run at or after its occurrence."""
    times = [now for now, _ in walk.runs]
    for now, record in reports:
        occurrence = datetime.fromisoformat(record["occurrence"])
        assert now >= occurrence, record
        earlier = [t for t in times if t < now]
        assert not earlier or earlier[-1] < occurrence, (record, earlier[-1])


@pytest.mark.parametrize("zone", ZONES, ids=lambda z: z.name)
def test_each_occurrence_reported_once_across_dst_and_a_gap(
    db_url: str,
    crm_home: Path,
    crm: Runner,
    monkeypatch: pytest.MonkeyPatch,
    zone: Zone,
) -> None:
    tz = ZoneInfo(zone.name)
    monkeypatch.setenv("CRM_TIMEZONE", zone.name)
    # Cron has none of the test's CRM_* variables: the settings come from the config file.
    crm.ok("config", "set", "defaults.timezone", zone.name)
    crm.ok("config", "set", "user.name", "Test User")
    crm.ok("config", "set", "user.email", "tester@example.com")
    walk = Walk(crm_home, crm, monkeypatch)
    spring, autumn = zone.spring, zone.autumn

    walk.at(local(spring - timedelta(days=1), time(8, 0), tz))
    gap = crm.json("followup", "add", "In the gap", "--due", f"{spring} 02:30")["id"]
    daily = crm.json("followup", "add", "Daily", "--due", f"{spring} 02:30", "--repeat", "daily")[
        "id"
    ]
    snoozed = crm.json("followup", "add", "Snoozed", "--due", f"{spring} 01:00")["id"]
    twice = crm.json(
        "followup", "add", "Repeated hour", "--due", f"{autumn} {zone.repeated:%H:%M}"
    )["id"]
    contact = crm.json(
        "contact", "add", "Ana Lima", "--email", "ana@example.com", "--cadence", "1"
    )["id"]
    assert walk.remind(local(spring - timedelta(days=1), time(8, 0), tz)) == []

    # The spring-forward night, every 45 minutes from 00:45 to 09:45 local.
    start = local(spring, time(0, 45), tz)
    walk.every(start, start + timedelta(hours=2), timedelta(minutes=45))
    first_snooze = walk.reports("followup", snoozed)
    assert len(first_snooze) == 1
    walk.at(walk.runs[-1][0])
    crm.ok("followup", "snooze", str(snoozed), "--until", f"{spring} 05:00")
    walk.every(
        start + timedelta(hours=2, minutes=45), start + timedelta(hours=5), timedelta(minutes=45)
    )
    walk.at(walk.runs[-1][0])
    crm.ok("followup", "done", str(daily))
    walk.every(
        start + timedelta(hours=5, minutes=45), start + timedelta(hours=9), timedelta(minutes=45)
    )
    walk.at(walk.runs[-1][0])
    crm.ok("log", "call", str(contact), "Caught up")  # resets the cadence

    # The laptop sleeps for three days: one run catches up, oldest first.
    after_gap = local(spring + timedelta(days=3), time(12, 0), tz)
    caught_up = walk.remind(after_gap)

    # The fall-back night, every 30 minutes across the repeated hour (in real time).
    autumn_start = local(autumn, time(0, 0), tz)
    walk.every(autumn_start, autumn_start + timedelta(hours=5), timedelta(minutes=30))

    # One-off in the gap: once, at the first valid instant after it (03:00 + the 30 minutes).
    [(_, gap_report)] = walk.reports("followup", gap)
    assert gap_report["occurrence"] == local(spring, time(3, 30), tz).isoformat()
    assert " 03:30 " in gap_report["due_local"]
    # Snoozed: once at its due time, once at the end of the snooze.
    snooze_reports = walk.reports("followup", snoozed)
    assert [r["occurrence"] for _, r in snooze_reports] == [
        local(spring, time(1, 0), tz).isoformat(),
        local(spring, time(5, 0), tz).isoformat(),
    ]
    # Repeating: this occurrence once; the next, made by `done`, once at its own time (back at
    # 02:30 the next day), which fell in the gap: reported late, by the catch-up run.
    [(_, first_daily)] = walk.reports("followup", daily)
    assert first_daily["occurrence"] == local(spring, time(3, 30), tz).isoformat()
    next_daily = [r for r in caught_up if r["kind"] == "followup" and r["id"] != daily]
    assert [r["title"] for r in next_daily] == ["Daily"]
    assert (
        next_daily[0]["occurrence"]
        == local(spring + timedelta(days=1), time(2, 30), tz).isoformat()
    )
    assert next_daily[0]["late_seconds"] > 0
    # Stay in touch: due after its day, once; the logged call reset it to a day later.
    contact_reports = walk.reports("contact", contact)
    assert [r["occurrence"] for _, r in contact_reports] == [
        local(spring, time(9, 0), tz).isoformat(),
        local(spring + timedelta(days=1), time(9, 0), tz).isoformat(),
    ]
    assert contact_reports[1][0] == after_gap
    # The catch-up run lists oldest first and says how late each is.
    assert [r["occurrence"] for r in caught_up] == sorted(r["occurrence"] for r in caught_up)
    assert all(r["late_seconds"] > 0 for r in caught_up)
    # The repeated hour: once, at its first reading (summer time).
    [(_, twice_report)] = walk.reports("followup", twice)
    assert twice_report["occurrence"] == local(autumn, zone.repeated, tz).isoformat()
    assert (
        datetime.fromisoformat(twice_report["occurrence"]).utcoffset()
        == local(autumn, time(0, 0), tz).utcoffset()
    )

    everything = [(now, r) for now, found in walk.runs for r in found]
    assert_on_time(walk, everything)
    keys = [(r["kind"], r["id"], r["occurrence"]) for _, r in everything]
    assert len(keys) == len(set(keys))  # nothing twice
    for _, found in walk.runs:  # each run in order of when each came due
        stamps = [datetime.fromisoformat(r["occurrence"]) for r in found]
        assert stamps == sorted(stamps)
    # Times are shown in the configured zone.
    for _, record in everything:
        assert (
            datetime.fromisoformat(record["due_at"]).utcoffset()
            == datetime.fromisoformat(record["due_at"]).astimezone(tz).utcoffset()
        )


def test_nothing_due_prints_nothing(db_url: str, crm_home: Path, crm: Runner) -> None:
    crm.ok("config", "set", "user.name", "Test User")
    proc = subprocess.run(
        [CRM, "remind"],
        env=cron_env(crm_home, datetime(2026, 11, 30, 9, tzinfo=UTC)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
