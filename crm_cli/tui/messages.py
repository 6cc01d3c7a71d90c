"""App-wide messages: what a worker finished, posted back to the UI thread."""

from __future__ import annotations

from textual.message import Message

from crm_cli.tui.data import BoardData, Reminders


class BoardLoaded(Message):
    def __init__(self, data: BoardData) -> None:
        super().__init__()
        self.data = data


class RemindersLoaded(Message):
    def __init__(self, data: Reminders) -> None:
        super().__init__()
        self.data = data


class ActionDone(Message):
    """A change was saved (`text` says what), or refused (`error`): either way reload."""

    def __init__(self, text: str, error: bool = False) -> None:
        super().__init__()
        self.text = text
        self.error = error


class DatabaseChanged(Message):
    """Another process (or this one) committed: reload what is shown."""


class LoadFailed(Message):
    """Reading failed: say so, and do not reload (the next change or key tries again)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
