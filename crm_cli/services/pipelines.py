"""Pipelines and their stages: the ordered board a team's deals move through.

Stages live in the database, so everyone on a shared database sees one board. Each stage has
a position, a default win probability and a kind (open, won, lost); a deal's status always
follows the kind of its stage.

A stage is never deleted while stage history may point at it, because funnel and velocity
reports read that history: `rm-stage` hides the stage (`deleted_at`) after its deals have moved
elsewhere, and adding a stage with that name again brings it back. A pipeline, which is rarer
and heavier, is really deleted, but only once no deal (other than removed ones) is left in it.

Pipelines and stages are few (a handful each), so they are loaded whole into a `Board` in one
query and looked up in Python: that keeps `crm deal add` to a few queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_cli.errors import Conflict, InvalidValue, NotFound
from crm_cli.services import common
from crm_cli.store.sales import Deal, Pipeline, Stage, StageChange
from crm_cli.store.types import utcnow

if TYPE_CHECKING:
    from crm_cli.services.context import Context

OPEN, WON, LOST = "open", "won", "lost"
KINDS = (OPEN, WON, LOST)
# The stages of a new pipeline made without --stages (the same as the migration's default).
DEFAULT_STAGES = [
    ("lead", 10, OPEN),
    ("qualified", 25, OPEN),
    ("proposal", 50, OPEN),
    ("negotiation", 75, OPEN),
    ("won", 100, WON),
    ("lost", 0, LOST),
]
MAX_NAME = 60


def check_probability(value: int | str, field: str = "probability") -> int:
    text = str(value).strip()
    digits = text.removesuffix("%").strip()
    if not digits.isdigit() or not 0 <= int(digits) <= 100:
        raise InvalidValue(field, value, "must be a whole number from 0 to 100")
    return int(digits)


def check_kind(value: str) -> str:
    kind = value.strip().lower()
    if kind not in KINDS:
        raise InvalidValue("kind", value, f"must be one of {', '.join(KINDS)}")
    return kind


def clean_name(value: str, field: str) -> str:
    from crm_cli.domain.text import clean_line

    name = clean_line(value, field, max_len=MAX_NAME)
    if "," in name:
        raise InvalidValue(field, value, "must not contain a comma")
    return name


@dataclass
class Board:
    """Every pipeline and stage (removed stages included, for history), loaded at once."""

    pipelines: list[Pipeline]
    stages: dict[int, Stage] = field(default_factory=dict)

    def pipeline_by_id(self, pipeline_id: int) -> Pipeline:
        for pipeline in self.pipelines:
            if pipeline.id == pipeline_id:
                return pipeline
        raise NotFound("pipeline", pipeline_id)

    def pipeline(self, ctx: Context, ref: str | None) -> Pipeline:
        """The pipeline named `ref` (or with that id; see `find_named`); without one, the
        configured default.

        When `defaults.pipeline` was never set and no pipeline is called "default" (it was
        removed or renamed), the first pipeline is the default.
        """
        wanted = ref if ref is not None else ctx.config.pipeline
        number = common.id_of(wanted.strip())
        for pipeline in self.pipelines:
            if number is not None and number == pipeline.id:
                return pipeline
        named = find_named("pipeline", wanted, self.pipelines, "use the id")
        if named is not None:
            return named
        explicit = ref is not None or "defaults.pipeline" in ctx.config.values
        if not explicit and self.pipelines:
            return self.pipelines[0]
        names = [p.name for p in self.pipelines]
        raise name_not_found("pipeline", wanted, names, f"pipelines: {', '.join(names)}")

    def default_id(self, ctx: Context) -> int | None:
        try:
            return self.pipeline(ctx, None).id
        except NotFound:
            return None

    def live(self, pipeline_id: int) -> list[Stage]:
        """The pipeline's stages in board order."""
        stages = [
            s for s in self.stages.values() if s.pipeline_id == pipeline_id and s.deleted_at is None
        ]
        return sorted(stages, key=lambda s: (s.position, s.id or 0))

    def ordered(self) -> list[Stage]:
        """Every live stage in board order: pipelines by position, then their stages."""
        return [s for p in self.pipelines if p.id is not None for s in self.live(p.id)]

    def stage(self, pipeline: Pipeline, name: str) -> Stage:
        """A live stage of `pipeline` by name (see `find_named`: "negociacao" is Negociação)."""
        assert pipeline.id is not None
        stages = self.live(pipeline.id)
        found = find_named("stage", name, stages, "type its name exactly")
        if found is None:
            names = [s.name for s in stages]
            hint = f"stages of pipeline {pipeline.name!r}: {', '.join(names)}"
            raise name_not_found("stage", name, names, hint)
        return found

    def first(self, pipeline_id: int, kind: str) -> Stage:
        for stage in self.live(pipeline_id):
            if stage.kind == kind:
                return stage
        name = self.pipeline_by_id(pipeline_id).name
        raise Conflict(
            f"pipeline {name!r} has no {kind} stage; add one with "
            f"`crm pipeline add-stage NAME --kind {kind} --pipeline {name}`"
        )


