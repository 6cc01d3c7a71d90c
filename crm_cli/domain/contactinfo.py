"""Emails and phone numbers: validated and normalised before they reach the store.

Phones become E.164 with the configured default region for numbers typed in national form.
phonenumbers is imported only when a phone is given (~20 ms of start-up).

An import checks a hundred thousand phones at once, so two of phonenumbers' steps have exact
faster stand-ins here (`_phonenumbers`): its digit normaliser for ASCII text, and its validity
check for a country code that has one region. Measured on 100,000 German numbers: parse 1.57 s
to 1.25 s, validity 0.49 s to ~0.1 s; tests/unit/test_contactinfo.py compares both with the
library's own answers.
"""

from __future__ import annotations

import re
from typing import Any

from crm_cli.errors import InvalidValue

_ATEXT = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
_LDH = set("abcdefghijklmnopqrstuvwxyz0123456789-")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_LABEL}")


def normalize_email(value: str, field: str = "email") -> str:
    """Check an address's syntax (RFC 5321/5322 dot-atom, RFC 6531 Unicode) and return it
    with its domain lower-cased.

    Written here rather than taken from email-validator: that library costs ~15 ms of start-up
    on every command that takes an email, and what crm needs is a syntax check, not delivery.
    Quoted local parts ("a b"@x.com) and address literals (a@[1.2.3.4]) are refused: real
    contacts do not use them.
    """
    text = value.strip()
    # The common case, in one regular expression: ASCII, a dot-atom before the @ and a host
    # name of letters, digits and hyphens after it. It accepts only what the checks below
    # accept, and gives the same result; anything else takes the checks.
    if text.isascii() and _PLAIN_EMAIL.fullmatch(text):
        local, domain = text.split("@")
        last = domain.rpartition(".")[2]
        if len(local) <= 64 and len(domain) <= 253 and not last.isdigit():
            return f"{local}@{domain.lower()}"
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    if text.count("@") != 1:
        raise InvalidValue(field, value, "an email address has one @")
    local, domain = text.split("@")
    if not local:
        raise InvalidValue(field, value, "nothing before the @")
    if len(local.encode()) > 64:
        raise InvalidValue(field, value, "the part before the @ is longer than 64 bytes")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidValue(field, value, "dots must sit between characters before the @")
    bad = [
        ch
        for ch in local
        if ch != "."
        and ch not in _ATEXT
        and (ord(ch) < 128 or not ch.isprintable() or ch.isspace())
    ]
    if bad:
        raise InvalidValue(field, value, f"{bad[0]!r} is not allowed before the @")
    return f"{local}@{_domain(domain, value, field)}"


def _domain(domain: str, value: str, field: str) -> str:
    name = (
        domain.lower().rstrip(".")
        if domain.endswith(".") and not domain.endswith("..")
        else domain.lower()
    )
    if not name:
        raise InvalidValue(field, value, "nothing after the @")
    labels = name.split(".")
    if len(labels) < 2:
        raise InvalidValue(field, value, f"{domain!r} is not a full domain name (e.g. acme.com)")
    ascii_labels = []
    for label in labels:
        if not label:
            raise InvalidValue(field, value, "the domain has an empty part")
        if label.isascii():
            ascii_label = label
        else:
            try:
                ascii_label = label.encode("idna").decode("ascii")
            except UnicodeError:
                raise InvalidValue(field, value, f"{label!r} is not a valid domain label") from None
        if (
            len(ascii_label) > 63
            or not set(ascii_label) <= _LDH
            or ascii_label.startswith("-")
            or ascii_label.endswith("-")
        ):
            raise InvalidValue(field, value, f"{label!r} is not a valid domain label")
        ascii_labels.append(ascii_label)
    if len(".".join(ascii_labels)) > 253:
        raise InvalidValue(field, value, "the domain is longer than 253 characters")
    if ascii_labels[-1].isdigit():
        raise InvalidValue(field, value, "the domain must end in a name, not a number")
    return ".".join(labels)


def normalize_phone(value: str, region: str | None, field: str = "phone") -> str:
    """Return the number in E.164 (`+4930123456`), or refuse it.

    A number in national form needs `region` (ISO 3166 alpha-2, from `defaults.phone_region`).
    An extension (`ext. 12`, `x12`, `;ext=12` in a tel: URI) is kept after the number as
    phonenumbers writes it, `+4930123456 ext. 12`: two extensions of one switchboard are two
    people. Not as RFC 3966's `;ext=`: a `;` separates the values of a CSV cell.
    """
    phonenumbers = _phonenumbers()

    text = value.strip()
    if not text:
        raise InvalidValue(field, value, "is empty")
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException as exc:
        reason = {
            phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: (
                "no country code; write it as +CC... or set defaults.phone_region"
            ),
        }.get(exc.error_type, "not a phone number")
        raise InvalidValue(field, value, reason) from None
    if not _is_valid(number):
        # The library's per-country number plans are updated with each release; a number it
        # rejects is, in practice, mistyped.
        raise InvalidValue(field, value, "not a valid phone number for its country")
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    formatted = e164 + EXTENSION + str(number.extension) if number.extension else e164
    # Remembered for `national_digits`, which the search index asks for right after: parsing
    # the number a second time was a tenth of a 100,000-row import.
    if len(_NATIONAL) >= _NATIONAL_MAX:
        _NATIONAL.clear()
    _NATIONAL[e164] = str(phonenumbers.national_significant_number(number))
    return formatted


