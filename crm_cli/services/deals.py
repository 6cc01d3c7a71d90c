"""Deals: money moving through a pipeline, and the history of every move.

The rules live here so that the CLI, the TUI and imports all keep them:
- a deal's status always follows its stage's kind; entering a won or lost stage sets
  `closed_at`, going back to an open stage clears it; a lost deal needs a reason;
- every change of stage, creation included (from no stage), is a `StageChange` row with its
  time and user, and restarts `stage_entered_at` ("days in stage");
- the probability is the stage's unless the deal sets its own; an own probability counts
  only while the deal is open (a won deal is worth 100%, a lost one 0%, per their stages);
- the weighted value is value x probability / 100 in minor units, rounded half up;
- winning a deal makes its contact a customer (from lead, prospect or churned), recorded as a
  "lifecycle" `Event` so it shows in the contact's timeline.

Reading deals (listing, totals, the detail view) lives in `deal_views`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.domain import money
from crm_cli.domain.text import clean_line
from crm_cli.errors import Conflict, InvalidValue, NotFound
from crm_cli.services import common
from crm_cli.services.lookups import find_deal, lock_in_order
from crm_cli.services.pipelines import (
    LOST,
    OPEN,
    WON,
    Board,
    check_probability,
    load_board,
)
from crm_cli.services.users import resolve_user, user_names
from crm_cli.store.models import Company, Contact
from crm_cli.store.sales import Deal, DealTag, Event, Stage, StageChange
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from crm_cli.services.context import Context

STATUSES = (OPEN, WON, LOST)
# Larger values could overflow 64-bit sums and products in SQL (value x probability).
MAX_VALUE_MINOR = 10**14
MAX_TEXT = 500


@dataclass
class DealInput:
    """What `add` sets or `edit` changes. None means "leave as it is"; for contact, company,
    close, probability, source and external id, "" clears."""

    title: str | None = None
    contact: str | None = None
    company: str | None = None
    value: str | None = None
    currency: str | None = None
    # How a value moves to a new currency: at a rate, or the same number (never silently).
    convert_at: str | None = None
    keep_amount: bool = False
    pipeline: str | None = None
    stage: str | None = None
    probability: int | str | None = None  # "" or "stage" clears the deal's own
    close: str | None = None
    owner: str | None = None
    source: str | None = None
    external_id: str | None = None
    lost_reason: str | None = None
    add_tags: list[str] = field(default_factory=list)
    remove_tags: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """A changed deal: its record, the stage it left (None if the stage did not change) and
    notes for the person (a contact that became a customer)."""

    record: dict[str, Any]
    from_stage: str | None = None
    notes: list[str] = field(default_factory=list)


# --- values ----------------------------------------------------------------------------------


def _title(value: str) -> str:
    return clean_line(value, "title", max_len=MAX_TEXT)


def _amount(text: str, currency: str, field: str = "value", ctx: Context | None = None) -> int:
    decimal_comma = ctx.config.decimal_comma if ctx is not None else None
    minor = money.parse_amount(text, currency, field=field, decimal_comma=decimal_comma)
    if minor > MAX_VALUE_MINOR:
        raise InvalidValue(field, text, "too large")
    return minor


def _probability(value: int | str) -> int | None:
    if str(value).strip().lower() in ("", "stage"):
        return None
    return check_probability(value)


def _text(value: str | None, field: str = "text") -> str | None:
    return clean_line(value, field, max_len=MAX_TEXT, required=False) or None if value else None


def effective_probability(own: int | None, stage: Stage) -> int:
    return own if own is not None and stage.kind == OPEN else stage.probability


def weighted(value_minor: int, probability: int) -> int:
    return (value_minor * probability + 50) // 100


# --- records ---------------------------------------------------------------------------------


@dataclass
class _Names:
    contacts: dict[int, str] = field(default_factory=dict)
    companies: dict[int, str] = field(default_factory=dict)
    owners: dict[int, str] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)
    tz: tzinfo = UTC


def _names(session: Session, deals: list[Deal]) -> _Names:
    """The names a page of deals shows, in one query per kind, for those deals only."""
    ids = [d.id for d in deals if d.id is not None]
    contact_ids = {d.contact_id for d in deals if d.contact_id}
    company_ids = {d.company_id for d in deals if d.company_id}
    names = _Names(
        owners=user_names(session, {d.owner_id for d in deals if d.owner_id}),
        tags=common.tags_by_owner(session, DealTag, "deal_id", ids),
        tz=common.zone(session),
    )
    if contact_ids:
        for cid, name in session.execute(
            select(col(Contact.id), col(Contact.name)).where(col(Contact.id).in_(contact_ids))
        ):
            names.contacts[cid or 0] = name
    if company_ids:
        for cid, name in session.execute(
            select(col(Company.id), col(Company.name)).where(col(Company.id).in_(company_ids))
        ):
            names.companies[cid or 0] = name
    return names


def deal_record(deal: Deal, board: Board, names: _Names, now: datetime) -> dict[str, Any]:
    assert deal.id is not None
    stage = board.stages[deal.stage_id]
    probability = effective_probability(deal.probability, stage)
    worth = weighted(deal.value_minor, probability)
    return {
        "id": deal.id,
        "title": deal.title,
        "contact_id": deal.contact_id,
        "contact": names.contacts.get(deal.contact_id or 0),
        "company_id": deal.company_id,
        "company": names.companies.get(deal.company_id or 0),
        "pipeline_id": deal.pipeline_id,
        "pipeline": board.pipeline_by_id(deal.pipeline_id).name,
        "stage": stage.name,
        "stage_id": deal.stage_id,
        "status": deal.status,
        "value": money.major_number(deal.value_minor, deal.currency),
        "currency": deal.currency,
        "value_minor": deal.value_minor,
        "probability": probability,
        "probability_override": deal.probability,
        "weighted_value": money.major_number(worth, deal.currency),
        "expected_close": deal.expected_close.isoformat() if deal.expected_close else None,
        "lost_reason": deal.lost_reason,
        "owner_id": deal.owner_id,
        "owner": names.owners.get(deal.owner_id or 0),
        "source": deal.source,
        "external_id": deal.external_id,
        "tags": names.tags.get(deal.id, []),
        "days_in_stage": max(0, (now - deal.stage_entered_at).days),
        "created_at": common.iso(deal.created_at, names.tz),
        "updated_at": common.iso(deal.updated_at, names.tz),
        "closed_at": common.iso(deal.closed_at, names.tz),
        "deleted_at": common.iso(deal.deleted_at, names.tz),
    }


def records(
    session: Session, deals: Sequence[Deal], board: Board | None = None
) -> list[dict[str, Any]]:
    known = board or load_board(session)
    now = utcnow()

    def build(part: Sequence[Deal]) -> list[dict[str, Any]]:
        names = _names(session, list(part))
        return [deal_record(d, known, names, now) for d in part]

    return common.in_chunks(deals, build)


# --- stage changes ---------------------------------------------------------------------------


def _lost_reason(deal: Deal, stage: Stage, reason: str | None) -> str | None:
    """The lost reason the deal has once in `stage`; refuses a lost stage without one and a
    reason for any other stage."""
    if stage.kind != LOST:
        if reason is not None and _text(reason):
            raise InvalidValue(
                "reason",
                reason,
                f"only a lost deal has a reason; {stage.name!r} is a {stage.kind} stage",
            )
        return None
    text = _text(reason) or (deal.lost_reason if deal.status == LOST else None)
    if not text:
        raise InvalidValue("reason", reason or "", "a lost deal needs a reason: --reason TEXT")
    return text


def _enter(deal: Deal, stage: Stage, now: datetime, reason: str | None) -> None:
    """Put `deal` in `stage`: status follows the kind; closing sets closed_at, reopening clears
    it. Checks the lost reason before changing anything."""
    deal.lost_reason = _lost_reason(deal, stage, reason)
    if stage.kind == OPEN:
        deal.closed_at = None
    elif deal.status != stage.kind or deal.closed_at is None:
        deal.closed_at = now
    deal.status = stage.kind
    deal.stage_id = stage.id or 0
    deal.pipeline_id = stage.pipeline_id
    deal.stage_entered_at = now
    deal.updated_at = now


def _log_change(
    ctx: Context, session: Session, deal: Deal, from_id: int | None, stage: Stage, now: datetime
) -> list[str]:
    """Record the change; a win makes the contact a customer. Returns notes for the person."""
    assert deal.id is not None and stage.id is not None
    user_id = ctx.user_id(session)
    session.add(
        StageChange(
            deal_id=deal.id,
            from_stage_id=from_id,
            to_stage_id=stage.id,
            changed_at=now,
            user_id=user_id,
        )
    )
    if stage.kind == WON:
        return _make_customer(session, deal, now, user_id)
    return []


def _make_customer(session: Session, deal: Deal, now: datetime, user_id: int) -> list[str]:
    """A won deal makes its contact a customer, from lead, prospect or churned."""
    if deal.contact_id is None:
        return []
    contact = session.get(Contact, deal.contact_id, with_for_update=common.locking(session))
    if contact is None or contact.lifecycle == "customer":
        return []
    before = contact.lifecycle
    contact.lifecycle = "customer"
    contact.updated_at = now
    session.add(
        Event(
            at=now,
            kind="lifecycle",
            detail=_customer_event(before, deal.id),
            contact_id=contact.id,
            deal_id=deal.id,
            user_id=user_id,
        )
    )
    return [_customer_note(contact.id, contact.name, before)]


def _customer_event(before: str, deal_id: int | None) -> str:
    return f"lifecycle {before} -> customer (deal {deal_id} won)"


def _customer_note(contact_id: int | None, name: str, before: str) -> str:
    return f"contact {contact_id} ({name}) is now a customer (was {before})"


def make_customers(
    session: Session, won: Sequence[tuple[int, int]], now: datetime, user_id: int
) -> list[str]:
    """`_make_customer` for many won deals at once (an import): the contact of each (deal id,
    contact id) that is not yet a customer becomes one, with its event and its journal entry,
    in a few set-based statements instead of a lookup and a flush per contact (1.3 ms each:
    an import of 69,659 won deals made 23,570 customers in 30 s). The notes are
    `_make_customer`'s, in the order of each contact's first deal in `won`."""
    from sqlalchemy import update

    from crm_cli.services import journal
    from crm_cli.services.bulk import insert_rows

    first: dict[int, int] = {}
    for deal_id, contact_id in won:
        first.setdefault(contact_id, deal_id)
    if not first:
        return []
    session.flush()
    table = Contact.__table__  # type: ignore[attr-defined]
    found: dict[int, tuple[str, str, datetime, int]] = {}
    ids = sorted(first)
    for start in range(0, len(ids), common.RECORDS_CHUNK):
        part = ids[start : start + common.RECORDS_CHUNK]
        query = select(
            table.c.id, table.c.name, table.c.lifecycle, table.c.updated_at, table.c.version
        ).where(table.c.id.in_(part), table.c.lifecycle.is_distinct_from("customer"))
        if common.locking(session):
            # In id order, as lookups.lock_ids takes rows: two writers queue, never deadlock.
            query = query.order_by(table.c.id).with_for_update()
        mine = {int(i): (str(n), str(lc), at, int(v)) for i, n, lc, at, v in session.execute(query)}
        if mine:
            session.execute(
                update(table)
                .where(table.c.id.in_(list(mine)))
                .values(lifecycle="customer", updated_at=now, version=table.c.version + 1)
            )
            found.update(mine)
    if not found:
        return []
    # Records of this session's identity map that the statements changed are read again.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Contact) and obj.id in found:
            session.expire(obj)
    order = [c for c in first if c in found]
    events = [
        {
            "at": now,
            "kind": "lifecycle",
            "detail": _customer_event(found[c][1], first[c]),
            "contact_id": c,
            "deal_id": first[c],
            "user_id": user_id,
        }
        for c in order
    ]
    event_ids = insert_rows(session, Event.__table__, events)  # type: ignore[attr-defined]
    rec = journal.recorder(session)
    if rec is not None:
        for c in order:
            _name, before, updated_at, version = found[c]
            rec.note_updated(
                "contact",
                c,
                {"lifecycle": before, "updated_at": updated_at, "version": version},
                {"lifecycle": "customer", "updated_at": now, "version": version + 1},
            )
        rec.note_created("event", [{**e, "id": i} for e, i in zip(events, event_ids, strict=True)])
    return [_customer_note(c, found[c][0], found[c][1]) for c in order]


def _move(
    ctx: Context,
    session: Session,
    deal: Deal,
    stage: Stage,
    reason: str | None,
    now: datetime | None = None,
) -> list[str]:
    now = now or utcnow()
    from_id = deal.stage_id
    _check_stage_stands(session, stage)
    _enter(deal, stage, now, reason)
    return _log_change(ctx, session, deal, from_id, stage, now)


def _check_stage_stands(session: Session, stage: Stage) -> None:
    """The stage a deal moves into still exists, and stays so until this commits (a shared
    lock; removing the stage takes an exclusive one). The board was read without locks."""
    if not common.locking(session):
        return
    removed = session.execute(
        select(col(Stage.deleted_at)).where(col(Stage.id) == stage.id).with_for_update(read=True)
    ).scalar_one_or_none()
    if removed is not None:
        raise Conflict(f"stage {stage.name!r} was removed meanwhile; nothing was changed")


def _outcome(
    session: Session,
    deal: Deal,
    board: Board,
    from_stage: str | None = None,
    notes: list[str] | None = None,
) -> Outcome:
    session.flush()
    return Outcome(records(session, [deal], board)[0], from_stage, notes or [])


# --- add and edit ----------------------------------------------------------------------------


def add_deal(ctx: Context, session: Session, inp: DealInput) -> Outcome:
    """Add a deal, owned by the current user unless `owner` says otherwise.

    It goes into `stage` (default: the pipeline's first open stage) of `pipeline` (default:
    `defaults.pipeline`); its company defaults to the contact's. The creation is the deal's
    first stage change, from no stage.
    """
    # Every value is checked before anything is written.
    title = _title(inp.title or "")
    currency = money.currency_code(inp.currency or ctx.config.currency)
    value_minor = _amount(inp.value, currency, ctx=ctx) if inp.value else 0
    probability = _probability(inp.probability) if inp.probability is not None else None
    close = close_date(ctx, inp.close) if inp.close else None
    tags = [common.clean_tag(t) for t in inp.add_tags]
    board = load_board(session)
    pipeline = board.pipeline(ctx, inp.pipeline)
    assert pipeline.id is not None
    stage = board.stage(pipeline, inp.stage) if inp.stage else board.first(pipeline.id, OPEN)
    contact = None
    if inp.contact:
        from crm_cli.services.lookups import find_contact

        contact = find_contact(session, inp.contact)
    user_id = ctx.user_id(session)
    owner_id = resolve_user(session, inp.owner) if inp.owner else user_id
    now = utcnow()
    deal = Deal(
        title=title,
        contact_id=contact.id if contact else None,
        pipeline_id=pipeline.id,
        stage_id=stage.id or 0,
        value_minor=value_minor,
        currency=currency,
        probability=probability,
        expected_close=close,
        owner_id=owner_id,
        source=_text(inp.source),
        external_id=_text(inp.external_id),
        created_at=now,
        updated_at=now,
        stage_entered_at=now,
    )
    _check_stage_stands(session, stage)
    _enter(deal, stage, now, inp.lost_reason)
    names = _Names(tz=common.zone(session))
    if inp.company:
        from crm_cli.services.lookups import company_for_link

        company = company_for_link(session, inp.company, owner_id)
        deal.company_id = company.id
        names.companies[company.id or 0] = company.name
    elif contact is not None and contact.company_id is not None:
        deal.company_id = contact.company_id
    session.add(deal)
    session.flush()
    assert deal.id is not None
    notes = _log_change(ctx, session, deal, None, stage, now)
    if tags:
        common.set_tags(session, DealTag, "deal_id", deal.id, add=tags)
    # The record from what is at hand: only the owner's and the company's names are read.
    if contact is not None:
        names.contacts[contact.id or 0] = contact.name
    if deal.company_id is not None and deal.company_id not in names.companies:
        name = session.scalar(select(col(Company.name)).where(col(Company.id) == deal.company_id))
        names.companies[deal.company_id] = str(name)
    names.owners = user_names(session, {owner_id})
    names.tags = {deal.id: sorted(set(tags))}
    session.flush()
    return Outcome(deal_record(deal, board, names, now), None, notes)


def _carried_over(deal: Deal, currency: str, inp: DealInput) -> int:
    """The deal's value in a new currency. 1,500,000 JPY must not quietly become
    1,500,000.00 EUR: the person says how, at a rate or by keeping the number."""
    old = money.to_major(deal.value_minor, deal.currency)
    if inp.convert_at is not None and inp.keep_amount:
        raise InvalidValue(
            "convert-at", inp.convert_at, "give --convert-at or --keep-amount, not both"
        )
    if inp.keep_amount or deal.value_minor == 0:
        return _amount(str(old), currency)
    if inp.convert_at is None:
        raise InvalidValue(
            "currency",
            inp.currency or currency,
            f"deal {deal.id} is worth {money.format_money(deal.value_minor, deal.currency)}; "
            f"add --convert-at RATE (1 {deal.currency} = RATE {currency}) or --keep-amount",
        )
    try:
        rate = Decimal(inp.convert_at.strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidValue("convert-at", inp.convert_at, "not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise InvalidValue("convert-at", inp.convert_at, "must be a number above 0")
    places = Decimal(1).scaleb(-money.exponent(currency))
    converted = (old * rate).quantize(places, rounding=ROUND_HALF_UP)
    return _amount(str(converted), currency)


def close_date(ctx: Context, text: str, field: str = "close") -> date:
    from crm_cli.domain.dates import parse_date

    return parse_date(text, ctx.tz, field=field, settings=ctx.config.date_settings)


def edit_deal(ctx: Context, session: Session, ref: str, inp: DealInput) -> Outcome:
    """Change a deal; only what `inp` sets changes. A new stage or pipeline is a stage change
    like any other (a won stage makes the contact a customer, a lost one needs a reason)."""
    deal = find_deal(session, ref)
    board = load_board(session)
    # Check every value first.
    title = _title(inp.title) if inp.title is not None else None
    currency = money.currency_code(inp.currency) if inp.currency else deal.currency
    value_minor: int | None = None
    if inp.value:
        value_minor = _amount(inp.value, currency, ctx=ctx)
    elif currency != deal.currency:
        value_minor = _carried_over(deal, currency, inp)
    elif inp.convert_at is not None or inp.keep_amount:
        raise InvalidValue(
            "currency",
            inp.currency or "",
            "--convert-at and --keep-amount go with a new --currency",
        )
    probability = _probability(inp.probability) if inp.probability is not None else None
    close = close_date(ctx, inp.close) if inp.close else None
    tags = [common.clean_tag(t) for t in inp.add_tags]
    untags = [common.clean_tag(t) for t in inp.remove_tags]
    target: Stage | None = None
    if inp.pipeline is not None:
        pipeline = board.pipeline(ctx, inp.pipeline)
        assert pipeline.id is not None
        if inp.stage:
            target = board.stage(pipeline, inp.stage)
        elif pipeline.id != deal.pipeline_id:
            # Keep the stage's name if the new pipeline has it, else its first open stage.
            current = board.stages[deal.stage_id].name
            try:
                target = board.stage(pipeline, current)
            except NotFound:
                target = board.first(pipeline.id, OPEN)
    elif inp.stage:
        target = board.stage(board.pipeline_by_id(deal.pipeline_id), inp.stage)
    if target is not None and target.id == deal.stage_id:
        target = None
    if target is not None:
        _lost_reason(deal, target, inp.lost_reason)
    elif inp.lost_reason is not None:
        if deal.status != LOST:
            raise InvalidValue("reason", inp.lost_reason, f"deal {deal.id} is not lost")
        if not _text(inp.lost_reason):
            raise InvalidValue("reason", inp.lost_reason, "a lost deal needs a reason")
    contact: Contact | None = None
    if inp.contact:
        from crm_cli.services.lookups import find_contact

        contact = find_contact(session, inp.contact)
    owner_id = resolve_user(session, inp.owner) if inp.owner else None
    now = utcnow()
    from_name: str | None = None
    notes: list[str] = []
    # Write.
    if title is not None:
        deal.title = title
    if value_minor is not None:
        deal.value_minor = value_minor
    deal.currency = currency
    if inp.probability is not None:
        deal.probability = probability
    if inp.close is not None:
        deal.expected_close = close
    if inp.contact is not None:
        deal.contact_id = contact.id if contact is not None else None
        if inp.company is None and deal.company_id is None and contact is not None:
            deal.company_id = contact.company_id
    if inp.company is not None:
        if inp.company.strip():
            from crm_cli.services.lookups import company_for_link

            deal.company_id = company_for_link(session, inp.company, ctx.user_id(session)).id
        else:
            deal.company_id = None
    if owner_id is not None:
        deal.owner_id = owner_id
    if inp.source is not None:
        deal.source = _text(inp.source)
    if inp.external_id is not None:
        deal.external_id = _text(inp.external_id)
    if target is not None:
        from_name = board.stages[deal.stage_id].name
        notes = _move(ctx, session, deal, target, inp.lost_reason, now)
    elif inp.lost_reason is not None:
        deal.lost_reason = _text(inp.lost_reason)
    if tags or untags:
        common.set_tags(session, DealTag, "deal_id", deal.id or 0, add=tags, remove=untags)
    deal.updated_at = now
    return _outcome(session, deal, board, from_name, notes)


# --- moves -----------------------------------------------------------------------------------


def move_deal(
    ctx: Context, session: Session, ref: str, stage_name: str, reason: str | None = None
) -> Outcome:
    """Move a deal to another stage of its pipeline. `from_stage` is None if it was there."""
    deal = find_deal(session, ref)
    board = load_board(session)
    stage = board.stage(board.pipeline_by_id(deal.pipeline_id), stage_name)
    if stage.id == deal.stage_id:
        if reason is not None and stage.kind == LOST and _text(reason):
            deal.lost_reason = _text(reason)
            deal.updated_at = utcnow()
        return _outcome(session, deal, board)
    from_name = board.stages[deal.stage_id].name
    notes = _move(ctx, session, deal, stage, reason)
    return _outcome(session, deal, board, from_name, notes)


def win_deal(ctx: Context, session: Session, ref: str) -> Outcome:
    """Move a deal to its pipeline's (first) won stage. Winning a won deal changes nothing."""
    deal = find_deal(session, ref)
    board = load_board(session)
    if deal.status == WON:
        return _outcome(session, deal, board)
    stage = board.first(deal.pipeline_id, WON)
    from_name = board.stages[deal.stage_id].name
    notes = _move(ctx, session, deal, stage, None)
    return _outcome(session, deal, board, from_name, notes)


