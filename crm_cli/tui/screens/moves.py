"""Moving a deal to another stage from a screen that shows it (the board, a deal): one piece
for both. Into a lost stage it asks why first (LostReason, as `crm deal lost --reason`);
then it saves in a worker as `crm deal move` does, refusing when the deal changed meanwhile
(data.move_card), and posts ActionDone for the screen to say what happened and reload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual import work

from crm_cli.errors import CrmError
from crm_cli.tui import data
from crm_cli.tui.messages import ActionDone

if TYPE_CHECKING:
    from textual.message import Message

    from crm_cli.tui.app import CrmApp


class MovesDeals:
    """Mixed into a Screen, which provides the attributes below and handles ActionDone
    (setting `saving` back to False)."""

    if TYPE_CHECKING:
        saving: bool  # a change is on its way: refuse another until it shows

        @property
        def crm(self) -> CrmApp: ...
        def say(self, text: str, *, error: bool = False) -> None: ...
        def post_message(self, message: Message) -> bool: ...

    def move_deal(self, card: data.Card, stage: str, kind: str) -> None:
        """Move the deal on `card` to `stage` (of `kind`: open, won, lost)."""
        if kind == "lost":
            from crm_cli.tui.screens.lost import LostReason

            def lost(reason: str | None) -> None:
                if reason is not None:  # None: the person changed their mind
                    self.saving = True
                    self.save_move(card, stage, reason)

            self.crm.push_screen(LostReason(card.title), lost)
            return
        self.say(f"moving deal {card.id} to {stage}...")
        self.saving = True
        self.save_move(card, stage)

    @work(thread=True, exit_on_error=False, group="deal-move")
    def save_move(self, card: data.Card, stage: str, reason: str | None = None) -> None:
        self.run_write(lambda: data.move_card(self.crm.ctx, card, stage, reason))

    def run_write(self, action: Callable[[], str]) -> None:
        """Run a write in this worker; post what happened (a CrmError is a message too)."""
        try:
            self.post_message(ActionDone(action()))
        except CrmError as exc:
            self.post_message(ActionDone(exc.message, error=True))
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the app stays up
            self.post_message(ActionDone(f"unexpected failure: {exc}", error=True))
