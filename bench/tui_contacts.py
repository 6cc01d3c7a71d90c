"""The TUI's contacts screen on 100,000 contacts: how long from the last key typed to the
results drawn, beside its baselines measured in the same process.

Builds a SQLite database with bench/search_100k.py's `build` (names in several scripts,
emails, phones, a custom field), then, in a fresh process, starts the app headless (Textual's
`run_test`, the app `crm tui` runs), opens the contacts screen and, for each query, types it
and times from the last key until the results for it are on screen. Baselines:
- `service`: the same search called directly (`crm search --kind contact`'s function);
- `idle key`: a key bound to nothing, pressed through Pilot (what the driver costs per key);
- `typed key`: one letter typed into the search line (the screen must answer it at once,
  before any search runs).
The debounce (contacts.DEBOUNCE, a deliberate wait for the typing to pause) is reported
separately and subtracted from "results".

Usage: python bench/tui_contacts.py [--contacts 100000] [--rounds 3]
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_100k import build  # noqa: E402

QUERIES = ["ana", "weber", "张伟", "佐藤", "민준", "acme", "ana lima", "novák", "9988"]

CHILD = r"""
import asyncio, json, sys, time
from crm_cli.services.context import open_context
from crm_cli.tui import contacts_data
from crm_cli.tui.app import make_app
from crm_cli.tui.screens.contacts import DEBOUNCE

queries, rounds = json.loads(sys.argv[1]), int(sys.argv[2])

async def main():
    app = make_app(open_context(), watch_interval=0)
    out = {"debounce": DEBOUNCE, "results": [], "service": [], "idle": [], "typed": []}
    async with app.run_test(size=(160, 48)) as pilot:
        while not app.board.loaded:
            await asyncio.sleep(0.002)
        t = time.perf_counter()
        await pilot.press("c")
        while getattr(app.screen, "loaded", 0) < 1:
            await asyncio.sleep(0.001)
        out["first_list"] = time.perf_counter() - t
        await pilot.press("escape")  # again, now that its modules are imported
        await pilot.pause(0.3)
        t = time.perf_counter()
        await pilot.press("c")
        while getattr(app.screen, "loaded", 0) < 1:
            await asyncio.sleep(0.001)
        out["again"] = time.perf_counter() - t
        screen = app.screen
        box = screen.query_one("#contact-search")
        for _ in range(rounds):
            for query in queries:
                t = time.perf_counter()
                contacts_data.find_contacts(app.ctx, query)
                out["service"].append(time.perf_counter() - t)
                box.value = ""
                await pilot.pause(0.3)
                for ch in query[:-1]:
                    t = time.perf_counter()
                    await pilot.press(ch)
                    await pilot.pause()
                    out["typed"].append(time.perf_counter() - t)
                seen = screen.loaded
                t = time.perf_counter()
                await pilot.press(query[-1])
                while not (screen.loaded > seen and box.value == query and screen.rows is not None):
                    await asyncio.sleep(0.001)
                await pilot.pause()
                out["results"].append(time.perf_counter() - t - DEBOUNCE)
                box.focus()
            for _ in range(5):
                t = time.perf_counter()
                await pilot.press("f12")
                await pilot.pause()
                out["idle"].append(time.perf_counter() - t)
    print(json.dumps(out))

asyncio.run(main())
"""


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="crm-bench-tui-contacts-"))
    try:
        url = f"sqlite:///{tmp / 'c.db'}"
        build(url, args.contacts).close()
        env = dict(
            os.environ,
            CRM_HOME=str(tmp / "home"),
            CRM_DATABASE_URL=url,
            CRM_USER_NAME="Bench User",
            CRM_USER_EMAIL="bench@example.com",
        )
        done = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(QUERIES), str(args.rounds)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        out = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{platform.node()} {platform.machine()} Python {platform.python_version()}")
        print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
        print(f"{args.contacts:,} contacts, {len(QUERIES)} queries x {args.rounds} rounds")
        print(
            "  contacts screen opened, the first contacts by name: "
            f"{out['first_list'] * 1000:.0f} ms the first time (its modules imported), "
            f"{out['again'] * 1000:.0f} ms the next"
        )
        print(
            f"  results after the last key (less the {out['debounce']} s debounce): "
            f"{ms(out['results'])}"
        )
        print(f"  baseline, the search service alone: {ms(out['service'])}")
        print(f"  a letter typed into the search line: {ms(out['typed'])}")
        print(f"  baseline, an unbound key through Pilot: {ms(out['idle'])}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
