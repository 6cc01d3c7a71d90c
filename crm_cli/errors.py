"""Expected failures and the exit code each one maps to.

Every error a user can cause is a `CrmError`. The CLI's single handler prints it as one line,
`crm: error: ...`, and exits with `exit_code`; nothing else prints a traceback. The codes are
documented in docs/exit-codes.md and scripts rely on them.

A message quotes what the user gave, and what the user gave can be anything: a pasted
megabyte, an escape sequence that clears the screen. So a quoted value is cut to about 60
characters (the message says how long it was; the error keeps the whole value in `.value`),
and every control character in a message is shown escaped (`\\x1b`), never sent raw to the
terminal that prints it.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2  # bad usage or a bad input value
    NOT_FOUND = 3  # a referenced record does not exist
    CONFLICT = 4  # the change clashes with existing data (duplicate email, stage in use)
    DATABASE = 5  # the database cannot be opened, is busy, or is not a crm database
    INTERRUPTED = 130


# About one terminal line for a quoted value, leaving room for the field name and reason.
SHOWN_MAX = 60


def shown(value: object) -> str:
    """`value` as a message quotes it: in repr form (quotes, control characters escaped),
    cut to about `SHOWN_MAX` characters with its full length said when it is longer.

    `shown("a" * 100_000)` is `'aaaa…' (100000 characters)`, with 60 a's.
    """
    if not isinstance(value, str):
        text = repr(value)
        return text if len(text) <= SHOWN_MAX else f"{text[: SHOWN_MAX - 1]}…"
    quoted = repr(value)
    if len(quoted) <= SHOWN_MAX + 2:  # the two quotes
        return quoted
    # Cut the value, not its repr, so an escape such as \x1b is never cut in half.
    cut = value[:SHOWN_MAX]
    while cut and len(repr(cut)) > SHOWN_MAX + 2:
        cut = cut[:-1]
    return f"{cut + '…'!r} ({len(value)} characters)"


def _safe(message: str) -> str:
    # Deferred: domain.text imports this module (for InvalidValue).
    from crm_cli.domain.text import escape_controls

    return escape_controls(message)


class CrmError(Exception):
    """An expected failure with a message fit for the user (control characters escaped)."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str) -> None:
        message = _safe(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidValue(CrmError):
    """A value given by the user is not acceptable. Names the field and the value (cut when
    long: `.value` keeps all of it)."""

    exit_code = ExitCode.USAGE

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field} {shown(value)}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class NotFound(CrmError):
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, kind: str, ref: object) -> None:
        super().__init__(f"no {kind} {shown(str(ref))}")
        self.kind = kind
        self.ref = ref


class Conflict(CrmError):
    exit_code = ExitCode.CONFLICT


class DatabaseError(CrmError):
    exit_code = ExitCode.DATABASE


class ConfigError(CrmError):
    exit_code = ExitCode.USAGE
