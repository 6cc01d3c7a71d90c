"""Driving the TUI in tests: build it on the test's database, wait for its workers, read the
screen as text."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from textual.pilot import Pilot

from crm_cli.services.context import open_context
from crm_cli.tui.app import CrmApp, make_app


def app_for_test(watch_interval: float = 0.2) -> CrmApp:
    return make_app(open_context(), watch_interval=watch_interval)


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


def screen_text(app: CrmApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def wait_for(
    pilot: Pilot[Any], check: Callable[[], object], what: str, limit: float = 10
) -> None:
    """Let the app run until `check()` holds (workers post their results asynchronously)."""
    steps = int(limit / 0.05)
    for _ in range(steps):
        if check():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError(f"gave up waiting for {what}")


async def board_ready(pilot: Pilot[Any], app: CrmApp, loads: int = 1) -> None:
    await wait_for(pilot, lambda: app.board.loaded >= loads, "the board to load")
    await pilot.pause(0.1)


def status(app: CrmApp) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#status", Static).render())


def deal_now(deal_id: int) -> dict[str, Any]:
    """The deal as the database has it now, read through the services (as `crm deal show`)."""
    from crm_cli.services.deal_views import deal_detail

    ctx = open_context()
    try:
        with ctx.session(write=False) as session:
            return deal_detail(ctx, session, deal_id)
    finally:
        ctx.close()


def crm_elsewhere(*args: str) -> None:
    """`crm` in another process, as cron or a teammate would run it."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "crm_cli", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
