"""How fast does `crm tui` show its first board, and answer a key, at 100 and 10,000 open deals?

Targets (the TUI issue): first screen <= 0.6 s after the process starts at 10,000 open deals,
every key <= 50 ms. Builds SQLite databases with bench/deal_list.py's `build` (deals spread
over every stage: 1.5x the deals gives the open ones wanted), then, in a fresh process each
run, starts the app headless (Textual's `run_test`, the same app `crm tui` runs), waits for
the board to be drawn with its cards, and reports the time since the process started; then
presses j / l / k / h and times each key until the screen has been refreshed, beside
an unbound key (what Pilot's press-and-wait costs by itself).

Usage: python bench/tui.py [--runs 5] [--open 100,10000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deal_list import _env, build  # noqa: E402

CHILD = r"""
import asyncio, json, sys, time
started = float(sys.argv[1])
from crm_cli.services.context import open_context
from crm_cli.tui.app import make_app

async def main():
    app = make_app(open_context(), watch_interval=0)
    async with app.run_test(size=(160, 48)) as pilot:
        while not app.board.loaded:
            await asyncio.sleep(0.002)
        await pilot.pause()
        first = time.time() - started
        cards = sum(len(c.column.cards) for c in app.board.columns)
        keys, idle = [], []
        for key in ["x"] * 10:  # bound to nothing: what Pilot itself costs per key
            t = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            idle.append(time.perf_counter() - t)
        for key in ["j"] * 10 + ["l"] * 3 + ["k"] * 5 + ["h"] * 3:
            t = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            keys.append(time.perf_counter() - t)
    print(json.dumps({"first": first, "keys": keys, "idle": idle, "cards": cards}))

asyncio.run(main())
"""


def measure(env: dict[str, str]) -> dict[str, object]:
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, repr(started)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--open", default="100,10000", help="Open deals, comma-separated.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder.")
    args = parser.parse_args()
    sizes = [int(n) for n in args.open.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="crm-bench-tui-"))
    home = tmp / "home"
    print(f"{platform.node()} {platform.machine()} Python {platform.python_version()}")
    try:
        for size in sizes:
            db = tmp / f"{size}.db"
            build(home, db, size * 3 // 2)
            env = _env(home, db)
            measure(env)  # warm the file and bytecode caches
            firsts: list[float] = []
            keys: list[float] = []
            idle: list[float] = []
            cards = 0
            for _ in range(args.runs):
                result = measure(env)
                firsts.append(float(result["first"]))  # type: ignore[arg-type]
                keys.extend(result["keys"])  # type: ignore[arg-type]
                idle.extend(result["idle"])  # type: ignore[arg-type]
                cards = int(result["cards"])  # type: ignore[call-overload]
            print(
                f"{size:>7,} open deals ({cards} cards read): first screen median "
                f"{statistics.median(firsts):.3f} s (max {max(firsts):.3f}); key median "
                f"{statistics.median(keys) * 1000:.1f} ms, max {max(keys) * 1000:.1f} ms "
                f"(an unbound key through Pilot: median {statistics.median(idle) * 1000:.1f} ms)"
            )
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
