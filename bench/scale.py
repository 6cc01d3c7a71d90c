"""Does every listing stay as fast at a million rows as at a hundred? Target: <= 1.15x.

Builds two databases of the same shape: a large one (100,000 contacts, 1,000,000 deals,
1,000,000 follow-ups, 1,000,000 interactions, 100,000 feedback answers) and a small one (100
of each), both migrated by `crm` itself and filled with bulk inserts spread the way a real
team's data is (most deals closed, most follow-ups done, ten owners, twenty tags, close dates
over two years). Then runs every listing command of the CLI reference, with each of its
filters, as a whole `crm` process on each database, round-robin so machine noise hits both
alike, on a pseudo-terminal (a person's page, not a script's every row). Prints the medians and
the ratio, and the worst ratio.

`--stream` also times `crm deal list --all --json` to a pipe on the large database and reads
its peak memory (ru_maxrss) and rows per second.

Usage:
    python bench/scale.py [--runs 7] [--postgres [--pg-prefix NAME]] [--keep DIR] [--only deal]
                          [--match "--done" ...] [--stream]

The databases take a few minutes to build; `--keep DIR` builds them once into DIR and reuses
them on the next run.
"""

from __future__ import annotations

import argparse
import os
import platform
import pty
import random
import select
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

LARGE = {"contacts": 100_000, "deals": 1_000_000, "followups": 1_000_000, "interactions": 1_000_000}
SMALL = {"contacts": 100, "deals": 100, "followups": 100, "interactions": 100}
USERS = ["Bench", *[f"Owner {i}" for i in range(1, 10)]]
TAGS = [f"tag{i}" for i in range(20)]
CURRENCIES = ["EUR"] * 8 + ["USD", "JPY"]
KINDS = ["call", "email", "meeting", "message", "note"]
BATCH = 20_000

# Every listing command with each of its filters. Names below exist in both databases.
LISTINGS: list[list[str]] = [
    ["contact", "list"],
    ["contact", "list", "--tag", "tag3"],
    ["contact", "list", "--lifecycle", "customer"],
    ["contact", "list", "--owner", "Owner 3"],
    ["contact", "list", "--mine"],
    ["contact", "list", "--company", "Company 7"],
    ["contact", "list", "--search", "person 4"],
    ["contact", "list", "--removed"],
    ["contact", "list", "--sort", "-created"],
    ["company", "list"],
    ["company", "list", "--tag", "tag3"],
    ["company", "list", "--owner", "Owner 3"],
    ["company", "list", "--industry", "Software"],
    ["company", "list", "--search", "company 7"],
    ["company", "list", "--removed"],
    ["company", "list", "--sort", "name"],
    ["deal", "list"],
    ["deal", "list", "--stage", "proposal"],
    ["deal", "list", "--status", "won"],
    ["deal", "list", "--status", "all"],
    ["deal", "list", "--owner", "Owner 3"],
    ["deal", "list", "--mine"],
    ["deal", "list", "--contact", "7"],
    ["deal", "list", "--company", "Company 7"],
    ["deal", "list", "--pipeline", "default"],
    ["deal", "list", "--close-before", "2026-12-31"],
    ["deal", "list", "--close-after", "2027-06-01"],
    ["deal", "list", "--min-value", "50000"],
    ["deal", "list", "--currency", "USD"],
    ["deal", "list", "--tag", "tag3"],
    ["deal", "list", "--search", "deal 4"],
    ["deal", "list", "--removed"],
    ["deal", "list", "--sort", "-value"],
    ["followup", "list"],
    ["followup", "list", "--due", "overdue"],
    ["followup", "list", "--due", "today"],
    ["followup", "list", "--due", "week"],
    ["followup", "list", "--owner", "Owner 3"],
    ["followup", "list", "--all", "--limit", "50"],  # everyone's; --all alone lifts the page
    ["followup", "list", "--done"],
    ["followup", "list", "--contact", "7"],
    ["followup", "list", "--deal", "7"],
    ["log", "list"],
    ["log", "list", "--contact", "7"],
    ["log", "list", "--deal", "7"],
    ["log", "list", "--kind", "call"],
    ["log", "list", "--since", "-7d"],
    ["log", "list", "--owner", "Owner 3"],
    ["log", "list", "--mine"],
    ["feedback", "list"],
    ["feedback", "list", "--open"],
    ["feedback", "list", "--kind", "nps"],
    ["feedback", "list", "--contact", "7"],
    ["feedback", "list", "--deal", "7"],
    ["feedback", "list", "--since", "-30d"],
    ["feedback", "list", "--owner", "Owner 3"],
    ["user", "list"],
    ["pipeline", "list"],
    ["history"],
    ["search", "person 4"],
]


