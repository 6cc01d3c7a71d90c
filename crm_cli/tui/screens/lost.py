"""Small typed forms over the board: why a deal was lost (as `crm deal lost --reason`), and
the text the board is filtered by (`/`, as `crm deal list --search`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from crm_cli.domain.text import escape_controls


class LostReason(ModalScreen[str | None]):
    """The reason a deal was lost; None when the person changed their mind (escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.deal_title = title

    def compose(self) -> ComposeResult:
        with Vertical(id="lost"):
            yield Static(f"Why was {escape_controls(self.deal_title)!r} lost?", markup=False)
            yield Input(placeholder="reason (enter saves, escape cancels)", id="reason")
            yield Static("", id="reason-error", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not reason:
            self.query_one("#reason-error", Static).update("reason: a lost deal needs a reason")
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FilterText(ModalScreen[str | None]):
    """The words the board shows deals for ("" shows every deal); None: leave it as it is."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="lost"):
            yield Static("Show the deals matching (empty: every deal)", markup=False)
            yield Input(value=self.current, placeholder="words of a deal's title", id="filter")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
