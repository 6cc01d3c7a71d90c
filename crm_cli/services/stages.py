"""Stages of a pipeline: add, rename, reorder, set their default probability, remove.

A removed stage is hidden rather than deleted, so stage history keeps pointing at it; its
deals move to another stage of the same kind first, each with a stage change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.errors import Conflict, InvalidValue
from crm_cli.services import common
from crm_cli.services.pipelines import (
    LOST,
    OPEN,
    WON,
    Board,
    check_kind,
    check_probability,
    clean_name,
    load_board,
    pipeline_view,
)
from crm_cli.store.sales import Deal, Pipeline, Stage, StageChange
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from crm_cli.services.context import Context


@dataclass
class StagePlace:
    """Where a stage goes: after or before another stage (at most one of them)."""

    after: str | None = None
    before: str | None = None

    def anchor(self, board: Board, pipeline: Pipeline) -> tuple[Stage, int] | None:
        """The stage to place against, and 1 for after or 0 for before."""
        if self.after is not None and self.before is not None:
            raise InvalidValue(
                "position",
                f"--after {self.after} --before {self.before}",
                "give one of --after and --before",
            )
        if self.after is not None:
            return board.stage(pipeline, self.after), 1
        if self.before is not None:
            return board.stage(pipeline, self.before), 0
        return None


def _renumber(stages: list[Stage]) -> None:
    now = utcnow()
    for i, stage in enumerate(stages):
        if stage.position != i:
            stage.position = i
            stage.updated_at = now


def _insert_at(stages: list[Stage], stage: Stage, anchor: tuple[Stage, int] | None) -> list[Stage]:
    others = [s for s in stages if s is not stage]
    if anchor is None:
        if stage.kind == OPEN:
            # New open stages go after the last open one, before won and lost.
            index = max((i + 1 for i, s in enumerate(others) if s.kind == OPEN), default=0)
        else:
            index = len(others)
    else:
        index = others.index(anchor[0]) + anchor[1]
    return others[:index] + [stage] + others[index:]


def _middle(stages: list[Stage], stage: Stage) -> int:
    """A new open stage's default probability: halfway between its open neighbours."""
    index = stages.index(stage)
    before = [s.probability for s in stages[:index] if s.kind == OPEN]
    after = [s.probability for s in stages[index + 1 :] if s.kind == OPEN]
    low = before[-1] if before else 0
    high = after[0] if after else 100
    return (low + high) // 2


def add_stage(
    ctx: Context,
    session: Session,
    name: str,
    *,
    pipeline: str | None = None,
    probability: int | str | None = None,
    place: StagePlace | None = None,
    kind: str = OPEN,
) -> dict[str, Any]:
    """Add a stage. Without a place, an open stage goes after the last open stage and a won or
    lost stage at the end. Without a probability: won 100, lost 0, open halfway between its
    open neighbours. A removed stage of the same name comes back (its history with it, and its
    probability unless one is given)."""
    clean = clean_name(name, "stage")
    kind = check_kind(kind)
    prob = check_probability(probability) if probability is not None else None
    board = load_board(session)
    target = board.pipeline(ctx, pipeline)
    assert target.id is not None
    stages = board.live(target.id)
    if any(s.name.lower() == clean.lower() for s in stages):
        raise Conflict(f"pipeline {target.name!r} has a stage called {clean!r} already")
    anchor = (place or StagePlace()).anchor(board, target)
    now = utcnow()
    revived = [
        s
        for s in board.stages.values()
        if s.pipeline_id == target.id
        and s.deleted_at is not None
        and s.name.lower() == clean.lower()
    ]
    if revived:
        stage = revived[0]
        stage.deleted_at = None
        stage.name = clean
        stage.kind = kind
        stage.updated_at = now
    else:
        stage = Stage(pipeline_id=target.id, name=clean, kind=kind, created_at=now, updated_at=now)
        session.add(stage)
    ordered = _insert_at(stages, stage, anchor)
    if prob is None and revived:
        prob = stage.probability
    if prob is None:
        prob = {WON: 100, LOST: 0}.get(kind)
        if prob is None:
            prob = _middle(ordered, stage)
    stage.probability = prob
    _renumber(ordered)
    return pipeline_view(ctx, session, target)


def rename_stage(
    ctx: Context, session: Session, old: str, new: str, *, pipeline: str | None = None
) -> dict[str, Any]:
    clean = clean_name(new, "stage")
    board = load_board(session)
    target = board.pipeline(ctx, pipeline)
    stage = board.stage(target, old)
    for other in board.stages.values():
        if (
            other.pipeline_id == target.id
            and other.id != stage.id
            and other.name.lower() == clean.lower()
        ):
            if other.deleted_at is not None:
                raise Conflict(
                    f"a removed stage of {target.name!r} is called {clean!r}; "
                    f"`crm pipeline add-stage {clean}` brings it back"
                )
            raise Conflict(f"pipeline {target.name!r} has a stage called {clean!r} already")
    stage.name = clean
    stage.updated_at = utcnow()
    return pipeline_view(ctx, session, target)


