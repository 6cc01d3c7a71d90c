"""The board, driven by the keys with Textual's Pilot, checked in the database afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

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

BERLIN = ZoneInfo("Europe/Berlin")  # CRM_TIMEZONE in tests/conftest.py
STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]


def _seed(crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("deal", "add", "Acme renewal", "--contact", "ana@acme.com", "--value", "12000")
    crm.ok(
        "deal", "add", "Globex pilot", "--value", "500", "--currency", "USD", "--stage", "proposal"
    )
    crm.ok("followup", "add", "Call Ana", "--deal", "1", "--due", "yesterday")


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_board_shows_stages_deals_and_markers(db_url, crm, size) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test()
        async with app.run_test(size=size) as pilot:
            await board_ready(pilot, app)
            text = screen_text(app)
        for stage in STAGES:
            assert stage in text
        assert "Acme ren" in text and "Globex p" in text
        assert "! overd" in text  # the follow-up due yesterday, in words without colour
        assert "? no" in text  # Globex has nothing scheduled
        if size[0] >= 160:
            assert "Acme renewal" in text and "Ana Lima" in text
            assert "12,000.00 EUR" in text and "500.00 USD" in text

    run(drive)


def test_move_saves_a_stage_change_and_u_undoes_it(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await board_ready(pilot, app)
            assert app.board.focused_card is not None and app.board.focused_card.id == 1
            await pilot.press("greater_than_sign")
            await wait_for(pilot, lambda: "Moved deal 1" in status(app), "the move")
            await board_ready(pilot, app, loads=2)
            # The focus followed the deal into its new column.
            assert app.board.focused_card is not None and app.board.focused_card.id == 1
            assert app.board.columns[app.board.focused_column].column.name == "qualified"
            moved = deal_now(1)
            assert moved["stage"] == "qualified"
            last = moved["stage_changes"][-1]
            assert (last["from"], last["to"], last["by"]) == ("lead", "qualified", "Test User")
            assert last["at"][:10] == datetime.now(BERLIN).date().isoformat()
            await pilot.press("u")
            await wait_for(pilot, lambda: "Undid" in status(app), "the undo")
        undone = crm.json("deal", "show", "1")
        assert undone["stage"] == "lead"
        assert [c["to"] for c in undone["stage_changes"]] == ["lead"]

    run(drive)


def test_left_and_right_choose_the_stage_keys_move_back(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(120, 30)) as pilot:
            await board_ready(pilot, app)
            await pilot.press("l", "l")
            assert app.board.focused_card is not None and app.board.focused_card.id == 2
            await pilot.press("less_than_sign")
            await wait_for(pilot, lambda: "Moved deal 2" in status(app), "the move")
        assert crm.json("deal", "show", "2")["stage"] == "qualified"

    run(drive)


def test_a_deal_changed_meanwhile_is_not_overwritten(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)  # no live reload: the card goes stale
        async with app.run_test(size=(120, 30)) as pilot:
            await board_ready(pilot, app)
            crm_elsewhere("deal", "move", "1", "negotiation")
            await pilot.press("greater_than_sign")
            await wait_for(pilot, lambda: "changed meanwhile" in status(app), "the refusal")
            await board_ready(pilot, app, loads=2)
            # The card shows the fresh state: deal 1 now sits in negotiation.
            column = app.board.columns[app.board.focused_column].column
            assert column.name == "negotiation" and [c.id for c in column.cards] == [1]
        shown = crm.json("deal", "show", "1")
        assert shown["stage"] == "negotiation"
        assert [c["to"] for c in shown["stage_changes"]] == ["lead", "negotiation"]

    run(drive)


def test_changes_from_another_process_show_up_without_a_key(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0.2)
        async with app.run_test(size=(160, 40)) as pilot:
            await board_ready(pilot, app)
            assert "Initech expansion" not in screen_text(app)
            crm_elsewhere("deal", "add", "Initech expansion", "--value", "900")
            await wait_for(pilot, lambda: "Initech expansion" in screen_text(app), "the new deal")
            crm_elsewhere("deal", "move", "2", "won")
            won = lambda: [c.id for c in app.board.columns[4].column.cards] == [2]  # noqa: E731
            await wait_for(pilot, won, "the move to won")
            # The focus stayed on the deal it was on.
            assert app.board.focused_card is not None and app.board.focused_card.id == 1

    run(drive)


def test_reminders_done_and_snooze(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)
    crm.ok("followup", "add", "Send the offer", "--deal", "2", "--due", "yesterday")

    async def drive() -> None:
        from crm_cli.tui.screens.reminders import RemindersScreen

        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await board_ready(pilot, app)
            await pilot.press("r")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, RemindersScreen) and app.screen.loaded,
                "the reminders",
            )
            text = screen_text(app)
            assert "Overdue (!): 2" in text and "Call Ana" in text
            await pilot.press("d")  # the first: Call Ana
            await wait_for(pilot, lambda: "done" in status(app), f"done ({status(app)!r})")
            await wait_for(pilot, lambda: "Overdue (!): 1" in screen_text(app), "the reload")
            await pilot.press("s")  # now the first: Send the offer
            await pilot.pause(0.1)
            await pilot.press("down", "enter")  # tomorrow 9:00
            await wait_for(pilot, lambda: "snoozed" in status(app), "the snooze")
            await pilot.press("escape")
            assert app.screen is app.board
        done = crm.json("followup", "show", "1")
        assert done["done_at"] is not None
        snoozed = crm.json("followup", "show", "2")
        assert snoozed["done_at"] is None
        tomorrow = datetime.now(BERLIN).date() + timedelta(days=1)
        assert snoozed["snoozed_until"].startswith(tomorrow.isoformat())
        assert "T09:00:00" in snoozed["snoozed_until"]

    run(drive)


def test_keys_screen_lists_the_keys(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await board_ready(pilot, app)
            # The footer has room for a few keys at 80 columns: `?`, which lists them all, is
            # one of them, on the board and on a deal.
            assert "? Keys" in screen_text(app).splitlines()[-1]
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is not app.board, "the deal")
            assert "? Keys" in screen_text(app).splitlines()[-1]
            await pilot.press("escape")
            await pilot.press("question_mark")
            await pilot.pause(0.1)
            text = screen_text(app)
            assert "undo your last change" in text and "quit" in text  # the board's keys first
            # Taller than 24 rows: the rest is a page or two away.
            seen = text
            for _ in range(4):
                await pilot.press("pagedown")
                await pilot.pause(0.05)
                seen += screen_text(app)
            assert "snooze" in seen and "cancel: nothing is saved" in seen
            await pilot.press("escape")
            await pilot.press("q")
        assert app.return_code == 0

    run(drive)


def test_a_long_column_reads_page_by_page_to_the_last(sqlite_url, crm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from crm_cli.tui import data

    monkeypatch.setattr(data, "PAGE", 2)
    titles = [f"Lead {n}" for n in range(1, 10)]
    for title in titles:
        crm.ok("deal", "add", title, "--value", "100")

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await board_ready(pilot, app)
            lead = app.board.columns[0]
            # Every deal counted, only the first page read.
            assert lead.column.count == 9 and len(lead.column.ids) == 9
            assert [c.title for c in lead.column.cards] == titles[:2]
            for _ in range(len(titles) - 1):
                await pilot.press("j")
            await wait_for(
                pilot,
                lambda: (
                    app.board.focused_card is not None
                    and app.board.focused_card.title == titles[-1]
                ),
                "the last card to be read",
            )
            await wait_for(pilot, lambda: titles[-1] in screen_text(app), "the last card shown")
            assert titles[0] not in screen_text(app)  # scrolled past the first

    run(drive)


def test_moving_into_lost_asks_why(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("deal", "add", "Acme renewal", "--value", "12000", "--stage", "won")

    async def drive() -> None:
        from crm_cli.tui.screens.lost import LostReason

        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await board_ready(pilot, app)
            await pilot.press(*"llll")  # to the won column
            assert app.board.focused_card is not None and app.board.focused_card.id == 1
            await pilot.press("greater_than_sign")
            await wait_for(pilot, lambda: isinstance(app.screen, LostReason), "the question")
            await pilot.press("enter")  # empty: refused next to the field, nothing saved
            assert "needs a reason" in screen_text(app)
            await pilot.press(*"budget cut", "enter")
            await wait_for(pilot, lambda: "Moved deal 1" in status(app), "the move")
        lost = deal_now(1)
        assert (lost["stage"], lost["lost_reason"]) == ("lost", "budget cut")

    run(drive)


def test_a_click_chooses_a_card_and_t_switches_light_and_dark(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("deal", "add", "First", "--value", "100")
    crm.ok("deal", "add", "Second", "--value", "200")

    async def drive() -> None:
        from crm_cli.tui.widgets.deal_list import CARD_HEIGHT, DealList

        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await board_ready(pilot, app)
            assert app.board.focused_card is not None and app.board.focused_card.title == "First"
            lead = app.board.columns[0].deals
            await pilot.click(DealList, offset=(2, CARD_HEIGHT + 1))  # the second card
            assert isinstance(lead, DealList) and lead.active
            assert app.board.focused_card is not None and app.board.focused_card.title == "Second"
            before = app.theme
            await pilot.press("t")
            assert app.theme != before
            await pilot.press("t")
            assert app.theme == before

    run(drive)


def test_slash_filters_the_board_by_words(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await board_ready(pilot, app)

            def titles() -> list[str]:
                return [c.title for col in app.board.columns for c in col.column.cards]

            await pilot.press("slash", *"globex", "enter")
            await wait_for(pilot, lambda: titles() == ["Globex pilot"], "the filtered board")
            assert app.board.columns[2].column.count == 1
            assert app.board.columns[0].column.count == 0
            await pilot.press("slash", *["backspace"] * 6, "enter")
            await wait_for(pilot, lambda: len(titles()) == 2, "every deal again")

    run(drive)


def _highlighted(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The screen's lines drawn in the cursor's colours, as text (the composited screen: a
    line repainted too little would still show the cursor where it was)."""
    from rich.segment import Segment

    deals = app.board.columns[app.board.focused_column].deals
    cursor = deals._paint_styles()[1].plain.bgcolor
    lines = []
    for strip in app.screen._compositor.render_strips():
        marked = "".join(
            s.text
            for s in strip
            if isinstance(s, Segment) and s.style and s.style.bgcolor == cursor
        )
        if marked.strip():
            lines.append(marked.strip())
    return lines


def test_the_cursor_shows_on_one_card_only_as_keys_move_it(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    for n in range(1, 9):
        crm.ok("deal", "add", f"Lead {n}", "--value", "100")
    for n in range(1, 4):
        crm.ok("deal", "add", f"Qualified {n}", "--value", "100", "--stage", "qualified")

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 24)) as pilot:
            await board_ready(pilot, app)
            steps = [
                ("j", "Lead 2"),
                ("j", "Lead 3"),
                ("l", "Qualified 1"),
                ("j", "Qualified 2"),
                ("h", "Lead 3"),
                ("k", "Lead 2"),
                ("pagedown", "Lead 6"),  # 24 rows show four cards and a bit
                ("end", "Lead 8"),
                ("pageup", "Lead 4"),
                ("home", "Lead 1"),
                ("l", "Qualified 2"),
                ("end", "Qualified 3"),
            ]
            for key, title in steps:
                await pilot.press(key)
                await pilot.pause()
                card = app.board.focused_card
                assert card is not None and card.title == title, key
                shown = _highlighted(app)
                assert shown[0] == title and len(shown) == 3, (key, shown)

    run(drive)
