"""Money parsing and formatting: integer minor units per ISO 4217, never a float."""

from __future__ import annotations

import pytest

from crm_cli.domain.money import (
    currency_code,
    exponent,
    format_money,
    major_number,
    parse_amount,
    to_major,
)
from crm_cli.errors import ExitCode, InvalidValue


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12000", "EUR", 1200000),
        ("12000.50", "EUR", 1200050),
        ("12000.5", "EUR", 1200050),
        ("12,000.50", "EUR", 1200050),
        ("12_000", "EUR", 1200000),
        (" 7 ", "USD", 700),
        ("0", "EUR", 0),
        ("0.01", "EUR", 1),
        ("1500", "JPY", 1500),
        ("1,500", "JPY", 1500),
        ("1500.0", "JPY", 1500),  # no fraction, so nothing is lost
        ("1.234", "KWD", 1234),
        ("1.2345", "CLF", 12345),
        ("0.1", "EUR", 10),  # a Decimal: 0.1 is exact, unlike the float
    ],
)
def test_parse_amount(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "reason"),
    [
        ("1500.5", "JPY", "JPY takes no decimals"),
        ("12.345", "EUR", "EUR takes at most 2 decimals"),
        ("1.2345", "KWD", "at most 3 decimals"),
        ("-5", "EUR", "must not be negative"),
        ("-0.01", "EUR", "must not be negative"),
        ("abc", "EUR", "not a number"),
        ("", "EUR", "not a number"),
        ("12k", "EUR", "not a number"),
        ("nan", "EUR", "not a number"),
        ("inf", "EUR", "not a number"),
        ("1" + "0" * 20, "EUR", "too large"),
    ],
)
def test_parse_amount_refuses(text: str, currency: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_amount(text, currency)
    error = caught.value
    assert (error.field, error.value) == ("value", text)
    assert reason in error.reason
    assert error.exit_code == ExitCode.USAGE
    assert repr(text) in str(error)  # the message names the value


def test_the_field_name_is_the_callers() -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_amount("x", "EUR", field="min-value")
    assert str(caught.value).startswith("min-value 'x':")


@pytest.mark.parametrize(("text", "code"), [("eur", "EUR"), (" usd ", "USD"), ("JPY", "JPY")])
def test_currency_code(text: str, code: str) -> None:
    assert currency_code(text) == code


@pytest.mark.parametrize("text", ["XXX", "EURO", "", "€", "12"])
def test_unknown_currency_is_refused(text: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        currency_code(text)
    assert (caught.value.field, caught.value.value) == ("currency", text)


def test_exponents() -> None:
    assert (exponent("EUR"), exponent("JPY"), exponent("KWD"), exponent("CLF")) == (2, 0, 3, 4)


def test_major_units_for_output() -> None:
    assert major_number(1200050, "EUR") == 12000.5
    assert major_number(1200000, "EUR") == 12000
    assert isinstance(major_number(1200000, "EUR"), int)
    assert major_number(1500, "JPY") == 1500
    assert major_number(1, "EUR") == 0.01
    assert str(to_major(1200050, "EUR")) == "12000.50"


def test_format_money() -> None:
    assert format_money(1200000, "EUR") == "12,000.00 EUR"
    assert format_money(1500, "JPY") == "1,500 JPY"
    assert format_money(1234, "KWD") == "1.234 KWD"
    assert format_money(0, "USD") == "0.00 USD"


def test_round_trip_through_major_units() -> None:
    for minor in (0, 1, 99, 100, 1200050, 10**14):
        assert parse_amount(str(to_major(minor, "EUR")), "EUR") == minor
