"""The typed forms (add a follow-up, log an interaction, edit a deal, add a deal), driven with
the keys, checked in the database afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.tui.helpers import app_for_test, board_ready, crm_elsewhere, run, status, wait_for
from tests.tui.test_deal_detail import open_detail

BERLIN = ZoneInfo("Europe/Berlin")  # CRM_TIMEZONE in tests/conftest.py


def _seed(crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("deal", "add", "Acme renewal", "--contact", "ana@acme.com", "--value", "12000")


async def form_open(pilot: Any, app: Any, kind: str) -> Any:
    from crm_cli.tui.screens import forms

    cls = getattr(forms, kind)
    await wait_for(pilot, lambda: isinstance(app.screen, cls), kind)
    return app.screen


async def fill(pilot: Any, text: str) -> None:
    """Replace the focused field's text, as a person would: to the start, cut to the end, type."""
    await pilot.press("home", "ctrl+k", *text)


def _today() -> datetime:
    return datetime.now(BERLIN)


def test_f_on_the_board_adds_a_follow_up_due_when_typed(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await board_ready(pilot, app)
            await pilot.press("f")
            await form_open(pilot, app, "FollowupForm")
            await pilot.press(*"Call Ana", "tab")
            await fill(pilot, "tomorrow 9:00")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Added follow-up 1" in status(app), "the save")
            assert app.screen is app.board
            await board_ready(pilot, app, loads=2)
            assert app.board.focused_card is not None
            assert app.board.focused_card.next_step == "later"
        added = crm.json("followup", "show", "1")
        tomorrow = (_today() + timedelta(days=1)).date().isoformat()
        assert added["title"] == "Call Ana"
        assert added["due_at"].startswith(f"{tomorrow}T09:00:00")
        assert (added["deal_id"], added["owner"]) == (1, "Test User")
        assert added["done_at"] is None

    run(drive)


def test_f_on_the_detail_adds_a_follow_up_and_shows_it(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_detail(pilot, app)
            await pilot.press("f")
            await form_open(pilot, app, "FollowupForm")
            await pilot.press(*"Send the offer", "tab")
            await fill(pilot, "+3d")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Added follow-up 1" in status(app), "the save")
            await wait_for(pilot, lambda: screen.loaded >= 2, "the reload")
            assert [f["title"] for f in screen.detail.followups] == ["Send the offer"]
        added = crm.json("followup", "show", "1")
        in_three = (_today() + timedelta(days=3)).date().isoformat()
        assert added["due_at"][:10] == in_three
        assert (added["deal_id"], added["owner"]) == (1, "Test User")

    run(drive)


def test_a_date_the_cli_refuses_shows_under_its_field_and_saves_nothing(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await board_ready(pilot, app)
            await pilot.press("f")
            form = await form_open(pilot, app, "FollowupForm")
            await pilot.press(*"Call Ana", "tab")
            await fill(pilot, "someday soon")
            await pilot.press("enter")
            await wait_for(pilot, lambda: form.error_of("due"), "the error")
            assert "someday soon" in form.error_of("due")
            assert form.error_of("title") == "" and form.error_of("form") == ""
            assert app.screen is form  # still open, to correct the date
            await pilot.press("escape")
            assert app.screen is app.board
        assert crm.json("followup", "list", "--all", "--done", "--json") == []

    run(drive)


def test_l_logs_an_interaction_with_the_deals_contact(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_detail(pilot, app)
            await pilot.press("l")
            await form_open(pilot, app, "InteractionForm")
            await fill(pilot, "meeting")
            await pilot.press("tab", "tab", *"Demo went well", "tab", *"yesterday 15:00")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Logged meeting 1" in status(app), "the save")
            await wait_for(pilot, lambda: screen.loaded >= 2, "the reload")
            assert screen.detail.record["timeline"][1]["summary"] == "Demo went well"
        logged = crm.json("log", "show", "1")
        yesterday = (_today() - timedelta(days=1)).date().isoformat()
        assert (logged["kind"], logged["summary"]) == ("meeting", "Demo went well")
        assert logged["occurred_at"].startswith(f"{yesterday}T15:00:00")
        assert (logged["deal_id"], logged["contact"], logged["owner"]) == (
            1,
            "Ana Lima",
            "Test User",
        )

    run(drive)


def test_e_edits_the_value_as_people_type_it(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_detail(pilot, app)
            await pilot.press("e")
            await form_open(pilot, app, "DealForm")
            await pilot.press("tab")
            await fill(pilot, "12,50")
            await pilot.press("tab", "tab", "tab", "tab")  # to the tags
            await pilot.press("end", *", q1")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Updated deal 1" in status(app), "the save")
            await wait_for(pilot, lambda: screen.loaded >= 2, "the reload")
        shown = crm.json("deal", "show", "1")
        assert (shown["value_minor"], shown["currency"]) == (1250, "EUR")
        assert shown["title"] == "Acme renewal" and shown["tags"] == ["q1"]
        # Only what changed was given, as `crm deal edit` options: the journal says so.
        history = crm.json("history", "--json")
        assert "--value '12,50'" in history[0]["command"]
        assert "--title" not in history[0]["command"]

    run(drive)


def test_a_new_currency_without_a_rate_is_refused_next_to_the_currency(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await open_detail(pilot, app)
            await pilot.press("e")
            form = await form_open(pilot, app, "DealForm")
            await pilot.press("tab", "tab")
            await fill(pilot, "USD")
            await pilot.press("enter")
            await wait_for(pilot, lambda: form.error_of("currency"), "the error")
            assert "convert-at" in form.error_of("currency")
            await pilot.press("tab")
            await fill(pilot, "1.1")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Updated deal 1" in status(app), "the save")
        shown = crm.json("deal", "show", "1")
        assert (shown["value_minor"], shown["currency"]) == (1320000, "USD")

    run(drive)


def test_a_on_the_board_adds_a_deal_in_the_focused_stage(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await board_ready(pilot, app)
            await pilot.press("l", "l")  # the proposal stage
            await pilot.press("a")
            form = await form_open(pilot, app, "NewDealForm")
            await pilot.press(*"Globex pilot", "tab", *"nobody@nowhere.org", "tab", *"1.500,00")
            await pilot.press("enter")
            await wait_for(pilot, lambda: form.error_of("contact"), "the unknown contact")
            assert "nobody@nowhere.org" in form.error_of("contact")
            await pilot.press("home", "ctrl+k", *"ana@acme.com", "enter")
            await wait_for(pilot, lambda: "Added deal 2" in status(app), "the save")
            await board_ready(pilot, app, loads=2)
            assert [c.id for c in app.board.columns[2].column.cards] == [2]
        added = crm.json("deal", "show", "2")
        assert (added["title"], added["stage"], added["contact"]) == (
            "Globex pilot",
            "proposal",
            "Ana Lima",
        )
        assert added["value_minor"] == 150000
        assert [c["to"] for c in added["stage_changes"]] == ["proposal"]

    run(drive)


def test_an_edit_of_a_deal_changed_meanwhile_is_refused(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)  # no live reload: the form's deal goes stale
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_detail(pilot, app)
            await pilot.press("e")
            await form_open(pilot, app, "DealForm")
            crm_elsewhere("deal", "edit", "1", "--value", "15000")
            await pilot.press("tab")
            await fill(pilot, "99")
            await pilot.press("enter")
            await wait_for(pilot, lambda: "changed meanwhile" in status(app), "the refusal")
            assert app.screen is screen
            # The detail shows the fresh state.
            await wait_for(pilot, lambda: screen.loaded >= 2, "the reload")
            assert "15,000.00 EUR" in "\n".join(
                str(w.render()) for w in screen.query("#detail-fields")
            )
        shown = crm.json("deal", "show", "1")
        assert shown["value_minor"] == 1500000  # the other change stands; nothing overwritten
        history = crm.json("history", "--json")
        assert not any("(tui)" in h["command"] for h in history)

    run(drive)
