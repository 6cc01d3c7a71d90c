"""`crm pipeline`: list pipelines, add and remove them, and shape their stages.

Stages are shared by everyone on the database; each command changes one thing and answers
with one line (or the pipeline's record with --json). Start-up matters: only typer and the
standard library are imported here; services load inside the commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import CsvOpt, JsonOpt, YesOpt

if TYPE_CHECKING:
    from crm_cli.services.stages import StagePlace

app = typer.Typer(
    help="Pipelines and their stages: the board deals move through.", no_args_is_help=True
)

PipelineOpt = Annotated[
    str | None,
    typer.Option("--pipeline", "-P", help="Pipeline name (default: config defaults.pipeline)."),
]
AfterOpt = Annotated[str | None, typer.Option("--after", help="Place it just after this stage.")]
BeforeOpt = Annotated[str | None, typer.Option("--before", help="Place it just before this stage.")]


def _columns() -> list[Any]:
    from crm_cli.render.output import Column

    return [
        Column("pipeline", "Pipeline"),
        Column("position", "#", justify="right"),
        Column("stage", "Stage"),
        Column("kind", "Kind"),
        Column("probability", "Prob %", justify="right"),
        Column("open_deals", "Open deals", justify="right"),
    ]


def _stage_rows(pipelines: list[dict[str, Any]], table: bool) -> list[dict[str, Any]]:
    """One row per stage; in a table the default pipeline is marked."""
    rows = []
    for p in pipelines:
        name = f"{p['name']} (default)" if table and p["default"] else p["name"]
        for s in p["stages"]:
            rows.append(
                {
                    "pipeline": name,
                    "position": s["position"] + (1 if table else 0),
                    "stage": s["name"],
                    "kind": s["kind"],
                    "probability": s["probability"],
                    "open_deals": s["open_deals"],
                }
            )
    return rows


@app.command("list")
def list_(
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    wide: common.WideOpt = False,
    columns: common.ColumnsOpt = None,
) -> None:
    """List pipelines with their stages in order, probabilities, kinds and open deals.

    Example: crm pipeline list --json
    """
    from crm_cli.render.output import emit_rows
    from crm_cli.services.pipelines import list_pipelines

    fmt = common.output_format(json_, csv_)
    ctx = common.context()
    with ctx.session(write=False) as session:
        pipelines = list_pipelines(ctx, session)
    view = common.table_view(wide, columns)
    rows = _stage_rows(pipelines, fmt == "table")
    emit_rows(rows, _columns(), fmt, json_rows=pipelines, view=view)


def _result(record: dict[str, Any], line: str, json_: bool) -> None:
    if json_:
        from crm_cli.render.output import write_json

        write_json(record)
    else:
        common.done(line)


def _stages_text(record: dict[str, Any]) -> str:
    return ", ".join(f"{s['name']} {s['probability']}%" for s in record["stages"])


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name of the new pipeline.")],
    stages: Annotated[
        str | None,
        typer.Option("--stages", help="Its open stages, comma-separated; won and lost are added."),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Add a pipeline: the given open stages plus won and lost, else the default stages.

    Example: crm pipeline add partners --stages "intro,trial,contract"
    """
    from crm_cli.services.pipelines import add_pipeline

    names = stages.split(",") if stages is not None else None
    ctx = common.context()
    with ctx.session() as session:
        record = add_pipeline(ctx, session, name, names)
    _result(record, f"Added pipeline {record['name']}: {_stages_text(record)}", json_)


@app.command("rm")
def rm(
    name: Annotated[str, typer.Argument(help="Pipeline name.")],
    yes: YesOpt = False,
) -> None:
    """Remove a pipeline that holds no deals (asks first; never the last pipeline).

    Example: crm pipeline rm partners --yes
    """
    from crm_cli.services.pipelines import plan_pipeline_removal, remove_pipeline

    ctx = common.context()
    # Ask with nothing locked: the question can wait on a person for minutes, and every other
    # writer would wait with it. The removal re-checks the plan in its own transaction.
    with ctx.session(write=False) as session:
        plan = plan_pipeline_removal(ctx, session, name)
    common.confirm(plan.question, yes)
    with ctx.session() as session:
        removed = remove_pipeline(ctx, session, name, expected=plan)
    common.done(f"Removed pipeline {removed['name']}")


