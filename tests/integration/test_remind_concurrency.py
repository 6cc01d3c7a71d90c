"""Exactly once under concurrency and kills: two `crm remind` started together, one started
while another process holds the database for writing, and one killed with SIGKILL mid-run.
On SQLite and PostgreSQL, with the installed command as subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Runner
from tests.integration.test_remind_cron import CRM, cron_env

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def start(crm_home: Path, now: datetime, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CRM, "remind", "--json", *args],
        env=cron_env(crm_home, now),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def reported(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return list(json.loads(out)) if out else []


@pytest.fixture
def setup(crm: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    crm.ok("config", "set", "user.name", "Test User")
    crm.ok("config", "set", "user.email", "tester@example.com")
    monkeypatch.setenv("CRM_NOW", (NOW - timedelta(days=1)).isoformat())


def add_due(crm: Runner, count: int, tag: str) -> set[int]:
    return {
        crm.json("followup", "add", f"{tag} #{i}", "--due", f"2026-11-29 {8 + i}:00")["id"]
        for i in range(count)
    }


def test_two_runs_started_together_report_each_once(
    db_url: str, crm_home: Path, crm: Runner, setup: None
) -> None:
    for round_ in range(20):
        due = add_due(crm, 3, f"round {round_}")
        now = NOW + timedelta(minutes=round_)
        first, second = start(crm_home, now), start(crm_home, now)
        ids = [r["id"] for r in reported(first) + reported(second)]
        assert sorted(ids) == sorted(due), f"round {round_}"


HOLDER = textwrap.dedent(
    """
    import sys, time
    from sqlalchemy import text
    from crm_cli.store.engine import make_engine, session_scope
    engine = make_engine(sys.argv[1])
    with session_scope(engine, write=True) as session:
        session.execute(text("UPDATE contact SET name = name"))
        session.execute(text("UPDATE followup SET notes = notes"))
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def test_a_run_while_another_process_writes_waits_and_reports_once(
    db_url: str, crm_home: Path, crm: Runner, setup: None
) -> None:
    for round_ in range(20):
        due = add_due(crm, 2, f"round {round_}")
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, db_url, "0.5"], stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        now = NOW + timedelta(minutes=round_)
        runs = [start(crm_home, now), start(crm_home, now)]
        ids = [r["id"] for proc in runs for r in reported(proc)]
        assert holder.wait(timeout=60) == 0
        assert sorted(ids) == sorted(due), f"round {round_}"


def test_a_run_killed_mid_delivery_loses_nothing(
    db_url: str, crm_home: Path, crm: Runner, setup: None, tmp_path: Path
) -> None:
    due = add_due(crm, 3, "kill")
    marker = tmp_path / "started"
    # The notifier says it started, then hangs: the run is killed while delivering.
    proc = subprocess.Popen(
        [
            CRM,
            "remind",
            "--exec",
            f"echo $$ > {marker}.pid; touch {marker}; sleep 60",
            "--timeout",
            "120",
        ],
        env=cron_env(crm_home, NOW),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    os.killpg(int(Path(f"{marker}.pid").read_text()), signal.SIGKILL)  # the orphaned notifier
    assert out == b""
    # The next run reports everything the killed one did not deliver, once.
    again = reported(start(crm_home, NOW + timedelta(minutes=15)))
    assert sorted(r["id"] for r in again) == sorted(due)
    assert reported(start(crm_home, NOW + timedelta(minutes=30))) == []


def test_a_second_run_waits_for_the_first_claim_then_skips_it(
    db_url: str, crm: Runner, setup: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race itself, made certain: the second run starts while the first holds its claims
    uncommitted. It must wait (never report them too), then find them taken."""
    import threading

    from crm_cli.services.context import open_context
    from crm_cli.services.reminders import RemindOptions, run

    due = add_due(crm, 2, "race")
    monkeypatch.setenv("CRM_NOW", NOW.isoformat())
    first_ctx, second_ctx = open_context().open(), open_context().open()
    seen: list[list[int]] = []
    try:
        with first_ctx.session(journal=False) as session:
            result = run(first_ctx, session, RemindOptions(), lambda records: [])
            assert sorted(r["id"] for r in result.records) == sorted(due)

            def second() -> None:
                with second_ctx.session(journal=False) as other:
                    found = run(second_ctx, other, RemindOptions(), lambda records: [])
                    seen.append([r["id"] for r in found.records])

            thread = threading.Thread(target=second)
            thread.start()
            thread.join(1.0)
            assert thread.is_alive()  # waiting on the first run's claims
        thread.join(30)
        assert seen == [[]]
    finally:
        first_ctx.close()
        second_ctx.close()


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 1.0, 1.5])
def test_a_plain_run_killed_at_any_moment_loses_nothing(
    db_url: str, crm_home: Path, crm: Runner, setup: None, delay: float
) -> None:
    """Killed somewhere in its run (start-up, the claim, the output, the commit): whatever it
    did not print, the next run prints."""
    due = add_due(crm, 5, "kill")
    proc = subprocess.Popen(
        [CRM, "remind"],
        env=cron_env(crm_home, NOW),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    printed = {int(line.split("]")[0].split()[-1]) for line in out.decode().splitlines()}
    following = {r["id"] for r in reported(start(crm_home, NOW + timedelta(minutes=15)))}
    assert due - printed <= following
    assert following <= due


def test_a_run_outlasts_a_writer_longer_than_the_busy_timeout(
    sqlite_url: str, crm_home: Path, crm: Runner, setup: None
) -> None:
    """An import holding SQLite for longer than the busy timeout (15 s) delays the run; it
    does not fail it."""
    due = add_due(crm, 2, "patient")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, sqlite_url, "18"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    proc = start(crm_home, NOW)
    assert sorted(r["id"] for r in reported(proc)) == sorted(due)
    assert holder.wait(timeout=60) == 0
