"""The board and the reminders as they look, at 80x24 and 160x48, dark and light
(pytest-textual-snapshot; regenerate with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the pictures before committing them).

The data is fixed and so is the clock (CRM_NOW): every run draws the same screen."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.helpers import app_for_test, board_ready, wait_for

NOW = "2026-11-24T09:00:00+01:00"
SIZES = [(80, 24), (160, 48)]
THEMES = ["textual-dark", "textual-light"]


@pytest.fixture
def seeded(sqlite_url, crm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRM_NOW", NOW)
    crm.ok("company", "add", "Acme GmbH")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com", "--company", "Acme GmbH")
    crm.ok("contact", "add", "山田 太郎", "--email", "taro@example.jp")
    deals = [
        ("Acme renewal", "12000", "EUR", "lead", "ana@acme.com"),
        ("Globex pilot", "500", "USD", "lead", None),
        ("Initech seats, three year licence with support", "48000", "EUR", "qualified", None),
        ("東京オフィスの新しい契約", "1500000", "JPY", "proposal", "taro@example.jp"),
        ("Umbrella audit", "9000", "EUR", "negotiation", "ana@acme.com"),
        ("Hooli migration", "30000", "EUR", "won", None),
    ]
    for title, value, currency, stage, contact in deals:
        args = ["deal", "add", title, "--value", value, "--currency", currency, "--stage", stage]
        crm.ok(*args, *(["--contact", contact] if contact else []))
    crm.ok("followup", "add", "Call Ana", "--deal", "1", "--due", "2026-11-23 10:00")
    crm.ok("followup", "add", "Send the offer", "--deal", "3", "--due", "2026-11-24 15:00")
    crm.ok("followup", "add", "Prepare the audit", "--deal", "5", "--due", "2026-11-27 09:00")
    crm.ok("followup", "add", "Say hello", "--contact", "taro@example.jp", "--due", "2026-11-26")


def _board(theme: str) -> Any:
    async def before(pilot: Any) -> None:
        pilot.app.theme = theme
        await board_ready(pilot, pilot.app)

    return before


def _reminders(theme: str) -> Any:
    async def before(pilot: Any) -> None:
        from crm_cli.tui.screens.reminders import RemindersScreen

        app = pilot.app
        app.theme = theme
        await board_ready(pilot, app)
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, RemindersScreen) and app.screen.loaded,
            "the reminders",
        )

    return before


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_board(seeded, snap_compare, size, theme) -> None:  # type: ignore[no-untyped-def]
    app = app_for_test(watch_interval=0)
    assert snap_compare(app, terminal_size=size, run_before=_board(theme))


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_reminders(seeded, snap_compare, size, theme) -> None:  # type: ignore[no-untyped-def]
    app = app_for_test(watch_interval=0)
    assert snap_compare(app, terminal_size=size, run_before=_reminders(theme))


def _snooze(theme: str) -> Any:
    async def before(pilot: Any) -> None:
        from crm_cli.tui.screens.reminders import SnoozeChoice

        await _reminders(theme)(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SnoozeChoice), "the choices")
        await pilot.press("down", "down", "down", "enter", *"yesterday", "enter")
        await pilot.pause(0.1)

    return before


@pytest.mark.parametrize("theme", THEMES)
def test_snooze_choices(seeded, snap_compare, theme) -> None:  # type: ignore[no-untyped-def]
    """The choices over the reminders, a typed time refused under its input."""
    app = app_for_test(watch_interval=0)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_snooze(theme))
