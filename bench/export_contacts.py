"""How fast is `crm export contacts` to CSV, and does its memory stay flat as rows grow?

Target: 100,000 contacts (one email, one phone, a tag on a third of them, a custom field on
a tenth, a company each) in <= 1.5 s for the whole process, writing a file with `-o`; and a
peak memory (the process's own maximum resident set, from /proc/PID/status as it ends) that
does not grow with the row count (`--sizes 100000,1000000`).

Builds the databases with bulk inserts (crm migrates them itself first), then runs the export
and, on SQLite, the baseline (BASELINE: a plain sqlite3 + csv script writing the same rows)
round-robin, so machine noise hits all alike, and prints medians and the ratios to the
baseline, of wall-clock and of CPU time (steadier on a shared machine).

Usage:
    python bench/export_contacts.py [--runs 5] [--postgres] [--keep DIR] [--sizes N,N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def env_for(home: Path, url: str) -> dict[str, str]:
    env = dict(
        os.environ,
        CRM_HOME=str(home),
        CRM_DATABASE_URL=url,
        CRM_USER_NAME="Bench",
        CRM_TIMEZONE="Europe/Berlin",
    )
    # Bytecode is written and reused, as after `pip install`: with PYTHONDONTWRITEBYTECODE set
    # every run would compile crm and its libraries again (about a second).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    return env


def build(home: Path, url: str, n: int) -> None:
    subprocess.run(
        [sys.executable, "-m", "crm_cli", "pipeline", "list"],
        env=env_for(home, url),
        check=True,
        capture_output=True,
    )
    from sqlalchemy import insert, select

    from crm_cli.domain.text import index_tokens
    from crm_cli.store.engine import make_engine, session_scope
    from crm_cli.store.models import (
        Company,
        Contact,
        ContactEmail,
        ContactPhone,
        ContactTag,
        Tag,
        User,
    )

    now = datetime.now(UTC)
    stamp = {"created_at": now, "updated_at": now}
    engine = make_engine(url)
    companies = max(10, n // 10)

    def put(session: Any, table: Any, rows: Any) -> None:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                session.execute(insert(table), batch)
                batch = []
        if batch:
            session.execute(insert(table), batch)

    with session_scope(engine) as s:
        owner = s.scalar(select(User.id))
        s.execute(insert(Tag), [{"name": f"tag{i}", **stamp} for i in range(20)])
        tags = list(s.scalars(select(Tag.id)))
        put(
            s,
            Company,
            (
                {"name": f"Company {i}", "custom": {}, "owner_id": owner, **stamp}
                for i in range(companies)
            ),
        )
        put(
            s,
            Contact,
            (
                {
                    "name": f"Person {i}",
                    "company_id": 1 + i % companies,
                    "lifecycle": "customer",
                    "owner_id": owner,
                    "custom": {"shoe": str(i % 50)} if i % 10 == 0 else {},
                    "search_name": index_tokens(f"Person {i}"),
                    "search_doc": "",
                    **stamp,
                }
                for i in range(n)
            ),
        )
        put(
            s,
            ContactEmail,
            ({"contact_id": i + 1, "email": f"p{i}@example.com", "position": 0} for i in range(n)),
        )
        put(
            s,
            ContactPhone,
            ({"contact_id": i + 1, "phone": f"+4930{i:08d}", "position": 0} for i in range(n)),
        )
        put(
            s,
            ContactTag,
            ({"contact_id": i + 1, "tag_id": tags[i % 20]} for i in range(n) if i % 3 == 0),
        )
    engine.dispose()


def _peak(pid: int) -> float:
    """The peak resident memory (MiB) of process `pid`, read until it ends: VmHWM in
    /proc/PID/status. (ru_maxrss from wait4 is no use here: a child forked from this process,
    which has imported SQLAlchemy to build the databases, starts with this process's peak.)"""
    peak = 0.0
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return peak
        if "State:\tZ" in text:  # ended, not yet waited for: its memory is gone
            return peak
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
        time.sleep(0.02)


def run_once(home: Path, url: str, out: Path) -> tuple[float, float, float, int]:
    """One whole `crm export contacts -o FILE`: seconds, CPU seconds, peak MiB, rows."""
    argv = [sys.executable, "-m", "crm_cli", "export", "contacts", "-o", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env_for(home, url), stderr=subprocess.PIPE)
    peak = _peak(proc.pid)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        assert proc.stderr is not None
        raise SystemExit(proc.stderr.read().decode())
    with out.open("rb") as f:
        rows = sum(1 for _ in f) - 1
    # CPU time too: on a shared machine the wall clock also measures the neighbours.
    return elapsed, usage.ru_utime + usage.ru_stime, peak, rows


SIZES = (10_000, 100_000)
BATCH = 20_000

# The baseline (SQLite): a plain script writing the same contacts to CSV with the least work:
# one query (emails, phones and tags gathered by the database, company and owner joined),
# csv.writer; no zone conversion, no formula guard, no custom fields.
BASELINE = r"""
import csv, sqlite3, sys

conn = sqlite3.connect(sys.argv[1])
query = (
    "SELECT c.id, c.name, c.given_name, c.family_name,"
    " (SELECT group_concat(e.email, '; ') FROM contact_email e WHERE e.contact_id = c.id),"
    " (SELECT group_concat(p.phone, '; ') FROM contact_phone p WHERE p.contact_id = c.id),"
    " c.title, co.name, c.lifecycle, c.source, u.name,"
    " (SELECT group_concat(t.name, '; ') FROM contact_tag ct JOIN tag t ON t.id = ct.tag_id"
    "  WHERE ct.contact_id = c.id),"
    " c.cadence_days, c.last_contacted_at, c.created_at, c.updated_at, c.deleted_at"
    " FROM contact c LEFT JOIN company co ON co.id = c.company_id"
    " LEFT JOIN user u ON u.id = c.owner_id"
    " WHERE c.deleted_at IS NULL ORDER BY c.name, c.id"
)
with open(sys.argv[2], "w", encoding="utf-8", newline="") as out:
    writer = csv.writer(out, lineterminator="\r\n")
    cursor = conn.execute(query)
    writer.writerow([d[0] for d in cursor.description])
    while rows := cursor.fetchmany(1000):
        writer.writerows(rows)
"""


def baseline_once(home: Path, out: Path) -> tuple[float, float, float]:
    """The baseline script on the same SQLite database: seconds, CPU seconds, peak MiB."""
    argv = [sys.executable, "-c", BASELINE, str(home / "crm.db"), str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv)
    peak = _peak(proc.pid)
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("the baseline script failed")
    return elapsed, usage.ru_utime + usage.ru_stime, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--keep", type=Path)
    parser.add_argument(
        "--sizes",
        default=",".join(str(n) for n in SIZES),
        help="contact counts, comma-separated (e.g. 100000,1000000 for the memory check)",
    )
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    base = args.keep or Path(tempfile.mkdtemp(prefix="crm-export-bench-"))
    urls: dict[int, tuple[Path, str]] = {}
    for n in sizes:
        home = base / f"home{n}"
        if args.postgres:
            name = f"crm_export_bench_{n}"
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
            fresh = not (home / ".built").exists()
            if fresh:
                import psycopg

                with psycopg.connect(
                    "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
                ) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    admin.execute(f'CREATE DATABASE "{name}"')
        else:
            url = f"sqlite:///{home / 'crm.db'}"
            fresh = not (home / ".built").exists()
        home.mkdir(parents=True, exist_ok=True)
        if fresh:
            t = time.perf_counter()
            build(home, url, n)
            (home / ".built").touch()
            print(f"built {n:,} contacts in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        urls[n] = (home, url)
    results: dict[int, list[tuple[float, float, float, int]]] = {n: [] for n in sizes}
    baselines: dict[int, list[tuple[float, float, float]]] = {n: [] for n in sizes}
    for n in sizes:  # warm the caches once
        run_once(*urls[n], base / f"out{n}.csv")
    for _ in range(args.runs):
        for n in sizes:  # round-robin: machine noise hits crm and the baseline alike
            results[n].append(run_once(*urls[n], base / f"out{n}.csv"))
            if not args.postgres:
                baselines[n].append(baseline_once(urls[n][0], base / f"base{n}.csv"))
    print(
        f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {'PostgreSQL' if args.postgres else 'SQLite'}, "
        f"{datetime.now(UTC):%Y-%m-%d}"
    )
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for n in sizes:
        times = [r[0] for r in results[n]]
        cpu = [r[1] for r in results[n]]
        peaks = [r[2] for r in results[n]]
        rows = results[n][0][3]
        line = (
            f"export contacts -o FILE, {rows:,} rows: wall median {statistics.median(times):.2f} s "
            f"(min {min(times):.2f}), CPU median {statistics.median(cpu):.2f} s, "
            f"peak memory {max(peaks):.0f} MiB"
        )
        if baselines[n]:
            b_wall = statistics.median(b[0] for b in baselines[n])
            b_cpu = statistics.median(b[1] for b in baselines[n])
            line += (
                f"; baseline script wall {b_wall:.2f} s, CPU {b_cpu:.2f} s, "
                f"peak {max(b[2] for b in baselines[n]):.0f} MiB; ratio wall "
                f"{statistics.median(times) / b_wall:.2f}x, "
                f"CPU {statistics.median(cpu) / b_cpu:.2f}x"
            )
        print(line)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        ratio = max(r[2] for r in results[large]) / max(r[2] for r in results[small])
        print(f"peak memory {large:,} / {small:,} rows: {ratio:.2f}x")


if __name__ == "__main__":
    main()
