"""Each `crm report` at a million deals (and a million stage changes): in-process and whole
process, against `crm --version` as the same run's baseline for process start-up.

    python bench/reports.py --dir /tmp/reports-bench            # builds once, then reuses
    python bench/reports.py --dir /tmp/reports-bench --deals 100000 --runs 5
    python bench/reports.py --dir /tmp/reports-bench --only sales --only pipeline
    python bench/reports.py --dir /tmp/pg-home --url postgresql+psycopg://postgres@127.0.0.1/COPY

A copy of the shared bench database works as the directory's `deals-1000000/`. To compare
with another checkout, run this file with that checkout's Python on another copy, from a
directory outside both checkouts (`python -m crm_cli` imports the package from the current
directory first).

Targets (the reports issue): each report <= 150 ms in-process and <= 0.6 s whole process.
`activity` counts the interactions and follow-ups of the database (the shared one has a
million of each); its `--idle N` part counts the open deals last touched before now - N days.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import build, env_for  # noqa: E402

REPORTS: list[list[str]] = [
    ["pipeline"],
    ["forecast"],
    ["sales"],
    ["sales", "--from", "2026-01-01", "--to", "2026-03-31"],
    ["sales", "--by", "owner"],
    ["sales", "--by", "month"],
    ["sales", "--by", "quarter"],
    ["sales", "--by", "source"],
    ["sales", "--from", "2025-06-01", "--to", "2026-05-31", "--by", "month"],
    ["forecast", "--by", "owner"],
    ["funnel"],
    ["feedback"],
    ["segments"],
    ["clv"],
    ["churn"],
    ["activity"],
    ["activity", "--by", "month"],
    ["activity", "--from", "2026-01-01", "--to", "2026-03-31", "--by", "month"],
    ["activity", "--idle", "7"],
    ["activity", "--idle", "90"],
    ["activity", "--idle", "365"],
]


def in_process(home: Path, url: str, runs: int, reports: list[list[str]]) -> dict[str, list[float]]:
    os.environ.update(env_for(home, url))
    from crm_cli.services.context import open_context
    from crm_cli.services.reporting import run_report

    ctx = open_context()
    out: dict[str, list[float]] = {}
    for args in reports:
        name, rest = args[0], args[1:]
        opts = dict(zip(rest[::2], rest[1::2], strict=True))
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            cpu = time.process_time()
            with ctx.session(write=False) as session:
                run_report(
                    ctx,
                    session,
                    name,
                    first=opts.get("--from"),
                    last=opts.get("--to"),
                    by=opts.get("--by"),
                    idle_days=int(opts.get("--idle", 30)),
                )
            times.append(time.perf_counter() - start)
            cpu_times.setdefault(" ".join(args), []).append(time.process_time() - cpu)
        out[" ".join(args)] = times
    ctx.close()
    return out


# Seconds of CPU each in-process run took: on a loaded machine the wall clock mostly measures
# the wait for a core.
cpu_times: dict[str, list[float]] = {}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def whole(home: Path, url: str, args: list[str], runs: int) -> list[float]:
    env = env_for(home, url)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        cpu = _children_cpu()
        subprocess.run(
            [sys.executable, "-m", "crm_cli", *args],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - start)
        cpu_times.setdefault("process " + " ".join(args), []).append(_children_cpu() - cpu)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True, help="Build into (and reuse) this.")
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", action="append", help="Only the reports named so (repeat).")
    parser.add_argument(
        "--url",
        help="Measure this (already filled) database instead, e.g. a PostgreSQL copy of "
        "crm_bench_base_large; DIR then only holds the configuration.",
    )
    args = parser.parse_args()
    reports = [r for r in REPORTS if not args.only or r[0] in args.only]
    home = args.dir / f"deals-{args.deals}"
    url = args.url or f"sqlite:///{home / 'crm.db'}"
    if args.url:
        home.mkdir(parents=True, exist_ok=True)
    elif not (home / "crm.db").exists():
        home.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        build(
            home,
            url,
            {
                "contacts": max(1_000, args.deals // 10),
                "deals": args.deals,
                "followups": 1_000,
                "interactions": 1_000,
            },
        )
        print(f"built {args.deals:,} deals in {time.perf_counter() - started:.0f} s")
    base = whole(home, url, ["--version"], args.runs)
    base_cpu = statistics.median(cpu_times["process --version"])
    print(
        f"baseline crm --version: median {statistics.median(base) * 1000:.0f} ms "
        f"(CPU {base_cpu * 1000:.0f} ms)"
    )
    timings = in_process(home, url, args.runs, reports)
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    print("medians; wall clock, then CPU time in parentheses")
    print(f"{'report':58} {'in-process':>19} {'whole process':>19}")
    for argv in reports:
        key = " ".join(argv)
        args_ = ["report", *argv, "--json"]
        proc = whole(home, url, args_, args.runs)
        proc_cpu = statistics.median(cpu_times["process " + " ".join(args_)])
        print(
            f"{key:58} {statistics.median(timings[key]) * 1000:7.0f} ms "
            f"({statistics.median(cpu_times[key]) * 1000:5.0f} ms) "
            f"{statistics.median(proc):6.2f} s ({proc_cpu:5.2f} s)"
        )


if __name__ == "__main__":
    main()
