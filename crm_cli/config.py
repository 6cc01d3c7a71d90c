"""The user's settings: a TOML file at the platform's config location (or under CRM_HOME).

Only known keys are accepted, and each value is checked when it is set, so a typo is an error
now rather than a surprise later. `crm config` reads and writes this file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_cli import paths
from crm_cli.errors import ConfigError, InvalidValue


def _text(key: str, value: str) -> str:
    if not value.strip():
        raise InvalidValue(key, value, "must not be empty")
    return value.strip()


def _email(key: str, value: str) -> str:
    from crm_cli.domain.contactinfo import normalize_email

    return normalize_email(value, field=key)


def _url(key: str, value: str) -> str:
    value = value.strip()
    if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
        raise InvalidValue(
            key, value, "not a database URL (sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
        )
    return value


def _currency(key: str, value: str) -> str:
    from crm_cli.domain.money import currency_code

    return currency_code(value, field=key)


def _region(key: str, value: str) -> str:
    from crm_cli.domain.contactinfo import valid_region

    return valid_region(value, field=key)


def _timezone(key: str, value: str) -> str:
    from crm_cli.domain.dates import zone

    zone(value, field=key)
    return value.strip()


def _page_size(key: str, value: str) -> str:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 10_000:
        raise InvalidValue(key, value, "must be a whole number from 1 to 10000")
    return str(int(value))


@dataclass(frozen=True)
class Key:
    name: str
    help: str
    check: Callable[[str, str], str]
    default: str | None = None


KEYS: dict[str, Key] = {
    k.name: k
    for k in [
        Key("user.name", "your name, recorded as the owner of what you add", _text),
        Key("user.email", "your email; identifies you among the team's users", _email),
        Key("database.url", "database to use instead of the local SQLite file", _url),
        Key("defaults.currency", "currency of deal values when none is given", _currency, "EUR"),
        Key("defaults.phone_region", "region for phone numbers typed without +CC", _region),
        Key("defaults.timezone", "time zone for due times and display (IANA name)", _timezone),
        Key("defaults.pipeline", "pipeline for deal commands without --pipeline", _text, "default"),
        Key(
            "defaults.page_size", "rows a listing shows without --limit or --all", _page_size, "50"
        ),
    ]
}


@dataclass
class Config:
    values: dict[str, str]
    path: Path

    def get(self, key: str) -> str | None:
        if key not in KEYS:
            raise ConfigError(f"unknown config key {key!r}; see `crm config list`")
        return self.values.get(key, KEYS[key].default)

    @property
    def database_url(self) -> str | None:
        return os.environ.get("CRM_DATABASE_URL") or self.values.get("database.url")

    @property
    def currency(self) -> str:
        return self.get("defaults.currency") or "EUR"

    @property
    def phone_region(self) -> str | None:
        return self.get("defaults.phone_region")

    @property
    def timezone(self) -> str | None:
        return os.environ.get("CRM_TIMEZONE") or self.get("defaults.timezone")

    @property
    def page_size(self) -> int:
        value = self.get("defaults.page_size") or "50"
        try:
            return int(_page_size("defaults.page_size", value))
        except InvalidValue as exc:
            raise ConfigError(f"{self.path}: {exc}") from None

    @property
    def pipeline(self) -> str:
        return self.get("defaults.pipeline") or "default"

    @property
    def user_name(self) -> str | None:
        return os.environ.get("CRM_USER_NAME") or self.get("user.name")

    @property
    def user_email(self) -> str | None:
        return os.environ.get("CRM_USER_EMAIL") or self.get("user.email")


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


def load(path: Path | None = None) -> Config:
    path = path or paths.config_path()
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return Config({}, path)
    import tomllib  # only when there is a file to read

    try:
        with fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return Config(_flatten(data), path)


def check(key: str, value: str) -> str:
    if key not in KEYS:
        raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(KEYS)}")
    return KEYS[key].check(key, value)


def save(config: Config) -> None:
    """Write the file atomically: a crash mid-write leaves the old file in place."""
    import tomli_w

    nested: dict[str, Any] = {}
    for key in sorted(config.values):
        section, _, name = key.partition(".")
        nested.setdefault(section, {})[name] = config.values[key]
    config.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = config.path.with_name(config.path.name + ".tmp")
    tmp.write_text(tomli_w.dumps(nested), encoding="utf-8")
    tmp.replace(config.path)
