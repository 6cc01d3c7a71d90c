"""The TUI's one App, built by `make_app` for `crm tui` and for the tests alike.

The Context is opened fully (engine, migrations, current user) before the app starts, so the
thread workers can take sessions from it at once. A timer checks every `watch_interval`
seconds, in a worker, whether another process committed (data.ChangeWatcher) and reloads
what is shown in place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding

from crm_cli.tui import data
from crm_cli.tui.commands import CrmCommands
from crm_cli.tui.messages import DatabaseChanged
from crm_cli.tui.screens.board import BoardScreen

if TYPE_CHECKING:
    from crm_cli.services.context import Context


# How often the board and the reminders are read again even when nothing was written.
CLOCK_INTERVAL = 60.0


class CrmApp(App[None]):
    CSS_PATH = "crm.tcss"
    TITLE = "crm"
    # The palette lists our own commands only (crm_cli/tui/commands.py): ctrl+p, or `:`.
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = {CrmCommands}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    # Declared here, so Textual adds no binding of its own: ctrl+p wins over any widget, `:`
    # only where no input takes it as text.
    BINDINGS = [
        Binding(COMMAND_PALETTE_BINDING, "command_palette", "Commands", show=False, priority=True),
        Binding("colon", "command_palette", "Commands", show=False),
    ]

    def __init__(
        self, ctx: Context, pipeline: str | None = None, *, watch_interval: float = 2.0
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.pipeline = pipeline
        self.watch_interval = watch_interval
        self.watcher: data.ChangeWatcher | None = None
        self.board = BoardScreen()

    def on_mount(self) -> None:
        self.push_screen(self.board)
        self.watcher = data.ChangeWatcher(self.ctx)
        if self.watch_interval > 0:
            self.set_interval(self.watch_interval, self.check_changes)
            # Time passes without a write: a follow-up comes due, a marker turns overdue.
            self.set_interval(CLOCK_INTERVAL, self.on_database_changed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="watch")
    def check_changes(self) -> None:
        if self.watcher is not None and self.watcher.changed():
            self.post_message(DatabaseChanged())

    def on_database_changed(self, _message: DatabaseChanged | None = None) -> None:
        self.board.reload()
        screen = self.screen
        if screen is not self.board and hasattr(screen, "reload"):
            screen.reload()

    def on_unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.close()


def make_app(ctx: Context, pipeline: str | None = None, *, watch_interval: float = 2.0) -> CrmApp:
    """The app on an opened context (opened here if it is not yet)."""
    ctx.open()
    if ctx.source == "cli":
        ctx.source = "tui"
    return CrmApp(ctx, pipeline, watch_interval=watch_interval)
