"""What a terminal colours: overdue red, due today and won green, lost dim.

Colour helps but never carries the meaning alone: a coloured cell also says what it means in
words ("OVERDUE", "today", "won", "lost"), so NO_COLOR, a monochrome terminal or a
colour-blind reader loses nothing. Only the terminal forms use these rules (Rich tables and
record views); the plain text a pipe gets is left exactly as it was, for the scripts that
read it.

A rule takes the whole record and returns a Rich style and, optionally, the words to show
instead of the cell's usual text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

Tone = tuple[str, str | None]

OVERDUE = "red"
GOOD = "green"
MUTED = "dim"


def _due_today(due_at: object) -> bool:
    """Is an ISO time with an offset (the user's zone) on today's date, there?

    The offset is the zone's at the due time; across a DST change on the same day the two
    differ by an hour, which moves "today" only for times within an hour of midnight.
    """
    if not isinstance(due_at, str) or not due_at:
        return False
    try:
        due = datetime.fromisoformat(due_at)
    except ValueError:
        return False
    if due.tzinfo is None:
        return False
    return due.date() == datetime.now(due.tzinfo).date()


def followup_status(record: dict[str, Any]) -> Tone | None:
    """Status cell of a follow-up: OVERDUE in red; an open one due later today says "today"."""
    status = record.get("status")
    if status == "overdue":
        return OVERDUE, None
    if status == "open" and _due_today(record.get("due_at")):
        return GOOD, "today"
    return None


def followup_style(record: dict[str, Any]) -> Tone | None:
    """The colour of `followup_status` for other cells (the due time), words unchanged."""
    tone = followup_status(record)
    return (tone[0], None) if tone else None


def deal_stage(record: dict[str, Any]) -> Tone | None:
    """Stage cell of a deal: won green, lost dim; a stage whose name does not say which
    (a pipeline may call its won stage "signed") gets the status after it."""
    status = record.get("status")
    if status not in ("won", "lost"):
        return None
    stage = str(record.get("stage") or "")
    label = None if status in stage.lower() else f"{stage} ({status})".lstrip()
    return (GOOD if status == "won" else MUTED), label


def deal_style(record: dict[str, Any]) -> Tone | None:
    tone = deal_stage(record)
    return (tone[0], None) if tone else None


def record_status(record: dict[str, Any]) -> Tone | None:
    """The Status line of a record view (`followup show`, `deal show`)."""
    if "due_at" in record:
        return followup_status(record)
    if "stage" in record:
        status = record.get("status")
        if status in ("won", "lost"):
            return (GOOD if status == "won" else MUTED), None
    return None
