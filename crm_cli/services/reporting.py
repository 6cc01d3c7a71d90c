"""Runs a report (crm_cli/reports) for the command line: resolves names, the period and today."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_cli.errors import InvalidValue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crm_cli.reports.base import Result
    from crm_cli.services.context import Context

REPORTS = (
    "pipeline",
    "forecast",
    "sales",
    "funnel",
    "activity",
    "feedback",
    "segments",
    "clv",
    "churn",
)


def run_report(
    ctx: Context,
    session: Session,
    name: str,
    *,
    first: str | None = None,
    last: str | None = None,
    by: str | None = None,
    pipeline: str | None = None,
    currency: str | None = None,
    idle_days: int = 30,
    explain: bool = False,
) -> Result:
    from crm_cli.domain.money import currency_code
    from crm_cli.reports import base

    if name not in REPORTS:
        raise InvalidValue("report", name, "expected one of " + ", ".join(REPORTS))
    tz = ctx.tz
    period = base.period(first, last, tz)
    run = base.Runner(session, explain=explain)
    pipeline_id = None
    if pipeline is not None or name == "funnel":
        from crm_cli.services.pipelines import load_board

        pipeline_id = load_board(session).pipeline(ctx, pipeline).id
    cur = currency_code(currency) if currency else None
    if name == "sales":
        from crm_cli.reports.sales import sales

        return sales(run, period, by=by, pipeline_id=pipeline_id, currency=cur)
    if name == "activity":
        from crm_cli.reports.activity import activity
        from crm_cli.store.types import utcnow

        if not 1 <= idle_days <= 3650:
            raise InvalidValue("idle", idle_days, "must be from 1 to 3650 days")
        return activity(run, period, by=by, idle_days=idle_days, now=utcnow())
    if name == "churn":
        from crm_cli.reports.customers import churn

        if by is not None:
            raise InvalidValue("by", by, "the churn report takes no --by")
        return churn(run, period)
    if name in ("segments", "clv"):
        from crm_cli.reports import customers
        from crm_cli.store.types import utcnow

        if by is not None:
            raise InvalidValue("by", by, f"the {name} report takes no --by")
        as_of = period.end or utcnow()
        make = customers.segments if name == "segments" else customers.clv
        return make(run, period, currency=cur, as_of=as_of)
    if name == "funnel":
        from crm_cli.reports.funnel import funnel

        if by is not None:
            raise InvalidValue("by", by, "the funnel is by stage; --by does not apply")
        assert pipeline_id is not None
        return funnel(run, period, pipeline_id=pipeline_id)
    if name == "feedback":
        from crm_cli.reports.feedback import feedback

        return feedback(run, period, by=by)
    from crm_cli.reports.pipeline import forecast
    from crm_cli.reports.pipeline import pipeline as pipeline_report
    from crm_cli.store.types import utcnow

    if name == "pipeline":
        if by is not None:
            raise InvalidValue("by", by, "the pipeline report is by stage; --by does not apply")
        return pipeline_report(run, period, pipeline_id=pipeline_id, currency=cur)
    today = utcnow().astimezone(tz).date()
    return forecast(run, period, by=by, pipeline_id=pipeline_id, currency=cur, today=today)
