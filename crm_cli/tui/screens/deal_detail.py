"""Enter on a card: the deal's fields, its follow-ups and what happened (newest first).

Read in a worker through `crm deal show`'s service (services/timeline.deal_360); reloaded in
place when the database changes (the app calls `reload`). The keys act on the deal through the
typed forms (crm_cli/tui/screens/forms.py) and the board's moves (with their version check).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from crm_cli.domain.text import escape_controls
from crm_cli.errors import CrmError
from crm_cli.tui import data, deal_data
from crm_cli.tui.messages import ActionDone, LoadFailed
from crm_cli.tui.screens.moves import MovesDeals

if TYPE_CHECKING:
    from crm_cli.tui.app import CrmApp

NARROW = 120

# A follow-up's marker, in words and a symbol as on the board's cards.
DUE_MARKERS = {"overdue": "! overdue", "today": "* today", "later": "> later", "done": "- done"}


def _when(text: str | None) -> str:
    return (text or "")[:16].replace("T", " ") or "-"


def _money(minor: int, currency: str) -> str:
    from crm_cli.domain.money import format_money

    return format_money(minor, currency)


def field_lines(detail: deal_data.DealDetail) -> list[tuple[str, str]]:
    r = detail.record
    from crm_cli.services.deals import weighted

    own = r["probability_override"] is not None and r["status"] == "open"
    worth = _money(weighted(r["value_minor"], r["probability"]), r["currency"])
    status = r["status"] + (f": {r['lost_reason']}" if r["lost_reason"] else "")
    return [
        ("Stage", f"{r['stage']} ({r['pipeline']}), {r['days_in_stage']}d in stage"),
        ("Status", status),
        ("Value", _money(r["value_minor"], r["currency"])),
        ("Weighted", f"{worth} at {r['probability']}%" + (" (own)" if own else "")),
        ("Contact", r["contact"] or "-"),
        ("Company", r["company"] or "-"),
        ("Owner", r["owner"] or "-"),
        ("Close", r["expected_close"] or "-"),
        ("Source", r["source"] or "-"),
        ("Tags", ", ".join(r["tags"]) or "-"),
        ("Created", _when(r["created_at"])),
        ("Closed", _when(r["closed_at"])),
    ]


def due_marker(item: dict[str, Any], today: str) -> str:
    if item["done_at"] is not None:
        return DUE_MARKERS["done"]
    if item["overdue"]:
        return DUE_MARKERS["overdue"]
    due = str(item["snoozed_until"] or item["due_at"])[:10]
    return DUE_MARKERS["today" if due == today else "later"]


def followup_lines(detail: deal_data.DealDetail) -> list[str]:
    lines = []
    for item in detail.followups:
        due = _when(item["snoozed_until"] or item["due_at"])
        who = f" ({item['owner']})" if item["owner"] else ""
        lines.append(f"{due_marker(item, detail.today):<9}  {due}  {item['title']}{who}")
    return lines or ["? nothing scheduled: f adds a follow-up"]


def timeline_lines(detail: deal_data.DealDetail) -> list[str]:
    lines = []
    for entry in detail.record["timeline"]:
        kind = "stage" if entry["kind"] == "stage_change" else entry["kind"]
        who = f" ({entry['by']})" if entry["by"] else ""
        lines.append(f"{_when(entry['at'])}  {kind:<7} {entry['summary']}{who}")
    return lines or ["nothing yet: l logs an interaction"]


def field_lines_text(detail: deal_data.DealDetail) -> list[str]:
    return [f"{name:<9} {value}" for name, value in field_lines(detail)]


def _safe(lines: list[str]) -> str:
    """Lines for a Static: what people typed has its control characters shown escaped."""
    return "\n".join(escape_controls(line) for line in lines)


class DealDetailScreen(MovesDeals, Screen[None]):
    BINDINGS = [
        # First: the footer shows the keys in this order and cuts what does not fit (80
        # columns), so `?` is always there to list the rest.
        Binding("question_mark", "help", "Keys"),
        Binding("f", "followup", "Follow-up"),
        Binding("l", "log", "Log"),
        Binding("e", "edit", "Edit"),
        Binding("greater_than_sign", "move(1)", "Next stage"),
        Binding("less_than_sign", "move(-1)", "Prev stage", show=False),
        Binding("w", "won", "Won"),
        Binding("L", "lost", "Lost"),
        Binding("escape,q", "back", "Board"),
    ]

    DEFAULT_CSS = """
    DealDetailScreen #detail {
        height: 1fr;
    }
    DealDetailScreen #detail-left {
        width: 1fr;
        min-width: 30;
        padding: 0 1;
    }
    DealDetailScreen #detail-right {
        width: 1fr;
        padding: 0 1;
        border-left: vkey $panel-lighten-1;
    }
    DealDetailScreen.narrow #detail {
        layout: vertical;
        overflow-y: auto;
    }
    DealDetailScreen.narrow #detail-left, DealDetailScreen.narrow #detail-right {
        width: 1fr;
        height: auto;
        border-left: none;
    }
    DealDetailScreen.narrow #detail-right {
        margin-top: 1;
    }
    DealDetailScreen .detail-heading {
        margin-top: 1;
        text-style: bold;
        background: $boost;
    }
    DealDetailScreen #detail-right > .detail-heading {
        margin-top: 0;
    }
    """

    class Loaded(Message):
        def __init__(self, detail: deal_data.DealDetail) -> None:
            super().__init__()
            self.detail = detail

    def __init__(self, deal_id: int) -> None:
        super().__init__()
        self.deal_id = deal_id
        self.detail: deal_data.DealDetail | None = None
        self.loaded = 0  # how many loads have been applied (tests wait on it)
        self.saving = False

    @property
    def crm(self) -> CrmApp:
        from crm_cli.tui.app import CrmApp

        assert isinstance(self.app, CrmApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static(f"Deal {self.deal_id} - loading...", id="title", markup=False)
        with Horizontal(id="detail"):
            with VerticalScroll(id="detail-left"):
                yield Static("", id="detail-fields", markup=False)
                yield Static("Follow-ups", classes="detail-heading", markup=False)
                yield Static("", id="detail-followups", markup=False)
            with VerticalScroll(id="detail-right"):
                yield Static("Timeline (newest first)", classes="detail-heading", markup=False)
                yield Static("", id="detail-timeline", markup=False)
        yield Static("", id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def on_resize(self) -> None:
        # Below this width two panes would wrap every line: one pane, scrolled, instead.
        self.set_class(self.size.width < NARROW, "narrow")

    # --- loading ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail-load")
    def reload(self) -> None:
        try:
            self.post_message(self.Loaded(deal_data.load_detail(self.crm.ctx, self.deal_id)))
        except CrmError as exc:
            self.post_message(LoadFailed(exc.message))
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the app stays up
            self.post_message(LoadFailed(f"cannot read deal {self.deal_id}: {exc}"))

    def on_load_failed(self, message: LoadFailed) -> None:
        self.say(message.text, error=True)

    def on_deal_detail_screen_loaded(self, message: Loaded) -> None:
        detail = message.detail
        self.detail = detail
        record = detail.record
        self.query_one("#title", Static).update(
            escape_controls(f"Deal {record['id']} - {record['title']}")
        )
        self.query_one("#detail-fields", Static).update(_safe(field_lines_text(detail)))
        self.query_one("#detail-followups", Static).update(_safe(followup_lines(detail)))
        self.query_one("#detail-timeline", Static).update(_safe(timeline_lines(detail)))
        self.loaded += 1

    def say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(("error: " if error else "") + text)
        status.set_class(error, "error")

    def _after(self, text: str, error: bool) -> None:
        self.say(text, error=error)
        self.reload()
        self.crm.board.reload()

    # --- forms -----------------------------------------------------------------------------

    def _ready(self) -> deal_data.DealDetail | None:
        if self.detail is None:
            self.say("still reading the deal")
        elif self.saving:
            self.say("still saving the last change; press again when it shows")
        else:
            return self.detail
        return None

    def action_followup(self) -> None:
        from crm_cli.tui.screens.forms import FollowupForm, on_result

        if (detail := self._ready()) is not None:
            form = FollowupForm(self.deal_id, detail.record["title"])
            self.app.push_screen(form, on_result(self._after, lambda: None))

    def action_log(self) -> None:
        from crm_cli.tui.screens.forms import InteractionForm, on_result

        if (detail := self._ready()) is not None:
            r = detail.record
            form = InteractionForm(self.deal_id, r["title"], r["contact_id"], r["contact"] or "")
            self.app.push_screen(form, on_result(self._after, lambda: None))

    def action_edit(self) -> None:
        from crm_cli.tui.screens.forms import DealForm, on_result

        if (detail := self._ready()) is not None:
            self.app.push_screen(DealForm(detail.record), on_result(self._after, lambda: None))

    # --- moves -----------------------------------------------------------------------------

    def _card(self, detail: deal_data.DealDetail) -> data.Card:
        r = detail.record
        return data.Card(
            id=r["id"],
            title=r["title"],
            party=r["contact"] or r["company"] or "",
            value="",
            days=r["days_in_stage"],
            next_step="none",
            stage_id=r["stage_id"],
            updated_at=r["updated_at"] or "",
        )

    def _move_to(self, stage: deal_data.Stage) -> None:
        detail = self.detail
        assert detail is not None
        self.move_deal(self._card(detail), stage.name, stage.kind)

    def action_move(self, step: int) -> None:
        if (detail := self._ready()) is None:
            return
        ids = [s.id for s in detail.stages]
        here = ids.index(detail.record["stage_id"]) if detail.record["stage_id"] in ids else -1
        index = here + step
        if here < 0 or not 0 <= index < len(detail.stages):
            self.say("no stage that way")
            return
        self._move_to(detail.stages[index])

    def _first(self, kind: str) -> None:
        if (detail := self._ready()) is None:
            return
        stage = next((s for s in detail.stages if s.kind == kind), None)
        if stage is None:
            self.say(f"pipeline {detail.record['pipeline']} has no {kind} stage", error=True)
        elif stage.id == detail.record["stage_id"]:
            self.say(f"deal {self.deal_id} is {stage.name} already")
        else:
            self._move_to(stage)

    def action_won(self) -> None:
        self._first("won")

    def action_lost(self) -> None:
        self._first("lost")

    def on_action_done(self, message: ActionDone) -> None:
        self.saving = False
        self._after(message.text, message.error)

    # --- elsewhere -------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_help(self) -> None:
        from crm_cli.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())
