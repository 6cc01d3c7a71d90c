"""Typed modal forms: add a follow-up, log an interaction, edit a deal, add a deal.

Each form is a column of fields (a label, an input, and under it a line for that field's
error). Enter saves, from any field; tab moves between the fields; escape cancels. Saving
runs in a thread worker through the same service as the CLI command (crm_cli/tui/deal_data),
which checks every value before it writes anything: a refused value (an InvalidValue naming
its field, a contact not found) shows under the field it names and nothing is saved. The form
closes with a `FormResult` once the change is saved, or when it was refused because the
deal changed meanwhile (the screen below then shows the fresh state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from crm_cli.domain.text import escape_controls
from crm_cli.errors import CrmError, InvalidValue, NotFound
from crm_cli.tui import deal_data

if TYPE_CHECKING:
    from crm_cli.tui.app import CrmApp


@dataclass
class Field:
    """One input of a form: `name` is its key and widget id; `aliases` are the other names
    the service's errors may give it (`at` for the "when" field)."""

    name: str
    label: str
    value: str = ""
    placeholder: str = ""
    aliases: tuple[str, ...] = ()


@dataclass
class FormResult:
    """What a closed form did: `text` for the status line; `error` when it was refused."""

    text: str
    error: bool = False
    id: int | None = None


