"""The pipeline board: one column per stage (won and lost at the end), moved with the keys.

Every database call runs in a thread worker (`data.*`) that posts a message back; handlers
update the widgets in place, keeping the focused deal, so a reload neither blinks nor jumps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from crm_cli.errors import CrmError
from crm_cli.tui import data
from crm_cli.tui.messages import ActionDone, BoardLoaded, LoadFailed
from crm_cli.tui.screens.board_filters import BoardFilters
from crm_cli.tui.screens.moves import MovesDeals
from crm_cli.tui.widgets.deal_list import DealList

if TYPE_CHECKING:
    from crm_cli.tui.app import CrmApp


def header_text(column: data.Column) -> str:
    count = f"{column.count:,}"
    totals = ", ".join(column.totals) if column.totals else "-"
    return f"{column.name}\n{count} · {totals}"


def _by_id(column: data.Column) -> dict[int, data.Card]:
    return {card.id: card for card in column.cards}


class StageColumn(Vertical):
    """A stage's header (name, count, totals per currency) over its cards."""

    def __init__(
        self, column: data.Column, loader: Callable[[list[int]], dict[int, data.Card]]
    ) -> None:
        super().__init__(classes=f"stage stage-{column.kind}")
        self.column = column
        self.header = Static(header_text(column), classes="stage-header", markup=False)
        self.deals = DealList(column.ids, _by_id(column), loader, classes="deals")
        self.deals.count = max(len(column.ids), column.count)

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.deals

    def update(self, column: data.Column, keep: int | None) -> None:
        self.column = column
        self.header.update(header_text(column))
        self.deals.set_column(column.ids, _by_id(column), keep, column.count)


