"""What the deal detail screen and the typed forms read and write, through the same services as
`crm deal show`, `crm deal add`, `crm deal edit`, `crm followup add` and `crm log`.

Like `data`, nothing here imports Textual: each function runs in a worker thread, opens its
own session on the shared Context and returns plain data, or raises the service's CrmError
(an InvalidValue names the field the form shows it under).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crm_cli.errors import Conflict
from crm_cli.tui.data import _acting

if TYPE_CHECKING:
    from crm_cli.services.context import Context

# What an edit compares to tell whether someone else changed the deal since the form opened
# (the updated time alone has whole seconds: two writes in one second would look alike).
VERSION_KEYS = (
    "updated_at",
    "title",
    "value_minor",
    "currency",
    "expected_close",
    "tags",
    "stage_id",
    "contact_id",
    "company_id",
    "owner_id",
    "status",
)


class ChangedMeanwhile(Conflict):
    """The deal is no longer as the form read it: nothing was saved."""


# Follow-ups done that the detail shows, latest first (the open ones: as many as `deal show`).
DONE_SHOWN = 5


@dataclass
class Stage:
    id: int
    name: str
    kind: str  # open, won, lost


@dataclass
class DealDetail:
    """A deal as `crm deal show --json` has it, its follow-ups (the open ones, soonest due
    first, then the latest done) and the stages of its pipeline in board order."""

    record: dict[str, Any]
    followups: list[dict[str, Any]]
    stages: list[Stage]
    today: str  # the user's date, for the due markers

    @property
    def version(self) -> dict[str, Any]:
        return version_of(self.record)


def version_of(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record.get(key) for key in VERSION_KEYS}


def load_detail(ctx: Context, deal_id: int) -> DealDetail:
    from crm_cli.domain.dates import now_utc
    from crm_cli.services.followups import FollowupFilter, list_followups
    from crm_cli.services.pipelines import load_board
    from crm_cli.services.timeline import deal_360

    with ctx.session(write=False) as session:
        record = deal_360(ctx, session, str(deal_id))
        # The open ones as `crm deal show` lists them (soonest due first); then the latest done.
        done = [
            r
            for r in list_followups(
                ctx, session, FollowupFilter(deal=str(deal_id), done=True, limit=None)
            ).rows
            if r["done_at"] is not None
        ]
        board = load_board(session)
        stages = [Stage(s.id or 0, s.name, s.kind) for s in board.live(int(record["pipeline_id"]))]
    done.sort(key=lambda r: str(r["done_at"]), reverse=True)
    today = now_utc().astimezone(ctx.tz).date().isoformat()
    return DealDetail(record, list(record["followups"]) + done[:DONE_SHOWN], stages, today)


def _check_version(session: Any, deal_id: int, seen: dict[str, Any]) -> dict[str, Any]:
    """Lock the deal and refuse (Conflict) if it is no longer as `seen`."""
    from crm_cli.services.deals import records
    from crm_cli.services.lookups import find_deal, lock_in_order

    lock_in_order(session, "deal", [str(deal_id)])
    fresh: dict[str, Any] = records(session, [find_deal(session, deal_id)])[0]
    if version_of(fresh) != seen:
        changed = [k for k in VERSION_KEYS if fresh.get(k) != seen.get(k) and k != "updated_at"]
        what = f" ({', '.join(changed)})" if changed else ""
        raise ChangedMeanwhile(
            f"deal {deal_id} was changed meanwhile{what}; nothing was saved. "
            "It shows as it is now: edit it again from there"
        )
    return fresh


# --- the forms' writes -----------------------------------------------------------------------


def add_followup(ctx: Context, deal_id: int, title: str, due: str) -> tuple[int, str]:
    """As `crm followup add TITLE --due DUE --deal ID`: owned by the current user."""
    from crm_cli.services.followups import FollowupInput, add_followup

    acting = _acting(ctx, f"crm followup add {title!r} --due {due!r} --deal {deal_id} (tui)")
    with acting.session() as session:
        record = add_followup(
            acting, session, FollowupInput(title=title, due=due, deal=str(deal_id))
        )
    return int(record["id"]), f"Added follow-up {record['id']}: {title} (due {record['due_local']})"


def log_interaction(
    ctx: Context, deal_id: int, kind: str, contact: str, summary: str, when: str
) -> tuple[int, str]:
    """As `crm log KIND CONTACT SUMMARY --deal ID [--at WHEN]` (an empty `when`: now)."""
    from crm_cli.services.interactions import InteractionInput, log_interaction

    at = when.strip() or None
    shown_at = f" --at {at!r}" if at else ""
    acting = _acting(
        ctx, f"crm log {kind} {contact!r} {summary!r} --deal {deal_id}{shown_at} (tui)"
    )
    with acting.session() as session:
        record = log_interaction(
            acting,
            session,
            InteractionInput(kind=kind, contact=contact, summary=summary, at=at, deal=str(deal_id)),
        )
    return int(record["id"]), f"Logged {record['kind']} {record['id']}: {record['summary']}"


@dataclass
class DealEdit:
    """What the edit form changed: None leaves a field as it is (as `crm deal edit` options)."""

    title: str | None = None
    value: str | None = None
    currency: str | None = None
    convert_at: str | None = None
    keep_amount: bool = False
    close: str | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)

    def options(self) -> str:
        parts = []
        for name, value in (
            ("title", self.title),
            ("value", self.value),
            ("currency", self.currency),
            ("convert-at", self.convert_at),
            ("close", self.close),
        ):
            if value is not None:
                parts.append(f"--{name} {value!r}")
        if self.keep_amount:
            parts.append("--keep-amount")
        parts += [f"--tag {t!r}" for t in self.add_tags]
        parts += [f"--untag {t!r}" for t in self.remove_tags]
        return " ".join(parts)


def edit_deal(
    ctx: Context, deal_id: int, seen: dict[str, Any], change: DealEdit
) -> tuple[int, str]:
    """As `crm deal edit ID ...`, unless someone else changed the deal since `seen` (its
    `version_of` when the form opened): then nothing is written and a Conflict says so."""
    from crm_cli.services.deals import DealInput, edit_deal

    acting = _acting(ctx, f"crm deal edit {deal_id} {change.options()} (tui)")
    with acting.session() as session:
        _check_version(session, deal_id, seen)
        outcome = edit_deal(
            acting,
            session,
            str(deal_id),
            DealInput(
                title=change.title,
                value=change.value,
                currency=change.currency,
                convert_at=change.convert_at,
                keep_amount=change.keep_amount,
                close=change.close,
                add_tags=change.add_tags,
                remove_tags=change.remove_tags,
            ),
        )
    return deal_id, f"Updated deal {deal_id}: {outcome.record['title']}"


def add_deal(
    ctx: Context,
    pipeline: str,
    stage: str,
    title: str,
    contact: str,
    value: str,
    currency: str,
    close: str,
) -> tuple[int, str]:
    """As `crm deal add TITLE --pipeline P --stage S [--contact C --value V ...]`."""
    from crm_cli.services.deals import DealInput, add_deal

    inp = DealInput(
        title=title,
        contact=contact.strip() or None,
        value=value.strip() or None,
        currency=currency.strip() or None,
        close=close.strip() or None,
        pipeline=pipeline,
        stage=stage,
    )
    options = " ".join(
        f"--{name} {text!r}"
        for name, text in (("contact", inp.contact), ("value", inp.value), ("close", inp.close))
        if text
    )
    acting = _acting(
        ctx, f"crm deal add {title!r} --pipeline {pipeline!r} --stage {stage!r} {options} (tui)"
    )
    with acting.session() as session:
        outcome = add_deal(acting, session, inp)
    record = outcome.record
    return int(record["id"]), f"Added deal {record['id']}: {record['title']} in {record['stage']}"
