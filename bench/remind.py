"""`crm remind` at a million follow-ups against a hundred: whole process, same run.

Builds two SQLite databases through the real migrations (`crm remind --status` creates them),
then fills them with one executemany each:

- small: 100 follow-ups, all due;
- big: 1,000,000 follow-ups: 100 due, 1,000 overdue but reported already (delivery rows),
  598,900 done, 400,000 still to come.

Then times `crm remind` (the installed command, a subprocess, as cron runs it) on each,
alternating, REPEATS times; after each run its delivery rows are deleted (untimed) so every
run reports the same 100. Prints the medians and their ratio (target: big <= 1.2x small).

With `--postgres URL` (a server URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
the same on PostgreSQL: two databases `crm_bench_remind_small` / `_big` there, filled with COPY.

Usage: python bench/remind.py [WORKDIR] [--rows N] [--postgres URL]
"""

from __future__ import annotations

import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CRM = str(Path(sys.executable).parent / "crm")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
REPEATS = 7
DUE = 100
REPORTED = 1_000


def stamp(value: datetime) -> str:
    """How SQLAlchemy stores a UTC time in SQLite (store/types.py: naive UTC text)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


# The PostgreSQL server URL (--postgres), or None for SQLite files.
POSTGRES: str | None = None


def _pg_url(home: Path) -> str:
    assert POSTGRES is not None
    return f"{POSTGRES.rsplit('/', 1)[0]}/crm_bench_remind_{home.name}"


def env_for(home: Path) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "CRM_HOME": str(home),
        "CRM_NOW": NOW.isoformat(),
        "CRM_USER_NAME": "Bench",
    }
    if POSTGRES:
        env["CRM_DATABASE_URL"] = _pg_url(home)
    return env


def _connect(home: Path) -> Any:
    if POSTGRES is None:
        return sqlite3.connect(home / "crm.db")
    import psycopg

    return psycopg.connect(_pg_url(home).replace("postgresql+psycopg://", "postgresql://"))


def _exists(home: Path) -> bool:
    if POSTGRES is None:
        return (home / "crm.db").exists()
    try:
        _connect(home).close()
    except Exception:  # noqa: BLE001
        return False
    return True


def _create(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    if POSTGRES is not None:
        import psycopg

        admin = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "crm_bench_remind_{home.name}"')
    subprocess.run([CRM, "remind", "--status"], env=env_for(home), check=True, capture_output=True)


def build(home: Path, total: int) -> None:
    _create(home)
    conn = _connect(home)
    q = "?" if POSTGRES is None else "%s"
    owner = conn.execute('SELECT id FROM "user"').fetchone()[0]
    rnd = random.Random(7)
    now = stamp(NOW)

    def rows():  # type: ignore[no-untyped-def]
        for i in range(total):
            if i < DUE:
                due, done = NOW - timedelta(minutes=1 + i), None
            elif i < DUE + REPORTED and total > DUE:
                due, done = NOW - timedelta(days=1 + i % 300), None
            elif i % 5 < 3:
                due, done = NOW - timedelta(days=rnd.uniform(1, 900)), now
            else:
                due, done = NOW + timedelta(days=rnd.uniform(0.01, 700)), None
            yield (now, now, f"Call {i}", stamp(due), "Europe/Berlin", owner, "normal", done, 1)

    columns = (
        "created_at, updated_at, title, due_at, timezone, owner_id, priority, done_at, version"
    )
    started = time.perf_counter()
    if POSTGRES is None:
        conn.executemany(f"INSERT INTO followup ({columns}) VALUES ({', '.join('?' * 9)})", rows())
    else:
        # Naive UTC text into timestamptz: the session's zone must be UTC.
        conn.execute("SET TIME ZONE 'UTC'")
        with conn.cursor().copy(f"COPY followup ({columns}) FROM STDIN") as copy:
            for row in rows():
                copy.write_row(row)
    if total > DUE:
        conn.execute(f"INSERT INTO remind_run (at, reported, failed) VALUES ({q}, 0, 0)", (now,))
        conn.execute(
            "INSERT INTO reminder_delivery (kind, subject_id, occurrence, delivered_at, run_id) "
            f"SELECT 'followup', id, due_at, {q}, 1 FROM followup WHERE id > {q} AND id <= {q}",
            (now, DUE, DUE + REPORTED),
        )
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    print(f"built {total:,} follow-ups in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(home: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one whole `crm remind` process."""
    cpu = _cpu()
    started = time.perf_counter()
    proc = subprocess.run(
        [CRM, "remind", "--everyone"], env=env_for(home), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    cpu = _cpu() - cpu
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == DUE, (len(lines), proc.stderr)
    conn = _connect(home)
    conn.execute("DELETE FROM reminder_delivery WHERE run_id = (SELECT max(id) FROM remind_run)")
    conn.commit()
    conn.close()
    return elapsed, cpu


def main() -> None:
    global POSTGRES
    args = sys.argv[1:]
    total = 1_000_000
    if "--postgres" in args:
        i = args.index("--postgres")
        POSTGRES = args[i + 1]
        del args[i : i + 2]
    if "--rows" in args:
        i = args.index("--rows")
        total = int(args[i + 1])
        del args[i : i + 2]
    work = Path(args[0]) if args else Path(tempfile.mkdtemp(prefix="crm-bench-remind-"))
    small, big = work / "small", work / "big"
    if not _exists(small):
        build(small, DUE)
    if not _exists(big):
        build(big, total)
    run_once(small), run_once(big)  # warm the page cache
    times: dict[str, list[tuple[float, float]]] = {"small": [], "big": []}
    for _ in range(REPEATS):
        times["small"].append(run_once(small))
        times["big"].append(run_once(big))
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
        f"{datetime.now(UTC):%Y-%m-%d}; median of {REPEATS} whole processes"
    )
    for what, index in (("wall", 0), ("cpu", 1)):
        s = statistics.median(t[index] for t in times["small"])
        b = statistics.median(t[index] for t in times["big"])
        print(
            f"{what}: {DUE} follow-ups {s * 1000:.0f} ms; {total:,} follow-ups ({DUE} due) "
            f"{b * 1000:.0f} ms; ratio {b / s:.2f}x (target <= 1.2x)"
        )


if __name__ == "__main__":
    main()
