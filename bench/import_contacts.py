"""`crm import contacts` on 100,000 rows, whole process, against a plain script doing the least.

The file: 100,000 contacts with a name, one email and one phone (national German numbers, so
every phone goes through phonenumbers). Measured, in the same run and in alternation:

- `crm import contacts FILE` as a user runs it (a new process, a fresh SQLite database made
  and migrated first so only the import is timed);
- the baseline: a plain script that reads the same CSV with the csv module, normalises the
  same phones with phonenumbers and inserts the rows with one `executemany` in one
  transaction into a table with the same columns (no checks, no matching, no journal).

Target: crm <= 2x the baseline. Prints the medians and the ratio, of wall-clock time and of
CPU time (user + system of the child process: steadier on a machine shared with other work),
and the load average before and after.

`--before DIR` also times another copy of the code (a checkout of an earlier commit, say
`git worktree add DIR COMMIT`), imported from DIR, in the same runs: before and after measured
alike, in alternation.

    cd /tmp && python /path/to/bench/import_contacts.py --rows 100000 --runs 3 [--before DIR]
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = r"""
import csv, sqlite3, sys
import phonenumbers

path, db = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute(
    "CREATE TABLE contact (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,"
    " phone TEXT)"
)
rows = []
with open(path, encoding="utf-8", newline="") as handle:
    reader = csv.reader(handle)
    next(reader)
    for name, email, phone in reader:
        number = phonenumbers.parse(phone, "DE")
        rows.append(
            (
                name,
                email.lower(),
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
            )
        )
with conn:
    conn.executemany("INSERT INTO contact (name, email, phone) VALUES (?, ?, ?)", rows)
conn.close()
"""


def make_file(path: Path, rows: int) -> None:
    given = ["Ana", "Jonas", "Mia", "Lukas", "Zhang", "Yuki", "Min-jun", "Sofia", "Omar", "Lea"]
    family = ["Lima", "Weber", "Schmidt", "Wei", "Tanaka", "Kim", "Rossi", "Haddad", "Novak"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "email", "phone"])
        for i in range(rows):
            name = f"{given[i % len(given)]} {family[(i // 10) % len(family)]} {i}"
            writer.writerow([name, f"person{i}@example{i % 97}.com", f"030 {1000000 + i}"])


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_crm(path: Path, work: Path, code: Path | None = None) -> tuple[float, float]:
    home = work / f"crm-{time.monotonic_ns()}"
    home.mkdir()
    env = {**os.environ, "CRM_HOME": str(home), "CRM_USER_NAME": "Bench"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    # Bytecode is written and reused, as after `pip install` (not compiled again each run).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("CRM_DATABASE_URL", None)
    crm = [sys.executable, "-m", "crm_cli"]
    # Make and migrate the database first: only the import is timed.
    subprocess.run([*crm, "config", "set", "defaults.phone_region", "DE"], env=env, check=True)
    subprocess.run([*crm, "contact", "list"], env=env, check=True, capture_output=True)
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run(
        [*crm, "import", "contacts", str(path)], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"crm import failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, _cpu() - cpu


def time_baseline(path: Path, work: Path) -> tuple[float, float]:
    db = work / f"baseline-{time.monotonic_ns()}.db"
    cpu, start = _cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-c", BASELINE, str(path), str(db)], check=True)
    return time.perf_counter() - start, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--before", type=Path, help="a checkout of earlier code to time in the same runs"
    )
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "contacts.csv"
        make_file(path, args.rows)
        crm_times, base_times, before_times = [], [], []
        for _ in range(args.runs):
            base_times.append(time_baseline(path, work))
            if args.before is not None:
                before_times.append(time_crm(path, work, args.before.resolve()))
            crm_times.append(time_crm(path, work))
        print(f"rows: {args.rows:,}  runs: {args.runs}")
        print(f"load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}")
        for label, index in (("wall", 0), ("cpu", 1)):
            crm_median = statistics.median(t[index] for t in crm_times)
            base_median = statistics.median(t[index] for t in base_times)
            print(
                f"{label}: baseline (csv + phonenumbers + executemany) {base_median:.2f} s; "
                f"crm import contacts (whole process) {crm_median:.2f} s; "
                f"ratio {crm_median / base_median:.2f}x (target <= 2x)"
            )
            if before_times:
                before_median = statistics.median(t[index] for t in before_times)
                print(
                    f"{label}: before ({args.before}) {before_median:.2f} s, "
                    f"ratio {before_median / base_median:.2f}x"
                )


if __name__ == "__main__":
    main()