# Between a stored number and its extension: phonenumbers' own text for it.
EXTENSION = " ext. "

_NATIONAL: dict[str, str] = {}
_NATIONAL_MAX = 250_000

# Digits 0-9 are the only ASCII characters Unicode gives a digit value.
_NOT_ASCII_DIGITS = {c: None for c in range(128) if not 48 <= c <= 57}
_READY: list[Any] = []


def _phonenumbers() -> Any:
    """The phonenumbers module, its ASCII digit normaliser replaced (once) by an exact faster
    one.

    `normalize_digits_only` looks every character up in the Unicode database one at a time
    (a fifth of `parse`). For ASCII text the only characters with a digit value are 0-9, so
    the result is the text without its other characters (or the text itself, when they are
    kept); other text goes to the library's own function. Module-level functions of
    phonenumbers call it by its global name, so they all get the stand-in.
    """
    if _READY:
        return _READY[0]
    import phonenumbers
    from phonenumbers import phonenumberutil

    original = getattr(phonenumberutil, "normalize_digits_only", None)
    if original is not None and not getattr(original, "_crm_ascii", False):

        def normalize_digits_only(number: Any, keep_non_digits: bool = False) -> Any:
            if type(number) is str and number.isascii():
                return number if keep_non_digits else number.translate(_NOT_ASCII_DIGITS)
            return original(number, keep_non_digits)

        normalize_digits_only._crm_ascii = True  # type: ignore[attr-defined]
        normalize_digits_only._crm_original = original  # type: ignore[attr-defined]
        phonenumberutil.normalize_digits_only = normalize_digits_only
    # The library's own switch: its metadata patterns kept compiled in a dictionary rather
    # than looked up in the re module's cache on every use (four times a number).
    from phonenumbers import re_util

    enable = getattr(re_util, "enable_pattern_cache", None)
    if enable is not None:
        enable()
    _READY.append(phonenumbers)
    return phonenumbers


# Per country code with a single region: the (lengths, pattern) pairs of its general number
# description and of each number type (None: the library decides).
_CHECKS: dict[int, Any] = {}
# The order does not change the answer (any one type makes a number valid); the common
# types first end the search early.
_TYPES = (
    "fixed_line",
    "mobile",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


def _is_valid(number: Any) -> bool:
    """`phonenumbers.is_valid_number`, faster for a country code with one region: the
    number's national significant number matches the region's general description and one of
    its number types (length first, then the pattern), which is what the library's type
    lookup decides, without its chain of calls per type. Country codes several regions share
    (+1, +7, +44, ...) go to the library."""
    phonenumbers = _phonenumbers()
    code = number.country_code
    checks = _CHECKS.get(code, False)
    if checks is False:
        checks = _CHECKS[code] = _checks_for(code)
    if checks is None:
        return bool(phonenumbers.is_valid_number(number))
    general, types = checks
    nsn = phonenumbers.national_significant_number(number)
    size = len(nsn)
    lengths, pattern = general
    if (lengths and size not in lengths) or pattern is None or not pattern.fullmatch(nsn):
        return False
    return any(
        (not lengths or size in lengths) and pattern.fullmatch(nsn) for lengths, pattern in types
    )


def _checks_for(code: int) -> Any:
    import re

    from phonenumbers.phonemetadata import PhoneMetadata
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions or len(regions) != 1:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0].upper())
    if metadata is None or metadata.general_desc is None:
        return None

    def pair(desc: Any) -> tuple[frozenset[int], Any]:
        pattern = desc.national_number_pattern
        return frozenset(desc.possible_length or ()), re.compile(pattern) if pattern else None

    types = [pair(d) for d in (getattr(metadata, t) for t in _TYPES) if d is not None]
    return pair(metadata.general_desc), [(n, p) for n, p in types if p is not None]


def national_digits(e164: str) -> str:
    """The national significant number of an E.164 phone, for search ("030 1234" finds it);
    an extension is not part of it."""
    e164 = e164.partition(EXTENSION)[0]
    known = _NATIONAL.get(e164)
    if known is not None:
        return known
    phonenumbers = _phonenumbers()

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164.lstrip("+")
    return str(phonenumbers.national_significant_number(number))


def valid_region(value: str, field: str = "defaults.phone_region") -> str:
    import phonenumbers

    code = value.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidValue(field, value, "not a region code (ISO 3166, e.g. DE, US, CN)")
    return code
