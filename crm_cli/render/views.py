"""How the 360-degree views read on a terminal: the sections under a contact or a deal."""

from __future__ import annotations

from typing import Any

from crm_cli.render.output import Column
from crm_cli.render.tones import deal_stage, deal_style, followup_status, followup_style

Section = tuple[str, list[dict[str, Any]], list[Column]]


def _money(record: dict[str, Any]) -> str:
    from crm_cli.domain.money import format_money

    return format_money(int(record["value_minor"]), str(record["currency"]))


def _short_time(value: str | None) -> str:
    # "2026-11-23T09:00:00+01:00" -> "2026-11-23 09:00"
    return value[:16].replace("T", " ") if value else ""


# On a narrow terminal each section keeps its title or summary and its key figure longest
# (render/fit.py); won, lost, overdue and today are coloured (render/tones.py).
DEAL_COLUMNS = [
    Column("id", "ID", justify="right"),
    Column("title", "Deal", priority=1, min_width=20),
    Column("stage", "Stage", priority=3, tone=deal_stage),
    Column("value_text", "Value", justify="right", priority=2, tone=deal_style),
    Column("probability", "Prob.", lambda v: f"{v}%", justify="right", priority=5),
    Column("expected_close", "Close", priority=4),
]

FOLLOWUP_COLUMNS = [
    Column("id", "ID", justify="right"),
    Column("due_at", "Due", _short_time, priority=2, tone=followup_style),
    Column("title", "Follow-up", priority=1, min_width=20),
    Column("status", "Status", priority=3, tone=followup_status),
    Column("owner", "Owner", priority=4),
]

TIMELINE_COLUMNS = [
    Column("at", "When", _short_time),
    Column("kind", "What", priority=2),
    Column("summary", "Summary", max_width=60, priority=1, min_width=20),
    Column("deal", "Deal", priority=3),
    Column("by", "By", priority=4),
]

FEEDBACK_COLUMNS = [
    Column("id", "ID", justify="right"),
    Column("created_at", "When", _short_time, priority=1),
    Column("kind", "Kind", priority=2),
    Column("score", "Score", justify="right", priority=3),
    Column("status", "Status", priority=5),
    Column("text", "Text", max_width=50, priority=4, min_width=20),
]


def _deal_rows(deals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**d, "value_text": _money(d)} for d in deals]


def contact_sections(record: dict[str, Any]) -> list[Section]:
    return [
        ("Open deals", _deal_rows(record.get("open_deals", [])), DEAL_COLUMNS),
        ("Next follow-ups", record.get("followups", []), FOLLOWUP_COLUMNS),
        ("Timeline", record.get("timeline", []), TIMELINE_COLUMNS),
        ("Feedback", record.get("feedback", []), FEEDBACK_COLUMNS),
    ]


def deal_sections(record: dict[str, Any]) -> list[Section]:
    return [
        ("Next follow-ups", record.get("followups", []), FOLLOWUP_COLUMNS),
        ("Timeline", record.get("timeline", []), TIMELINE_COLUMNS),
        ("Feedback", record.get("feedback", []), FEEDBACK_COLUMNS),
    ]
