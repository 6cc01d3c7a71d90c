"""`crm today`: the agenda a person reads in the morning, in 80 columns.

Overdue follow-ups, those due today, stay-in-touch contacts that are due and open deals with
nothing scheduled, each with the id to act on; and the warning when `crm remind` has stopped
running (its cron job or timer died), so a user learns of it the same morning.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from crm_cli.cli import common
from crm_cli.cli.common import JsonOpt

WIDTH = 80


def _fit(text: str) -> str:
    from crm_cli.domain.text import escape_controls
    from crm_cli.render.fit import ellipsize

    return ellipsize(escape_controls(text), WIDTH)


def _section(title: str, items: list[dict[str, Any]], total: int, line: Any) -> list[str]:
    if not total:
        return []
    lines = [f"{title} ({total})"]
    lines += [_fit("  " + line(item)) for item in items]
    if total > len(items):
        lines.append(f"  ... and {total - len(items)} more")
    return lines


def _followup(item: dict[str, Any]) -> str:
    # "Mon 2026-11-30 09:00 CET" -> "Mon 11-30 09:00": the day and time, in the user's zone.
    day, date_, clock = item["due_local"].split(" ")[:3]
    link = ", ".join(str(item[k]) for k in ("contact", "deal") if item.get(k))
    late = f"{item['late']} late: " if item["late_seconds"] > 0 else ""
    tail = f" ({link})" if link else ""
    return f"#{item['id']:<5} {day} {date_[5:]} {clock}  {late}{item['title']}{tail}"


def _contact(item: dict[str, Any]) -> str:
    return f"contact {item['id']}  {item['contact']}  (every {item['cadence_days']} days)"


def _deal(item: dict[str, Any]) -> str:
    return f"deal {item['id']}  {item['title']}"


def today(
    owner: Annotated[
        str | None, typer.Option("--owner", help="This user's agenda: id, email or name.")
    ] = None,
    everyone: Annotated[bool, typer.Option("--everyone", help="Everyone's agenda.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Show today's agenda: overdue, due today, stay in touch, deals with no next step.

    Example: crm today
    """
    from crm_cli.services.reminders import agenda

    ctx = common.context()
    with ctx.session(write=False) as session:
        found = agenda(ctx, session, owner, everyone)
    if json_:
        from crm_cli.render.output import write_json

        write_json(found)
    else:
        counts = found["counts"]
        lines = (
            _section("Overdue", found["overdue"], counts["overdue"], _followup)
            + _section("Due today", found["today"], counts["today"], _followup)
            + _section("Stay in touch", found["stay_in_touch"], counts["stay_in_touch"], _contact)
            + _section("No next step", found["no_next_step"], counts["no_next_step"], _deal)
        )
        for line in lines:
            print(line)
        if not lines:
            common.note("nothing due today")
    if found["warning"]:
        common.note(f"warning: {found['warning']}")
