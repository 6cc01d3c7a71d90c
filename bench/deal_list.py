"""Does `crm deal list` stay as fast on 100,000 deals as on 10? Target: at most 1.5x.

Builds two SQLite databases under a temporary folder (migrated by `crm` itself, then filled
with one bulk insert each), and times the whole `crm deal list` process on each, round-robin so
machine noise hits both alike. Prints the medians and the ratio.

Usage: python bench/deal_list.py [--runs 15] [--deals 100000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

CURRENCIES = ["EUR"] * 8 + ["USD", "JPY"]


def _env(home: Path, db: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        CRM_HOME=str(home),
        CRM_DATABASE_URL=f"sqlite:///{db}",
        CRM_USER_NAME="Bench",
        CRM_TIMEZONE="Europe/Berlin",
    )
    env.pop("NO_COLOR", None)
    # An installed crm runs from cached bytecode; compiling every module on each run would
    # time the compiler, not the command. The cache goes to the temporary folder.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home.parent / "pycache")
    return env


def build(home: Path, db: Path, deals: int, seed: int = 7) -> None:
    """A migrated database with `deals` deals spread over the default pipeline's stages."""
    crm = [sys.executable, "-m", "crm_cli"]
    subprocess.run([*crm, "pipeline", "list"], env=_env(home, db), check=True, capture_output=True)
    from sqlalchemy import insert, select

    from crm_cli.store.engine import make_engine, session_scope
    from crm_cli.store.models import Company, Contact, User
    from crm_cli.store.sales import Deal, Stage

    rnd = random.Random(seed)
    now = datetime.now(UTC)
    engine = make_engine(f"sqlite:///{db}")
    with session_scope(engine) as session:
        session.execute(insert(User), [{"name": "Bench", "created_at": now, "updated_at": now}])
        stages = session.execute(select(Stage.id, Stage.kind)).all()
        companies = max(1, deals // 50)
        contacts = max(1, deals // 10)
        session.execute(
            insert(Company),
            [
                {"name": f"Company {i}", "created_at": now, "updated_at": now, "custom": {}}
                for i in range(companies)
            ],
        )
        session.execute(
            insert(Contact),
            [
                {
                    "name": f"Person {i}",
                    "company_id": 1 + i % companies,
                    "created_at": now,
                    "updated_at": now,
                    "custom": {},
                }
                for i in range(contacts)
            ],
        )
        rows = []
        for i in range(deals):
            stage_id, kind = rnd.choice(stages)
            currency = rnd.choice(CURRENCIES)
            rows.append(
                {
                    "title": f"Deal {i}",
                    "contact_id": 1 + rnd.randrange(contacts),
                    "company_id": 1 + rnd.randrange(companies),
                    "pipeline_id": 1,
                    "stage_id": stage_id,
                    "status": kind,
                    "value_minor": rnd.randrange(1_000, 10_000_000)
                    * (1 if currency == "JPY" else 100),
                    "currency": currency,
                    "probability": rnd.choice([None, None, None, 40, 60]),
                    "expected_close": (
                        date.today() + timedelta(days=rnd.randrange(-60, 365))
                        if rnd.random() < 0.9
                        else None
                    ),
                    "owner_id": 1,
                    "created_at": now,
                    "updated_at": now,
                    "stage_entered_at": now,
                    "closed_at": now if kind != "open" else None,
                }
            )
        session.execute(insert(Deal), rows)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="crm-bench-deals-"))
    home = tmp / "home"
    small, large = tmp / "small.db", tmp / "large.db"
    started = time.perf_counter()
    build(home, small, 10)
    build(home, large, args.deals)
    print(f"built databases in {time.perf_counter() - started:.1f} s under {tmp}")
    commands = {
        "10 deals": (_env(home, small), [sys.executable, "-m", "crm_cli", "deal", "list"]),
        f"{args.deals:,} deals": (
            _env(home, large),
            [sys.executable, "-m", "crm_cli", "deal", "list"],
        ),
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(2):  # warm the file cache
        for env, argv in commands.values():
            subprocess.run(argv, env=env, capture_output=True, check=True)
    for _ in range(args.runs):
        for name, (env, argv) in commands.items():
            start = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True)
            samples[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{name} failed: {done.stderr.decode()}")
    medians = {name: statistics.median(v) * 1000 for name, v in samples.items()}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}, {args.runs} runs each"
    )
    for name, ms in medians.items():
        print(f"crm deal list, {name:<16} median {ms:7.1f} ms")
    small_ms, large_ms = medians.values()
    ratio = large_ms / small_ms
    print(f"ratio {ratio:.2f}x  {'PASS' if ratio <= 1.5 else 'FAIL'} (target <= 1.5x)")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
