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


def test_fast_phone_steps_answer_as_the_library_does() -> None:
    """The ASCII digit normaliser and the validity check stand in for phonenumbers' own:
    the same parse results and the same validity, for numbers of every region."""
    import random

    import phonenumbers
    from phonenumbers import phonenumberutil

    from crm_cli.domain import contactinfo

    contactinfo._phonenumbers()
    original = phonenumberutil.normalize_digits_only._crm_original  # the library's own
    rng = random.Random(7)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    inputs = ["030 1234567", "٠٣٠ ١٢٣٤٥٦٧", "1-800-FLOWERS", "030 123 ext. 12", "+1 650 253 0000"]
    for _ in range(4000):
        region = rng.choice(regions)
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 13)))
        example = phonenumbers.example_number(region)
        if example is not None and rng.random() < 0.3:
            inputs.append(phonenumbers.format_number(example, rng.choice([0, 1, 2])))
        else:
            inputs.append(rng.choice(["+", "00", "0", ""]) + digits)

    def parsed() -> list[object]:
        out: list[object] = []
        for text in inputs:
            try:
                out.append(phonenumbers.parse(text, "DE"))
            except phonenumbers.NumberParseException as exc:
                out.append(exc.error_type)
        return out

    phonenumberutil.normalize_digits_only = original
    try:
        before = parsed()
    finally:
        contactinfo._READY.clear()
        contactinfo._phonenumbers()
    assert parsed() == before
    numbers = [n for n in before if isinstance(n, phonenumbers.PhoneNumber)]
    assert sum(phonenumbers.is_valid_number(n) for n in numbers) > 100
    assert [contactinfo._is_valid(n) for n in numbers] == [
        phonenumbers.is_valid_number(n) for n in numbers
    ]


def test_the_plain_email_shortcut_agrees_with_the_full_check() -> None:
    import random
    import re

    from crm_cli.domain import contactinfo

    rng = random.Random(3)
    alphabet = "abcXYZ019.-_+!#'\" é@"
    cases = ["a@b.c", " Ana@ACME.com ", "a..b@c.d", ".a@b.c", "a@b.123", "a@-b.c", "a@b.c."]
    cases += ["x" * 65 + "@a.com", "a@" + "x" * 64 + ".com", "a@b..c", "a@" + "b." * 130 + "c"]
    for _ in range(5000):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        cases.append(local + rng.choice(["@ex.com", "", "@", "@a", "@A.B.C", "@x-.y", "@1.2"]))

    def answers() -> list[object]:
        out: list[object] = []
        for case in cases:
            try:
                out.append(contactinfo.normalize_email(case))
            except InvalidValue as exc:
                out.append(str(exc))
        return out

    fast = answers()
    shortcut = contactinfo._PLAIN_EMAIL
    contactinfo._PLAIN_EMAIL = re.compile(r"(?!)")  # never matches: the full check only
    try:
        assert answers() == fast
    finally:
        contactinfo._PLAIN_EMAIL = shortcut
