"""vCard records screened before they are imported: an address or number that cannot be
valid is left out of its card with a warning, instead of costing the card.

A phone exports "n/a" in a TEL line, an old address book keeps "john@" in an EMAIL line: the
person is still worth importing. Each dropped value is named with the card's position, the
property and the value, so the user can fix it by hand. A card left with no name, email or
phone is rejected as any row without a name is (importing.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from crm_cli.domain.contactinfo import normalize_email, normalize_phone
from crm_cli.errors import InvalidValue
from crm_cli.io.records import SourceRecord

_PROPERTIES = {"email": "EMAIL", "phone": "TEL"}


def screen_cards(records: Sequence[SourceRecord], phone_region: str | None) -> list[str]:
    """Take invalid emails and phones out of the cards' values; one warning per value."""
    warnings: list[str] = []
    for rec in records:
        if rec.problem is not None:
            continue
        for key in list(rec.values):
            base, _, label = key.partition(":")
            if base not in _PROPERTIES:
                continue
            kept = []
            for value in rec.values[key]:
                try:
                    if base == "email":
                        normalize_email(value)
                    else:
                        normalize_phone(value, phone_region)
                except InvalidValue as exc:
                    what = _PROPERTIES[base] + (f" ({label})" if label else "")
                    warnings.append(
                        f"card {rec.number}: {what} {value.strip()!r} skipped: {exc.reason}"
                    )
                    continue
                kept.append(value)
            if kept:
                rec.values[key] = kept
            else:
                del rec.values[key]
    return warnings