class Form(ModalScreen[FormResult | None]):
    """A typed form. Subclasses give the fields and `save(values)`, which runs in a worker
    thread, calls the service and returns (id, line for the person)."""

    BINDINGS: ClassVar[list[Any]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Save", show=False),
    ]
    heading = "Form"
    DEFAULT_CSS = """
    Form {
        align: center middle;
    }
    Form > #form {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $accent;
        background: $surface;
    }
    Form #form-heading {
        text-style: bold;
    }
    Form .field-row {
        height: 1;
        margin-top: 1;
    }
    Form .field-label {
        width: 15;
        color: $text-muted;
    }
    Form .field-row Input {
        width: 1fr;
        height: 1;
        border: none;
        padding: 0 1;
        background: $boost;
    }
    Form .field-row Input:focus {
        background: $accent 25%;
    }
    Form .field-error {
        width: 1fr;
        color: $error;
        padding-left: 16;
        display: none;
    }
    Form #form-error {
        padding-left: 0;
        margin-top: 1;
    }
    Form .form-keys {
        color: $text-muted;
        margin-top: 1;
    }
    """

    class Saved(Message):
        def __init__(self, ident: int, text: str) -> None:
            super().__init__()
            self.ident = ident
            self.text = text

    class Refused(Message):
        def __init__(self, error: CrmError) -> None:
            super().__init__()
            self.error = error

    def __init__(self, fields: list[Field]) -> None:
        super().__init__()
        self.fields = fields
        self.saving = False

    @property
    def crm(self) -> CrmApp:
        from crm_cli.tui.app import CrmApp

        assert isinstance(self.app, CrmApp)
        return self.app

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="form", classes="form"):
            yield Static(self.heading, id="form-heading", markup=False)
            for item in self.fields:
                with Horizontal(classes="field-row"):
                    yield Label(item.label, classes="field-label", markup=False)
                    yield Input(
                        value=item.value, placeholder=item.placeholder, id=f"field-{item.name}"
                    )
                yield Label("", id=f"error-{item.name}", classes="field-error", markup=False)
            yield Label("", id="form-error", classes="field-error", markup=False)
            yield Static("enter saves · tab next field · escape cancels", classes="form-keys")

    def on_mount(self) -> None:
        self.query_one(f"#field-{self.fields[0].name}", Input).focus()

    # --- values and errors -----------------------------------------------------------------

    def values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#field-{f.name}", Input).value for f in self.fields}

    def error_of(self, name: str) -> str:
        """The error shown under field `name` ("" for none; `form` for the whole form)."""
        target = "#form-error" if name == "form" else f"#error-{name}"
        return str(self.query_one(target, Label).render())

    def _clear_errors(self) -> None:
        for label in self.query(".field-error").results(Label):
            label.update("")
            label.display = False

    def _field_for(self, error: CrmError) -> str | None:
        names: list[str] = []
        if isinstance(error, InvalidValue):
            names.append(error.field)
        if isinstance(error, NotFound):
            names += [error.kind, error.kind.split()[-1]]
        names.append(error.message.split(" ", 1)[0])
        for name in names:
            for item in self.fields:
                if name == item.name or name in item.aliases:
                    return item.name
        return None

    def show_error(self, error: CrmError) -> None:
        name = self._field_for(error)
        label = self.query_one(f"#error-{name}" if name else "#form-error", Label)
        label.update(escape_controls(error.message))
        label.display = True
        if name is not None:
            self.query_one(f"#field-{name}", Input).focus()

    # --- saving ----------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        if self.saving:
            return
        self._clear_errors()
        values = self.values()
        try:
            self.check(values)
        except CrmError as error:
            self.show_error(error)
            return
        self.saving = True
        self.query_one("#form-heading", Static).update(f"{self.heading} - saving...")
        self.run_save(values)

    def check(self, values: dict[str, str]) -> None:
        """Refuse what the service would not be asked at all (an empty required field)."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="form-save")
    def run_save(self, values: dict[str, str]) -> None:
        try:
            ident, text = self.save(values)
            self.post_message(self.Saved(ident, text))
        except CrmError as error:
            self.post_message(self.Refused(error))
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the app stays up
            self.post_message(self.Refused(CrmError(f"unexpected failure: {exc}")))

    def save(self, values: dict[str, str]) -> tuple[int, str]:
        raise NotImplementedError

    def on_form_saved(self, message: Saved) -> None:
        self.saving = False
        self.dismiss(FormResult(message.text, id=message.ident))

    def on_form_refused(self, message: Refused) -> None:
        self.saving = False
        self.query_one("#form-heading", Static).update(self.heading)
        if isinstance(message.error, deal_data.ChangedMeanwhile):
            self.dismiss(FormResult(message.error.message, error=True))
            return
        self.show_error(message.error)

    def action_cancel(self) -> None:
        if not self.saving:  # a save on its way finishes first, then the form closes
            self.dismiss(None)


def _required(values: dict[str, str], *names: str) -> None:
    for name in names:
        if not values[name].strip():
            raise InvalidValue(name, values[name], "must not be empty")


class FollowupForm(Form):
    """`f`: a follow-up on the deal, as `crm followup add TITLE --due WHEN --deal ID`."""

    def __init__(self, deal_id: int, deal_title: str) -> None:
        self.heading = f"Follow-up on {escape_controls(deal_title)}"
        super().__init__(
            [
                Field("title", "What", placeholder="Call Ana about the offer"),
                Field(
                    "due",
                    "Due",
                    value="tomorrow 9:00",
                    placeholder="tomorrow 9:00, +3d, dec 1, next monday 14:00",
                ),
            ]
        )
        self.deal_id = deal_id

    def check(self, values: dict[str, str]) -> None:
        _required(values, "title", "due")

    def save(self, values: dict[str, str]) -> tuple[int, str]:
        return deal_data.add_followup(
            self.crm.ctx, self.deal_id, values["title"].strip(), values["due"]
        )


class InteractionForm(Form):
    """`l`: what happened, as `crm log KIND CONTACT SUMMARY --deal ID --at WHEN`. The contact
    starts as the deal's (by id, shown by name)."""

    def __init__(self, deal_id: int, deal_title: str, contact_id: int | None, contact: str) -> None:
        self.heading = f"Log an interaction on {escape_controls(deal_title)}"
        super().__init__(
            [
                Field(
                    "kind", "Kind", value="call", placeholder="call, email, meeting, message, note"
                ),
                Field("contact", "Contact", value=contact, placeholder="name, email or id"),
                Field("summary", "Note", placeholder="what was said or agreed"),
                Field(
                    "when",
                    "When",
                    placeholder="empty: now; or 'today 10:30', 'yesterday'",
                    aliases=("at",),
                ),
            ]
        )
        self.deal_id = deal_id
        self.contact_id = contact_id
        self.contact_name = contact

    def check(self, values: dict[str, str]) -> None:
        _required(values, "kind", "contact", "summary")

    def save(self, values: dict[str, str]) -> tuple[int, str]:
        contact = values["contact"].strip()
        if self.contact_id is not None and contact == self.contact_name:
            contact = str(self.contact_id)
        return deal_data.log_interaction(
            self.crm.ctx, self.deal_id, values["kind"], contact, values["summary"], values["when"]
        )


