"""The TUI's one App, built by `make_app` for `crm tui` and for the tests alike.

The first board is read straight through the DB-API driver (data.BoardSource, on
services.board_read), so that it is on screen before SQLAlchemy is even imported; once it
shows, a worker opens the Context fully (engine, migrations, current user) for the writes
and the other screens (a session taken before then waits for it: Context.open is
thread-safe). A timer checks every `watch_interval` seconds, in a worker, whether another
process committed (data.ChangeWatcher) and reloads what is shown in place.

Keys answer within a frame or two, so Python's full garbage collections wait for the keys to
rest: what start-up made is frozen out of the collector's sight (`gc.freeze`), and a full
collection of the rest (Textual's caches of rendered lines: ~70,000 objects, 15-35 ms on this
project's machines) runs from a timer once no key has come for REST seconds, instead of on
whichever key happens to cross the collector's threshold. The threshold stays as a safety net,
a hundred times higher, for a key held down for minutes.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import TYPE_CHECKING

from textual import events, work
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
# Seconds without a key before a full garbage collection may run, and how often to look.
REST = 1.0
REST_CHECK = 0.5
# Full collections put off while keys come: the collector's own third threshold times this.
HELD_FULL_GC = 100


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
        self._last_key = time.monotonic()
        self._gc_threshold: tuple[int, int, int] | None = None
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
        # the collector's sight, a full collection no longer walks it.
        gc.freeze()
        if self._gc_threshold is None:
            self._gc_threshold = gc.get_threshold()
            young, middle, full = self._gc_threshold
            gc.set_threshold(young, middle, full * HELD_FULL_GC)
            self.set_interval(REST_CHECK, self.collect_at_rest)

    def collect_at_rest(self) -> None:
        """A full collection, as often as the collector's own threshold asks for one, but
        only while the keys rest."""
        if self._gc_threshold is None or time.monotonic() - self._last_key < REST:
            return
        if gc.get_count()[2] >= self._gc_threshold[2]:
            gc.collect()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.busy()
        await super().on_event(event)

    def busy(self) -> None:
        """A key came: put off opening the Context (a write opens it at once if it comes
        first) and the next full garbage collection."""
        self._last_key = time.monotonic()
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
        if self._gc_threshold is not None:  # as it was (the tests run many apps in a row)
            gc.set_threshold(*self._gc_threshold)
            gc.unfreeze()
        if self.watcher is not None:
            self.watcher.close()
        self.source.close()


def make_app(ctx: Context, pipeline: str | None = None, *, watch_interval: float = 2.0) -> CrmApp:
    """The app on a context, which opens in the background once the first board shows."""
    if ctx.source == "cli":
        ctx.source = "tui"
    return CrmApp(ctx, pipeline, watch_interval=watch_interval)