def lose_deal(ctx: Context, session: Session, ref: str, reason: str) -> Outcome:
    """Move a deal to its pipeline's (first) lost stage, with the reason. For a lost deal,
    only the reason changes."""
    deal = find_deal(session, ref)
    board = load_board(session)
    text = _text(reason)
    if not text:
        raise InvalidValue("reason", reason, "a lost deal needs a reason")
    if deal.status == LOST:
        deal.lost_reason = text
        deal.updated_at = utcnow()
        return _outcome(session, deal, board)
    stage = board.first(deal.pipeline_id, LOST)
    from_name = board.stages[deal.stage_id].name
    notes = _move(ctx, session, deal, stage, text)
    return _outcome(session, deal, board, from_name, notes)


def reopen_deal(ctx: Context, session: Session, ref: str, stage_name: str | None = None) -> Outcome:
    """Take a won or lost deal back to an open stage: `stage_name`, or the open stage it was in
    before it closed (the pipeline's first open stage if it has none). A contact made customer
    by the win stays a customer."""
    deal = find_deal(session, ref)
    board = load_board(session)
    if deal.status == OPEN:
        raise Conflict(f"deal {deal.id} is open; reopen is for won and lost deals")
    pipeline = board.pipeline_by_id(deal.pipeline_id)
    if stage_name:
        stage = board.stage(pipeline, stage_name)
        if stage.kind != OPEN:
            raise InvalidValue(
                "stage", stage_name, f"is a {stage.kind} stage; reopen needs an open one"
            )
    else:
        stage = _stage_before_closing(session, deal, board)
    from_name = board.stages[deal.stage_id].name
    notes = _move(ctx, session, deal, stage, None)
    return _outcome(session, deal, board, from_name, notes)


