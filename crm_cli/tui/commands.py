"""The command palette (ctrl+p, or `:` on the board): the main actions by name, fuzzy-matched.

Pipelines and owners are read when the palette opens (in a thread, through the services), so
"Pipeline: sales" and "Owner: Bo" are commands of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from crm_cli.tui import contacts_data

if TYPE_CHECKING:
    from crm_cli.tui.app import CrmApp

# (name, help, what it does: a method of the app's board, or of the app).
Command = tuple[str, str, Callable[[], object]]


class CrmCommands(Provider):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.pipelines: list[str] = []
        self.owners: list[tuple[str, str]] = []

    @property
    def crm(self) -> CrmApp:
        from crm_cli.tui.app import CrmApp

        assert isinstance(self.app, CrmApp)
        return self.app

    async def startup(self) -> None:
        ctx = self.crm.ctx
        try:
            self.pipelines = await asyncio.to_thread(contacts_data.pipeline_names, ctx)
            self.owners = await asyncio.to_thread(contacts_data.owners, ctx)
        except Exception:  # noqa: BLE001 - the fixed commands still work without these
            self.pipelines, self.owners = [], []

    def _on_board(self, action: Callable[[], object]) -> Callable[[], None]:
        """Run `action` with the board on top (closing contacts, reminders... first)."""

        def run() -> None:
            app = self.crm
            while len(app.screen_stack) > 1 and app.screen is not app.board:
                app.pop_screen()
            action()

        return run

    def commands(self) -> list[Command]:
        board = self.crm.board
        fixed: list[Command] = [
            (
                "Reminders",
                "overdue, today and upcoming follow-ups (r)",
                self._on_board(board.action_reminders),
            ),
            (
                "Contacts",
                "search, view, add and edit contacts (c)",
                self._on_board(board.action_contacts),
            ),
            ("Mine", "show only the deals you own (m)", self._on_board(board.action_mine)),
            ("Everyone", "show every owner's deals (m)", self._on_board(board.action_everyone)),
            ("Filter by tag", "show the deals with a tag", self._on_board(board.action_filter_tag)),
            (
                "Filter by owner",
                "show the deals of one owner",
                self._on_board(board.action_filter_owner),
            ),
            (
                "Filter by text",
                "show the deals matching words (/)",
                self._on_board(board.action_filter),
            ),
            (
                "Next pipeline",
                "switch to the next pipeline (p)",
                self._on_board(board.action_next_pipeline),
            ),
            ("Light/dark theme", "switch the colours (t)", board.action_theme),
            ("Undo", "undo your last change, as crm undo (u)", self._on_board(board.action_undo)),
            ("Help", "the keys (?)", board.action_help),
            ("Quit", "leave crm (q)", self.crm.exit),
        ]
        for name in self.pipelines:
            fixed.append(
                (
                    f"Pipeline: {name}",
                    f"show the {name} board",
                    self._on_board(partial(board.switch_pipeline, name)),
                )
            )
        for name, ref in self.owners:
            fixed.append(
                (
                    f"Owner: {name}",
                    f"show the deals {name} owns ({ref})",
                    self._on_board(partial(board.set_owner, ref, name)),
                )
            )
        return fixed

    async def discover(self) -> Hits:
        for name, help_text, action in self.commands():
            yield DiscoveryHit(name, action, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), action, text=name, help=help_text)
