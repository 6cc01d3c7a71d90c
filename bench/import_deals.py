"""`crm import deals` on N rows, whole process, with this checkout and with another one: what
the report rollups' triggers (crm_cli/store/rollups.py) add to every deal written.

The file: deals a fifth open (with an expected close), the rest won or lost with created and
closed times, three currencies, a source. Each run imports it into a fresh SQLite database
(made and migrated first, so only the import is timed), alternating the two checkouts.

    .venv/bin/python bench/import_deals.py --rows 20000 --runs 3 \\
        --before /path/to/other/checkout/.venv/bin/python

Run it from a directory outside both checkouts (`python -m crm_cli` imports the package from
the current directory first). Prints the medians of wall-clock and CPU time (user + system
of the child) and the ratio.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def write_file(path: Path, rows: int) -> None:
    rnd = random.Random(7)
    now = datetime(2026, 11, 24, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["title", "status", "value", "currency", "source", "close", "created_at", "closed_at"]
        )
        for i in range(rows):
            roll = rnd.random()
            status = "open" if roll < 0.2 else "won" if roll < 0.6 else "lost"
            created = now - timedelta(days=rnd.uniform(30, 730))
            closed = created + timedelta(days=rnd.uniform(0, 120))
            out.writerow(
                [
                    f"Deal {i}",
                    status,
                    f"{rnd.randrange(10, 100_000)}.{rnd.randrange(100):02d}",
                    rnd.choice(["EUR"] * 8 + ["USD", "GBP"]),
                    rnd.choice(["web", "fair", "referral", ""]),
                    (now + timedelta(days=rnd.randrange(-100, 300))).date().isoformat()
                    if status == "open"
                    else "",
                    created.isoformat(timespec="seconds"),
                    closed.isoformat(timespec="seconds") if status != "open" else "",
                ]
            )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one(python: str, csv_path: Path, work: Path) -> tuple[float, float]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = dict(
        os.environ,
        CRM_HOME=str(work),
        CRM_DATABASE_URL=f"sqlite:///{work / 'crm.db'}",
        CRM_USER_NAME="Bench",
        CRM_TIMEZONE="Europe/Berlin",
    )
    run = [python, "-m", "crm_cli"]
    subprocess.run([*run, "pipeline", "list"], env=env, check=True, stdout=subprocess.DEVNULL)
    start, cpu = time.perf_counter(), _cpu()
    subprocess.run(
        [*run, "import", "deals", str(csv_path)], env=env, check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - start, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", required=True, help="The other checkout's Python.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "deals.csv"
        write_file(path, args.rows)
        results: dict[str, list[tuple[float, float]]] = {"before": [], "this": []}
        for _ in range(args.runs):
            results["before"].append(one(args.before, path, root / "before"))
            results["this"].append(one(sys.executable, path, root / "this"))
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    medians = {}
    for name, got in results.items():
        wall = statistics.median(w for w, _c in got)
        cpu = statistics.median(c for _w, c in got)
        medians[name] = (wall, cpu)
        print(f"{name:7} import of {args.rows:,} deals: {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    ratio = medians["this"][1] / medians["before"][1]
    print(f"CPU ratio this / before: {ratio:.3f}")


if __name__ == "__main__":
    main()
