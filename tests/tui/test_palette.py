"""The command palette (ctrl+p, or `:`): our own commands, run by name."""

from __future__ import annotations

from typing import Any

from textual.command import CommandList, CommandPalette

from tests.tui.helpers import app_for_test, board_ready, run, wait_for


async def run_command(pilot: Any, app: Any, name: str, key: str = "ctrl+p") -> None:
    """Open the palette, type `name`, wait until it is the highlighted hit, run it."""
    await pilot.press(key)
    await wait_for(pilot, lambda: CommandPalette.is_open(app), "the palette")
    palette = app.screen
    await pilot.press(*name)

    def first() -> str | None:
        listing = palette.query_one(CommandList)
        if listing.option_count == 0 or listing.highlighted is None:
            return None
        return str(listing.get_option_at_index(listing.highlighted).prompt)

    await wait_for(pilot, lambda: (first() or "").startswith(name), f"the {name!r} hit")
    await pilot.press("enter")
    await wait_for(pilot, lambda: not CommandPalette.is_open(app), "the palette to close")


def _seed(crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("user", "add", "Bo Chen", "--email", "bo@example.com")
    crm.ok("deal", "add", "My deal", "--value", "100")
    crm.ok("deal", "add", "Bo's deal", "--value", "300", "--owner", "Bo Chen")
    crm.ok("followup", "add", "Call about my deal", "--deal", "1", "--due", "yesterday")


def titles(app: Any) -> list[str]:
    board = app.board.board
    return sorted(card.title for column in board.columns for card in column.cards) if board else []


def test_palette_runs_reminders(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    from crm_cli.tui.screens.reminders import RemindersScreen

    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await board_ready(pilot, app)
            await run_command(pilot, app, "Reminders")
            await wait_for(pilot, lambda: isinstance(app.screen, RemindersScreen), "reminders")
            screen = app.screen
            await wait_for(pilot, lambda: screen.loaded >= 1, "the reminders")
            listing = [str(o.prompt) for o in screen.query_one("#reminders").options]
            assert any("Call about my deal" in line for line in listing)

    run(drive)


def test_palette_runs_mine_then_everyone_and_colon_opens_it(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await board_ready(pilot, app)
            await run_command(pilot, app, "Mine")
            await wait_for(pilot, lambda: titles(app) == ["My deal"], "only my deal")
            await run_command(pilot, app, "Everyone", key="colon")
            await wait_for(pilot, lambda: titles(app) == ["Bo's deal", "My deal"], "every deal")
            assert app.board.filters.mine is False

    run(drive)


def test_palette_from_the_contacts_screen_goes_back_to_the_board(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await board_ready(pilot, app)
            await pilot.press("c")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ContactsScreen", "contacts")
            await run_command(pilot, app, "Mine")
            await wait_for(pilot, lambda: titles(app) == ["My deal"], "only my deal")
            assert app.screen is app.board

    run(drive)
