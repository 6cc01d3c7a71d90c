"""The deal detail screen (enter on a card), driven with Pilot, checked in the database."""

from __future__ import annotations

from typing import Any

from tests.tui.helpers import (
    app_for_test,
    board_ready,
    crm_elsewhere,
    deal_now,
    run,
    screen_text,
    status,
    wait_for,
)


def _seed(crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok(
        "deal", "add", "Acme renewal", "--contact", "ana@acme.com", "--value", "12000",
        "--tag", "upsell", "--close", "2027-01-31",
    )  # fmt: skip
    crm.ok("followup", "add", "Call Ana", "--deal", "1", "--due", "yesterday")
    crm.ok("followup", "add", "Send the contract", "--deal", "1", "--due", "+30d")
    crm.ok("log", "call", "ana@acme.com", "Talked budget", "--deal", "1", "--at", "yesterday")


async def open_detail(pilot: Any, app: Any, loads: int = 1) -> Any:
    from crm_cli.tui.screens.deal_detail import DealDetailScreen

    await board_ready(pilot, app)
    await pilot.press("enter")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, DealDetailScreen) and app.screen.loaded >= loads,
        "the deal detail",
    )
    return app.screen


def test_enter_opens_the_deal_with_fields_follow_ups_and_timeline(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(160, 48)) as pilot:
            await open_detail(pilot, app)
            text = screen_text(app)
            await pilot.press("escape")
            assert app.screen is app.board
        assert "Deal 1 - Acme renewal" in text
        for shown in ("12,000.00 EUR", "Ana Lima", "Test User", "2027-01-31", "upsell"):
            assert shown in text, shown
        # Follow-ups: the overdue one first, with its marker in words.
        assert text.index("! overdue") < text.index("Call Ana") < text.index("Send the contract")
        assert "> later" in text
        # The timeline, newest first: the creation (today) above yesterday's call.
        assert text.index("deal created in lead") < text.index("Talked budget")

    run(drive)


def test_moves_from_the_detail_are_saved_and_shown(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        from crm_cli.tui.screens.lost import LostReason

        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(120, 30)) as pilot:
            screen = await open_detail(pilot, app)
            await pilot.press("greater_than_sign")
            await wait_for(pilot, lambda: "Moved deal 1" in status(app), "the move")
            await wait_for(pilot, lambda: screen.loaded >= 2, "the reload")
            assert "qualified" in screen_text(app)
            await pilot.press("w")
            await wait_for(pilot, lambda: "to won" in status(app), "the win")
            await wait_for(pilot, lambda: screen.loaded >= 3, "the reload")
            assert deal_now(1)["status"] == "won"
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, LostReason), "the question")
            await pilot.press(*"went elsewhere", "enter")
            await wait_for(pilot, lambda: "to lost" in status(app), "the loss")
        shown = deal_now(1)
        assert (shown["stage"], shown["status"]) == ("lost", "lost")
        assert shown["lost_reason"] == "went elsewhere"
        assert [c["to"] for c in shown["stage_changes"]] == ["lead", "qualified", "won", "lost"]

    run(drive)


def test_the_detail_reloads_when_another_process_writes(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0.2)
        async with app.run_test(size=(120, 30)) as pilot:
            await open_detail(pilot, app)
            crm_elsewhere("deal", "edit", "1", "--title", "Acme renewal 2027")
            await wait_for(
                pilot, lambda: "Deal 1 - Acme renewal 2027" in screen_text(app), "the new title"
            )

    run(drive)


def test_keys_screen_lists_the_deal_and_form_keys(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_detail(pilot, app)
            await pilot.press("question_mark")
            await pilot.pause(0.1)
            await pilot.press("pagedown")
            text = screen_text(app)
            await pilot.press("escape")
            assert app.screen is screen
        assert "add a follow-up" in text and "log a call" in text

    run(drive)