def move_stage(
    ctx: Context, session: Session, name: str, place: StagePlace, *, pipeline: str | None = None
) -> dict[str, Any]:
    """Move a stage to just after or before another one; the others keep their order."""
    board = load_board(session)
    target = board.pipeline(ctx, pipeline)
    assert target.id is not None
    stage = board.stage(target, name)
    anchor = place.anchor(board, target)
    if anchor is None:
        raise InvalidValue("position", name, "say where: --after STAGE or --before STAGE")
    if anchor[0].id == stage.id:
        raise InvalidValue("position", anchor[0].name, "a stage cannot move next to itself")
    _renumber(_insert_at(board.live(target.id), stage, anchor))
    return pipeline_view(ctx, session, target)


def set_probability(
    ctx: Context,
    session: Session,
    name: str,
    probability: int | str,
    *,
    pipeline: str | None = None,
) -> dict[str, Any]:
    """Set a stage's default win probability (0..100); deals without their own follow it."""
    prob = check_probability(probability)
    board = load_board(session)
    target = board.pipeline(ctx, pipeline)
    stage = board.stage(target, name)
    stage.probability = prob
    stage.updated_at = utcnow()
    return pipeline_view(ctx, session, target)


def remove_stage(
    ctx: Context,
    session: Session,
    name: str,
    *,
    pipeline: str | None = None,
    move_to: str | None = None,
) -> dict[str, Any]:
    """Remove a stage. Its deals (removed ones too) must move to another stage of the same
    kind with `move_to`; each moved deal gets a stage change. A pipeline keeps at least one
    open, one won and one lost stage.

    Returns the pipeline's record with "removed_stage", "moved" (how many deals) and
    "moved_to".
    """
    board = load_board(session)
    target = board.pipeline(ctx, pipeline)
    assert target.id is not None
    stage = board.stage(target, name)
    if common.locking(session):
        # Held until the removal commits: a deal moving into this stage meanwhile waits,
        # then finds it removed (deals._enter_stage), instead of landing in a hidden stage.
        session.execute(select(col(Stage.id)).where(col(Stage.id) == stage.id).with_for_update())
    stages = board.live(target.id)
    if sum(1 for s in stages if s.kind == stage.kind) == 1:
        raise Conflict(
            f"stage {stage.name!r} is the only {stage.kind} stage of pipeline "
            f"{target.name!r}; a pipeline needs one"
        )
    count_rows = session.execute(
        select(col(Deal.deleted_at).is_(None), func.count())
        .where(col(Deal.stage_id) == stage.id)
        .group_by(col(Deal.deleted_at).is_(None))
    ).all()
    live = sum(int(n) for is_live, n in count_rows if is_live)
    removed = sum(int(n) for is_live, n in count_rows if not is_live)
    destination: Stage | None = None
    if move_to is not None:
        destination = board.stage(target, move_to)
        if destination.id == stage.id:
            raise InvalidValue("move-to", move_to, "is the stage being removed")
        if destination.kind != stage.kind:
            raise InvalidValue(
                "move-to",
                move_to,
                f"is a {destination.kind} stage; deals in {stage.name!r} are "
                f"{stage.kind}, so move them to another {stage.kind} stage",
            )
    if (live or removed) and destination is None:
        count = f"{live} deal{'s' * (live != 1)}"
        if removed:
            count += f" and {removed} removed one{'s' * (removed != 1)}"
        raise Conflict(f"stage {stage.name!r} holds {count}; move them with --move-to STAGE")
    now = utcnow()
    moved = 0
    if destination is not None and (live or removed):
        moved = _move_all(ctx, session, stage, destination, now)
    stage.deleted_at = now
    stage.updated_at = now
    _renumber([s for s in stages if s.id != stage.id])
    record = pipeline_view(ctx, session, target)
    record.update(
        {
            "removed_stage": stage.name,
            "moved": moved,
            "moved_to": destination.name if destination is not None else None,
        }
    )
    return record


def _move_all(ctx: Context, session: Session, source: Stage, destination: Stage, now: Any) -> int:
    """Move every deal from one stage to another of the same kind, with a stage change each.

    Through the ORM, deal by deal: each move is version-checked and journaled like a single
    `deal move`, so `crm undo` puts every deal back. Removing a stage is rare; its cost per
    deal (~0.1 ms) is not.
    """
    query = select(Deal).where(col(Deal.stage_id) == source.id)
    if common.locking(session):
        query = query.with_for_update()
    deals = list(session.scalars(query))
    user_id = ctx.user_id(session)
    for deal in deals:
        session.add(
            StageChange(
                deal_id=deal.id or 0,
                from_stage_id=source.id,
                to_stage_id=destination.id or 0,
                changed_at=now,
                user_id=user_id,
            )
        )
        deal.stage_id = destination.id or 0
        deal.stage_entered_at = now
        deal.updated_at = now
    session.flush()
    return len(deals)