def not_found(kind: str, ref: object, hint: str) -> NotFound:
    error = NotFound(kind, ref)
    error.message = f"{error.message}; {hint}"
    return error


_Named = TypeVar("_Named", Pipeline, Stage)


def find_named(kind: str, ref: str, items: list[_Named], use: str) -> _Named | None:
    """The one of `items` (pipelines or stages) that `ref` names, as contacts are named: the
    name as typed, else case aside, else with accents folded too (`names_matching`:
    "negociacao" is Negociação). Several are refused, listed with their ids (`use` says what
    to do instead)."""
    from crm_cli.domain.text import names_matching

    found = [items[i] for i in names_matching([i.name for i in items], ref)]
    if len(found) > 1:
        shown = "; ".join(f"{i.id} {i.name}" for i in found)
        raise InvalidValue(kind, ref, f"matches several: {shown}; {use}")
    return found[0] if found else None


def name_not_found(kind: str, ref: str, names: list[str], hint: str) -> NotFound:
    """`no stage 'negotation'; did you mean 'negotiation'? stages of pipeline ...`: the
    closest of `names` (`closest_name`) if one is close, then `hint`."""
    from crm_cli.domain.text import closest_name

    error = NotFound(kind, ref)
    close = closest_name(ref, names) if ref.strip() else None
    if close is not None:
        error.message += f"; did you mean {names[close]!r}? {hint}"
    else:
        error.message += f"; {hint}"
    return error


def load_board(session: Session) -> Board:
    """All pipelines and stages in one query."""
    rows = session.execute(
        select(Pipeline, Stage)
        .outerjoin(Stage, col(Stage.pipeline_id) == col(Pipeline.id))
        .order_by(col(Pipeline.position), col(Pipeline.id))
    ).all()
    board = Board(pipelines=[])
    for pipeline, stage in rows:
        if not board.pipelines or board.pipelines[-1].id != pipeline.id:
            board.pipelines.append(pipeline)
        if stage is not None:
            assert stage.id is not None
            board.stages[stage.id] = stage
    return board


# --- listing ---------------------------------------------------------------------------------


def _open_counts(session: Session, board: Board, pipeline_id: int | None = None) -> dict[int, int]:
    """Live deals per open stage, from `deal_open_rollup` (kept by triggers with every write
    to a deal; crm_cli/store/rollups.py): a few rows per stage, owner, currency and close day
    instead of every open deal (on PostgreSQL at a million deals, 7 ms instead of 92)."""
    from crm_cli.store.sales import DealOpenRollup

    ids = [
        s.id
        for s in board.stages.values()
        if s.kind == OPEN and (pipeline_id is None or s.pipeline_id == pipeline_id)
    ]
    if not ids:
        return {}
    roll = DealOpenRollup.__table__.c  # type: ignore[attr-defined]
    query = (
        select(roll.stage_id, func.sum(roll.n))
        .where(roll.stage_id.in_(ids))
        .group_by(roll.stage_id)
    )
    return {int(sid): int(n) for sid, n in session.execute(query).all()}


