"""`?`: the keys, on a modal that any key closes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = """\
Board
  left/right, h/l   focus the previous / next stage
  up/down, j/k      focus the previous / next deal
  pgup/pgdn         a screenful of deals up / down
  home/end          the stage's first / last deal
  >  <              move the deal to the next / previous stage
                    (saved at once; into lost, it asks why)
  enter             open the deal: fields, follow-ups, timeline
  a                 add a deal to the focused stage
  f                 add a follow-up to the focused deal
  u                 undo your last change (as `crm undo`)
  r                 reminders: overdue, today, upcoming
  /                 show only the deals matching some words
  m                 only your deals, or everyone's
  p                 the next pipeline
  c                 contacts: search, view, add, edit
  ctrl+p, :         commands: tag, owner, pipeline, theme...
  t                 light or dark colours
  mouse             a click chooses a deal
  ?                 these keys
  q                 quit

Reminders
  up/down, j/k      choose a follow-up
  d                 mark it done
  s                 snooze it: 1 hour, tomorrow 9:00, next week,
                    or a time typed as `crm followup snooze` takes it
  enter             open its deal, else its contact (360 view)
  escape, r         back to the board

Deal (enter on a card)
  f                 add a follow-up (due: tomorrow 9:00, +3d, dec 1)
  l                 log a call, email, meeting, message or note
  e                 edit title, value, currency, close date, tags
  >  <              move it to the next / previous stage
  w  L              won / lost (lost asks why)
  escape, q         back to the board

Contacts
  type              search as you type (as `crm search`)
  down, enter       choose a contact / open its 360 view
  n                 add a contact (from the results)
  e                 edit the chosen contact
  escape            back

Forms
  tab, shift+tab    next / previous field
  enter, ctrl+s     save (a refused value shows under its field)
  escape            cancel: nothing is saved
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss_help", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):  # scrolls on a terminal too short for it
            yield Static(KEYS.rstrip("\n"), id="help-keys", markup=False)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
