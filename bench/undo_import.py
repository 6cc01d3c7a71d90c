"""`crm undo` of a 100,000-row `crm import contacts`, whole process.

The file is bench/import_contacts.py's (a name, one email and one phone per contact). Each run
makes a fresh SQLite database, imports the file (not timed), then times `crm undo` as a user
runs it, and checks that the contacts are gone. `--before DIR` times another copy of the code
(a `git archive` of an earlier commit) in the same runs, in alternation. Prints medians of
wall-clock and CPU time (user + system of the child process) and the load average.

    cd /tmp && python /path/to/bench/undo_import.py --rows 100000 --runs 3 [--before DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_contacts import _cpu, make_file  # noqa: E402


def time_undo(path: Path, work: Path, code: Path | None = None) -> tuple[float, float]:
    home = work / f"crm-{time.monotonic_ns()}"
    home.mkdir()
    env = {**os.environ, "CRM_HOME": str(home), "CRM_USER_NAME": "Bench"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("CRM_DATABASE_URL", None)
    crm = [sys.executable, "-m", "crm_cli"]
    subprocess.run([*crm, "config", "set", "defaults.phone_region", "DE"], env=env, check=True)
    subprocess.run(
        [*crm, "import", "contacts", str(path)], env=env, check=True, capture_output=True
    )
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run([*crm, "undo", "--json"], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"crm undo failed ({done.returncode}): {done.stderr[-2000:]}")
    left = subprocess.run(
        [*crm, "contact", "list", "--json"], env=env, check=True, capture_output=True, text=True
    )
    if left.stdout.strip() not in ("[]", ""):
        raise SystemExit(f"contacts left after the undo: {left.stdout[:200]}")
    return elapsed, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a copy of earlier code to time alike")
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "contacts.csv"
        make_file(path, args.rows)
        after, before = [], []
        for _ in range(args.runs):
            if args.before is not None:
                before.append(time_undo(path, work, args.before.resolve()))
            after.append(time_undo(path, work))
        print(f"rows: {args.rows:,}  runs: {args.runs}")
        print(f"load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}")
        for label, index in (("wall", 0), ("cpu", 1)):
            line = f"{label}: crm undo {statistics.median(t[index] for t in after):.2f} s"
            if before:
                line += (
                    f"; before ({args.before}) {statistics.median(t[index] for t in before):.2f} s"
                )
            print(line)


if __name__ == "__main__":
    main()
