"""The user's settings: a TOML file at the platform's config location (or under CRM_HOME).

Only known keys are accepted, and each value is checked when it is set, so a typo is an error
now rather than a surprise later. `crm config` reads and writes this file.

A change is read-modify-write, so `update` does it under a lock on `config.toml.lock` and
re-reads the file after taking it: two `crm config set` at once both land. The file is
written to a temporary file of its own (0600, like the file: a database URL may hold a
password) and renamed over the old one, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from crm_cli import paths
from crm_cli.errors import ConfigError, InvalidValue

if TYPE_CHECKING:
    from crm_cli.domain.dates import DateSettings


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


def _date_order(key: str, value: str) -> str:
    from crm_cli.domain.dates import DATE_ORDERS

    text = value.strip().lower()
    if text not in DATE_ORDERS:
        raise InvalidValue(key, value, "must be dmy (1/12 is 1 December), mdy (12 January) or ymd")
    return text


def _time_of_day(key: str, value: str) -> str:
    from crm_cli.domain.dates import parse_clock

    return f"{parse_clock(value, field=key):%H:%M}"


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _bool(key: str, value: str) -> str:
    # A hand-edited file may hold a TOML boolean, which reads back as "True".
    text = value.strip().lower()
    if text in _TRUE:
        return "true"
    if text in _FALSE:
        return "false"
    raise InvalidValue(key, value, "must be true or false")


def _days(key: str, value: str) -> str:
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > 100_000:
        raise InvalidValue(key, value, "must be a whole number of days, 0 or more (0: forever)")
    return str(int(text))


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
        Key(
            "defaults.decimal_comma",
            "read 1.234,50 as one thousand two hundred and a half (true) or not (false)",
            _bool,
        ),
        Key(
            "defaults.date_order",
            "how 1/12/2026 is read: dmy, mdy or ymd; unset, dates that read both ways are refused",
            _date_order,
        ),
        Key(
            "defaults.due_time",
            "time of a day typed without one (+3d, friday, dec 1)",
            _time_of_day,
            "09:00",
        ),
        Key("defaults.end_of_day", "end of the working day (eod, eow)", _time_of_day, "17:00"),
        Key("journal.enabled", "record every change in the journal (history, undo)", _bool, "true"),
        Key(
            "journal.retention_days",
            "days the journal keeps change sets; 0 keeps them forever",
            _days,
            "365",
        ),
    ]
}

# Keys whose value may hold a secret: shown masked unless asked for.
SECRET_KEYS = frozenset({"database.url"})

# SQLAlchemy's own reading of a URL's credentials: the password runs to the first "@".
_URL_PASSWORD = re.compile(r"^(?P<head>[\w+]+://[^:/@]*:)(?P<password>[^@]*)(?=@)")
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&]password=)(?P<password>[^&]*)", re.IGNORECASE)


def mask_url(url: str) -> str:
    """`url` with its password shown as `***`: `postgresql+psycopg://ana:***@host/db`."""
    masked = _URL_PASSWORD.sub(lambda m: m["head"] + ("***" if m["password"] else ""), url)
    return _QUERY_PASSWORD.sub(lambda m: m["head"] + "***", masked)


def shown_value(key: str, value: str | None, *, secrets: bool = False) -> str | None:
    """A setting's value as `crm config` prints it: secrets masked unless `secrets`."""
    if value is None or secrets or key not in SECRET_KEYS:
        return value
    return mask_url(value)


