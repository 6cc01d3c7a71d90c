"""The reminders screen (`r`): each snooze choice, checked in the database afterwards, a
refused typed time, and `enter` opening the deal or the contact a follow-up is about."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.helpers import app_for_test, board_ready, run, screen_text, status, wait_for

# A Tuesday, 9:00 in Berlin (CRM_TIMEZONE in tests/conftest.py): the clock of every test here.
NOW = "2026-11-24T09:00:00+01:00"


@pytest.fixture
def seeded(db_url, crm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRM_NOW", NOW)
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com")
    crm.ok("contact", "add", "Ben Okafor", "--email", "ben@initech.com")
    crm.ok("deal", "add", "Acme renewal", "--contact", "ana@acme.com", "--value", "12000")
    # Overdue first, then today: the list shows them in this order.
    crm.ok("followup", "add", "Send the offer", "--deal", "1", "--due", "2026-11-23 10:00")
    crm.ok(
        "followup", "add", "Call Ben", "--contact", "ben@initech.com", "--due", "2026-11-24 15:00"
    )


async def _reminders(pilot: Any, app: Any) -> Any:
    from crm_cli.tui.screens.reminders import RemindersScreen

    await board_ready(pilot, app)
    await pilot.press("r")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, RemindersScreen) and app.screen.loaded,
        "the reminders",
    )
    return app.screen


async def _snooze_menu(pilot: Any, app: Any) -> None:
    from crm_cli.tui.screens.reminders import SnoozeChoice

    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, SnoozeChoice), "the snooze choices")


@pytest.mark.parametrize(
    ("downs", "typed", "until"),
    [
        (0, None, "2026-11-24T10:00:00+01:00"),  # 1 hour
        (1, None, "2026-11-25T09:00:00+01:00"),  # tomorrow 9:00
        (2, None, "2026-11-30T09:00:00+01:00"),  # next week: Monday, 9:00
        (3, "dec 3 14:30", "2026-12-03T14:30:00+01:00"),  # a date, as --until takes it
        (3, "3d", "2026-11-27T09:00:00+01:00"),  # a length of time, as --for takes it
    ],
    ids=["1-hour", "tomorrow", "next-week", "date", "for"],
)
def test_snooze_choices(seeded, crm, downs, typed, until) -> None:  # type: ignore[no-untyped-def]
    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _reminders(pilot, app)
            await _snooze_menu(pilot, app)  # on the first: Send the offer
            for _ in range(downs):
                await pilot.press("down")
            await pilot.press("enter")
            if typed is not None:
                await pilot.press(*typed, "enter")
            await wait_for(pilot, lambda: app.screen is screen, "the snooze to close")
            await wait_for(pilot, lambda: "snoozed" in status(app), f"the snooze ({status(app)!r})")

    run(drive)
    snoozed = crm.json("followup", "show", "1")
    assert snoozed["snoozed_until"] == until
    assert snoozed["done_at"] is None
    assert crm.json("followup", "show", "2")["snoozed_until"] is None


def test_a_refused_time_shows_under_the_input_and_saves_nothing(seeded, crm) -> None:  # type: ignore[no-untyped-def]
    from crm_cli.tui.screens.reminders import SnoozeChoice

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _reminders(pilot, app)
            await _snooze_menu(pilot, app)
            await pilot.press("down", "down", "down", "enter")
            await pilot.press(*"yesterday", "enter")
            await pilot.pause(0.1)
            assert isinstance(app.screen, SnoozeChoice)
            assert "not in the future" in screen_text(app)
            await pilot.press("ctrl+a", "ctrl+k", *"someday soon", "enter")
            await pilot.pause(0.1)
            assert isinstance(app.screen, SnoozeChoice)
            assert "not a date or time" in screen_text(app)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen, "the snooze to close")

    run(drive)
    assert crm.json("followup", "show", "1")["snoozed_until"] is None


def test_enter_opens_the_deal_or_the_contact(seeded) -> None:  # type: ignore[no-untyped-def]
    async def drive() -> None:
        from crm_cli.tui.screens.contacts import ContactScreen
        from crm_cli.tui.screens.deal_detail import DealDetailScreen

        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await _reminders(pilot, app)
            await pilot.press("enter")  # Send the offer: about deal 1
            await wait_for(pilot, lambda: isinstance(app.screen, DealDetailScreen), "the deal")
            assert isinstance(app.screen, DealDetailScreen) and app.screen.deal_id == 1
            await wait_for(pilot, lambda: "Acme renewal" in screen_text(app), "the deal's fields")
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen, "back to the reminders")
            await pilot.press("down", "enter")  # Call Ben: about contact 2, no deal
            await wait_for(pilot, lambda: isinstance(app.screen, ContactScreen), "the contact")
            assert isinstance(app.screen, ContactScreen) and app.screen.contact_id == 2
            await wait_for(pilot, lambda: "Ben Okafor" in screen_text(app), "the 360 view")

    run(drive)


def test_today_is_the_services_clock(sqlite_url, crm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With CRM_NOW on another day than the machine's, "today" is CRM_NOW's day."""
    monkeypatch.setenv("CRM_NOW", "2031-05-06T08:00:00+02:00")
    crm.ok("followup", "add", "Call Ana", "--due", "2031-05-06 15:00")
    crm.ok("followup", "add", "Write to Ben", "--due", "2031-05-08 10:00")

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await _reminders(pilot, app)
            text = screen_text(app)
            assert "Overdue (!): 0" in text
            assert "Today (*): 1" in text and "Upcoming (>): 1" in text
            assert text.index("Call Ana") < text.index("Upcoming") < text.index("Write to Ben")

    run(drive)


def test_stay_in_touch_contacts_due_are_listed_and_open_their_360(db_url, crm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A contact whose cadence has run out is on the screen (as `crm today` lists it); enter
    opens it, `d` leaves it alone and says how its cadence resets."""
    monkeypatch.setenv("CRM_NOW", "2026-11-01T09:00:00+01:00")
    crm.ok("contact", "add", "Chen Wei", "--email", "chen@example.cn")
    crm.ok("contact", "add", "Dora Quiet", "--email", "dora@example.com")
    crm.ok("contact", "edit", "chen@example.cn", "--every", "7d")
    crm.ok("contact", "edit", "dora@example.com", "--every", "90d")  # not due for months
    monkeypatch.setenv("CRM_NOW", NOW)
    today = crm.json("today")
    assert [c["contact"] for c in today["stay_in_touch"]] == ["Chen Wei"]

    async def drive() -> None:
        from crm_cli.tui.screens.contacts import ContactScreen

        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 24)) as pilot:
            screen = await _reminders(pilot, app)
            text = screen_text(app)
            assert "Stay in touch (@): 1" in text and "Stay in touch with Chen Wei" in text
            assert "Dora Quiet" not in text
            await pilot.press("d")  # a follow-up's key: nothing is done to a contact
            await pilot.pause(0.1)
            assert "reset its cadence" in status(app)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ContactScreen), "the contact")
            assert isinstance(app.screen, ContactScreen) and app.screen.contact_id == 1
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen, "back to the reminders")

    run(drive)
    assert [c["contact"] for c in crm.json("today")["stay_in_touch"]] == ["Chen Wei"]
