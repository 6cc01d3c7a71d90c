"""One scripted session gives the same results on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")


def _session(crm: Any) -> list[Any]:
    """The acceptance session of the foundation and the sales core, as JSON outputs."""
    out: list[Any] = []
    crm.ok("config", "set", "defaults.phone_region", "CN")
    out.append(
        crm.json(
            "contact",
            "add",
            "张伟",
            "--email",
            "zhang.wei@example.cn",
            "--phone",
            "010 6552 9988",
            "--phone",
            "138 0013 8000",
        )
    )
    out.append(crm.json("contact", "list"))
    out.append([h["id"] for h in crm.json("search", "张伟")])
    out.append(
        crm.json("contact", "edit", "zhang.wei@example.cn", "--title", "CTO", "--tag", "vip")
    )
    crm.ok("contact", "rm", "zhang.wei@example.cn")
    out.append(crm.json("contact", "list", "--removed"))
    out.append(crm.json("contact", "restore", "1"))
    out.append(crm.json("company", "add", "北京云海科技", "--domain", "yunhai.cn"))
    out.append(crm.json("contact", "edit", "1", "--company", "北京云海科技"))
    out.append(
        crm.json(
            "deal",
            "add",
            "云海 pilot",
            "--contact",
            "zhang.wei@example.cn",
            "--value",
            "12000",
            "--currency",
            "CNY",
            "--close",
            "2027-01-31",
        )
    )
    for stage in ("qualified", "proposal"):
        out.append(crm.json("deal", "move", "1", stage))
    out.append(crm.json("deal", "list", "--stage", "proposal"))
    out.append(crm.json("deal", "won", "1"))
    out.append(crm.json("deal", "show", "1"))
    out.append(crm.json("contact", "show", "1"))
    out.append([h["id"] for h in crm.json("search", "北京")])
    return out


def _normalised(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items() if k != "days_in_stage"}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    if isinstance(value, str):
        return _TIME.sub("<time>", value)
    return value


@pytest.mark.postgres
def test_same_session_same_results(
    crm: Any, crm_home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{crm_home / 'parity.db'}")
    on_sqlite = _normalised(_session(crm))
    (crm_home / "config.toml").unlink()
    monkeypatch.setenv("CRM_DATABASE_URL", pg_url)
    on_postgres = _normalised(_session(crm))
    assert on_sqlite == on_postgres
    assert on_sqlite[2] == [1]
