"""Pictures of the contacts screens (pytest-textual-snapshot), with fixed data and a fixed
clock (CRM_NOW): the list, a contact's 360 view and the form with an error, at 80x24 and
160x48, light and dark. `pytest --snapshot-update` redraws them after a deliberate change;
look at the SVGs in __snapshots__ before committing them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.helpers import app_for_test, board_ready, wait_for

NOW = "2026-11-24T09:30:00+01:00"
SIZES = [(80, 24), (160, 48)]
THEMES = ["textual-dark", "textual-light"]


@pytest.fixture
def seeded(sqlite_url, crm, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRM_NOW", NOW)
    crm.ok(
        "contact",
        "add",
        "Ana Lima",
        "--email",
        "ana@acme.com",
        "--company",
        "Acme",
        "--title",
        "Head of IT",
        "--phone",
        "+49 30 1234567",
        "--tag",
        "vip",
        "--cadence",
        "30",
    )
    crm.ok("contact", "add", "王小明", "--email", "wang@example.cn", "--company", "北京贸易")
    crm.ok("contact", "add", "Bruno Diaz", "--email", "bruno@globex.com", "--tag", "partner")
    crm.ok("contact", "add", "Carla Gómez", "--email", "carla@initech.com", "--company", "Initech")
    crm.ok("deal", "add", "Acme renewal", "--contact", "ana@acme.com", "--value", "12000")
    crm.ok("followup", "add", "Call Ana", "--contact", "ana@acme.com", "--due", "tomorrow 10:00")
    crm.ok("log", "call", "ana@acme.com", "Talked about the renewal")


def _open_contacts(theme: str, then: tuple[str, ...] = ()) -> Any:
    async def before(pilot: Any) -> None:
        app = pilot.app
        app.theme = theme
        await board_ready(pilot, app)
        await pilot.press("c")
        await wait_for(pilot, lambda: getattr(app.screen, "loaded", 0) >= 1, "the contacts")
        await pilot.press("down")  # the results take the focus: no cursor blinking
        for key in then:
            await pilot.press(key)
        await pilot.pause(0.3)

    return before


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES)
def test_contacts_list(seeded, snap_compare, size, theme) -> None:  # type: ignore[no-untyped-def]
    app = app_for_test(watch_interval=0)
    assert snap_compare(app, terminal_size=size, run_before=_open_contacts(theme))


@pytest.mark.parametrize(
    ("size", "theme"), [((80, 24), "textual-dark"), ((160, 48), "textual-light")]
)
def test_contact_360(seeded, snap_compare, size, theme) -> None:  # type: ignore[no-untyped-def]
    app = app_for_test(watch_interval=0)

    async def before(pilot: Any) -> None:
        await _open_contacts(theme)(pilot)
        await pilot.press("enter")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: getattr(screen, "loaded", 0) >= 1, "the contact")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=before)


def test_contact_form_with_an_error(seeded, snap_compare) -> None:  # type: ignore[no-untyped-def]
    from textual.widgets import Static

    app = app_for_test(watch_interval=0)

    async def before(pilot: Any) -> None:
        await _open_contacts("textual-dark")(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "ContactForm", "form")
        form = pilot.app.screen
        await pilot.press(*"Dora Black", "tab", *"dora-at-example.com", "enter")
        error = form.query_one("#form-emails-error", Static)
        await wait_for(pilot, lambda: error.display, "the error")
        form.query_one("#form-name").focus()  # the cursor at the end of the name, not blinking
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)