def _stage_before_closing(session: Session, deal: Deal, board: Board) -> Stage:
    history = session.execute(
        select(col(StageChange.from_stage_id), col(StageChange.to_stage_id))
        .where(col(StageChange.deal_id) == deal.id)
        .order_by(col(StageChange.changed_at).desc(), col(StageChange.id).desc())
    ).all()
    # The most recent stage the deal was in that is still an open stage of its pipeline.
    candidates = [to for _from, to in history] + [frm for frm, _to in history[-1:]]
    for stage_id in candidates:
        stage = board.stages.get(stage_id) if stage_id is not None else None
        if (
            stage is not None
            and stage.kind == OPEN
            and stage.deleted_at is None
            and stage.pipeline_id == deal.pipeline_id
        ):
            return stage
    return board.first(deal.pipeline_id, OPEN)


# --- remove and restore ----------------------------------------------------------------------


def remove_deals(ctx: Context, session: Session, refs: list[str]) -> list[dict[str, Any]]:
    lock_in_order(session, "deal", refs)
    deals = [find_deal(session, r) for r in refs]
    now = utcnow()
    for deal in deals:
        deal.deleted_at = now
        deal.updated_at = now
    session.flush()
    return [{"id": d.id, "title": d.title} for d in deals]


def restore_deal(ctx: Context, session: Session, ref: str) -> dict[str, Any]:
    deal = find_deal(session, ref, removed=True)
    deal.deleted_at = None
    deal.updated_at = utcnow()
    session.flush()
    return records(session, [deal])[0]
