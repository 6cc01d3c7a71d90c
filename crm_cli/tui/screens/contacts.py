"""`c`: contacts. Search as you type (the search of `crm search`, CJK included), the 360 view
of one contact (what `crm contact show` shows), and a form to add or edit one.

Typing waits DEBOUNCE seconds of quiet, then searches in a thread worker; a result that
arrives for words no longer in the box is dropped. The results are an OptionList, which
draws only the lines on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from crm_cli.errors import CrmError, InvalidValue, NotFound
from crm_cli.render.fit import ellipsize
from crm_cli.tui import contacts_data
from crm_cli.tui.contacts_data import ContactDraft, ContactRow

if TYPE_CHECKING:
    from crm_cli.tui.app import CrmApp

# Seconds of quiet after a key before the search runs.
DEBOUNCE = 0.2


def _crm(node: Any) -> CrmApp:
    from crm_cli.tui.app import CrmApp

    assert isinstance(node.app, CrmApp)
    return node.app


def _cell(text: str, width: int) -> str:
    """`text` cut and padded to `width` terminal cells (a CJK character takes two)."""
    shown = ellipsize(text, width)
    return shown + " " * max(0, width - cell_len(shown))


def contact_line(row: ContactRow, width: int = 100) -> str:
    """Name, email, company and tags in columns that share the width."""
    name_w, email_w, company_w = max(12, width * 3 // 10), max(12, width * 3 // 10), width // 5
    tags = " ".join(f"#{t}" for t in row.tags)
    line = (
        _cell(row.name, name_w - 1)
        + " "
        + _cell(row.email, email_w - 1)
        + " "
        + _cell(row.company, company_w - 1)
        + " "
        + tags
    )
    return ellipsize(line.rstrip(), width)


def _say(screen: Screen[Any], text: str, *, error: bool = False) -> None:
    status = screen.query_one("#status", Static)
    status.update(("error: " if error else "") + text)
    status.set_class(error, "error")


class ContactsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Board"),
        Binding("down", "to_list", "Results", show=False),
        Binding("n", "add", "New contact"),
        Binding("e", "edit", "Edit"),
        Binding("slash", "to_search", "Search", show=False),
        Binding("question_mark", "help", "Keys", show=False),
    ]

    class Found(Message):
        def __init__(self, query: str, rows: list[ContactRow]) -> None:
            super().__init__()
            self.query = query
            self.rows = rows

    class Failed(Message):
        def __init__(self, query: str, text: str) -> None:
            super().__init__()
            self.query = query
            self.text = text

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[ContactRow] = []
        self.loaded = 0  # how many results have been shown (tests wait on it)
        self._timer: Timer | None = None
        self.note = ""  # what was just saved, said with the next results

    def compose(self) -> ComposeResult:
        yield Static("Contacts", id="title", markup=False)
        yield Input(placeholder="search: a name, email, phone, company...", id="contact-search")
        yield OptionList(id="contacts")
        yield Static("", id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#contact-search", Input).focus()
        self.reload()

    @property
    def text(self) -> str:
        return self.query_one("#contact-search", Input).value

    # --- searching ---------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "contact-search":
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self.reload)

    def reload(self) -> None:
        self.search(self.text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contacts-search")
    def search(self, query: str) -> None:
        try:
            self.post_message(self.Found(query, contacts_data.find_contacts(_crm(self).ctx, query)))
        except CrmError as exc:
            self.post_message(self.Failed(query, exc.message))
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the app stays up
            self.post_message(self.Failed(query, f"cannot search: {exc}"))

    def on_contacts_screen_failed(self, message: Failed) -> None:
        if message.query == self.text:
            self.rows = []  # no results for these words: show none rather than stale ones
            self.query_one("#contacts", OptionList).clear_options()
            _say(self, message.text, error=True)

    def on_contacts_screen_found(self, message: Found) -> None:
        if message.query != self.text:
            return  # the words changed meanwhile: their own search is on its way
        listing = self.query_one("#contacts", OptionList)
        keep = self.chosen
        self.rows = message.rows
        width = max(20, self.size.width - 4)
        listing.set_options(
            Option(Content(contact_line(r, width)), id=str(r.id)) for r in message.rows
        )
        ids = [r.id for r in message.rows]
        if ids:
            listing.highlighted = ids.index(keep) if keep in ids else 0
        count = len(ids)
        what = f"{count} contact{'s' if count != 1 else ''}"
        if count >= contacts_data.SEARCH_LIMIT:
            what = f"the first {what}"
        if message.query.strip():
            what += f" matching {message.query.strip()!r}"
        note, self.note = self.note, ""
        _say(self, (f"{note} · " if note else "") + what + " · enter opens one, n adds, e edits")
        self.loaded += 1

    # --- choosing ----------------------------------------------------------------------------

    @property
    def chosen(self) -> int | None:
        option = self.query_one("#contacts", OptionList).highlighted_option
        return int(option.id) if option is not None and option.id else None

    def action_to_list(self) -> None:
        listing = self.query_one("#contacts", OptionList)
        if listing.has_focus:
            listing.action_cursor_down()
        else:
            listing.focus()

    def action_to_search(self) -> None:
        self.query_one("#contact-search", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "contact-search" and self.rows:
            self.open(self.chosen)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.open(int(event.option.id))

    def open(self, contact_id: int | None) -> None:
        if contact_id is not None:
            self.app.push_screen(ContactScreen(contact_id))

    def action_add(self) -> None:
        # The search box takes the letters typed into it: `n` and `e` act from the results.

        def saved(contact_id: int | None) -> None:
            if contact_id is not None:
                self.note = f"Added contact {contact_id}"
                self.reload()

        self.app.push_screen(ContactForm(), saved)

    def action_edit(self) -> None:
        if (chosen := self.chosen) is not None:
            self.app.push_screen(ContactScreen(chosen, edit=True))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_help(self) -> None:
        from crm_cli.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())


# --- the 360 view --------------------------------------------------------------------------


def _when(value: object) -> str:
    return str(value or "")[:16].replace("T", " ")


def contact_text(record: dict[str, Any]) -> str:
    """The contact as `crm contact show` tells it, as lines of plain text."""
    lines: list[str] = []

    def field(label: str, value: object) -> None:
        if value not in (None, "", [], {}):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            lines.append(f"{label + ':':<16}{shown}")

    field("Emails", record.get("emails"))
    field("Phones", record.get("phones"))
    field("Title", record.get("title"))
    company = record.get("company_detail") or {}
    field("Company", " · ".join(str(company[k]) for k in ("name", "domain") if company.get(k)))
    field("Lifecycle", record.get("lifecycle"))
    field("Source", record.get("source"))
    field("Owner", record.get("owner"))
    field("Tags", record.get("tags"))
    for key, value in (record.get("custom") or {}).items():
        field(str(key), value)
    days = record.get("cadence_days")
    touch = f"every {days} days" if days else "off"
    last = _when(record.get("last_contacted_at")) or "never"
    lines.append(f"{'Stay in touch:':<16}{touch} (last contacted {last})")

    def section(title: str, items: list[str]) -> None:
        lines.append("")
        lines.append(f"{title} ({len(items)})")
        lines.extend(f"  {item}" for item in items) if items else lines.append("  -")

    def deal(d: dict[str, Any], state: str) -> str:
        from crm_cli.domain.money import format_money

        return (
            f"#{d['id']} {d['title']} · {state} · {format_money(d['value_minor'], d['currency'])}"
        )

    section(
        "Open deals",
        [deal(d, d["stage"]) for d in record.get("open_deals", [])],
    )
    closed = record.get("closed_deals", [])
    if closed:
        section("Closed deals", [deal(d, d["status"]) for d in closed])
    section(
        "Open follow-ups",
        [
            f"{_when(f['snoozed_until'] or f['due_at'])}  {f['title']}"
            + ("  (overdue)" if f.get("overdue") else "")
            for f in record.get("followups", [])
        ],
    )
    section(
        "Recent interactions",
        [
            f"{_when(i['occurred_at'])}  {i['kind']}: {i['summary']}"
            for i in record.get("interactions", [])
        ],
    )
    return "\n".join(lines)


class ContactScreen(Screen[None]):
    """One contact, everything about it; `e` edits it. With `edit`, the form opens at once."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("e", "edit", "Edit"),
        Binding("question_mark", "help", "Keys", show=False),
    ]

    class Loaded(Message):
        def __init__(self, record: dict[str, Any]) -> None:
            super().__init__()
            self.record = record

    class Failed(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, contact_id: int, *, edit: bool = False) -> None:
        super().__init__()
        self.contact_id = contact_id
        self.record: dict[str, Any] | None = None
        self.loaded = 0
        self._edit_first = edit

    def compose(self) -> ComposeResult:
        yield Static(f"Contact {self.contact_id}", id="title", markup=False)
        with VerticalScroll(id="contact-view"):
            yield Static("loading...", id="contact-body", markup=False)
        yield Static("", id="status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="contact-load")
    def reload(self) -> None:
        try:
            self.post_message(
                self.Loaded(contacts_data.contact_view(_crm(self).ctx, self.contact_id))
            )
        except CrmError as exc:
            self.post_message(self.Failed(exc.message))
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the app stays up
            self.post_message(self.Failed(f"cannot read contact {self.contact_id}: {exc}"))

    def on_contact_screen_failed(self, message: Failed) -> None:
        _say(self, message.text, error=True)

    def on_contact_screen_loaded(self, message: Loaded) -> None:
        record = message.record
        self.record = record
        title = f"{record['name']} (contact {record['id']})"
        self.query_one("#title", Static).update(title)
        self.query_one("#contact-body", Static).update(contact_text(record))
        self.loaded += 1
        if self._edit_first:
            self._edit_first = False
            self.action_edit()

    def action_edit(self) -> None:
        if self.record is None:
            return

        def saved(contact_id: int | None) -> None:
            if contact_id is not None:
                _say(self, f"Updated contact {contact_id}")
                self.reload()

        self.app.push_screen(ContactForm(self.record), saved)

    def action_back(self) -> None:
        self.app.pop_screen()
        screen = self.app.screen
        if isinstance(screen, ContactsScreen):
            screen.reload()

    def action_help(self) -> None:
        from crm_cli.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())


