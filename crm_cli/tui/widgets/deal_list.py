"""One board column's cards as a virtual list: only the lines on screen are rendered.

A card is CARD_HEIGHT lines (title; contact or company; the next-step marker, days in stage
and value; a blank line). The list knows its cards as plain data (`data.Card`) and draws a line
on demand in `render_line`, so a column of ten thousand deals costs what one screen costs.
The highlighted card is `cursor`; the board moves it.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.events import Click
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from crm_cli.render.fit import ellipsize
from crm_cli.tui.data import Card

CARD_HEIGHT = 4

# The next-step marker, in words and a symbol so that it reads without colour too.
MARKERS = {
    "overdue": ("! overdue", "deal-list--overdue"),
    "today": ("* today", "deal-list--today"),
    "later": ("> later", "deal-list--later"),
    "none": ("? no step", "deal-list--none"),
}


class DealList(ScrollView, can_focus=True):
    COMPONENT_CLASSES = {
        "deal-list--cursor",
        "deal-list--title",
        "deal-list--muted",
        "deal-list--overdue",
        "deal-list--today",
        "deal-list--later",
        "deal-list--none",
    }

    cursor: reactive[int] = reactive(0, always_update=True)

    def __init__(self, cards: list[Card] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.cards: list[Card] = cards or []

    # --- data ------------------------------------------------------------------------------

    def set_cards(self, cards: list[Card], keep: int | None = None) -> None:
        """Replace the cards in place; the cursor stays on deal `keep` if it is still here,
        else at the same place (clamped). The scroll position is kept."""
        self.cards = cards
        index = next((i for i, c in enumerate(cards) if c.id == keep), None)
        self.virtual_size = Size(self.size.width, len(cards) * CARD_HEIGHT)
        self.cursor = index if index is not None else min(self.cursor, max(0, len(cards) - 1))
        self.refresh()

    @property
    def current(self) -> Card | None:
        return self.cards[self.cursor] if 0 <= self.cursor < len(self.cards) else None

    def on_mount(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.cards) * CARD_HEIGHT)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.cards) * CARD_HEIGHT)

    # --- cursor ----------------------------------------------------------------------------

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.cards) - 1)) if self.cards else 0

    def watch_cursor(self, _value: int) -> None:
        if self.cards and self.is_mounted:
            top = self.cursor * CARD_HEIGHT
            self.scroll_to_region(Region(0, top, 1, CARD_HEIGHT), animate=False, immediate=True)
        self.refresh()

    def watch_has_focus(self, _value: bool) -> None:
        self.refresh()

    def on_click(self, event: Click) -> None:
        """A click chooses the card under the pointer (the offset is within the widget)."""
        self.focus()
        self.cursor = (event.y + int(self.scroll_offset.y)) // CARD_HEIGHT

    # --- drawing ---------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        line = int(self.scroll_offset.y) + y
        index, part = divmod(line, CARD_HEIGHT)
        base = self.rich_style
        if index >= len(self.cards):
            return Strip.blank(width, base)
        card = self.cards[index]
        selected = index == self.cursor and self.has_focus
        style = base + self.get_component_rich_style("deal-list--cursor") if selected else base
        if part == 3:
            return Strip.blank(width, base)
        segments = self._segments(card, part, width, style)
        return Strip(segments).adjust_cell_length(width, style)

    def _segments(self, card: Card, part: int, width: int, style: Style) -> list[Segment]:
        rich = self.get_component_rich_style
        if part == 0:
            return [
                Segment(" " + ellipsize(card.title, width - 1), style + rich("deal-list--title"))
            ]
        if part == 1:
            return [
                Segment(
                    " " + ellipsize(card.party or "-", width - 1), style + rich("deal-list--muted")
                )
            ]
        # The marker first (what to do), then the days in stage and the value, cut to fit.
        marker, klass = MARKERS.get(card.next_step, MARKERS["none"])
        shown = ellipsize(marker, width - 1)
        rest = ellipsize(f"  {card.days}d  {card.value}", max(0, width - 1 - cell_len(shown)))
        return [Segment(" ", style), Segment(shown, style + rich(klass)), Segment(rest, style)]
