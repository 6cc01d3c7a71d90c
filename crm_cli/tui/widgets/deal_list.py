"""One board column's cards as a virtual list: only the lines on screen are rendered.

A card is CARD_HEIGHT lines (title; contact or company; the next-step marker, days in stage
and value; a blank line). The list holds the ids of every deal in the column (a compact
array) and the cards of those on screen and near them (`data.Card`, at most CACHE of them);
it draws a line on demand in `render_line`, so a column of a hundred thousand deals costs
what one screen costs. When the screen nears cards not read yet, a worker reads the next
page around it (`data.load_cards`) and the lines are drawn again; until then such a card shows
as a dim placeholder. The highlighted card is `cursor`; the board moves it.

A key must answer within a frame or two, so a key repaints as little as it can: moving the
cursor within the screen, or making the list active, repaints the two cards concerned, not the
column (only a scroll repaints it all); and the styles are worked out once a paint, not once a
line (a widget's style walks its ancestors: a third of a key's time when read per line).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import NamedTuple

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from crm_cli.render.fit import ellipsize
from crm_cli.tui import data
from crm_cli.tui.data import Card

CARD_HEIGHT = 4
# Cards kept in memory per column: those near the screen; the rest are read again if needed.
CACHE = 6 * data.PAGE

# The next-step marker, in words and a symbol so that it reads without colour too.
MARKERS = {
    "overdue": ("! overdue", "deal-list--overdue"),
    "today": ("* today", "deal-list--today"),
    "later": ("> later", "deal-list--later"),
    "none": ("? no step", "deal-list--none"),
}


class Paint(NamedTuple):
    """The styles of one paint, for a card with and without the cursor."""

    plain: Style
    title: Style
    muted: Style
    markers: dict[str, Style]


class DealList(ScrollView, can_focus=False):
    """A column's cards. Not focusable: the board marks one list `active` (the cursor shows
    there) instead of moving the focus, so a key that changes columns repaints two lists,
    not the footer and the styles of the whole screen that a focus change updates."""

    COMPONENT_CLASSES = {
        "deal-list--cursor",
        "deal-list--title",
        "deal-list--muted",
        "deal-list--overdue",
        "deal-list--today",
        "deal-list--later",
        "deal-list--none",
    }

    # Their watchers repaint what changed (repaint=False: not the whole list).
    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    active: reactive[bool] = reactive(False, repaint=False)

    class CardsLoaded(Message):
        def __init__(self, cards: dict[int, Card], generation: int) -> None:
            super().__init__()
            self.cards = cards
            self.generation = generation  # of the column's data they were read for

    class Chosen(Message):
        """A click chose this list (and the card under the pointer)."""

        def __init__(self, deal_list: DealList) -> None:
            super().__init__()
            self.deal_list = deal_list

    def __init__(
        self,
        ids: array[int] | None = None,
        cards: dict[int, Card] | None = None,
        loader: Callable[[list[int]], dict[int, Card]] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.ids: array[int] = ids if ids is not None else array("q")
        self.cards: dict[int, Card] = cards or {}
        self.count = len(self.ids)  # the scroll range, in cards
        self.loader = loader  # reads cards by id, in a worker thread
        self._asked: set[int] = set()  # ids being read now
        self._generation = 0  # bumped by set_column: cards read before it are stale
        self._paint: tuple[Paint, Paint] | None = None  # (without, with the cursor): render_lines
        self._paints: dict[Style, tuple[Paint, Paint]] = {}  # by the list's own style
        self._width = 0  # of the lines, for the paint under way

    # --- data ------------------------------------------------------------------------------

    def set_column(
        self,
        ids: array[int],
        cards: dict[int, Card],
        keep: int | None = None,
        count: int | None = None,
    ) -> None:
        """Replace the ids and cards in place; the cursor stays on deal `keep` if it is still
        here, else at the same place (clamped). The scroll position is kept. `count`: how
        many deals the column has when `ids` holds only the first of them (the first screen);
        the scroll range covers them all, so it does not change when the rest arrive."""
        self.ids = ids
        self._generation += 1
        self.count = max(len(ids), count or 0)
        self.cards = cards
        self._asked.clear()
        index = self.index_of(keep)
        self.virtual_size = Size(self.size.width, self.count * CARD_HEIGHT)
        self.cursor = index if index is not None else min(self.cursor, max(0, len(ids) - 1))
        self.refresh()

    def index_of(self, deal_id: int | None) -> int | None:
        if deal_id is None:
            return None
        try:
            return self.ids.index(deal_id)
        except ValueError:
            return None

    @property
    def current(self) -> Card | None:
        """The highlighted card (None while it is being read)."""
        if 0 <= self.cursor < len(self.ids):
            return self.cards.get(self.ids[self.cursor])
        return None

    @property
    def page_size(self) -> int:
        """How many whole cards the list shows (what page up and down move by)."""
        return max(1, self.scrollable_content_region.height // CARD_HEIGHT)

    def window(self) -> tuple[int, int]:
        """The positions [start, stop) worth having read: the screen and a page either way."""
        first = int(self.scroll_offset.y) // CARD_HEIGHT
        shown = max(1, self.scrollable_content_region.height // CARD_HEIGHT + 1)
        low = min(first, self.cursor)
        high = max(first + shown, self.cursor + 1)
        start = max(0, low - data.PAGE // 2)
        # Not cut at the end: a reload may find more cards than there were.
        return start, max(high + data.PAGE // 2, start + data.PAGE)

    def _read_near(self) -> None:
        """Read the cards near the screen that are not in hand (in a worker)."""
        if self.loader is None or not self.ids:
            return
        start, stop = self.window()
        missing = [i for i in self.ids[start:stop] if i not in self.cards and i not in self._asked]
        if not missing:
            return
        # Read a whole page at once, from the first card missing, so that scrolling on
        # finds its cards in hand.
        begin = self.ids.index(missing[0])
        page = [i for i in self.ids[begin : begin + data.PAGE] if i not in self.cards]
        self._asked.update(page)
        self._read_cards(page, self._generation)

    @work(thread=True, exit_on_error=False, group="deal-list-read")
    def _read_cards(self, ids: list[int], generation: int) -> None:
        assert self.loader is not None
        self.post_message(self.CardsLoaded(self.loader(ids), generation))

    def on_deal_list_cards_loaded(self, message: CardsLoaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return  # read before the column was read again: what it has now is newer
        self._asked.difference_update(message.cards)
        self.cards.update(message.cards)
        if len(self.cards) > CACHE:
            start, stop = self.window()
            near = set(self.ids[start:stop])
            self.cards = {i: c for i, c in self.cards.items() if i in near}
        self.refresh()

    def on_mount(self) -> None:
        self.virtual_size = Size(self.size.width, self.count * CARD_HEIGHT)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.count * CARD_HEIGHT)

    # --- cursor ----------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.ids) - 1)) if self.ids else 0

    def watch_cursor(self, old: int, new: int) -> None:
        if not (self.ids and self.is_mounted):
            self.refresh()
            return
        before = self.scroll_offset.y
        self.scroll_to_region(
            Region(0, new * CARD_HEIGHT, 1, CARD_HEIGHT), animate=False, immediate=True
        )
        self._read_near()
        if self.scroll_offset.y != before:
            self.refresh()  # scrolled: every line moved
        elif old != new:
            self.refresh_card(old)
            self.refresh_card(new)

    def watch_active(self, _value: bool) -> None:
        self.refresh_card(self.cursor)

    def refresh_card(self, index: int) -> None:
        """Repaint the lines of the card at `index` (a position in the column)."""
        self.refresh_lines(index * CARD_HEIGHT, CARD_HEIGHT)

    def on_click(self, event: Click) -> None:
        """A click chooses the card under the pointer (the offset is within the widget)."""
        self.cursor = (event.y + int(self.scroll_offset.y)) // CARD_HEIGHT
        self.post_message(self.Chosen(self))

    # --- drawing ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._paints.clear()

    def _paint_styles(self) -> tuple[Paint, Paint]:
        """The styles of a paint: they change with the list's own style (the theme, the
        backgrounds it is drawn on) and with the CSS (notify_style_update)."""
        base = self.rich_style
        paints = self._paints.get(base)
        if paints is None:
            if len(self._paints) > 8:
                self._paints.clear()
            paints = self._paints[base] = (self._styles(base, False), self._styles(base, True))
        return paints

    def render_lines(self, crop: Region) -> list[Strip]:
        self._paint = self._paint_styles()
        self._width = self.scrollable_content_region.width
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def _styles(self, base: Style, selected: bool) -> Paint:
        plain = base + self.get_component_rich_style("deal-list--cursor") if selected else base

        def text(component: str) -> Style:
            # The component's colour and text style, on the line's background (a component
            # style comes with the list's background, which would hide the cursor's).
            style = self.get_component_rich_style(component)
            return plain + style.without_color + Style(color=style.color)

        return Paint(
            plain,
            text("deal-list--title"),
            text("deal-list--muted"),
            {step: text(klass) for step, (_text, klass) in MARKERS.items()},
        )

    def render_line(self, y: int) -> Strip:
        paints = self._paint
        if paints is None:  # drawn outside a paint (render_lines sets them)
            paints = self._paint_styles()
            self._width = self.scrollable_content_region.width
        width = self._width
        line = int(self.scroll_offset.y) + y
        index, part = divmod(line, CARD_HEIGHT)
        if index >= len(self.ids) or part == 3:
            return Strip.blank(width, paints[0].plain)
        paint = paints[index == self.cursor and self.active]
        card = self.cards.get(self.ids[index])
        if card is None:
            # Not read yet: a dim line while a worker reads it (after this paint).
            self.call_later(self._read_near)
            text = f" deal {self.ids[index]}" if part == 0 else ""
            segments = [Segment(ellipsize(text, width), paint.muted)]
        else:
            segments = self._segments(card, part, width, paint)
        return Strip(segments).adjust_cell_length(width, paint.plain)

    def _segments(self, card: Card, part: int, width: int, paint: Paint) -> list[Segment]:
        if part == 0:
            return [Segment(" " + ellipsize(card.title, width - 1), paint.title)]
        if part == 1:
            return [Segment(" " + ellipsize(card.party or "-", width - 1), paint.muted)]
        # The marker first (what to do), then the days in stage and the value, cut to fit.
        step = card.next_step if card.next_step in MARKERS else "none"
        marker = MARKERS[step][0]
        shown = ellipsize(marker, width - 1)
        rest = ellipsize(f"  {card.days}d  {card.value}", max(0, width - 1 - cell_len(shown)))
        return [
            Segment(" ", paint.plain),
            Segment(shown, paint.markers[step]),
            Segment(rest, paint.plain),
        ]