def _with_password(url: str, password: str) -> str:
    """`url` with `password` put in, when it is a PostgreSQL URL that has none."""
    if not url.startswith(("postgresql", "postgres:")) or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    authority = re.split(r"[/?]", rest, maxsplit=1)[0]
    if "@" in authority:
        user, _, host = rest.partition("@")
        if ":" in user:
            return url  # the URL's own password wins
    else:
        user, host = "", rest
    return f"{scheme}://{user}:{quote(password, safe='')}@{host}"


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
        """The database URL, with the password from CRM_DATABASE_PASSWORD when the URL has
        none. Without either, libpq looks in PGPASSWORD, PGPASSFILE and ~/.pgpass itself."""
        url = os.environ.get("CRM_DATABASE_URL") or self.values.get("database.url")
        password = os.environ.get("CRM_DATABASE_PASSWORD")
        if url and password:
            return _with_password(url, password)
        return url

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

    @property
    def decimal_comma(self) -> bool | None:
        """Whether numbers are read with a decimal comma; None when unset (guess per value)."""
        value = self.get("defaults.decimal_comma")
        return None if value is None else self._checked("defaults.decimal_comma", value) == "true"

    @property
    def date_order(self) -> str | None:
        """How 1/12/2026 is read (dmy, mdy, ymd); None when unset (refuse it when ambiguous)."""
        value = self.get("defaults.date_order")
        return None if value is None else self._checked("defaults.date_order", value)

    @property
    def due_time(self) -> time:
        """The time of a day typed without one."""
        value = self.get("defaults.due_time")
        return time.fromisoformat(self._checked("defaults.due_time", value))

    @property
    def end_of_day(self) -> time:
        """The end of the working day: the time of `eod` and `eow`."""
        value = self.get("defaults.end_of_day")
        return time.fromisoformat(self._checked("defaults.end_of_day", value))

    @property
    def date_settings(self) -> DateSettings:
        """The three date settings, as the date parser takes them (`settings=`)."""
        from crm_cli.domain.dates import DateSettings

        return DateSettings(self.date_order, self.due_time, self.end_of_day)

    @property
    def journal_enabled(self) -> bool:
        return self._checked("journal.enabled", self.get("journal.enabled") or "true") == "true"

    @property
    def journal_retention_days(self) -> int:
        """How long the journal keeps change sets, in days; 0 means forever."""
        return int(self._checked("journal.retention_days", self.get("journal.retention_days")))

    def _checked(self, key: str, value: str | None) -> str:
        # A hand-edited file is checked when the value is used, naming the file.
        try:
            return KEYS[key].check(key, value if value is not None else KEYS[key].default or "")
        except InvalidValue as exc:
            raise ConfigError(f"{self.path}: {exc}") from None


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


def update(change: Callable[[Config], None], path: Path | None = None) -> Config:
    """Apply `change` to the settings and write them, as one step among concurrent writers.

    The lock is taken before the file is read, so a change made by another process in the
    meantime is in what `change` sees and is kept.
    """
    path = path or paths.config_path()
    _private_parent(path)
    with paths.file_lock(path.with_name(path.name + ".lock")):
        config = load(path)
        change(config)
        save(config)
    return config


def set_value(key: str, value: str, path: Path | None = None) -> str:
    """Check `value` and store it under `key`; returns the value as stored."""
    checked = check(key, value)

    def change(config: Config) -> None:
        config.values[key] = checked

    update(change, path)
    return checked


def unset_value(key: str, path: Path | None = None) -> None:
    """Remove `key`, so its default applies again."""
    if key not in KEYS:
        raise ConfigError(f"unknown config key {key!r}; see `crm config list`")

    def change(config: Config) -> None:
        config.values.pop(key, None)

    update(change, path)


def _private_parent(path: Path) -> None:
    # crm's own config directory is made private; a directory the user chose for the file
    # (any other parent) is only created.
    if path.parent == paths.config_dir():
        paths.private_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)


def save(config: Config) -> None:
    """Write the file atomically: a crash mid-write leaves the old file in place.

    The temporary file is this call's own (mkstemp), created 0600, flushed to disk before it
    is renamed over the old file. Call it through `update` to keep concurrent changes.
    """
    import tempfile

    import tomli_w

    nested: dict[str, Any] = {}
    for key in sorted(config.values):
        section, _, name = key.partition(".")
        nested.setdefault(section, {})[name] = config.values[key]
    _private_parent(config.path)
    fd, tmp_name = tempfile.mkstemp(
        dir=config.path.parent, prefix=f".{config.path.name}.", suffix=".tmp"
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(tomli_w.dumps(nested))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, paths.PRIVATE_FILE)
        tmp.replace(config.path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
