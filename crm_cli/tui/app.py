"""The TUI's one App, built by `make_app` for `crm tui` and for the tests alike.

The first board is read straight through the DB-API driver (data.BoardSource, on
services.board_read), so that it is on screen before SQLAlchemy is even imported; once it
shows, a worker opens the Context fully (engine, migrations, current user) for the writes
and the other screens (a session taken before then waits for it: Context.open is
thread-safe). A timer checks every `watch_interval` seconds, in a worker, whether another
process committed (data.ChangeWatcher) and reloads what is shown in place.
"""

from __future__ import annotations

import gc
import threading
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding

from crm_cli.tui import data
from crm_cli.tui.commands import CrmCommands
from crm_cli.tui.messages import DatabaseChanged
from crm_cli.tui.screens.board import BoardScreen

if TYPE_CHECKING:
    from textual.timer import Timer

    from crm_cli.services.context import Context


# How often the board and the reminders are read again even when nothing was written.
CLOCK_INTERVAL = 60.0
# Seconds without a key, after the first board shows, before the Context opens in a worker.
OPEN_DELAY = 1.0


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
        self.source = data.BoardSource(ctx)
        self.watcher: data.ChangeWatcher | None = None
        self._watch_lock = threading.Lock()
        self._open_timer: Timer | None = None
        self.board = BoardScreen()

    def on_mount(self) -> None:
        self.push_screen(self.board)
        if self.watch_interval > 0:
            self.set_interval(self.watch_interval, self.check_changes)
            # Time passes without a write: a follow-up comes due, a marker turns overdue.
            self.set_interval(CLOCK_INTERVAL, self.on_database_changed)

    def start_watching(self) -> None:
        """Take the database's change stamp, before the first read (from a worker): what
        commits after it shows up at the next check."""
        with self._watch_lock:
            if self.watcher is None:
                self.watcher = data.ChangeWatcher(self.source)

    def board_shown(self) -> None:
        """The first board is on screen: get ready for writes once the keys rest."""
        # Not at once: importing the ORM in a thread competes with the UI thread for the
        # interpreter, while the first paint is under way or the person moves around.
        self._open_timer = self.set_timer(OPEN_DELAY, self.open_context)
        # What start-up made (modules, the screen's widgets) lives as long as the app: out of
        # the collector's sight, a full collection no longer walks it on some key press.
        gc.freeze()

    def busy(self) -> None:
        """A key moved around the board: put off opening the Context (a write opens it at
        once if it comes first)."""
        if self._open_timer is not None:
            self._open_timer.reset()

    @work(thread=True, exclusive=True, exit_on_error=False, group="open")
    def open_context(self) -> None:
        self._open_timer = None
        self.ctx.open()
        gc.freeze()  # the ORM's modules and mappers too

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
        self.source.close()


def make_app(ctx: Context, pipeline: str | None = None, *, watch_interval: float = 2.0) -> CrmApp:
    """The app on a context, which opens in the background once the first board shows."""
    if ctx.source == "cli":
        ctx.source = "tui"
    return CrmApp(ctx, pipeline, watch_interval=watch_interval)
