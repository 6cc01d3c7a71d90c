"""Emails and phone numbers: validated and normalised before they reach the store.

Phones become E.164 with the configured default region for numbers typed in national form.
The validator libraries are imported only when a value of their kind is given (phonenumbers
costs ~20 ms, email_validator ~27 ms of start-up).
"""

from __future__ import annotations

from crm_cli.errors import InvalidValue


def normalize_email(value: str, field: str = "email") -> str:
    """Return the address with its domain lower-cased, or refuse it."""
    from email_validator import EmailNotValidError, validate_email

    text = value.strip()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = str(exc).rstrip(".")
        raise InvalidValue(field, value, reason[0].lower() + reason[1:]) from None
    return str(result.normalized)


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
    if not phonenumbers.is_possible_number(number):
        raise InvalidValue(field, value, "not a possible phone number")
    formatted: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return formatted


def national_digits(e164: str) -> str:
    """The national significant number of an E.164 phone, for search ("030 1234" finds it)."""
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
