"""`crm export contacts --csv --preset google|outlook` writes a phone with an extension as crm
stores it (`+49301234567 ext. 12`), without the formula guard's quote, which the address book
would keep as part of the number; every other cell starting with `+` keeps the guard.
"""

from __future__ import annotations

import csv
import io

import pytest

from crm_cli.io.csvout import write_csv
from tests.conftest import Runner


@pytest.mark.parametrize("preset", ["google", "outlook"])
def test_a_phone_with_an_extension_is_written_plain_by_the_presets(
    db_url: str, crm: Runner, preset: str
) -> None:
    crm.ok("contact", "add", "Ana Lima", "--phone", "+49 30 1234567 ext. 12")
    crm.ok("contact", "add", "Bo Chen", "--phone", "+49 30 7654321", "--title", "+1+2")
    out = crm.ok("export", "contacts", "--csv", "--preset", preset).out
    cells = [c for row in csv.reader(io.StringIO(out.lstrip("\ufeff"))) for c in row]
    assert "+49301234567 ext. 12" in cells
    assert "+49307654321" in cells
    assert "'+1+2" in cells  # a title is not a number: still guarded
    assert not any(c.startswith("'+49") for c in cells)


@pytest.mark.parametrize(
    "value",
    [
        "+1+2",
        "+49 =cmd",
        "+49301234567 ext. 12=1",
        "+49301234567 ext. ",
        "+49301234567 ext. 12 ext. 3",
        "+49301234567 ext. 12\n",
        "+49301234567 x12",
    ],
)
def test_anything_but_a_stored_number_keeps_the_guard(value: str) -> None:
    out = io.StringIO()
    write_csv(out, ["phone"], ["phone"], [{"phone": value}], numbers_plain=True)
    assert list(csv.reader(io.StringIO(out.getvalue())))[1] == ["'" + value]
