"""Money as integer minor units with an ISO 4217 currency. Never a float.

`parse_amount("12000.50", "EUR")` gives 1200050; JPY has no minor unit, so "1500" is 1500 and
"1500.5" is refused rather than rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from crm_cli.errors import InvalidValue

# ISO 4217 active codes and their minor-unit exponent (2 unless listed otherwise).
_EXPONENT_0 = {
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}
_EXPONENT_3 = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_EXPONENT_4 = {"CLF", "UYW"}
_EXPONENT_2 = {
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CNY",
    "COP",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IRR",
    "JMD",
    "KES",
    "KGS",
    "KHR",
    "KPW",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "USD",
    "UYU",
    "UZS",
    "VES",
    "WST",
    "XCD",
    "XCG",
    "YER",
    "ZAR",
    "ZMW",
    "ZWG",
}
EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_EXPONENT_2, 2),
    **dict.fromkeys(_EXPONENT_0, 0),
    **dict.fromkeys(_EXPONENT_3, 3),
    **dict.fromkeys(_EXPONENT_4, 4),
}


def currency_code(value: str, field: str = "currency") -> str:
    code = value.strip().upper()
    if code not in EXPONENTS:
        raise InvalidValue(field, value, "not an ISO 4217 currency code (e.g. EUR, USD, JPY)")
    return code


def exponent(currency: str) -> int:
    return EXPONENTS[currency]


def parse_amount(text: str, currency: str, field: str = "value") -> int:
    """Parse a user-typed amount into minor units of `currency`.

    Accepts `12000`, `12000.50`, `12,000.50` and `12_000`; refuses negatives, more decimals than
    the currency has, and anything that is not a number.
    """
    cleaned = text.strip().replace("_", "").replace(",", "").replace(" ", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidValue(field, text, "not a number") from None
    if not amount.is_finite():
        raise InvalidValue(field, text, "not a number")
    if amount < 0:
        raise InvalidValue(field, text, "must not be negative")
    if amount.adjusted() > 30:
        raise InvalidValue(field, text, "too large")
    exp = exponent(currency)
    minor = amount.scaleb(exp)
    if minor != minor.to_integral_value():
        places = "no decimals" if exp == 0 else f"at most {exp} decimals"
        raise InvalidValue(field, text, f"{currency} takes {places}")
    result = int(minor)
    if result >= 2**62:
        raise InvalidValue(field, text, "too large")
    return result


def to_major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def major_number(minor: int, currency: str) -> int | float:
    """The amount in major units as a JSON number: an int when whole, else a float.

    Only for output: the float is exact to the currency's decimals because the value was
    parsed from exactly that many decimals.
    """
    value = to_major(minor, currency)
    return int(value) if value == value.to_integral_value() else float(value)


def format_money(minor: int, currency: str) -> str:
    exp = exponent(currency)
    value = to_major(minor, currency)
    return f"{value:,.{exp}f} {currency}"
