"""`crm report NAME`: where we stand, with the working behind every figure."""

from __future__ import annotations

from typing import Annotated

import typer

from crm_cli.cli import common
from crm_cli.cli.common import CsvOpt, JsonOpt

NAMES = "pipeline, forecast, sales, funnel, activity, feedback, segments, clv or churn"


def report(
    name: Annotated[str, typer.Argument(help=f"Which report: {NAMES}.")],
    first: Annotated[
        str | None, typer.Option("--from", help="First day of the period (YYYY-MM-DD).")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last day of the period (YYYY-MM-DD), included.")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Group by owner, month, quarter, source or pipeline (sales); owner (forecast); "
            "category, month or quarter (feedback); owner or month (activity).",
        ),
    ] = None,
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="Only this pipeline.")] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help="Only deals in this currency.")
    ] = None,
    idle: Annotated[
        int, typer.Option("--idle", help="Activity: open deals untouched this many days.")
    ] = 30,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    no_chart: Annotated[bool, typer.Option("--no-chart", help="Leave the chart out.")] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the SQL the report ran, instead of it.")
    ] = False,
) -> None:
    """Show a report: the figures, how each was computed, and a chart.

    Example: crm report sales --from 2026-01-01 --to 2026-03-31 --by month
    """
    from crm_cli.render.report import emit_report
    from crm_cli.services.reporting import run_report

    ctx = common.context()
    with ctx.session(write=False) as session:
        result = run_report(
            ctx,
            session,
            name,
            first=first,
            last=last,
            by=by,
            pipeline=pipeline,
            currency=currency,
            idle_days=idle,
            explain=explain,
        )
    emit_report(result, common.output_format(json_, csv_), chart=not no_chart, explain=explain)