def pipeline_record(
    board: Board, pipeline: Pipeline, counts: dict[int, int], default_id: int | None
) -> dict[str, Any]:
    assert pipeline.id is not None
    live = board.live(pipeline.id)
    open_deals = [counts.get(s.id or 0, 0) if s.kind == OPEN else 0 for s in live]
    stages = [
        {
            "id": s.id,
            "name": s.name,
            "position": i,
            "probability": s.probability,
            "kind": s.kind,
            "open_deals": open_deals[i],
        }
        for i, s in enumerate(live)
    ]
    return {
        "id": pipeline.id,
        "name": pipeline.name,
        "position": pipeline.position,
        "default": pipeline.id == default_id,
        "open_deals": sum(open_deals),
        "stages": stages,
    }


def list_pipelines(ctx: Context, session: Session) -> list[dict[str, Any]]:
    """Every pipeline with its stages in order and its count of open deals."""
    board = load_board(session)
    counts = _open_counts(session, board)
    default_id = board.default_id(ctx)
    return [pipeline_record(board, p, counts, default_id) for p in board.pipelines]


def pipeline_view(ctx: Context, session: Session, pipeline: Pipeline) -> dict[str, Any]:
    session.flush()
    board = load_board(session)
    pipeline = board.pipeline_by_id(pipeline.id or 0)
    return pipeline_record(
        board, pipeline, _open_counts(session, board, pipeline.id), board.default_id(ctx)
    )


# --- pipelines -------------------------------------------------------------------------------


def _spread(count: int) -> list[int]:
    """Probabilities for `count` open stages, evenly between 0 and 100: 3 stages get 25/50/75."""
    return [round(100 * (i + 1) / (count + 1)) for i in range(count)]


def add_pipeline(
    ctx: Context, session: Session, name: str, stage_names: list[str] | None = None
) -> dict[str, Any]:
    """A new pipeline with the given open stages plus a won and a lost stage.

    Without stage names it gets the default stages (lead 10%, qualified 25%, proposal 50%,
    negotiation 75%, won, lost); given names get probabilities spread evenly from 0 to 100.
    """
    clean = clean_name(name, "pipeline")
    board = load_board(session)
    if any(p.name.lower() == clean.lower() for p in board.pipelines):
        raise Conflict(f"a pipeline called {clean!r} exists already")
    if stage_names is None:
        stages = list(DEFAULT_STAGES)
    else:
        names = [clean_name(n, "stage") for n in stage_names if n.strip()]
        if not names:
            raise InvalidValue("stages", ",".join(stage_names), "name at least one open stage")
        seen: set[str] = set()
        for n in names:
            if n.lower() in (WON, LOST):
                raise InvalidValue("stages", n, "the won and lost stages are added for you")
            if n.lower() in seen:
                raise InvalidValue("stages", n, "named twice")
            seen.add(n.lower())
        stages = [(n, p, OPEN) for n, p in zip(names, _spread(len(names)), strict=True)]
        stages += [("won", 100, WON), ("lost", 0, LOST)]
    position = max((p.position for p in board.pipelines), default=-1) + 1
    now = utcnow()
    pipeline = Pipeline(name=clean, position=position, created_at=now, updated_at=now)
    session.add(pipeline)
    session.flush()
    for i, (n, p, k) in enumerate(stages):
        session.add(
            Stage(
                pipeline_id=pipeline.id or 0,
                name=n,
                position=i,
                probability=p,
                kind=k,
                created_at=now,
                updated_at=now,
            )
        )
    session.flush()
    return pipeline_view(ctx, session, pipeline)


@dataclass(frozen=True)
class PipelineRemoval:
    """What removing a pipeline will do, for the question asked before it is done."""

    pipeline_id: int
    name: str
    stages: int
    removed_deals: int
    question: str