def _tags(text: str) -> list[str]:
    return [t for t in (part.strip() for part in text.replace(",", " ").split()) if t]


class DealForm(Form):
    """`e`: the deal's title, value, currency, expected close and tags, as `crm deal edit`.
    Only the fields changed are given to the service; a new currency needs a rate (or `keep`
    to keep the number), as `--convert-at` / `--keep-amount`."""

    def __init__(self, record: dict[str, Any]) -> None:
        from crm_cli.domain import money

        self.heading = f"Edit deal {record['id']}"
        self.record = record
        self.seen = deal_data.version_of(record)
        value = str(money.to_major(record["value_minor"], record["currency"]))
        self.initial = {
            "title": record["title"],
            "value": value,
            "currency": record["currency"],
            "rate": "",
            "close": record["expected_close"] or "",
            "tags": ", ".join(record["tags"]),
        }
        super().__init__(
            [
                Field("title", "Title", self.initial["title"]),
                Field("value", "Value", value, placeholder="12000, 12.000,50, 1,250.00"),
                Field("currency", "Currency", record["currency"], placeholder="EUR"),
                Field(
                    "rate",
                    "Rate",
                    placeholder="with a new currency: 1 old = RATE new, or keep",
                    aliases=("convert-at",),
                ),
                Field(
                    "close",
                    "Expected close",
                    self.initial["close"],
                    placeholder="2027-01-31, end of month, dec 1; empty clears",
                ),
                Field(
                    "tags", "Tags", self.initial["tags"], placeholder="upsell, q1", aliases=("tag",)
                ),
            ]
        )

    def change(self, values: dict[str, str]) -> deal_data.DealEdit:
        def changed(name: str) -> str | None:
            text = values[name].strip()
            return text if text != self.initial[name] else None

        rate = values["rate"].strip()
        old = set(self.record["tags"])
        new = _tags(values["tags"])
        return deal_data.DealEdit(
            title=changed("title"),
            value=changed("value"),
            currency=changed("currency"),
            convert_at=rate if rate and rate.lower() != "keep" else None,
            keep_amount=rate.lower() == "keep",
            close=changed("close"),
            add_tags=[t for t in new if t not in old],
            remove_tags=[t for t in old if t not in new],
        )

    def check(self, values: dict[str, str]) -> None:
        _required(values, "title", "currency")

    def save(self, values: dict[str, str]) -> tuple[int, str]:
        return deal_data.edit_deal(
            self.crm.ctx, int(self.record["id"]), self.seen, self.change(values)
        )


class NewDealForm(Form):
    """`a` on the board: a deal in the focused stage, as `crm deal add TITLE --stage S`."""

    def __init__(self, pipeline: str, stage: str) -> None:
        self.heading = f"New deal in {escape_controls(stage)}"
        super().__init__(
            [
                Field("title", "Title", placeholder="Acme renewal"),
                Field("contact", "Contact", placeholder="name, email or id (optional)"),
                Field("value", "Value", placeholder="12000 or 12.000,50 (optional)"),
                Field("currency", "Currency", placeholder="empty: your default currency"),
                Field("close", "Expected close", placeholder="2027-01-31, end of month (optional)"),
            ]
        )
        self.pipeline = pipeline
        self.stage = stage

    def check(self, values: dict[str, str]) -> None:
        _required(values, "title")

    def save(self, values: dict[str, str]) -> tuple[int, str]:
        return deal_data.add_deal(
            self.crm.ctx,
            self.pipeline,
            self.stage,
            values["title"],
            values["contact"],
            values["value"],
            values["currency"],
            values["close"],
        )


def on_result(
    say: Callable[[str, bool], None], after: Callable[[], object]
) -> Callable[[FormResult | None], None]:
    """The callback a screen gives `push_screen`: say what the form did, then reload."""

    def done(result: FormResult | None) -> None:
        if result is None:
            return
        say(result.text, result.error)
        after()

    return done
