"""Email and phone normalisation."""

from __future__ import annotations

import pytest

from crm_cli.domain.contactinfo import normalize_email, normalize_phone, valid_region
from crm_cli.errors import InvalidValue


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("030 1234567", "DE", "+49301234567"),
        ("+49 (0)30 1234567", None, "+49301234567"),
        ("(415) 555-0134", "US", "+14155550134"),
        ("010 6552 9988", "CN", "+861065529988"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("03-1234-5678", "JP", "+81312345678"),
        ("02-312-3456", "KR", "+8223123456"),
        ("0049 30 1234567", "DE", "+49301234567"),
    ],
)
def test_phones_to_e164(raw: str, region: str | None, e164: str) -> None:
    assert normalize_phone(raw, region) == e164


@pytest.mark.parametrize("raw", ["12", "hello", "", "+999 123"])
def test_bad_phones_name_the_value(raw: str) -> None:
    with pytest.raises(InvalidValue) as info:
        normalize_phone(raw, "DE")
    assert repr(raw) in str(info.value)


def test_national_number_without_region_asks_for_one() -> None:
    with pytest.raises(InvalidValue, match="phone_region"):
        normalize_phone("030 1234567", None)


def test_emails() -> None:
    assert normalize_email(" Ana@ACME.com ") == "Ana@acme.com"
    assert normalize_email("用户@例子.广告") == "用户@例子.广告"
    for bad in ["ana", "ana@", "@acme.com", "ana@acme", "a b@acme.com"]:
        with pytest.raises(InvalidValue) as info:
            normalize_email(bad)
        assert str(info.value).startswith(f"email {bad!r}")


def test_region() -> None:
    assert valid_region("de") == "DE"
    with pytest.raises(InvalidValue):
        valid_region("XX")
