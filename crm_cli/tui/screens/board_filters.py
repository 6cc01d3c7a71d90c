"""The board's filters and pipeline switch: mine / everyone (`m`), a tag, an owner, the next
pipeline (`p`), and the contacts screen (`c`). The state lives in `filters.BoardFilter`; the
board reads through the same service query as `crm deal list`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from crm_cli.errors import CrmError
from crm_cli.tui import contacts_data
from crm_cli.tui.filters import BoardFilter

if TYPE_CHECKING:
    from crm_cli.tui.app import CrmApp
    from crm_cli.tui.data import BoardData


class TextPrompt(ModalScreen[str | None]):
    """One line of text ("" clears); None when the person changed their mind (escape)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, current: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.question = question
        self.current = current
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt"):
            yield Static(self.question, markup=False)
            yield Input(value=self.current, placeholder=self.placeholder, id="prompt-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class BoardFilters:
    """Mixed into the board screen (which provides the attributes below)."""

    if TYPE_CHECKING:
        search: str
        board: BoardData | None

        @property
        def crm(self) -> CrmApp: ...
        def reload(self) -> Any: ...
        def to_top(self) -> None: ...
        def say(self, text: str, *, error: bool = False) -> None: ...

    filters: BoardFilter

    def board_filter(self) -> BoardFilter:
        if not hasattr(self, "filters"):
            self.filters = BoardFilter()
        return self.filters

    def filter_query(self) -> dict[str, Any]:
        """The filters as `data.load_board` arguments (called in the loading worker)."""
        return self.board_filter().query(self.crm.ctx)

    def filter_title(self, pipeline: str) -> str:
        return f"crm - pipeline {pipeline} - {self.board_filter().describe(self.search)}"

    def _apply(self, text: str) -> None:
        self.to_top()
        self.say(text)
        self.reload()

    def action_mine(self) -> None:
        flt = self.board_filter()
        flt.mine, flt.owner, flt.owner_name = True, None, None
        self._apply("showing your deals (m: everyone's)")

    def action_everyone(self) -> None:
        flt = self.board_filter()
        flt.mine, flt.owner, flt.owner_name = False, None, None
        self._apply("showing everyone's deals (m: yours)")

    def action_toggle_mine(self) -> None:
        if self.board_filter().mine:
            self.action_everyone()
        else:
            self.action_mine()

    def set_tag(self, tag: str | None) -> None:
        self.board_filter().tag = tag or None
        self._apply(f"showing deals tagged {tag}" if tag else "showing deals with any tag")

    def set_owner(self, owner: str | None, name: str | None = None) -> None:
        """Show the deals of `owner` (as `--owner` takes it; `name` is what the header calls
        them); None or "" shows every owner's."""
        flt = self.board_filter()
        flt.owner, flt.owner_name = owner or None, (name or None) if owner else None
        if owner:
            flt.mine = False
        shown = name or owner
        self._apply(f"showing deals owned by {shown}" if owner else "showing every owner's deals")

    def action_filter_tag(self) -> None:
        def chosen(text: str | None) -> None:
            if text is not None:
                self.set_tag(text)

        current = self.board_filter().tag or ""
        question = "Show the deals with the tag (empty: any tag)"
        self.crm.push_screen(TextPrompt(question, current, "a tag, e.g. vip"), chosen)

    def action_filter_owner(self) -> None:
        def chosen(text: str | None) -> None:
            if text is not None:
                self.set_owner(text)

        current = self.board_filter().owner or ""
        question = "Show the deals owned by (empty: every owner)"
        self.crm.push_screen(TextPrompt(question, current, "a user's name, email or id"), chosen)

    def switch_pipeline(self, name: str) -> None:
        self.crm.pipeline = name
        self._apply(f"pipeline {name}")

    def action_next_pipeline(self) -> None:
        self.next_pipeline()

    @work(thread=True, exclusive=True, exit_on_error=False, group="board-pipelines")
    def next_pipeline(self) -> None:
        try:
            names = contacts_data.pipeline_names(self.crm.ctx)
        except CrmError as exc:
            self.crm.call_from_thread(self.say, exc.message, error=True)
            return
        if len(names) < 2:
            self.crm.call_from_thread(self.say, "there is only one pipeline")
            return
        shown = self.board.pipeline if self.board is not None else None
        index = names.index(shown) if shown in names else -1
        self.crm.call_from_thread(self.switch_pipeline, names[(index + 1) % len(names)])

    def action_contacts(self) -> None:
        from crm_cli.tui.screens.contacts import ContactsScreen

        self.crm.push_screen(ContactsScreen())
