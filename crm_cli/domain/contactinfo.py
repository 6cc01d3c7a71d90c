"""Emails and phone numbers: validated and normalised before they reach the store.

Phones become E.164 with the configured default region for numbers typed in national form.
phonenumbers is imported only when a phone is given (~20 ms of start-up).
"""

from __future__ import annotations

from crm_cli.errors import InvalidValue

_ATEXT = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~")
_LDH = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def normalize_email(value: str, field: str = "email") -> str:
    """Check an address's syntax (RFC 5321/5322 dot-atom, RFC 6531 Unicode) and return it
    with its domain lower-cased.

    Written here rather than taken from email-validator: that library costs ~15 ms of start-up
    on every command that takes an email, and what crm needs is a syntax check, not delivery.
    Quoted local parts ("a b"@x.com) and address literals (a@[1.2.3.4]) are refused: real
    contacts do not use them.
    """
    import unicodedata

    text = unicodedata.normalize("NFC", value.strip())
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
    """
    import phonenumbers

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
    if not phonenumbers.is_valid_number(number):
        # The library's per-country number plans are updated with each release; a number it
        # rejects is, in practice, mistyped.
        raise InvalidValue(field, value, "not a valid phone number for its country")
    formatted: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # Remembered for `national_digits`, which the search index asks for right after: parsing
    # the number a second time was a tenth of a 100,000-row import.
    if len(_NATIONAL) >= _NATIONAL_MAX:
        _NATIONAL.clear()
    _NATIONAL[formatted] = str(phonenumbers.national_significant_number(number))
    return formatted


_NATIONAL: dict[str, str] = {}
_NATIONAL_MAX = 250_000


def national_digits(e164: str) -> str:
    """The national significant number of an E.164 phone, for search ("030 1234" finds it)."""
    known = _NATIONAL.get(e164)
    if known is not None:
        return known
    import phonenumbers

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
