"""Snapshots of the deal detail screen at 80x24 and 160x48, light and dark, on fixed data at a
fixed time (CRM_NOW). After a deliberate change of the screen, look at the new pictures and
accept them with `pytest tests/tui/test_snapshots_detail.py --snapshot-update`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.helpers import app_for_test, board_ready, wait_for

NOW = "2026-11-24T10:00:00+01:00"


@pytest.fixture
def seeded(sqlite_url, crm, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRM_NOW", "2026-11-02T09:30:00+01:00")
    crm.ok("company", "add", "Acme GmbH")
    crm.ok("contact", "add", "Ana Lima", "--email", "ana@acme.com", "--company", "Acme GmbH")
    crm.ok(
        "deal", "add", "Acme renewal 2027", "--contact", "ana@acme.com", "--value", "12000",
        "--close", "2027-01-31", "--tag", "upsell", "--tag", "q1", "--source", "referral",
    )  # fmt: skip
    crm.ok("log", "call", "ana@acme.com", "Budget confirmed for Q1", "--deal", "1")
    monkeypatch.setenv("CRM_NOW", "2026-11-16T14:00:00+01:00")
    crm.ok("deal", "move", "1", "qualified")
    crm.ok("log", "email", "ana@acme.com", "Sent the draft offer", "--deal", "1")
    crm.ok("followup", "add", "Send the signed copy", "--deal", "1", "--due", "+2d")
    crm.ok("followup", "done", "1")
    monkeypatch.setenv("CRM_NOW", NOW)
    crm.ok("followup", "add", "Call Ana about the offer", "--deal", "1", "--due", "yesterday")
    crm.ok("followup", "add", "Prepare the kick-off", "--deal", "1", "--due", "dec 1 10:00")
    crm.ok("followup", "add", "Check the invoice", "--deal", "1", "--due", "today 17:00")
    return sqlite_url


async def _open_detail(pilot: Any) -> None:
    from crm_cli.tui.screens.deal_detail import DealDetailScreen

    app = pilot.app
    await board_ready(pilot, app)
    await pilot.press("l", "enter")  # the deal is in the second stage
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, DealDetailScreen) and app.screen.loaded >= 1,
        "the deal detail",
    )


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"], ids=["dark", "light"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_deal_detail_snapshot(seeded, snap_compare, theme, size) -> None:  # type: ignore[no-untyped-def]
    app = app_for_test(watch_interval=0)
    app.theme = theme
    assert snap_compare(app, terminal_size=size, run_before=_open_detail)
