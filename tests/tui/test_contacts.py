"""The contacts screen (`c`), driven with Pilot: search as you type, the 360 view, the form;
checked in the database afterwards."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from tests.tui.helpers import app_for_test, board_ready, run, screen_text, status, wait_for


def _seed(crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com", "--company", "Acme")
    crm.ok("contact", "add", "王小明", "--email", "wang@example.cn")
    crm.ok("contact", "add", "Bruno Diaz", "--email", "bruno@globex.com", "--tag", "vip")
    crm.ok("deal", "add", "Acme renewal", "--contact", "ana@acme.com", "--value", "12000")
    crm.ok("followup", "add", "Call Ana", "--contact", "ana@acme.com", "--due", "tomorrow")


def _names(app: Any) -> list[str]:
    return [row.name for row in app.screen.rows]


async def _contacts(pilot: Any, app: Any) -> Any:
    """Open the contacts screen from the board and wait for its first listing."""
    from crm_cli.tui.screens.contacts import ContactsScreen

    await board_ready(pilot, app)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, ContactsScreen), "the contacts screen")
    screen = app.screen
    await wait_for(pilot, lambda: screen.loaded >= 1, "the first listing")
    return screen


def test_typing_a_prefix_lists_the_contact_cjk_too(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await _contacts(pilot, app)
            # Nothing typed: every contact, by name.
            assert sorted(_names(app)) == sorted(["Ana Lima", "王小明", "Bruno Diaz"])
            await pilot.press(*"an")
            await wait_for(pilot, lambda: _names(app) == ["Ana Lima"], "the 'an' results")
            assert "Ana Lima" in screen_text(app)
            await pilot.press("backspace", "backspace", *"王小")
            await wait_for(pilot, lambda: _names(app) == ["王小明"], "the CJK results")
            assert "王小明" in screen_text(app)
            assert screen.text == "王小"
            # Nothing to search for: said on the status line, and no stale results.
            await pilot.press("backspace", "backspace", "minus")
            await wait_for(pilot, lambda: "at least one letter" in status(app), "the error")
            assert _names(app) == [] and "王小明" not in screen_text(app)
            await pilot.press("escape")
            assert app.screen is app.board

    run(drive)


def test_enter_opens_the_360_view_with_its_deal(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    from crm_cli.tui.screens.contacts import ContactScreen

    _seed(crm)
    crm.ok("log", "call", "ana@acme.com", "Talked about the renewal")

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 40)) as pilot:
            await _contacts(pilot, app)
            await pilot.press(*"ana")
            await wait_for(pilot, lambda: _names(app) == ["Ana Lima"], "the results")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ContactScreen), "the 360 view")
            view = app.screen
            await wait_for(pilot, lambda: view.loaded >= 1, "the contact")
            text = screen_text(app)
            assert "Ana Lima" in text and "ana@acme.com" in text and "Acme" in text
            assert "#1 Acme renewal · lead · 12,000.00 EUR" in text
            assert "Call Ana" in text
            assert "call: Talked about the renewal" in text
            await pilot.press("escape")
            assert type(app.screen).__name__ == "ContactsScreen"

    run(drive)


def test_n_adds_a_contact_through_the_form(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await _contacts(pilot, app)
            await pilot.press("down", "n")  # the results have the focus: n is not typed
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ContactForm", "the form")
            await pilot.press(*"Carla Gómez", "tab", *"carla@initech.com", "tab", "tab")
            await pilot.press(*"Initech", "tab", "tab", *"vip, partner", "enter")
            await wait_for(pilot, lambda: app.screen is screen, "the form to close")
            await wait_for(pilot, lambda: "Carla Gómez" in _names(app), "the new contact listed")
            assert status(app).startswith("Added contact 4 · 4 contacts")
        found = crm.json("contact", "list", "--search", "carla")
        assert [(c["name"], c["emails"], c["company"]) for c in found] == [
            ("Carla Gómez", ["carla@initech.com"], "Initech")
        ]
        assert found[0]["tags"] == ["partner", "vip"]
        history = crm.json("history", "--last", "1")
        assert "(tui)" in history[0]["command"]

    run(drive)


def test_an_invalid_email_shows_under_its_input_and_writes_nothing(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)
    before = crm.json("contact", "list")

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(80, 24)) as pilot:
            await _contacts(pilot, app)
            await pilot.press("down", "n")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ContactForm", "the form")
            form = app.screen
            await pilot.press(*"Dora Black", "tab", *"dora-at-example.com", "enter")
            error = form.query_one("#form-emails-error", Static)
            await wait_for(pilot, lambda: "one @" in str(error.render()), "the error")
            assert str(error.render()) == "email 'dora-at-example.com': an email address has one @"
            assert error.display  # shown under the input, the other errors stay hidden
            assert not form.query_one("#form-name-error", Static).display
            assert app.screen is form  # still open, to correct it
            await pilot.press("escape")
        assert crm.json("contact", "list") == before

    run(drive)


def test_e_edits_a_contact(db_url, crm) -> None:  # type: ignore[no-untyped-def]
    from crm_cli.tui.screens.contacts import ContactScreen

    _seed(crm)

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await _contacts(pilot, app)
            await pilot.press(*"bruno")
            await wait_for(pilot, lambda: _names(app) == ["Bruno Diaz"], "the results")
            await pilot.press("down", "e")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ContactForm", "the form")
            form = app.screen
            title = form.query_one("#form-title")
            title.focus()
            await pilot.press(*"CTO")
            tags = form.query_one("#form-tags")
            tags.focus()
            await pilot.press("end", *", partner", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ContactScreen), "the 360 view")
            view = app.screen
            await wait_for(pilot, lambda: view.loaded >= 2, "the contact read again")
            assert "CTO" in screen_text(app)
        shown = crm.json("contact", "show", "bruno@globex.com")
        assert shown["title"] == "CTO"
        assert shown["tags"] == ["partner", "vip"]
        assert shown["emails"] == ["bruno@globex.com"]  # untouched fields stay as they were

    run(drive)


def test_each_refused_value_shows_under_its_own_field(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    _seed(crm)
    before = crm.json("contact", "list")

    async def drive() -> None:
        app = app_for_test(watch_interval=0)
        async with app.run_test(size=(100, 30)) as pilot:
            await _contacts(pilot, app)
            await pilot.press("down", "n")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ContactForm", "the form")
            form = app.screen
            await pilot.press(*"Eva Stone")
            form.query_one("#form-cadence").focus()
            await pilot.press(*"3h", "enter")
            cadence = form.query_one("#form-cadence-error", Static)
            await wait_for(pilot, lambda: cadence.display, "the cadence error")
            assert str(cadence.render()).startswith("every '3h': ")
            # An email that another contact has: said under the emails, nothing written.
            form.query_one("#form-cadence").clear()
            form.query_one("#form-emails").focus()
            await pilot.press(*"ana@acme.com", "enter")
            emails = form.query_one("#form-emails-error", Static)
            await wait_for(pilot, lambda: emails.display, "the email error")
            assert "belongs to contact 1" in str(emails.render())
            assert not cadence.display  # the earlier error went once that value was accepted
        assert crm.json("contact", "list") == before

    run(drive)
