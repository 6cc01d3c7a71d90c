"""Whole-process timings of everyday commands against their baselines, in one run.

Runs every command round-robin (so machine noise hits all of them alike) and prints medians,
and the ratios the issues set targets for:
  crm --help           <= 15x  python -c pass
  crm contact add      <= 1.15x the plain sqlmodel insert script
  crm deal add         <= 1.15x the plain sqlmodel insert script
A plain sqlite3 insert script (no stack at all) is timed too, for scale. Where the time of a
command goes, part by part, is `bench/startup_breakdown.py`.

Usage: python bench/startup.py [--runs 15] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import count
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from startup_breakdown import SQLITE3_INSERT  # noqa: E402  (a sibling script)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    env = dict(
        os.environ, CRM_HOME=str(tmp / "home"), CRM_USER_NAME="Bench", CRM_TIMEZONE="Europe/Berlin"
    )
    env.pop("CRM_DATABASE_URL", None)
    # An installed crm runs from bytecode (pip compiles it); a checkout under
    # PYTHONDONTWRITEBYTECODE=1 would recompile every module on every run. Keep a bytecode
    # cache for this run, for crm and the baseline alike.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    crm = [py, "-m", "crm_cli"]
    # A database with some data, migrated before timing starts.
    subprocess.run([*crm, "demo"], env=env, check=True, capture_output=True)
    demo_db = tmp / "home" / "demo.db"
    os.replace(demo_db, tmp / "home" / "crm.db")
    seq = count()

    def contact_add() -> list[str]:
        n = next(seq)
        return [
            *crm,
            "contact",
            "add",
            f"Bench Person {n}",
            "--email",
            f"p{n}@example.com",
            "--phone",
            "+49 30 1234567",
        ]

    def deal_add() -> list[str]:
        return [
            *crm,
            "deal",
            "add",
            f"Bench deal {next(seq)}",
            "--value",
            "12000",
            "--contact",
            "ana@acme.de",
            "--close",
            "2027-01-31",
        ]

    def contact_add_teardown() -> list[str]:
        # The same command through main() with a normal interpreter exit, for comparison:
        # the console script skips the ~70 ms teardown (see crm_cli.cli.run).
        n = next(seq)
        args = [
            "contact",
            "add",
            f"Bench Person {n}",
            "--email",
            f"p{n}@example.com",
            "--phone",
            "+49 30 1234567",
        ]
        return [py, "-c", f"import sys; from crm_cli.cli import main; sys.exit(main({args!r}))"]

    def followup_add() -> list[str]:
        return [
            *crm,
            "followup",
            "add",
            f"Call Ana {next(seq)}",
            "--due",
            "tomorrow 9:00",
            "--contact",
            "ana@acme.de",
        ]

    has_deals = (
        subprocess.run([*crm, "deal", "--help"], env=env, capture_output=True).returncode == 0
    )
    commands: dict[str, object] = {
        "python -c pass": [py, "-c", "pass"],
        "sqlite3 insert script": [py, "-c", SQLITE3_INSERT, str(tmp / "sqlite3.db")],
        "sqlmodel insert script": [
            py,
            str(HERE / "baseline_sqlmodel_insert.py"),
            str(tmp / "baseline.db"),
        ],
        "crm --help": [*crm, "--help"],
        "crm contact --help": [*crm, "contact", "--help"],
        "crm contact add": contact_add,
        "  same, full teardown": contact_add_teardown,
        "crm contact list": [*crm, "contact", "list"],
        "crm followup add": followup_add,
        "crm search": [*crm, "search", "acme"],
    }
    if has_deals:
        commands["crm deal add"] = deal_add
        commands["crm deal list"] = [*crm, "deal", "list"]
    # `python -m crm_cli` and the `crm` console script do the same work; the module form
    # needs no PATH lookup and works from a checkout.
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(3):  # warm the file cache and the bytecode cache
        for cmd in commands.values():
            subprocess.run(cmd() if callable(cmd) else cmd, env=env, capture_output=True)
    for _ in range(args.runs):
        for name, cmd in commands.items():
            argv = cmd() if callable(cmd) else cmd
            start = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True)
            samples[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{name} failed: {done.stderr.decode()}")
    medians = {name: statistics.median(v) * 1000 for name, v in samples.items()}
    base, floor = medians["python -c pass"], medians["sqlmodel insert script"]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}, {args.runs} runs each"
    )
    plain = medians["sqlite3 insert script"]
    print(
        f"{'command':<26} {'median ms':>10} {'vs pass':>8} {'vs sqlmodel':>12} {'vs sqlite3':>11}"
    )
    for name, ms in medians.items():
        ratios = f"{ms / base:>7.1f}x {ms / floor:>11.2f}x {ms / plain:>10.1f}x"
        print(f"{name:<26} {ms:>10.1f} {ratios}")
    checks = {
        "crm --help <= 15x python -c pass": medians["crm --help"] / base <= 15,
        "crm contact add <= 1.15x sqlmodel insert": medians["crm contact add"] / floor <= 1.15,
    }
    if has_deals:
        checks["crm deal add <= 1.15x sqlmodel insert"] = medians["crm deal add"] / floor <= 1.15
    for label, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {label}")
    if args.json:
        args.json.write_text(json.dumps({"medians_ms": medians, "checks": checks}, indent=2))


if __name__ == "__main__":
    main()
