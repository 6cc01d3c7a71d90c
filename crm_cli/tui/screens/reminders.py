"""`r`: the current user's follow-ups, overdue / today / upcoming (the coming week).

`d` marks the highlighted one done, `s` snoozes it (1 hour, tomorrow 9:00, next week or a typed
time), each saved in a worker through the same services as `crm followup done` and
`crm followup snooze`. `enter` opens the deal a follow-up is about, else its contact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from crm_cli.errors import CrmError
from crm_cli.render.fit import ellipsize
from crm_cli.tui import data
from crm_cli.tui.messages import ActionDone, LoadFailed, RemindersLoaded

if TYPE_CHECKING:
    from crm_cli.tui.app import CrmApp

# The snooze choices: what the list shows, and (until, for) as `crm followup snooze` takes them.
SNOOZES: tuple[tuple[str, tuple[str | None, str | None]], ...] = (
    ("1 hour", (None, "1h")),
    ("tomorrow 9:00", ("tomorrow 9:00", None)),
    ("next week", ("next week", None)),
)
Choice = tuple[str | None, str | None]

SECTIONS = (
    ("overdue", "Overdue (!)"),
    ("today", "Today (*)"),
    ("upcoming", "Upcoming (>)"),
    ("in_touch", "Stay in touch (@)"),
)


def option_id(key: str, item: dict[str, Any]) -> str:
    """A follow-up's option is its id; a stay-in-touch contact's is `c` and the contact's id."""
    return f"c{item['id']}" if key == "in_touch" else str(item["id"])


def reminder_line(item: dict[str, Any], width: int = 100) -> str:
    due = str(item.get("snoozed_until") or item["due_at"])[:16].replace("T", " ")
    # A stay-in-touch line names its contact in its title already.
    keys = ("deal",) if "cadence_days" in item else ("contact", "deal")
    about = ", ".join(str(item[k]) for k in keys if item.get(k))
    text = f"{due}  {item['title']}" + (f"  ({about})" if about else "")
    return ellipsize(text, width)


