"""Shell completion latency, whole process: target <= 80 ms median at 100 and 100,000 contacts.

What is timed is what a TAB costs: the shell starting `crm` with `_CRM_COMPLETE=complete_bash`
and COMP_WORDS for `crm contact show <prefix>`, until the process has printed its candidates
and exited. Beside it, in the same round-robin (so machine noise hits all alike), the floor:
`python -c pass`, the same interpreter doing nothing. Wall time is the target; the CPU time
of each process (user + system) is printed too, as it says the same on a busy machine.

Two ways in are timed: the `crm` console script as installed (its entry point), and a
console script whose entry point is `crm_cli.complete:run`, which answers before the CLI
package (and so Typer) is imported. The two are the same when the installed entry point is
`crm_cli.complete:run`.

The databases are SQLite files at the default place under CRM_HOME, migrated by the app and
filled with raw bulk inserts: contacts with names in several scripts, an email each.

Usage: python bench/completion.py [--runs 31] [--sizes 100,100000]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crm_cli import config
from crm_cli.domain.text import index_tokens
from crm_cli.services.context import Context

GIVEN = [
    "Ana",
    "Bruno",
    "Carla",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kenji",
    "Lena",
    "Mateo",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tomás",
]
FAMILY = [
    "Lima",
    "Weber",
    "García",
    "Novák",
    "Solberg",
    "O'Brien",
    "Raman",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Yilmaz",
    "Nguyen",
    "Müller",
    "Silva",
    "Hansen",
    "Popescu",
]
CJK = ["张伟", "王芳", "李娜", "佐藤花子", "鈴木太郎", "김민준", "이서연"]
DOMAINS = ["acme.example", "globex.example", "initech.example", "hooli.example"]
# What is being completed: `crm contact show <prefix>`, as bash passes the word (raw).
PREFIXES = {"name": "ana\\ l", "email": "user99"}
TARGET_MS = 80.0


def build(home: Path, count: int) -> None:
    """A migrated database at CRM_HOME's default place, with `count` contacts."""
    home.mkdir(parents=True)
    path = home / "crm.db"
    ctx = Context(config=config.Config({}, home / "config.toml"), url=f"sqlite:///{path}")
    ctx.open()  # creates and migrates, as `crm` does on first use
    ctx.close()
    rng = random.Random(7)
    now = "2026-01-01 00:00:00.000000"
    contacts, emails = [], []
    for i in range(1, count + 1):
        if rng.random() < 0.2:
            name = rng.choice(CJK)
        else:
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        contacts.append((i, name, "lead", "{}", index_tokens(name), "", now, now))
        emails.append((i, f"user{i}@{rng.choice(DOMAINS)}", 0))
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO contact (id, name, lifecycle, custom, search_name, search_doc, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            contacts,
        )
        conn.executemany(
            "INSERT INTO contact_email (contact_id, email, position) VALUES (?, ?, ?)", emails
        )
        conn.execute("ANALYZE")
    conn.close()


def entry_script(directory: Path) -> Path:
    """A console script like pip's, with the entry point `crm_cli.complete:run`."""
    path = directory / "crm-complete-entry"
    path.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from crm_cli.complete import run\n"
        "if __name__ == '__main__':\n"
        "    sys.exit(run())\n"
    )
    path.chmod(0o755)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--sizes", default="100,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="crm-complete-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "_CRM", "COMP_"))}
    # An installed crm runs from bytecode; keep a cache for this run (see bench/startup.py).
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")

    installed = Path(sys.executable).with_name("crm")
    entries = {"crm (installed entry point)": [str(installed)]} if installed.exists() else {}
    entries["crm (entry crm_cli.complete:run)"] = [str(entry_script(tmp))]

    cases: dict[str, tuple[list[str], dict[str, str]]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], base)
    }
    for size in sizes:
        start = time.perf_counter()
        build(tmp / f"home-{size}", size)
        print(f"built {size:,} contacts in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        for what, prefix in PREFIXES.items():
            env = dict(
                base,
                CRM_HOME=str(tmp / f"home-{size}"),
                _CRM_COMPLETE="complete_bash",
                COMP_WORDS="\n".join(["crm", "contact", "show", prefix]),
                COMP_CWORD="3",
            )
            for label, command in entries.items():
                cases[f"{label}, {size:,} contacts, {what} {prefix}"] = (command, env)

    # Warm up (and compile the bytecode), and check that each answer is real.
    for label, (command, env) in cases.items():
        out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        if label != "python -c pass" and not out.stdout.strip():
            raise SystemExit(f"{label}: no candidates; the benchmark would time nothing")
    times: dict[str, list[float]] = {label: [] for label in cases}
    cpu: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.runs):
        for label, (command, env) in cases.items():
            wall, used = timed(command, env)
            times[label].append(wall)
            cpu[label].append(used)

    floor = statistics.median(times["python -c pass"])
    width = max(len(label) for label in cases)
    print(f"{'wall ms':<{width}}  median     p90  x pass  cpu ms  target <= {TARGET_MS:.0f} ms")
    for label, values in times.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        verdict = "" if label == "python -c pass" else ("PASS" if median <= TARGET_MS else "FAIL")
        used = statistics.median(cpu[label])
        print(
            f"{label:<{width}}  {median:6.1f}  {p90:6.1f}  {median / floor:6.2f}  {used:6.1f}  "
            f"{verdict}"
        )
    print(f"({args.runs} runs each, round-robin; load average {os.getloadavg()[0]:.2f})")


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one run of `command`, from start to exit."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command} exited {process.returncode}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


if __name__ == "__main__":
    main()