# --- the form ------------------------------------------------------------------------------

# The form's inputs: (field of ContactDraft, label, placeholder).
FIELDS = (
    ("name", "Name", "full name, as the person writes it"),
    ("emails", "Emails", "ana@acme.com, ana.lima@gmail.com"),
    ("phones", "Phones", "+49 30 1234567"),
    ("company", "Company", "company name or id"),
    ("title", "Title", "job title"),
    ("tags", "Tags", "vip, partner"),
    ("cadence", "Stay in touch", "30d, 2w (empty: off)"),
)
_LISTS = {"emails", "phones", "tags"}
# Which input an error belongs under: the field a service names (InvalidValue.field, or the
# kind of a record not found).
ERROR_FIELDS = {
    "name": "name",
    "email": "emails",
    "phone": "phones",
    "company": "company",
    "title": "title",
    "tag": "tags",
    "every": "cadence",
    "cadence": "cadence",
}


def error_field(exc: CrmError) -> str | None:
    if isinstance(exc, InvalidValue):
        return ERROR_FIELDS.get(exc.field)
    if isinstance(exc, NotFound):
        return ERROR_FIELDS.get(exc.kind)
    first = exc.message.split(" ", 1)[0]  # "email 'a@b.c' belongs to contact 3 (Ana)"
    return ERROR_FIELDS.get(first)


