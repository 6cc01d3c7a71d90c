"""The board's filters: mine / everyone, tag, owner, and the pipeline switch; each shows only
the matching cards (read off the board's data) and says so in the header."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from tests.tui.helpers import app_for_test, board_ready, run, wait_for


def _seed(crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("user", "add", "Bo Chen", "--email", "bo@example.com")
    crm.ok("deal", "add", "Mine tagged", "--value", "100", "--tag", "vip")
    crm.ok("deal", "add", "Mine plain", "--value", "200")
    crm.ok(
        "deal", "add", "Bo tagged", "--value", "300", "--owner", "bo@example.com", "--tag", "vip"
    )
    crm.ok("deal", "add", "Bo plain", "--value", "400", "--owner", "Bo Chen", "--stage", "proposal")


def titles(app: Any) -> list[str]:
    board = app.board.board
    return sorted(card.title for column in board.columns for card in column.cards) if board else []


def header(app: Any) -> str:
    return str(app.board.query_one("#title", Static).render())


ALL = ["Bo plain", "Bo tagged", "Mine plain", "Mine tagged"]


def test_m_switches_between_mine_and_everyone(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(120, 30)) as pilot:
            await board_ready(pilot, app)
            # As `crm deal list` without --mine: everyone's deals.
            assert titles(app) == ALL
            assert "everyone" in header(app)
            await pilot.press("m")
            await wait_for(pilot, lambda: titles(app) == ["Mine plain", "Mine tagged"], "mine")
            assert "mine" in header(app)
            await pilot.press("m")
            await wait_for(pilot, lambda: titles(app) == ALL, "everyone's deals again")

    run(drive)


def test_filter_by_tag_and_owner_from_the_palette(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    from tests.tui.test_palette import run_command

    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(120, 30)) as pilot:
            await board_ready(pilot, app)
            await run_command(pilot, app, "Filter by tag")
            await pilot.press(*"vip", "enter")
            await wait_for(pilot, lambda: titles(app) == ["Bo tagged", "Mine tagged"], "tag vip")
            assert "tag vip" in header(app)
            await run_command(pilot, app, "Owner: Bo Chen")
            await wait_for(pilot, lambda: titles(app) == ["Bo tagged"], "vip deals of Bo")
            assert "owner Bo Chen" in header(app) and "tag vip" in header(app)
            # Column counts follow the filters too, as `crm deal list` counts them.
            assert sum(column.count for column in app.board.board.columns) == 1
            await run_command(pilot, app, "Filter by owner")
            await pilot.press(*["backspace"] * 10, *"bo@example.com", "enter")
            await wait_for(pilot, lambda: "owner bo@example.com" in header(app), "owner by email")
            assert titles(app) == ["Bo tagged"]
            await run_command(pilot, app, "Filter by tag")
            await pilot.press(*["backspace"] * 3, "enter")
            await wait_for(pilot, lambda: titles(app) == ["Bo plain", "Bo tagged"], "Bo's deals")

    run(drive)


def test_an_unknown_owner_is_said_and_the_board_stays(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    from tests.tui.helpers import status

    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(120, 30)) as pilot:
            await board_ready(pilot, app)
            app.board.action_filter_owner()
            await pilot.pause()
            await pilot.press(*"nobody", "enter")
            await wait_for(pilot, lambda: "nobody" in status(app), "the error")
            assert "error:" in status(app)
            assert titles(app) == ALL

    run(drive)


def test_p_switches_to_the_next_pipeline(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)
    crm.ok("pipeline", "add", "partners", "--stages", "talk,sign")
    crm.ok("deal", "add", "Reseller deal", "--pipeline", "partners", "--value", "50")

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(120, 30)) as pilot:
            await board_ready(pilot, app)
            assert app.board.board is not None and app.board.board.pipeline == "default"
            await pilot.press("p")
            await wait_for(pilot, lambda: titles(app) == ["Reseller deal"], "the other pipeline")
            assert [c.name for c in app.board.board.columns] == ["talk", "sign", "won", "lost"]
            assert "pipeline partners" in header(app)
            await pilot.press("p")
            await wait_for(pilot, lambda: titles(app) == ALL, "back to the first pipeline")

    run(drive)
