"""`crm config`: known keys only, values checked, the file written atomically."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from crm_cli.errors import ExitCode


def test_set_get_unset(crm: Any, crm_home: Path) -> None:
    crm.ok("config", "set", "user.name", "Ana Lima")
    crm.ok("config", "set", "defaults.currency", "usd")
    crm.ok("config", "set", "defaults.timezone", "Asia/Shanghai")
    crm.ok("config", "set", "defaults.phone_region", "cn")
    assert crm.ok("config", "get", "defaults.currency").out == "USD\n"
    assert crm.ok("config", "path").out.strip() == str(crm_home / "config.toml")
    data = tomllib.loads((crm_home / "config.toml").read_text())
    assert data == {
        "user": {"name": "Ana Lima"},
        "defaults": {"currency": "USD", "timezone": "Asia/Shanghai", "phone_region": "CN"},
    }
    listed = crm.json("config", "list")
    assert listed["defaults.phone_region"] == "CN"
    assert listed["defaults.page_size"] == "50"
    crm.ok("config", "unset", "defaults.currency")
    assert crm.ok("config", "get", "defaults.currency").out == "EUR\n"


def test_bad_keys_and_values_are_refused(crm: Any, crm_home: Path) -> None:
    crm.ok("config", "set", "user.name", "Ana")
    before = (crm_home / "config.toml").read_bytes()
    for args, named in [
        (["set", "user.nmae", "x"], "user.nmae"),
        (["set", "defaults.currency", "EURO"], "EURO"),
        (["set", "defaults.timezone", "Mars/Base"], "Mars/Base"),
        (["set", "defaults.phone_region", "XX"], "XX"),
        (["set", "user.email", "nope"], "nope"),
        (["set", "database.url", "mysql://x"], "mysql://x"),
        (["set", "defaults.page_size", "0"], "'0'"),
        (["get", "nope.key"], "nope.key"),
        (["unset", "nope.key"], "nope.key"),
    ]:
        result = crm("config", *args)
        assert result.code == ExitCode.USAGE, (args, result)
        assert result.err.count("\n") == 1 and named in result.err, result
    assert (crm_home / "config.toml").read_bytes() == before


def test_broken_config_file_is_a_clear_error(crm: Any, crm_home: Path) -> None:
    (crm_home / "config.toml").write_text("user = [", encoding="utf-8")
    result = crm("contact", "list")
    assert result.code == ExitCode.USAGE
    assert "config.toml" in result.err and "Traceback" not in result.err


def test_database_url_from_config(crm: Any, crm_home: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.db"
    crm.ok("config", "set", "database.url", f"sqlite:///{target}")
    crm.ok("contact", "add", "Ana")
    assert target.exists()
    assert crm.ok("db", "path").out.strip() == str(target)
    assert not (crm_home / "crm.db").exists()


def test_default_database_lives_under_crm_home(crm: Any, crm_home: Path) -> None:
    crm.ok("contact", "add", "Ana")
    assert (crm_home / "crm.db").exists()


def test_page_size_setting(crm: Any, crm_home: Path) -> None:
    crm.ok("config", "set", "defaults.page_size", "2")
    for name in "ABC":
        crm.ok("contact", "add", name)
    assert len(crm.json("contact", "list")) == 2
    assert len(crm.json("contact", "list", "--all")) == 3