class ContactForm(ModalScreen[int | None]):
    """Add a contact, or edit `record`'s. Saved through the services of `crm contact add` and
    `crm contact edit` in a worker; a refused value shows under its input and nothing is
    written. Dismisses with the contact's id, or None (escape)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save"),
    ]

    class Saved(Message):
        def __init__(self, contact_id: int) -> None:
            super().__init__()
            self.contact_id = contact_id

    class Refused(Message):
        def __init__(self, field: str | None, text: str) -> None:
            super().__init__()
            self.field = field
            self.text = text

    def __init__(self, record: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.contact_id = int(record["id"]) if record is not None else None
        self.before = ContactDraft.of(record) if record is not None else ContactDraft()
        self.saving = False

    def compose(self) -> ComposeResult:
        heading = "New contact" if self.contact_id is None else f"Edit contact {self.contact_id}"
        with Vertical(id="contact-form"):
            yield Static(heading, classes="form-heading", markup=False)
            for name, label, placeholder in FIELDS:
                value = getattr(self.before, name)
                text = ", ".join(value) if name in _LISTS else value
                with Horizontal(classes="form-row"):
                    yield Static(label, classes="form-label", markup=False)
                    yield Input(value=text, placeholder=placeholder, id=f"form-{name}")
                yield Static("", id=f"form-{name}-error", classes="form-error", markup=False)
            yield Static(
                "enter or ctrl+s saves · tab next field · escape cancels",
                id="form-error",
                classes="form-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#form-name", Input).focus()

    def draft(self) -> ContactDraft:
        values = {name: self.query_one(f"#form-{name}", Input).value for name, _, _ in FIELDS}
        return ContactDraft(
            name=values["name"].strip(),
            emails=contacts_data.split_list(values["emails"]),
            phones=contacts_data.split_list(values["phones"]),
            company=values["company"].strip(),
            title=values["title"].strip(),
            tags=contacts_data.split_list(values["tags"]),
            cadence=values["cadence"].strip(),
        )

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_save()

    def action_save(self) -> None:
        if self.saving:
            return
        for name, _, _ in FIELDS:
            shown = self.query_one(f"#form-{name}-error", Static)
            shown.update("")
            shown.set_class(False, "error")
        draft = self.draft()
        if not draft.name:
            self.on_contact_form_refused(self.Refused("name", "name: a contact needs a name"))
            return
        self.saving = True
        self.save(draft)

    @work(thread=True, exclusive=True, exit_on_error=False, group="contact-save")
    def save(self, draft: ContactDraft) -> None:
        ctx = _crm(self).ctx
        try:
            if self.contact_id is None:
                record = contacts_data.add_contact(ctx, draft)
            else:
                record = contacts_data.edit_contact(ctx, self.contact_id, self.before, draft)
            self.post_message(self.Saved(int(record["id"])))
        except CrmError as exc:
            self.post_message(self.Refused(error_field(exc), exc.message))
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the app stays up
            self.post_message(self.Refused(None, f"unexpected failure: {exc}"))

    def on_contact_form_saved(self, message: Saved) -> None:
        self.saving = False
        self.dismiss(message.contact_id)

    def on_contact_form_refused(self, message: Refused) -> None:
        self.saving = False
        target = f"#form-{message.field}-error" if message.field else "#form-error"
        shown = self.query_one(target, Static)
        shown.update(message.text)
        shown.set_class(True, "error")
        if message.field:
            self.query_one(f"#form-{message.field}", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
