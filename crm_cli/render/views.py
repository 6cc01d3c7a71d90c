"""How the 360-degree views read on a terminal: the sections under a contact or a deal."""

from __future__ import annotations

from typing import Any

from crm_cli.render.output import Column

Section = tuple[str, list[dict[str, Any]], list[Column]]


def _money(record: dict[str, Any]) -> str:
    from crm_cli.domain.money import format_money

    return format_money(int(record["value_minor"]), str(record["currency"]))


def _short_time(value: str | None) -> str:
    # "2026-11-23T09:00:00+01:00" -> "2026-11-23 09:00"
    return value[:16].replace("T", " ") if value else ""


DEAL_COLUMNS = [
    Column("id", "ID", justify="right"),
    Column("title", "Deal"),
    Column("stage", "Stage"),
    Column("value_text", "Value", justify="right"),
    Column("probability", "Prob.", lambda v: f"{v}%", justify="right"),
    Column("expected_close", "Close"),
]

FOLLOWUP_COLUMNS = [
    Column("id", "ID", justify="right"),
    Column("due_at", "Due", _short_time),
    Column("title", "Follow-up"),
    Column("status", "Status"),
    Column("owner", "Owner"),
]

TIMELINE_COLUMNS = [
    Column("at", "When", _short_time),
    Column("kind", "What"),
    Column("summary", "Summary", max_width=60),
    Column("deal", "Deal"),
    Column("by", "By"),
]

FEEDBACK_COLUMNS = [
    Column("id", "ID", justify="right"),
    Column("created_at", "When", _short_time),
    Column("kind", "Kind"),
    Column("score", "Score", justify="right"),
    Column("status", "Status"),
    Column("text", "Text", max_width=50),
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
