"""Where the time of an everyday command goes, part by part, against its baselines.

For `crm --help`, `crm followup add`, `crm contact list` and `crm deal list` on a SQLite
database (the demo data) in a temporary CRM_HOME, with stdout a pipe as in a script:

1. **Whole processes**, round-robin with the baselines `python -c pass`, a plain sqlite3
   insert script and the sqlmodel insert script (`baseline_sqlmodel_insert.py`): medians.
2. **Parts**: each command run again in a process that times, without a profiler, every
   module load (an import hook around `importlib._bootstrap._find_and_load`) and the named
   steps of a command: building the command tree, reading the config, creating the engine,
   the first connection's PRAGMAs, the migration check, resolving the user, configuring the
   ORM mappers, rendering, closing the database. What is left is the command's own work
   (parsing its arguments, the service's queries and writes, the commit). Interpreter
   start-up is the whole process less what the process timed itself. Medians per part; the
   parts add up to the whole.
3. **Imports by package**: `python -X importtime` of each command, self times summed by
   top-level package (typer, rich, sqlalchemy, sqlmodel, pydantic, alembic, psycopg, crm_cli,
   the standard library, ...). importtime's own overhead makes its sum larger than the import
   time of part 2; the shares are what it is read for.
4. With `--profile DIR`: cProfile of the non-import part of each command (its modules
   imported first, then `main()` profiled), written to DIR/NAME.pstats, top lines printed.
5. With `--instructions`: every whole process once more under valgrind's callgrind, which
   counts the instructions executed in user space: the same count on a busy machine as on
   an idle one (to within about 1%), where wall-clock times on a shared machine can double.
   It does not see time spent in the kernel (file reads, fsync).

Usage: python bench/startup_breakdown.py [--runs 9] [--json FILE] [--profile DIR] [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

COMMANDS: dict[str, list[str]] = {
    "crm --help": ["--help"],
    "crm followup add": ["followup", "add", "Call Ana", "--due", "tomorrow 9:00"]
    + ["--contact", "ana@acme.de"],
    "crm contact list": ["contact", "list"],
    "crm deal list": ["deal", "list"],
}

# The floor below the stack: the same kind of write with nothing but the sqlite3 module.
SQLITE3_INSERT = """\
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA journal_mode = WAL")
con.execute("PRAGMA synchronous = NORMAL")
con.execute("CREATE TABLE IF NOT EXISTS followup (id INTEGER PRIMARY KEY, title TEXT, due TEXT)")
con.execute("BEGIN IMMEDIATE")
con.execute("INSERT INTO followup (title, due) VALUES (?, ?)", ("Call Ana", "2026-11-24T08:00Z"))
con.execute("COMMIT")
con.close()
"""

# The instrumented command: run as `python -c CHILD ARGS...`, results as JSON in
# $CRM_BENCH_OUT. Phases nest (the mappers are configured inside the user lookup); each
# phase's own time excludes the imports and the phases inside it, so everything adds up.
CHILD = r"""
import time
_t0 = time.perf_counter()
import json, os, sys
import _frozen_importlib as _bootstrap

_clock = time.perf_counter
_imports = {"depth": 0, "total": 0.0, "count": 0}
_stack = []  # open phases: [label, start, imports inside, child phases inside]
_own = {}    # label -> seconds of its own work
_PATCH = {
    "crm_cli.cli": [("build_command", "build the command tree")],
    "crm_cli.config": [("load", "read the config")],
    "crm_cli.store.engine": [
        ("make_engine", "create the engine"),
        ("_sqlite_on_connect", "connect (PRAGMAs)"),
    ],
    "crm_cli.store.migrate": [("current_revision", "migration check")],
    "crm_cli.services.context": [
        ("Context._resolve_user", "resolve the user"),
        ("Context.close", "close the database"),
    ],
    "sqlalchemy.orm.mapper": [("_configure_registries", "configure the mappers")],
    "crm_cli.render.output": [("emit_rows", "render the output")],
    "crm_cli.cli.common": [("done", "render the output")],
}


def _timed(fn, label):
    def wrapper(*args, **kwargs):
        if _imports["depth"]:  # running inside an import: counted there
            return fn(*args, **kwargs)
        _stack.append([label, _clock(), 0.0, 0.0])
        try:
            return fn(*args, **kwargs)
        finally:
            _, start, inner_imports, inner_phases = _stack.pop()
            spent = _clock() - start
            _own[label] = _own.get(label, 0.0) + spent - inner_imports - inner_phases
            if _stack:
                _stack[-1][3] += spent
    wrapper.__wrapped__ = fn
    return wrapper


