"""CRM_NOW: the one clock every command reads, fixed for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_cli.domain.dates import now_utc
from crm_cli.errors import InvalidValue
from crm_cli.store.types import utcnow


def test_unset_is_the_real_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_NOW", raising=False)
    assert abs(now_utc() - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-29T03:30:00+02:00",
        "2026-03-29T01:30:00Z",
        "2026-03-29T01:30:00z",
        "2026-03-28T21:30-04:00",
    ],
)
def test_fixed_with_an_offset_is_read_as_that_instant(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("CRM_NOW", text)
    expected = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert now_utc() == expected and now_utc().tzinfo == UTC
    assert utcnow() == expected  # the stores' timestamps follow it too


@pytest.mark.parametrize("text", ["2026-03-29T01:30:00", "tomorrow", "2026-13-01T00:00Z"])
def test_without_an_offset_or_not_a_time_is_refused(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv("CRM_NOW", text)
    with pytest.raises(InvalidValue) as raised:
        now_utc()
    assert "CRM_NOW" in str(raised.value) and text in str(raised.value)


def test_a_command_reads_it(crm: object, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from tests.conftest import Runner

    assert isinstance(crm, Runner)
    monkeypatch.setenv("CRM_NOW", "2026-11-30T09:00:00+01:00")
    added = crm.json("followup", "add", "Call", "--due", "tomorrow 10:00")
    assert added["due_at"] == "2026-12-01T10:00:00+01:00"
    assert added["created_at"] == "2026-11-30T09:00:00+01:00"
    monkeypatch.setenv("CRM_NOW", "yesterday")
    bad = crm("followup", "list")
    assert bad.code == 2 and bad.err.startswith("crm: error: ") and "CRM_NOW" in bad.err
