"""How fast do whole listings stream to a pipe? Target: >= 100,000 rows/s, peak <= 150 MiB.

Builds a SQLite database of `--rows` deals (a quarter as many contacts with emails and tags, a
hundredth as many companies, ten owners, twenty tags; most deals closed, one in a thousand
removed) once into `--dir` with bench/scale.py's builder, then runs each listing as a whole
`crm` process with stdout on /dev/null, round-robin, and prints per listing the median rows
per second (rows listed / wall time of the whole process, start-up included) and the peak
memory read from the kernel (`wait4`).

`--database FILE` measures an existing SQLite database instead (a private copy: the listings
only read it, but `crm` migrates it first when it is behind). `--baseline TREE` runs every
listing also with the source tree TREE first on PYTHONPATH (e.g. a `git archive main` copy),
alternating with this one in the same run, and prints both: on a shared machine only
figures taken side by side compare.

Usage:
    python bench/stream.py --dir DIR [--rows 200000] [--runs 3] [--only deal-json,deal-csv]
    python bench/stream.py --dir DIR --database COPY.db --baseline /tmp/main --only deal-json
    python bench/stream.py --dir DIR --profile deal-json   # cProfile of one run, top 25
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import build, env_for  # noqa: E402  (a sibling script, not a package)

# name -> the listing's arguments; each lists every live record of its kind.
LISTINGS: dict[str, list[str]] = {
    "deal-json": ["deal", "list", "--status", "all", "--all", "--json"],
    "deal-csv": ["deal", "list", "--status", "all", "--all", "--csv"],
    "deal-ids": ["deal", "list", "--status", "all", "--all", "--ids"],
    "deal-plain": ["deal", "list", "--status", "all", "--all"],
    "deal-sorted": ["deal", "list", "--status", "all", "--all", "--json", "--sort", "-value"],
    "contact-json": ["contact", "list", "--all", "--json"],
    "contact-csv": ["contact", "list", "--all", "--csv"],
    "company-json": ["company", "list", "--all", "--json"],
    "feedback-json": ["feedback", "list", "--all", "--json"],
}


def database(folder: Path, rows: int) -> tuple[Path, str]:
    """The home and URL of the database of `rows` deals under `folder`, built when absent."""
    home = folder / f"stream-{rows}"
    db = home / "crm.db"
    url = f"sqlite:///{db}"
    if not (home / "built").exists():
        home.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        # Built by a child process: the builder's memory (GBs of rows and page cache) would
        # otherwise be inherited as every measured command's peak (ru_maxrss survives fork).
        argv = [sys.executable, __file__, "--dir", str(folder), "--rows", str(rows), "--build"]
        subprocess.run(argv, check=True)
        print(f"built {db} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return home, url


def build_only(folder: Path, rows: int) -> None:
    home = folder / f"stream-{rows}"
    size = {"contacts": max(10, rows // 4), "deals": rows, "followups": 0, "interactions": 0}
    build(home, f"sqlite:///{home / 'crm.db'}", size)
    (home / "built").write_text(f"{rows}\n")


def count_lines(argv: list[str], env: dict[str, str]) -> int:
    """How many lines `argv` writes (read from a pipe, once, untimed). Counted as it comes:
    a bench process holding the output would pass its size on to the next child's peak
    memory (ru_maxrss survives fork and exec)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    lines = 0
    while chunk := proc.stdout.read(1 << 16):
        lines += chunk.count(b"\n")
    if proc.wait() != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}")
    return lines


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS in MiB of one whole process
    writing to /dev/null."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} exited {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="where the database is kept")
    parser.add_argument("--rows", type=int, default=200_000, help="deals in the database")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="comma-separated names of " + ", ".join(LISTINGS))
    parser.add_argument("--profile", metavar="NAME", help="cProfile one listing instead")
    parser.add_argument("--database", type=Path, help="an existing SQLite file to measure")
    parser.add_argument("--baseline", type=Path, help="a source tree to compare with")
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build_only(args.dir, args.rows)
        return

    if args.database:
        home, url = args.database.resolve().parent, f"sqlite:///{args.database.resolve()}"
    else:
        home, url = database(args.dir, args.rows)
    env = env_for(home, url)
    # This checkout first on the path: run from elsewhere, `python -m crm_cli` could find
    # another tree's package (the current directory comes first).
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    trees = {"": env}
    if args.baseline:
        base = dict(env, PYTHONPATH=str(args.baseline.resolve()))
        base["PYTHONPYCACHEPREFIX"] = str(home / "pycache-baseline")
        trees["baseline "] = base
    crm = [sys.executable, "-m", "crm_cli"]
    if args.profile:
        out = home / "profile.out"
        # `crm` leaves with os._exit (no teardown); its `main` returns the exit code instead.
        script = (
            "import cProfile, sys\n"
            "sys.argv = ['crm', *sys.argv[2:]]\n"
            "from crm_cli.cli import main\n"
            f"cProfile.run('main()', {str(out)!r})\n"
        )
        run([sys.executable, "-c", script, "--", *LISTINGS[args.profile]], env)
        import pstats

        pstats.Stats(str(out)).sort_stats("tottime").print_stats(25)
        return
    names = args.only.split(",") if args.only else list(LISTINGS)
    print(f"{platform.node()} {platform.python_version()} cores={os.cpu_count()} {url}")
    print(f"load average {os.getloadavg()[0]:.1f} at start")
    keys = [(tree, n) for n in names for tree in trees]
    times: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    cpus: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    peaks: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    # A header line (CSV, plain) or the JSON brackets are not rows.
    lines = {
        n: count_lines([*crm, *LISTINGS[n]], env)
        - (0 if n.endswith("ids") else 1 if "json" not in n else 2)
        for n in names
    }
    for tree_env in trees.values():  # untimed: the first run compiles the tree's modules
        run([*crm, "--version"], tree_env)
    for _ in range(args.runs):
        for key in keys:
            seconds, cpu, peak = run([*crm, *LISTINGS[key[1]]], trees[key[0]])
            times[key].append(seconds)
            cpus[key].append(cpu)
            peaks[key].append(peak)
    # On a shared machine the wall time holds other jobs' work too; CPU time is the process's.
    for key in keys:
        rows = lines[key[1]]
        wall, cpu = statistics.median(times[key]), statistics.median(cpus[key])
        print(
            f"{key[0]}{' '.join(LISTINGS[key[1]]):<58} {rows:>9,} rows"
            f" wall {wall:6.2f} s {rows / wall:>8,.0f}/s  cpu {cpu:6.2f} s {rows / cpu:>8,.0f}/s"
            f"  peak {max(peaks[key]):4.0f} MiB"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
