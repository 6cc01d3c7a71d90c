"""Expected failures and the exit code each one maps to.

Every error a user can cause is a `CrmError`. The CLI's single handler prints it as one line,
`crm: error: ...`, and exits with `exit_code`; nothing else prints a traceback. The codes are
documented in docs/exit-codes.md and scripts rely on them.
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


class CrmError(Exception):
    """An expected failure with a message fit for the user."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidValue(CrmError):
    """A value given by the user is not acceptable. Names the field and the value."""

    exit_code = ExitCode.USAGE

    def __init__(self, field: str, value: object, reason: str) -> None:
        super().__init__(f"{field} {value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class NotFound(CrmError):
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, kind: str, ref: object) -> None:
        super().__init__(f"no {kind} {str(ref)!r}")
        self.kind = kind
        self.ref = ref


class Conflict(CrmError):
    exit_code = ExitCode.CONFLICT


class DatabaseError(CrmError):
    exit_code = ExitCode.DATABASE


class ConfigError(CrmError):
    exit_code = ExitCode.USAGE