def _patch(name, module):
    for attr, label in _PATCH.get(name, ()):
        owner = module
        *path, last = attr.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, last, _timed(getattr(owner, last), label))


_find_and_load = _bootstrap._find_and_load


def _timed_find_and_load(name, import_):
    if _imports["depth"]:
        _imports["depth"] += 1
        try:
            return _find_and_load(name, import_)
        finally:
            _imports["depth"] -= 1
    _imports["depth"] = 1
    start = _clock()
    try:
        module = _find_and_load(name, import_)
    finally:
        spent = _clock() - start
        _imports["depth"] = 0
        _imports["total"] += spent
        if _stack:
            _stack[-1][2] += spent
    return module


def _hook(name, import_):
    module = _timed_find_and_load(name, import_)
    _imports["count"] += 1
    if name in _PATCH:  # wrap the named steps as soon as their module exists
        _patch(name, module)
    return module


# The interpreter calls `_find_and_load` (by name, on this module) for every module not yet
# in sys.modules: the one place every import passes.
_bootstrap._find_and_load = _hook

from crm_cli.cli import main

_t1 = _clock()
code = main(sys.argv[1:])
_t2 = _clock()
try:
    sys.stdout.flush()
except (BrokenPipeError, ValueError):
    pass
with open(os.environ["CRM_BENCH_OUT"], "w") as fh:
    json.dump(
        {
            "span": _t2 - _t0,
            "main": _t2 - _t1,
            "imports": _imports["total"],
            "modules": _imports["count"],
            "own": _own,
            "loaded": list(sys.modules),
            "code": code,
        },
        fh,
    )
os._exit(code)
"""

# cProfile of the non-import part: the modules the command loads are imported first.
PROFILE = r"""
import cProfile, contextlib, importlib, io, json, os, sys
for name in json.loads(os.environ["CRM_BENCH_MODULES"]):
    try:
        importlib.import_module(name)
    except Exception:
        pass
from crm_cli.cli import main
profiler = cProfile.Profile()
with contextlib.redirect_stdout(io.StringIO()):
    profiler.enable()
    main(sys.argv[1:])
    profiler.disable()
profiler.dump_stats(os.environ["CRM_BENCH_OUT"])
os._exit(0)
"""

GROUPS = {
    "typer": "typer (and its click)",
    "click": "typer (and its click)",
    "shellingham": "typer (and its click)",
    "rich": "rich",
    "markdown_it": "rich",
    "mdurl": "rich",
    "pygments": "rich",
    "sqlalchemy": "sqlalchemy",
    "greenlet": "sqlalchemy",
    "sqlmodel": "sqlmodel",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "annotated_types": "pydantic",
    "typing_inspection": "pydantic",
    "alembic": "alembic",
    "mako": "alembic",
    "psycopg": "psycopg",
    "psycopg_binary": "psycopg",
    "crm_cli": "crm_cli",
}
ORDER = [
    "typer (and its click)",
    "rich",
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "alembic",
    "psycopg",
    "crm_cli",
    "other third-party",
    "standard library",
    "site (venv, editable-install finder)",
]


def group_of(module: str) -> str:
    top = module.split(".")[0]
    if top in GROUPS:
        return GROUPS[top]
    if top.startswith("__editable__") or top in ("site", "sitecustomize", "_virtualenv"):
        return "site (venv, editable-install finder)"
    if top in sys.stdlib_module_names or top.startswith("_frozen") or top == "encodings":
        return "standard library"
    return "other third-party"


def importtime_groups(stderr: str) -> tuple[dict[str, float], dict[str, float]]:
    """Self time per group (ms), and the same with each standard-library module charged to
    the nearest non-stdlib package that imported it (asyncio to sqlalchemy, say)."""
    entries: list[tuple[int, int, str]] = []  # (self us, depth, module), children first
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)", line)
        if m:
            entries.append((int(m.group(1)), len(m.group(2)) // 2, m.group(3)))
    # What the interpreter imports before it runs `-m crm_cli` (site, encodings, runpy) is
    # interpreter start-up, not the command's: count from the `crm_cli` package on.
    first = next(
        (i for i, (_, depth, module) in enumerate(entries) if depth == 0 and module == "crm_cli"),
        0,
    )
    entries = entries[first:]
    own: dict[str, float] = defaultdict(float)
    charged: dict[str, float] = defaultdict(float)
    # importtime prints a module after the modules it imported: walk backwards so each
    # entry's ancestors are known when it is reached.
    ancestors: list[tuple[int, str]] = []
    for self_us, depth, module in reversed(entries):
        while ancestors and ancestors[-1][0] >= depth:
            ancestors.pop()
        group = group_of(module)
        own[group] += self_us / 1000
        payer = group
        if group == "standard library":
            for _, parent in reversed(ancestors):
                if group_of(parent) not in ("standard library",):
                    payer = group_of(parent)
                    break
        charged[payer] += self_us / 1000
        ancestors.append((depth, module))
    return dict(own), dict(charged)


def setup(tmp: Path) -> dict[str, str]:
    env = dict(
        os.environ,
        CRM_HOME=str(tmp / "home"),
        CRM_USER_NAME="Bench",
        CRM_TIMEZONE="Europe/Berlin",
    )
    for name in ("CRM_DATABASE_URL", "CRM_DEBUG", "NO_COLOR"):
        env.pop(name, None)
    # An installed crm runs from bytecode (pip compiles it): keep a cache for this run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    subprocess.run(
        [sys.executable, "-m", "crm_cli", "demo"], env=env, check=True, capture_output=True
    )
    os.replace(tmp / "home" / "demo.db", tmp / "home" / "crm.db")
    return env


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv[1:4]} failed: {done.stderr.decode()}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall * 1000, cpu * 1000


def instructions(argv: list[str], env: dict[str, str]) -> int:
    """User-space instructions one process executes, counted by callgrind."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        env=dict(env, PYTHONHASHSEED="0"),
        capture_output=True,
        text=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(f"callgrind failed on {argv[1:4]}: {done.stderr[-500:]}")
    return int(found.group(1))