class BoardScreen(MovesDeals, BoardFilters, Screen[None]):
    BINDINGS = [
        # First: the footer shows the keys in this order and cuts what does not fit (80
        # columns), so `?` is always there to list the rest.
        Binding("question_mark", "help", "Keys"),
        Binding("left,h", "focus_column(-1)", "Stage", show=False, priority=True),
        Binding("right,l", "focus_column(1)", "Stage", show=False, priority=True),
        Binding("up,k", "cursor(-1)", "Deal", show=False, priority=True),
        Binding("down,j", "cursor(1)", "Deal", show=False, priority=True),
        Binding("pageup", "page(-1)", "Page up", show=False, priority=True),
        Binding("pagedown", "page(1)", "Page down", show=False, priority=True),
        Binding("home", "ends(-1)", "First deal", show=False, priority=True),
        Binding("end", "ends(1)", "Last deal", show=False, priority=True),
        Binding("enter", "open_deal", "Open"),
        Binding("a", "add_deal", "Add deal"),
        Binding("f", "add_followup", "Follow-up"),
        Binding("greater_than_sign", "move(1)", "Next stage"),
        Binding("less_than_sign", "move(-1)", "Prev stage"),
        Binding("u", "undo", "Undo"),
        Binding("r", "reminders", "Reminders"),
        Binding("slash", "filter", "Filter"),
        Binding("m", "toggle_mine", "Mine/all", show=False),
        Binding("p", "next_pipeline", "Pipeline", show=False),
        Binding("c", "contacts", "Contacts"),
        Binding("t", "theme", "Light/dark", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.saving = False  # a change is on its way: the cards may be about to move
        self.search = ""  # the board's filter (`/`)
        self.columns: list[StageColumn] = []
        self.board: data.BoardData | None = None
        self.loaded = 0  # how many complete loads have been applied (tests wait on it)
        self.shown = False  # the first board (maybe only its first page of ids) is on screen
        self.active = 0  # the column the keys work on

    @property
    def crm(self) -> CrmApp:
        from crm_cli.tui.app import CrmApp

        assert isinstance(self.app, CrmApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static("", id="title", markup=False)
        yield Horizontal(id="board")
        yield Static("", id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#title", Static).update("crm - loading the board...")
        self.reload()

    # --- loading ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the board again (in a worker), with the cards each column shows now."""
        windows = {c.column.stage_id: c.deals.window() for c in self.columns}
        self._load(windows, first=not self.shown)

    @work(thread=True, exclusive=True, exit_on_error=False, group="board-load")
    def _load(self, windows: dict[int, tuple[int, int]], first: bool = False) -> None:
        try:
            self.crm.start_watching()
            board = data.load_board(
                self.crm.source,
                self.crm.pipeline,
                windows,
                self.search,
                first=first,
                **self.filter_query(),
            )
            self.post_message(BoardLoaded(board))
        except CrmError as exc:
            self.post_message(LoadFailed(exc.message))
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the app stays up
            self.post_message(LoadFailed(f"cannot read the board: {exc}"))

    def on_load_failed(self, message: LoadFailed) -> None:
        self.say(message.text, error=True)

    def on_board_loaded(self, message: BoardLoaded) -> None:
        board = message.data
        focused = self.focused_column
        keep = self.focused_card.id if self.focused_card else None
        self.board = board
        self.query_one("#title", Static).update(self.filter_title(board.pipeline))
        same = [c.column.stage_id for c in self.columns] == [c.stage_id for c in board.columns]
        if same:
            for widget, column in zip(self.columns, board.columns, strict=True):
                widget.update(column, keep)
        else:
            container = self.query_one("#board", Horizontal)
            container.remove_children()
            self.columns = [StageColumn(column, self.read_cards) for column in board.columns]
            container.mount_all(self.columns)
        target = self._column_of(keep)
        if target is None:
            target = min(focused, len(self.columns) - 1) if self.columns else None
        if target is not None:
            widget = self.columns[target]
            if keep is not None:
                widget.deals.set_column(
                    widget.column.ids, _by_id(widget.column), keep, widget.column.count
                )
            self._activate(target)
        if not self.shown:
            self.shown = True
            self.crm.board_shown()
        if not board.complete:
            self.reload()  # every id of every column, now that the first screen shows
        else:
            self.loaded += 1

    def read_cards(self, ids: list[int]) -> dict[int, data.Card]:
        """A column's cards by id (called in the column's worker)."""
        return data.load_cards(self.crm.source, ids)

    def _column_of(self, deal_id: int | None) -> int | None:
        if deal_id is None:
            return None
        for index, widget in enumerate(self.columns):
            if widget.deals.index_of(deal_id) is not None:
                return index
        return None

    # --- focus -----------------------------------------------------------------------------

    @property
    def focused_column(self) -> int:
        """The column whose list is active (shows the cursor)."""
        return max(0, min(self.active, len(self.columns) - 1))

    def _activate(self, index: int) -> None:
        self.active = index
        for number, widget in enumerate(self.columns):
            widget.deals.active = number == index

    def on_deal_list_chosen(self, message: DealList.Chosen) -> None:
        for index, widget in enumerate(self.columns):
            if widget.deals is message.deal_list:
                self._activate(index)

    @property
    def focused_card(self) -> data.Card | None:
        if not self.columns:
            return None
        return self.columns[self.focused_column].deals.current

    def to_top(self) -> None:
        """Each column back to its first card (the filters changed what it holds)."""
        for widget in self.columns:
            widget.deals.cursor = 0

    def action_focus_column(self, step: int) -> None:
        if self.columns:
            self._activate(max(0, min(self.focused_column + step, len(self.columns) - 1)))

    def action_cursor(self, step: int) -> None:
        if not self.columns:
            return
        # The list reads the cards it nears in a worker of its own.
        self.columns[self.focused_column].deals.cursor += step

    def action_page(self, step: int) -> None:
        """A screenful of cards up or down."""
        if self.columns:
            deals = self.columns[self.focused_column].deals
            deals.cursor += step * deals.page_size

    def action_ends(self, step: int) -> None:
        """The column's first or last card."""
        if self.columns:
            deals = self.columns[self.focused_column].deals
            deals.cursor = 0 if step < 0 else len(deals.ids) - 1

    # --- changes ---------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        if self.saving:
            self.say("still saving the last change; press again when it shows")
            return
        card = self.focused_card
        if card is None:
            self.say("no deal here to move")
            return
        index = self.focused_column + step
        if not 0 <= index < len(self.columns):
            self.say(f"{card.title}: no stage that way")
            return
        target = self.columns[index].column
        self.move_deal(card, target.name, target.kind)

    def action_undo(self) -> None:
        if self.saving:
            self.say("still saving the last change; press again when it shows")
            return
        self.say("undoing...")
        self.saving = True
        self.save_undo()

    @work(thread=True, exit_on_error=False, group="board-write")
    def save_undo(self) -> None:
        self.run_write(lambda: data.undo_last(self.crm.ctx))

    def on_action_done(self, message: ActionDone) -> None:
        self.saving = False
        self.say(message.text, error=message.error)
        self.reload()

    def say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(("error: " if error else "") + text)
        status.set_class(error, "error")

    # --- other screens ---------------------------------------------------------------------

    def action_reminders(self) -> None:
        from crm_cli.tui.screens.reminders import RemindersScreen

        self.app.push_screen(RemindersScreen())

    def action_filter(self) -> None:
        from crm_cli.tui.screens.lost import FilterText

        def chosen(text: str | None) -> None:
            if text is not None and text != self.search:
                self.search = text
                self.to_top()
                self.reload()

        self.app.push_screen(FilterText(self.search), chosen)

    def action_open_deal(self) -> None:
        from crm_cli.tui.screens.deal_detail import DealDetailScreen

        if (card := self.focused_card) is None:
            self.say("no deal here to open")
            return
        self.app.push_screen(DealDetailScreen(card.id))

    def action_add_deal(self) -> None:
        from crm_cli.tui.screens.forms import NewDealForm, on_result

        if self.board is None or not self.columns:
            return
        stage = self.columns[self.focused_column].column.name
        form = NewDealForm(self.board.pipeline, stage)
        self.app.push_screen(form, on_result(self._form_done, self.reload))

    def action_add_followup(self) -> None:
        from crm_cli.tui.screens.forms import FollowupForm, on_result

        if (card := self.focused_card) is None:
            self.say("no deal here to follow up")
            return
        form = FollowupForm(card.id, card.title)
        self.app.push_screen(form, on_result(self._form_done, self.reload))

    def _form_done(self, text: str, error: bool) -> None:
        self.say(text, error=error)

    def action_theme(self) -> None:
        dark = self.app.theme != "textual-light"
        self.app.theme = "textual-light" if dark else "textual-dark"

    def action_help(self) -> None:
        from crm_cli.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())
