"""The change journal's cost: `crm contact add` and `crm deal add` with the journal on and
off (`journal.enabled = false`), whole process, interleaved in one run.

Target (store issue): with the journal <= 1.05x without it.

Usage: python bench/journal.py [--runs 25] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from itertools import count
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="crm-bench-journal-"))
    base_env = dict(os.environ, CRM_USER_NAME="Bench", CRM_TIMEZONE="Europe/Berlin")
    base_env.pop("CRM_DATABASE_URL", None)
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    base_env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    crm = [py, "-m", "crm_cli"]
    homes = {"on": tmp / "on", "off": tmp / "off"}
    seed_env = dict(base_env, CRM_HOME=str(homes["on"]))
    subprocess.run([*crm, "demo"], env=seed_env, check=True, capture_output=True)
    os.replace(homes["on"] / "demo.db", homes["on"] / "crm.db")
    shutil.copytree(homes["on"], homes["off"])
    (homes["off"] / "config.toml").write_text("[journal]\nenabled = false\n")
    envs = {k: dict(base_env, CRM_HOME=str(h)) for k, h in homes.items()}
    seq = count()

    def contact_add() -> list[str]:
        n = next(seq)
        return [*crm, "contact", "add", f"Bench {n}", "--email", f"b{n}@example.com"]

    def deal_add() -> list[str]:
        n = next(seq)
        return [*crm, "deal", "add", f"Deal {n}", "--value", "12000", "--contact", "ana@acme.de"]

    cases = {
        (cmd, mode): (make, envs[mode])
        for cmd, make in (("contact add", contact_add), ("deal add", deal_add))
        for mode in ("off", "on")
    }
    samples: dict[tuple[str, str], list[float]] = {k: [] for k in cases}
    for _ in range(3):
        for make, env in cases.values():
            subprocess.run(make(), env=env, capture_output=True, check=True)
    for _ in range(args.runs):
        for key, (make, env) in cases.items():
            argv = make()
            start = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True)
            samples[key].append(time.perf_counter() - start)
            if done.returncode:
                raise SystemExit(f"{key} failed: {done.stderr.decode()}")
    medians = {k: statistics.median(v) * 1000 for k, v in samples.items()}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}, {args.runs} runs each"
    )
    print(f"{'command':<14} {'journal off':>12} {'journal on':>11} {'ratio':>7}")
    checks = {}
    for cmd in ("contact add", "deal add"):
        off, on = medians[(cmd, "off")], medians[(cmd, "on")]
        print(f"crm {cmd:<10} {off:>10.1f}ms {on:>9.1f}ms {on / off:>6.3f}x")
        checks[f"crm {cmd} with the journal <= 1.05x without"] = on / off <= 1.05
    for label, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {label}")
    if args.json:
        out = {f"{c} ({m})": v for (c, m), v in medians.items()}
        args.json.write_text(json.dumps({"medians_ms": out, "checks": checks}, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