def run_child(env: dict[str, str], args: list[str], out: Path) -> tuple[float, dict[str, Any]]:
    wall, _ = timed([sys.executable, "-c", CHILD, *args], dict(env, CRM_BENCH_OUT=str(out)))
    return wall / 1000, json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile", type=Path, help="write cProfile stats here")
    parser.add_argument(
        "--instructions", action="store_true", help="count instructions with valgrind too"
    )
    args = parser.parse_args()
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="crm-breakdown-"))
    env = setup(tmp)

    # 1. Whole processes, round-robin with the baselines.
    whole_cmds: dict[str, list[str]] = {
        "python -c pass": [py, "-c", "pass"],
        "sqlite3 insert script": [py, "-c", SQLITE3_INSERT, str(tmp / "sqlite3.db")],
        "sqlmodel insert script": [
            py,
            str(HERE / "baseline_sqlmodel_insert.py"),
            str(tmp / "sqlmodel.db"),
        ],
    }
    for name, crm_args in COMMANDS.items():
        whole_cmds[name] = [py, "-m", "crm_cli", *crm_args]
    walls: dict[str, list[float]] = defaultdict(list)
    cpus: dict[str, list[float]] = defaultdict(list)
    for _ in range(3):  # warm the file cache and the bytecode cache
        for argv in whole_cmds.values():
            timed(argv, env)
    for _ in range(args.runs):
        for name, argv in whole_cmds.items():
            wall, cpu = timed(argv, env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    whole = {name: statistics.median(v) for name, v in walls.items()}
    whole_cpu = {name: statistics.median(v) for name, v in cpus.items()}

    # 2. Parts, from the instrumented child; 3. imports by package, from -X importtime.
    parts: dict[str, dict[str, float]] = {}
    imports_by_group: dict[str, dict[str, float]] = {}
    charged_by_group: dict[str, dict[str, float]] = {}
    loaded: dict[str, list[str]] = {}
    out = tmp / "child.json"
    for name, crm_args in COMMANDS.items():
        rows: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.runs):
            total, result = run_child(env, crm_args, out)
            rows["interpreter start-up and exit"].append(total - result["span"])
            rows["imports"].append(result["imports"])
            named = sum(result["own"].values())
            for label, seconds in result["own"].items():
                rows[label].append(seconds)
            rest = result["span"] - result["imports"] - named
            rows["the command itself (parse, queries, writes, commit)"].append(rest)
            rows["(whole process, instrumented)"].append(total)
            loaded[name] = result["loaded"]
        parts[name] = {label: statistics.median(v) * 1000 for label, v in rows.items()}
        own_runs: list[dict[str, float]] = []
        charged_runs: list[dict[str, float]] = []
        for _ in range(3):
            done = subprocess.run(
                [py, "-X", "importtime", "-m", "crm_cli", *crm_args],
                env=env,
                capture_output=True,
                text=True,
            )
            own, charged = importtime_groups(done.stderr)
            own_runs.append(own)
            charged_runs.append(charged)
        imports_by_group[name] = {
            g: statistics.median(r.get(g, 0.0) for r in own_runs) for g in ORDER
        }
        charged_by_group[name] = {
            g: statistics.median(r.get(g, 0.0) for r in charged_runs) for g in ORDER
        }

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}, {args.runs} runs each"
    )
    base, floor = whole["python -c pass"], whole["sqlite3 insert script"]
    stack = whole["sqlmodel insert script"]
    print(
        f"\n{'whole process (medians)':<26} {'wall ms':>9} {'cpu ms':>9} {'vs pass':>8} "
        f"{'vs sqlite3':>11} {'vs sqlmodel':>12}"
    )
    for name, ms in whole.items():
        print(
            f"{name:<26} {ms:>9.1f} {whole_cpu[name]:>9.1f} {ms / base:>7.1f}x "
            f"{ms / floor:>10.1f}x {ms / stack:>11.2f}x"
        )

    names = list(COMMANDS)
    labels: list[str] = []
    for table in parts.values():
        labels += [label for label in table if label not in labels]
    first = ["interpreter start-up and exit", "imports"]
    last = ["the command itself (parse, queries, writes, commit)", "(whole process, instrumented)"]
    labels = first + [lb for lb in labels if lb not in first + last] + last
    print(f"\n{'part (median ms)':<52}" + "".join(f"{n:>18}" for n in names))
    for label in labels:
        cells = "".join(f"{parts[n].get(label, 0.0):>18.1f}" for n in names)
        print(f"{label:<52}{cells}")

    print(f"\n{'imports: importtime self ms':<52}" + "".join(f"{n:>18}" for n in names))
    for group in ORDER:
        cells = "".join(
            f"{imports_by_group[n][group]:>9.1f}{charged_by_group[n][group]:>9.1f}" for n in names
        )
        print(f"{group:<52}{cells}")
    print("(each cell: own self time, then with the standard library it pulls in)")

    # One table that adds up: the measured import time of part 2, split in the proportions
    # importtime gives (standard library charged to the package that pulled it in).
    scaled: dict[str, dict[str, float]] = {}
    for n in names:
        total = sum(charged_by_group[n].values()) or 1.0
        scaled[n] = {g: parts[n]["imports"] * charged_by_group[n][g] / total for g in ORDER}
    print(f"\n{'imports, split by package (ms)':<52}" + "".join(f"{n:>18}" for n in names))
    for group in ORDER:
        print(f"{group:<52}" + "".join(f"{scaled[n][group]:>18.1f}" for n in names))

    counts: dict[str, int] = {}
    if args.instructions:
        for name, argv in whole_cmds.items():
            counts[name] = instructions(argv, env)
        print(
            f"\n{'instructions (callgrind)':<26} {'millions':>10} {'vs pass':>8} {'vs sqlite3':>11}"
        )
        for name, n in counts.items():
            print(
                f"{name:<26} {n / 1e6:>10.0f} {n / counts['python -c pass']:>7.1f}x "
                f"{n / counts['sqlite3 insert script']:>10.1f}x"
            )

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        import pstats

        for name, crm_args in COMMANDS.items():
            target = args.profile / (name.replace(" ", "_").replace("-", "") + ".pstats")
            subprocess.run(
                [py, "-c", PROFILE, *crm_args],
                env=dict(
                    env,
                    CRM_BENCH_OUT=str(target),
                    CRM_BENCH_MODULES=json.dumps(loaded[name]),
                ),
                check=True,
                capture_output=True,
            )
            print(f"\n== cProfile, non-import part: {name} ({target})")
            stats = pstats.Stats(str(target))
            stats.sort_stats("cumulative").print_stats(r"crm_cli|orm/mapper|compiler|sqlite3", 25)

    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "whole_ms": whole,
                    "whole_cpu_ms": whole_cpu,
                    "parts_ms": parts,
                    "imports_self_ms": imports_by_group,
                    "imports_with_stdlib_ms": charged_by_group,
                    "imports_split_ms": scaled,
                    "instructions": counts,
                },
                indent=2,
            )
        )

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