def plan_pipeline_removal(ctx: Context, session: Session, name: str) -> PipelineRemoval:
    """Check that a pipeline can go and say what removing it deletes. Refused while deals
    (other than removed ones) are in it, and for the last pipeline. Writes nothing."""
    board = load_board(session)
    pipeline = board.pipeline(ctx, name)
    assert pipeline.id is not None
    if len(board.pipelines) == 1:
        raise Conflict(f"pipeline {pipeline.name!r} is the last one; a CRM needs a pipeline")
    live = (
        session.scalar(
            select(func.count())
            .select_from(Deal)
            .where(col(Deal.pipeline_id) == pipeline.id, col(Deal.deleted_at).is_(None))
        )
        or 0
    )
    if live:
        raise Conflict(
            f"pipeline {pipeline.name!r} holds {live} deal{'s' * (live != 1)}; "
            f"move them (`crm deal edit ID --pipeline OTHER`) or remove them first"
        )
    stage_ids = [sid for sid, s in board.stages.items() if s.pipeline_id == pipeline.id]
    foreign = (
        session.scalar(
            select(func.count())
            .select_from(StageChange)
            .join(Deal, col(Deal.id) == col(StageChange.deal_id))
            .where(
                col(Deal.pipeline_id) != pipeline.id,
                col(StageChange.to_stage_id).in_(stage_ids)
                | col(StageChange.from_stage_id).in_(stage_ids),
            )
        )
        or 0
    )
    if foreign:
        raise Conflict(
            f"the stage history of deals now in other pipelines refers to "
            f"{pipeline.name!r}'s stages ({foreign} changes); keep it"
        )
    removed = (
        session.scalar(
            select(func.count()).select_from(Deal).where(col(Deal.pipeline_id) == pipeline.id)
        )
        or 0
    )
    stages = len(board.live(pipeline.id))
    question = f"Remove pipeline {pipeline.name!r} and its {stages} stages"
    if removed:
        question += (
            f", deleting its {removed} removed deal{'s' * (removed != 1)} (with their "
            "follow-ups and logged interactions) for good"
        )
    return PipelineRemoval(pipeline.id, pipeline.name, stages, int(removed), question + "?")


def remove_pipeline(
    ctx: Context, session: Session, name: str, *, expected: PipelineRemoval | None = None
) -> dict[str, Any]:
    """Delete a pipeline, its stages and the removed deals in it (with their history).

    `expected` is the plan the person agreed to: if the pipeline changed in between (a deal
    was added, a stage), the removal is refused rather than doing more than was asked.
    Every row goes through the ORM, so the journal can bring it all back (`crm undo`).
    """
    plan = plan_pipeline_removal(ctx, session, name)
    if expected is not None and plan != expected:
        raise Conflict(
            f"pipeline {plan.name!r} changed while you were asked; nothing was removed, "
            "run the command again"
        )
    pipeline = session.get(Pipeline, plan.pipeline_id, with_for_update=common.locking(session))
    assert pipeline is not None
    deals = list(session.scalars(select(Deal).where(col(Deal.pipeline_id) == pipeline.id)))
    deal_ids = [d.id for d in deals]
    if deal_ids:
        # What the database would cascade away with the deals goes first, through the ORM,
        # so the journal holds it and `crm undo` brings it all back.
        from crm_cli.store.sales import Event, Feedback, Followup, Interaction

        for model in (StageChange, Followup, Interaction, Event):
            for row in session.scalars(select(model).where(col(model.deal_id).in_(deal_ids))):
                session.delete(row)
        for item in session.scalars(select(Feedback).where(col(Feedback.deal_id).in_(deal_ids))):
            item.deal_id = None
        session.flush()
    for deal in deals:
        session.delete(deal)
    session.flush()
    for stage in session.scalars(select(Stage).where(col(Stage.pipeline_id) == pipeline.id)):
        session.delete(stage)
    session.flush()
    session.delete(pipeline)
    session.flush()
    return {"id": plan.pipeline_id, "name": plan.name, "deleted_deals": plan.removed_deals}
