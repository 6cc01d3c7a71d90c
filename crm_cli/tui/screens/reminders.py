"""`r`: the current user's follow-ups, overdue / today / upcoming (the coming week).

`d` marks the highlighted one done, `s` snoozes it until tomorrow 9:00, each saved in a worker
through the same services as `crm followup done` and `crm followup snooze`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from crm_cli.errors import CrmError
from crm_cli.render.fit import ellipsize
from crm_cli.tui import data
from crm_cli.tui.messages import ActionDone, LoadFailed, RemindersLoaded

if TYPE_CHECKING:
    from crm_cli.tui.app import CrmApp

SECTIONS = (("overdue", "Overdue (!)"), ("today", "Today (*)"), ("upcoming", "Upcoming (>)"))


def reminder_line(item: dict[str, Any], width: int = 100) -> str:
    due = str(item["snoozed_until"] or item["due_at"])[:16].replace("T", " ")
    about = ", ".join(str(item[k]) for k in ("contact", "deal") if item.get(k))
    text = f"{due}  {item['title']}" + (f"  ({about})" if about else "")
    return ellipsize(text, width)


class RemindersScreen(Screen[None]):
    BINDINGS = [
        Binding("j", "cursor(1)", "Down", show=False),
        Binding("k", "cursor(-1)", "Up", show=False),
        Binding("d", "done", "Done"),
        Binding("s", "snooze", "Snooze to tomorrow 9:00"),
        Binding("escape,r", "back", "Board"),
        Binding("question_mark", "help", "Keys"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.loaded = 0

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
            options += [Option(reminder_line(i, width), id=str(i["id"])) for i in items]
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
    def chosen(self) -> int | None:
        option = self.query_one("#reminders", OptionList).highlighted_option
        return int(option.id) if option is not None and option.id else None

    def action_cursor(self, step: int) -> None:
        listing = self.query_one("#reminders", OptionList)
        listing.action_cursor_down() if step > 0 else listing.action_cursor_up()

    def action_done(self) -> None:
        if (chosen := self.chosen) is not None:
            self.save(lambda: data.complete(self.crm.ctx, chosen))

    def action_snooze(self) -> None:
        if (chosen := self.chosen) is not None:
            self.save(lambda: data.snooze(self.crm.ctx, chosen))

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
