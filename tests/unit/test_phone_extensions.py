"""Phone extensions are part of the stored number: two extensions of one switchboard are two
people, and the fast stand-ins agree with phonenumbers on them."""

from __future__ import annotations

import phonenumbers
import pytest

from crm_cli.domain.contactinfo import national_digits, normalize_phone
from crm_cli.domain.text import phone_tokens


@pytest.mark.parametrize(
    "text",
    [
        "+49 30 1234567 ext. 12",
        "+49 30 1234567 x12",
        "+49-30-1234567;ext=12",
        "tel:+49-30-1234567;ext=12",
        "+49 30 1234567 ext 12",
    ],
)
def test_extension_kept(text: str) -> None:
    assert normalize_phone(text, None) == "+49301234567 ext. 12"


def test_two_extensions_are_two_numbers() -> None:
    assert normalize_phone("+49 30 1234567 ext. 12", None) != normalize_phone(
        "+49 30 1234567 ext. 34", None
    )
    assert normalize_phone("+49 30 1234567", None) == "+49301234567"


def test_stored_form_reads_back_as_itself_and_as_the_library_reads_it() -> None:
    stored = normalize_phone("030 1234567 ext. 12", "DE")
    assert normalize_phone(stored, None) == stored
    number = phonenumbers.parse(stored, None)
    assert number.extension == "12"
    assert (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        == (stored.split(" ")[0])
    )
    assert national_digits(stored) == str(phonenumbers.national_significant_number(number))


def test_search_tokens_find_the_number_by_its_tail() -> None:
    stored = normalize_phone("+49 30 1234567 ext. 12", None)
    tokens = phone_tokens(stored, national_digits(stored))
    assert tokens[:2] == ["49301234567", "301234567"]
    assert "4567" in tokens
    assert all(" " not in t and ";" not in t for t in tokens)