class RemindersScreen(Screen[None]):
    BINDINGS = [
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("d", "done", "Done"),
        Binding("s", "snooze", "Snooze"),
        # Before the list's own enter (select), so the footer shows it; a click only chooses.
        Binding("enter", "open", "Open", priority=True),
        Binding("escape,r", "back", "Board"),
        Binding("question_mark", "help", "Keys"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.loaded = 0
        self.items: dict[str, dict[str, Any]] = {}  # by option id

    @property
    def crm(self) -> CrmApp:
        from crm_cli.tui.app import CrmApp

        assert isinstance(self.app, CrmApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static("Reminders", id="title", markup=False)
        yield OptionList(id="reminders")
        yield Static("", id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="reminders-load")
    def reload(self) -> None:
        try:
            self.post_message(RemindersLoaded(data.load_reminders(self.crm.ctx)))
        except CrmError as exc:
            self.post_message(LoadFailed(exc.message))
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the app stays up
            self.post_message(LoadFailed(f"cannot read the reminders: {exc}"))

    def on_load_failed(self, message: LoadFailed) -> None:
        self.say(message.text, error=True)

    def on_reminders_loaded(self, message: RemindersLoaded) -> None:
        listing = self.query_one("#reminders", OptionList)
        keep = listing.highlighted_option.id if listing.highlighted_option else None
        width = max(20, self.size.width - 4)
        options: list[Option] = []
        for key, heading in SECTIONS:
            items = getattr(message.data, key)
            options.append(Option(f"{heading}: {len(items)}", disabled=True))
            options += [Option(reminder_line(i, width), id=option_id(key, i)) for i in items]
        self.items = {
            option_id(key, i): i for key, _ in SECTIONS for i in getattr(message.data, key)
        }
        listing.set_options(options)
        ids = [o.id for o in options]
        if keep is not None and keep in ids:
            listing.highlighted = ids.index(keep)
        else:
            first = next((i for i, o in enumerate(options) if o.id is not None), None)
            listing.highlighted = first
        listing.focus()
        self.loaded += 1

    @property
    def chosen_option(self) -> str | None:
        option = self.query_one("#reminders", OptionList).highlighted_option
        return option.id if option is not None else None

    @property
    def chosen(self) -> int | None:
        """The highlighted follow-up's id (None on a stay-in-touch contact: `d` and `s` are
        for follow-ups; logging an interaction with the contact resets its cadence)."""
        option = self.chosen_option
        if option is not None and option.startswith("c"):
            self.say("a stay-in-touch contact: log a call or a note with it to reset its cadence")
            return None
        return int(option) if option else None

    def action_cursor(self, step: int) -> None:
        listing = self.query_one("#reminders", OptionList)
        listing.action_cursor_down() if step > 0 else listing.action_cursor_up()

    def action_done(self) -> None:
        if (chosen := self.chosen) is not None:
            self.save(lambda: data.complete(self.crm.ctx, chosen))

    def action_snooze(self) -> None:
        if (chosen := self.chosen) is None:
            return

        def snooze(choice: Choice | None) -> None:
            if choice is not None:
                self.save(lambda: data.snooze(self.crm.ctx, chosen, *choice))

        self.app.push_screen(SnoozeChoice(self.crm), snooze)

    def action_open(self) -> None:
        """The deal the follow-up is about (its detail), else its contact (the 360 view)."""
        item = self.items.get(self.chosen_option or "")
        if item is None:
            return
        if item.get("deal_id"):
            from crm_cli.tui.screens.deal_detail import DealDetailScreen

            self.app.push_screen(DealDetailScreen(int(item["deal_id"])))
        elif item.get("contact_id"):
            from crm_cli.tui.screens.contacts import ContactScreen

            self.app.push_screen(ContactScreen(int(item["contact_id"])))
        else:
            self.say(f"follow-up {item['id']} is about no deal or contact")

    @work(thread=True, exclusive=True, exit_on_error=False, group="reminders-write")
    def save(self, action: Any) -> None:
        try:
            self.post_message(ActionDone(action()))
        except CrmError as exc:
            self.post_message(ActionDone(exc.message, error=True))
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the app stays up
            self.post_message(ActionDone(f"unexpected failure: {exc}", error=True))

    def on_action_done(self, message: ActionDone) -> None:
        self.say(message.text, error=message.error)
        self.reload()

    def say(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(("error: " if error else "") + text)
        status.set_class(error, "error")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_help(self) -> None:
        from crm_cli.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())


class SnoozeChoice(ModalScreen[Choice | None]):
    """Until when to snooze: a choice from the list, or a time typed as `crm followup snooze`
    takes it (`--until` tomorrow 9:00, next monday, 2026-12-01; `--for` 2h, 30min, 3d). A
    refused time shows under the input; escape snoozes nothing."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, app: CrmApp) -> None:
        super().__init__()
        self.ctx = app.ctx

    def compose(self) -> ComposeResult:
        with Vertical(id="snooze"):
            yield Static("Snooze until", markup=False)
            yield OptionList(
                *[Option(label, id=str(n)) for n, (label, _) in enumerate(SNOOZES)],
                Option("a date or time (type it below)", id="typed"),
                id="snooze-choices",
            )
            yield Input(placeholder="next monday 9:00, 2026-12-01, 2h", id="snooze-until")
            yield Static("", id="snooze-error", markup=False)

    def on_mount(self) -> None:
        self.query_one("#snooze-choices", OptionList).highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id == "typed":
            self.query_one("#snooze-until", Input).focus()
        elif event.option.id is not None:
            self.dismiss(SNOOZES[int(event.option.id)][1])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        error = self.query_one("#snooze-error", Static)
        if not event.value.strip():
            error.update("until: type a date or time, such as tomorrow 9:00 or 2h")
            return
        try:
            choice = data.snooze_choice(self.ctx, event.value)
        except CrmError as exc:
            error.update(exc.message)
            return
        self.dismiss(choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