def env_for(home: Path, url: str) -> dict[str, str]:
    env = dict(
        os.environ,
        CRM_HOME=str(home),
        CRM_DATABASE_URL=url,
        CRM_USER_NAME="Bench",
        CRM_TIMEZONE="Europe/Berlin",
        COLUMNS="100",
        LINES="40",
    )
    env.pop("NO_COLOR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home / "pycache")
    return env


# --- building --------------------------------------------------------------------------------


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def put(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert `rows`: on PostgreSQL with COPY (ten times an INSERT), else with an INSERT."""
    from sqlalchemy import insert

    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(model), rows)
        return
    import json

    table = getattr(model, "__table__", model)
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.default is not None and getattr(c.default, "is_scalar", False)
    }
    names = [c.name for c in table.columns if c.name in rows[0] or c.name in defaults]
    raw = session.connection().connection.dbapi_connection
    quoted = ", ".join(f'"{n}"' for n in names)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            values = [row.get(n, defaults.get(n)) for n in names]
            copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in values])


def build(home: Path, url: str, size: dict[str, int], seed: int = 11) -> None:
    """A migrated database filled to `size` (see LARGE and SMALL)."""
    subprocess.run(
        [sys.executable, "-m", "crm_cli", "pipeline", "list"],
        env=env_for(home, url),
        check=True,
        capture_output=True,
    )
    from sqlalchemy import insert, select, text

    from crm_cli.domain.text import index_tokens
    from crm_cli.store.engine import make_engine, session_scope
    from crm_cli.store.models import Company, Contact, ContactEmail, ContactTag, Tag, User
    from crm_cli.store.sales import (
        Deal,
        DealTag,
        Feedback,
        Followup,
        Interaction,
        Stage,
        StageChange,
    )

    rnd = random.Random(seed)
    now = datetime.now(UTC)
    today = date.today()
    n_contacts, n_deals = size["contacts"], size["deals"]
    n_companies = max(10, n_contacts // 10)
    stamp = {"created_at": now, "updated_at": now}
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        from sqlalchemy import event

        def roomy(dbapi_conn: Any, _record: Any) -> None:
            # Random inserts into a dozen indexes: keep them in memory, not in the WAL.
            dbapi_conn.execute("PRAGMA cache_size=-4000000")
            dbapi_conn.execute("PRAGMA synchronous=OFF")

        event.listen(engine, "connect", roomy)

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    postgres = engine.dialect.name == "postgresql"
    with session_scope(engine) as s:
        if postgres:
            # The rollup triggers would cost each loaded row a dozen statements (a 1M-deal load
            # took over 95 minutes): load with triggers off, then fill the rollups once.
            s.execute(text("SET session_replication_role = replica"))
        existing = set(s.scalars(select(User.name)))
        s.execute(insert(User), [{"name": u, **stamp} for u in USERS if u not in existing])
        users = dict(s.execute(select(User.name, User.id)).all())  # type: ignore[arg-type]
        owners = [users[u] for u in USERS]
        s.execute(insert(Tag), [{"name": t, **stamp} for t in TAGS])
        tags = list(s.scalars(select(Tag.id)))
        stages = s.execute(select(Stage.id, Stage.kind, Stage.pipeline_id)).all()
        open_stages = [st for st in stages if st.kind == "open"]
        won = [st for st in stages if st.kind == "won"]
        lost = [st for st in stages if st.kind == "lost"]
        industries = ["Software", "Retail", "Finance", "Health", None]
        for batch in _batches(
            {
                "name": f"Company {i}",
                "industry": industries[i % len(industries)],
                "owner_id": rnd.choice(owners),
                "custom": {},
                "search_name": index_tokens(f"Company {i}"),
                "search_doc": "",
                "deleted_at": now if i % 500 == 499 else None,
                **stamp,
            }
            for i in range(n_companies)
        ):
            put(s, Company, batch)
        for batch in _batches(
            {
                "name": f"Person {i}",
                "company_id": 1 + i % n_companies,
                "lifecycle": rnd.choice(["lead", "prospect", "customer", "customer", "churned"]),
                "owner_id": rnd.choice(owners),
                "custom": {},
                "search_name": index_tokens(f"Person {i}"),
                "search_doc": index_tokens(f"person{i}@example.com"),
                "deleted_at": now if i % 500 == 499 else None,
                **stamp,
            }
            for i in range(n_contacts)
        ):
            put(s, Contact, batch)
        for batch in _batches(
            {"contact_id": i + 1, "email": f"person{i}@example.com", "position": 0}
            for i in range(n_contacts)
        ):
            put(s, ContactEmail, batch)
        for batch in _batches(
            {"contact_id": i + 1, "tag_id": tags[i % len(tags)]}
            for i in range(n_contacts)
            if i % 3 == 0
        ):
            put(s, ContactTag, batch)

        def deal(i: int) -> dict[str, Any]:
            roll = rnd.random()
            st = rnd.choice(open_stages if roll < 0.2 else won if roll < 0.6 else lost)
            currency = rnd.choice(CURRENCIES)
            contact = 1 + rnd.randrange(n_contacts)
            age = rnd.uniform(0, 730)
            created = ago(age)
            closed = created + timedelta(days=rnd.uniform(0, min(180.0, age)))
            return {
                "title": f"Deal {i}",
                "search_name": index_tokens(f"Deal {i}"),
                "contact_id": contact,
                "company_id": 1 + (contact - 1) % n_companies,
                "pipeline_id": st.pipeline_id,
                "stage_id": st.id,
                "status": st.kind,
                "value_minor": rnd.randrange(1_000, 10_000_000) * (1 if currency == "JPY" else 100),
                "currency": currency,
                "probability": rnd.choice([None, None, None, 40, 60]),
                "expected_close": (
                    today + timedelta(days=rnd.randrange(-365, 365)) if rnd.random() < 0.9 else None
                ),
                "owner_id": rnd.choice(owners),
                "lost_reason": "price" if st.kind == "lost" else None,
                "created_at": created,
                "updated_at": created,
                "stage_entered_at": created if st.kind == "open" else closed,
                "closed_at": closed if st.kind != "open" else None,
                "deleted_at": now if i % 1000 == 999 else None,
            }

        first_stage: dict[int, int] = {}
        for st in open_stages:
            first_stage.setdefault(st.pipeline_id, st.id)
        histories: list[tuple[int, int, int, datetime, datetime]] = []
        for batch in _batches(deal(i) for i in range(n_deals)):
            put(s, Deal, batch)
            # 21 deals in 40 (batches hold a multiple of 40): a little over a million changes.
            for d in (d for j, d in enumerate(batch) if j % 2 == 0 or j % 40 == 1):
                histories.append(
                    (
                        int(d["title"].split()[1]) + 1,
                        first_stage[d["pipeline_id"]],
                        d["stage_id"],
                        d["created_at"],
                        d["stage_entered_at"],
                    )
                )

        def changes() -> Iterator[dict[str, Any]]:
            # About half the deals carry a history (one entry into their pipeline's first stage,
            # then a move to the stage they are in); the others came without one, as imports do.
            for deal_id, first, current, created, entered in histories:
                yield {"deal_id": deal_id, "to_stage_id": first, "changed_at": created}
                if current != first:
                    yield {
                        "deal_id": deal_id,
                        "from_stage_id": first,
                        "to_stage_id": current,
                        "changed_at": entered,
                    }

        for batch in _batches(changes()):
            put(s, StageChange, batch)
        for batch in _batches(
            {"deal_id": i + 1, "tag_id": tags[i % len(tags)]} for i in range(n_deals) if i % 10 == 0
        ):
            put(s, DealTag, batch)

        def followup(i: int) -> dict[str, Any]:
            due = now + timedelta(days=rnd.uniform(-900, 60))
            done = i % 20 != 0  # one in twenty still open
            return {
                "title": f"Call back {i}",
                "due_at": due,
                "timezone": "Europe/Berlin",
                "contact_id": 1 + rnd.randrange(n_contacts),
                "deal_id": 1 + rnd.randrange(n_deals) if i % 2 else None,
                "owner_id": rnd.choice(owners),
                "done_at": due if done else None,
                **stamp,
            }

        for batch in _batches(followup(i) for i in range(size["followups"])):
            put(s, Followup, batch)

        def interaction(i: int) -> dict[str, Any]:
            at = ago(rnd.uniform(0, 1000))
            return {
                "kind": KINDS[i % len(KINDS)],
                "direction": "out",
                "occurred_at": at,
                "summary": f"Talked about deal {i}",
                "search_doc": index_tokens(f"Talked about deal {i}"),
                "contact_id": 1 + rnd.randrange(n_contacts),
                "deal_id": 1 + rnd.randrange(n_deals) if i % 2 else None,
                "owner_id": rnd.choice(owners),
                "created_at": at,
                "updated_at": at,
            }

        for batch in _batches(interaction(i) for i in range(size["interactions"])):
            put(s, Interaction, batch)

        def feedback(i: int) -> dict[str, Any]:
            kind = ["nps", "csat", "complaint", "suggestion", "praise"][i % 5]
            score = (
                rnd.randrange(11)
                if kind == "nps"
                else rnd.randrange(1, 6)
                if kind == "csat"
                else None
            )
            at = ago(rnd.uniform(0, 1000))
            return {
                "kind": kind,
                "score": score,
                "text": f"Answer {i}",
                "contact_id": 1 + rnd.randrange(n_contacts),
                "deal_id": 1 + rnd.randrange(n_deals) if i % 2 else None,
                "status": "open" if kind == "complaint" and i % 3 == 0 else "resolved",
                "owner_id": rnd.choice(owners),
                "created_at": at,
                "updated_at": at,
            }

        for batch in _batches(feedback(i) for i in range(n_contacts)):
            put(s, Feedback, batch)
        if postgres:
            from crm_cli.store import rollups

            s.execute(text("SET session_replication_role = DEFAULT"))
            for statement in (
                rollups.fill_statements("postgresql")
                + rollups.funnel_fill_statements("postgresql")
                + rollups.activity_fill_statements("postgresql")
                + rollups.touch_fill_statements("postgresql")
            ):
                s.execute(text(statement))
    # Statistics, as `PRAGMA optimize` or autovacuum would make them. On PostgreSQL autovacuum
    # also vacuums a table after many inserts (13 and later), which marks its pages all-visible:
    # without that every index-only scan reads the heap too (the segments report's quintile
    # seeks took 6 ms each instead of 1.5).
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit = 0")  # whole indexes, as crm reads them
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


# --- timing ----------------------------------------------------------------------------------


def on_terminal(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Run `argv` with stdout and stderr on a pseudo-terminal; (wall seconds, CPU seconds,
    exit code). CPU time (user + system) is what the command cost, whatever else the machine
    was doing; wall time is what a person waits."""
    master, slave = pty.openpty()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    while True:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                if not os.read(master, 65536):
                    break
            except OSError:  # the child closed the terminal
                break
        elif proc.poll() is not None:
            break
    _pid, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    os.close(master)
    return elapsed, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def time_listings(
    homes: dict[str, Path],
    urls: dict[str, str],
    runs: int,
    only: str | None,
    match: list[str] | None = None,
) -> list[tuple[str, float, float]]:
    crm = [sys.executable, "-m", "crm_cli"]
    results = []
    for args in LISTINGS:
        if only and args[0] not in only.split(","):
            continue
        if match and not any(m in " ".join(args) for m in match):
            continue
        wall: dict[str, list[float]] = {"small": [], "large": []}
        cpu: dict[str, list[float]] = {"small": [], "large": []}
        for _ in range(runs + 1):  # the first round warms the file cache
            for name in ("small", "large"):
                seconds, used, code = on_terminal([*crm, *args], env_for(homes[name], urls[name]))
                if code != 0:
                    raise SystemExit(f"crm {' '.join(args)} exited {code} on the {name} database")
                wall[name].append(seconds)
                cpu[name].append(used)
        small, large = (statistics.median(wall[n][1:]) for n in ("small", "large"))
        cpu_small, cpu_large = (statistics.median(cpu[n][1:]) for n in ("small", "large"))
        results.append((" ".join(args), cpu_small, cpu_large))
        name = " ".join(args)
        print(
            f"{name:<45} wall {small * 1000:6.0f} {large * 1000:6.0f} ms {large / small:5.2f}x"
            f"  cpu {cpu_small * 1000:6.0f} {cpu_large * 1000:6.0f} ms"
            f" {cpu_large / cpu_small:5.2f}x"
        )
    return results


def time_stream(home: Path, url: str) -> None:
    """`crm deal list --all --json` to a pipe: rows, seconds, rows per second, peak memory."""
    argv = [sys.executable, "-m", "crm_cli", "deal", "list", "--status", "all", "--all", "--json"]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env_for(home, url), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    rows = 0
    for line in proc.stdout:
        if line.startswith(b"{"):
            rows += 1
    _pid, status, usage = os.wait4(proc.pid, 0)  # this process's own peak, not any child's
    code = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    peak = usage.ru_maxrss / 1024
    print(
        f"deal list --status all --all --json: {rows:,} rows in {elapsed:.1f} s "
        f"({rows / elapsed:,.0f} rows/s), peak memory {peak:.0f} MiB, exit {code}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", action="store_true", help="Use PostgreSQL at 127.0.0.1.")
    parser.add_argument("--keep", type=Path, help="Build into (and reuse from) this folder.")
    parser.add_argument("--only", help="Only the listings of these nouns (comma-separated).")
    parser.add_argument(
        "--match",
        action="append",
        help="Only the listings whose command line holds this text (repeatable).",
    )
    parser.add_argument("--stream", action="store_true", help="Time the streamed export too.")
    parser.add_argument("--no-listings", action="store_true")
    parser.add_argument(
        "--pg-prefix",
        default="crm_bench_scale",
        help="Name PostgreSQL's databases PREFIX_small and PREFIX_large (one set per checkout).",
    )
    args = parser.parse_args()
    import tempfile

    root = args.keep or Path(tempfile.mkdtemp(prefix="crm-bench-scale-"))
    kind = "pg" if args.postgres else "sqlite"
    homes = {name: root / f"{kind}-{name}" for name in ("small", "large")}
    urls = {}
    for name, size in (("small", SMALL), ("large", LARGE)):
        if args.postgres:
            database = f"{args.pg_prefix}_{name}"
            urls[name] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
        else:
            urls[name] = f"sqlite:///{homes[name] / 'crm.db'}"
        marker = homes[name] / "built"
        if marker.exists():
            continue
        homes[name].mkdir(parents=True, exist_ok=True)
        if args.postgres:
            _recreate_pg(f"{args.pg_prefix}_{name}")
        started = time.perf_counter()
        build(homes[name], urls[name], size)
        marker.write_text("ok")
        print(f"built the {name} {kind} database in {time.perf_counter() - started:.0f} s")
    print(f"{platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; {kind}")
    if not args.no_listings:
        results = time_listings(homes, urls, args.runs, args.only, args.match)
        worst = max(results, key=lambda r: r[2] / r[1])
        print(f"worst (CPU time): crm {worst[0]} at {worst[2] / worst[1]:.2f}x")
    if args.stream:
        time_stream(homes["large"], urls["large"])


def _recreate_pg(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
