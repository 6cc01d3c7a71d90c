"""How fast is `crm export contacts` to CSV, and does its memory stay flat as rows grow?

Target: 100,000 contacts (one email, one phone, a tag on a third of them, a custom field on
a tenth, a company each) in <= 1.5 s for the whole process, writing a file with `-o`; and a
peak memory (ru_maxrss, read with wait4 for that process alone) at 100,000 contacts close to
the one at 10,000.

Builds both databases with bulk inserts (crm migrates them itself first), then runs the export
round-robin on the two, so machine noise hits both alike, and prints medians.

Usage:
    python bench/export_contacts.py [--runs 5] [--postgres] [--keep DIR]
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

SIZES = (10_000, 100_000)
BATCH = 20_000


def env_for(home: Path, url: str) -> dict[str, str]:
    env = dict(
        os.environ,
        CRM_HOME=str(home),
        CRM_DATABASE_URL=url,
        CRM_USER_NAME="Bench",
        CRM_TIMEZONE="Europe/Berlin",
    )
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


def run_once(home: Path, url: str, out: Path) -> tuple[float, float, float, int]:
    """One whole `crm export contacts -o FILE`: seconds, CPU seconds, peak MiB, rows."""
    argv = [sys.executable, "-m", "crm_cli", "export", "contacts", "-o", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env_for(home, url), stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(proc.pid, 0)  # this process's own peak, not any child's
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        assert proc.stderr is not None
        raise SystemExit(proc.stderr.read().decode())
    with out.open("rb") as f:
        rows = sum(1 for _ in f) - 1
    # CPU time too: on a shared machine the wall clock also measures the neighbours.
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, rows


def listing_once(home: Path, url: str) -> float:
    """CPU seconds of `crm contact list --all --csv` to /dev/null: the listing the export
    reads its records from, so the export's own share can be told apart."""
    argv = [sys.executable, "-m", "crm_cli", "contact", "list", "--all", "--csv"]
    proc = subprocess.Popen(argv, env=env_for(home, url), stdout=subprocess.DEVNULL)
    _pid, _status, usage = os.wait4(proc.pid, 0)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="crm-export-bench-"))
    urls: dict[int, tuple[Path, str]] = {}
    for n in SIZES:
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
    results: dict[int, list[tuple[float, float, float, int]]] = {n: [] for n in SIZES}
    listings: dict[int, list[float]] = {n: [] for n in SIZES}
    for n in SIZES:  # warm the caches once
        run_once(*urls[n], base / f"out{n}.csv")
    for _ in range(args.runs):
        for n in SIZES:
            results[n].append(run_once(*urls[n], base / f"out{n}.csv"))
            listings[n].append(listing_once(*urls[n]))
    print(
        f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {'PostgreSQL' if args.postgres else 'SQLite'}, "
        f"{datetime.now(UTC):%Y-%m-%d}"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    for n in SIZES:
        times = [r[0] for r in results[n]]
        cpu = [r[1] for r in results[n]]
        peaks = [r[2] for r in results[n]]
        rows = results[n][0][3]
        print(
            f"export contacts -o FILE, {rows:,} rows: median {statistics.median(times):.2f} s "
            f"(min {min(times):.2f}), CPU {statistics.median(cpu):.2f} s "
            f"(contact list --all --csv: {statistics.median(listings[n]):.2f} s CPU), "
            f"peak memory {max(peaks):.0f} MiB"
        )
    ratio = max(r[2] for r in results[SIZES[1]]) / max(r[2] for r in results[SIZES[0]])
    print(f"peak memory {SIZES[1]:,} / {SIZES[0]:,} rows: {ratio:.2f}x")


if __name__ == "__main__":
    main()