def _place(after: str | None, before: str | None) -> StagePlace:
    from crm_cli.services.stages import StagePlace

    return StagePlace(after=after, before=before)


@app.command("add-stage")
def add_stage(
    stage: Annotated[str, typer.Argument(help="Name of the new stage.")],
    pipeline: PipelineOpt = None,
    probability: Annotated[
        int | None, typer.Option("--probability", "-p", help="Default win probability, 0 to 100.")
    ] = None,
    after: AfterOpt = None,
    before: BeforeOpt = None,
    kind: Annotated[str, typer.Option("--kind", help="open, won or lost.")] = "open",
    json_: JsonOpt = False,
) -> None:
    """Add a stage; an open one goes after the last open stage unless placed.

    Example: crm pipeline add-stage demo --after qualified --probability 35
    """
    from crm_cli.services.stages import add_stage as add_stage_

    ctx = common.context()
    with ctx.session() as session:
        record = add_stage_(
            ctx,
            session,
            stage,
            pipeline=pipeline,
            probability=probability,
            place=_place(after, before),
            kind=kind,
        )
    _result(
        record, f"Added stage {stage.strip()} to {record['name']}: {_stages_text(record)}", json_
    )


@app.command("rename-stage")
def rename_stage(
    old: Annotated[str, typer.Argument(help="Current stage name.")],
    new: Annotated[str, typer.Argument(help="New stage name.")],
    pipeline: PipelineOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Rename a stage; its deals and history stay with it.

    Example: crm pipeline rename-stage proposal offer
    """
    from crm_cli.services.stages import rename_stage as rename_stage_

    ctx = common.context()
    with ctx.session() as session:
        record = rename_stage_(ctx, session, old, new, pipeline=pipeline)
    _result(record, f"Renamed stage {old.strip()} to {new.strip()} in {record['name']}", json_)


@app.command("move-stage")
def move_stage(
    stage: Annotated[str, typer.Argument(help="Stage to move.")],
    after: AfterOpt = None,
    before: BeforeOpt = None,
    pipeline: PipelineOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Move a stage just after or before another one.

    Example: crm pipeline move-stage negotiation --before proposal
    """
    from crm_cli.services.stages import move_stage as move_stage_

    ctx = common.context()
    with ctx.session() as session:
        record = move_stage_(ctx, session, stage, _place(after, before), pipeline=pipeline)
    order = ", ".join(s["name"] for s in record["stages"])
    _result(record, f"Moved stage {stage.strip()} in {record['name']}: {order}", json_)


@app.command("set-probability")
def set_probability(
    stage: Annotated[str, typer.Argument(help="Stage name.")],
    probability: Annotated[int, typer.Argument(help="Default win probability, 0 to 100.")],
    pipeline: PipelineOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Set a stage's default win probability; deals without their own follow it.

    Example: crm pipeline set-probability proposal 40
    """
    from crm_cli.services.stages import set_probability as set_probability_

    ctx = common.context()
    with ctx.session() as session:
        record = set_probability_(ctx, session, stage, probability, pipeline=pipeline)
    _result(record, f"Set {stage.strip()} in {record['name']} to {probability}%", json_)


@app.command("rm-stage")
def rm_stage(
    stage: Annotated[str, typer.Argument(help="Stage to remove.")],
    move_to: Annotated[
        str | None,
        typer.Option("--move-to", help="Move its deals to this stage (of the same kind) first."),
    ] = None,
    pipeline: PipelineOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Remove a stage; a stage with deals needs --move-to, which records each move.

    Example: crm pipeline rm-stage qualified --move-to lead
    """
    from crm_cli.services.stages import remove_stage

    ctx = common.context()
    with ctx.session() as session:
        record = remove_stage(ctx, session, stage, pipeline=pipeline, move_to=move_to)
    moved = (
        f" (moved {record['moved']} deal{'s' * (record['moved'] != 1)} to {record['moved_to']})"
        if record["moved"]
        else ""
    )
    _result(record, f"Removed stage {record['removed_stage']} from {record['name']}{moved}", json_)
