"""Money as integer minor units with an ISO 4217 currency. Never a float.

`parse_amount("12000.50", "EUR")` gives 1200050; JPY has no minor unit, so "1500" is 1500 and
"1500.5" is refused rather than rounded.

One parser reads every amount a person types or a file holds (the command line, imports, the
TUI), in the forms people write: `1,234.50`, `1.234,50`, `1 234,50`, `1'234.50`, `12_000`,
with a currency sign or code before or after (`$12,400.00`, `R$ 1.234,56`, `12 EUR`, `€12`).
It never guesses: `12,500` in EUR could be twelve thousand five hundred or twelve and a half,
so it is refused with the two readings, unless the caller says which mark is the decimal one
(`decimal_comma`, the setting `defaults.decimal_comma`). Digits are grouped in threes: the
Indian lakh grouping `1,23,456.00` is refused as malformed (write `123456.00`), because
accepting groups of two would make `1,23` readable as a decimal.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

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


# Signs written before or after an amount, and the currencies that use them (keys are
# case-folded, after NFKC normalisation: the rupee sign ₨ becomes "rs", ￥ becomes ¥). A sign of
# another currency is refused rather than ignored: "€12" is not a USD amount.
_DOLLAR = frozenset(
    "USD AUD CAD NZD HKD SGD TWD MXN ARS CLP COP CUP DOP UYU BSD BBD BZD BMD BND FJD GYD JMD "
    "KYD LRD NAD SBD SRD TTD XCD".split()
)
_SIGNS: dict[str, frozenset[str]] = {
    "$": _DOLLAR,
    "us$": frozenset({"USD"}),
    "a$": frozenset({"AUD"}),
    "au$": frozenset({"AUD"}),
    "c$": frozenset({"CAD", "NIO"}),
    "ca$": frozenset({"CAD"}),
    "hk$": frozenset({"HKD"}),
    "nz$": frozenset({"NZD"}),
    "s$": frozenset({"SGD"}),
    "nt$": frozenset({"TWD"}),
    "mx$": frozenset({"MXN"}),
    "r$": frozenset({"BRL"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP", "EGP", "FKP", "GIP", "SHP", "SSP", "SYP", "LBP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "円": frozenset({"JPY"}),
    "元": frozenset({"CNY"}),
    "원": frozenset({"KRW"}),
    "₩": frozenset({"KRW", "KPW"}),
    "₹": frozenset({"INR"}),
    "rs": frozenset({"INR", "PKR", "LKR", "NPR", "MUR", "SCR"}),
    "₽": frozenset({"RUB"}),
    "₺": frozenset({"TRY"}),
    "₪": frozenset({"ILS"}),
    "₫": frozenset({"VND"}),
    "₴": frozenset({"UAH"}),
    "₦": frozenset({"NGN"}),
    "₱": frozenset({"PHP"}),
    "₡": frozenset({"CRC"}),
    "₲": frozenset({"PYG"}),
    "₵": frozenset({"GHS"}),
    "₸": frozenset({"KZT"}),
    "₼": frozenset({"AZN"}),
    "₾": frozenset({"GEL"}),
    "₭": frozenset({"LAK"}),
    "₮": frozenset({"MNT"}),
    "฿": frozenset({"THB"}),
    "kr": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "zł": frozenset({"PLN"}),
    "kč": frozenset({"CZK"}),
    "ft": frozenset({"HUF"}),
    "lei": frozenset({"RON", "MDL"}),
    "r": frozenset({"ZAR"}),
    "rp": frozenset({"IDR"}),
    "rm": frozenset({"MYR"}),
}
# Group separators that are never a decimal mark: spaces (NBSP and the narrow NBSP become
# plain spaces under NFKC), Python's underscore, the Swiss apostrophe.
_GROUP_ONLY = " _'’"
_NUMBER = re.compile(r"[0-9](?:[0-9.,_ '’]*[0-9])?")
_AFFIX_START = re.compile(r"[^0-9\s.,_'’+\-]+")
_AFFIX_END = re.compile(r"[^0-9\s.,_'’+\-]+$")
_MALFORMED = {
    None: "not a well-formed number: group digits in threes with one kind of separator "
    "(1,234,567.89 or 1.234.567,89 or 1 234 567,89)",
    True: "not a well-formed number with decimal_comma on: ',' marks the decimals and '.' "
    "or a space groups thousands (1.234,50)",
    False: "not a well-formed number with decimal_comma off: '.' marks the decimals and ',' "
    "or a space groups thousands (1,234.50)",
}


def parse_amount(
    text: str, currency: str, field: str = "value", decimal_comma: bool | None = None
) -> int:
    """Parse a typed or imported amount into minor units of `currency`.

    `decimal_comma` says which mark is the decimal one: True for `,` (then `.` and spaces
    group thousands), False for `.` (then `,` and spaces group), None to tell from the text
    and refuse when it cannot be told. With None, a dot is the decimal mark unless it comes
    several times or before a comma; a single comma is the decimal mark when 1, 2 or 4+
    digits follow it; with 3 digits after it, it groups thousands in a currency without
    decimals (JPY `12,500`) and is refused as ambiguous otherwise (EUR `12,500`).

    Refused: negatives, more decimals than the currency has (zeros beyond them pass, as in
    `1500.0` JPY, but not three decimals: `12.000` EUR may be twelve thousand), malformed
    grouping (`1,2,3`, `1,234,5`, `0,,0`), separators at either end, exponents, NaN and
    infinity, and a currency code or sign of another currency (`12 USD` for EUR).
    """
    body, negative = _unwrap(text, currency, field)
    whole, fraction, mark = _split(body, text, currency, field, decimal_comma)
    exp = exponent(currency)
    if len(whole.lstrip("0")) > 30:
        raise InvalidValue(field, text, "too large")
    # Decimals beyond the currency's pass only as zeros ("1500.0" JPY), and never three of
    # them: "12.500" and "12,500" may mean twelve thousand five hundred.
    if fraction[exp:].strip("0") or (len(fraction) == 3 and exp < 3):
        places = "no decimals" if exp == 0 else f"at most {exp} decimals"
        reason = f"{currency} takes {places}"
        if decimal_comma is None and mark == "." and len(fraction) == 3 and "," not in body:
            reason += " (if '.' groups thousands here, set defaults.decimal_comma)"
        raise InvalidValue(field, text, reason)
    minor = int(whole + fraction[:exp].ljust(exp, "0"))  # the digits, shifted by `exp`
    if negative and minor > 0:
        raise InvalidValue(field, text, "must not be negative")
    if minor >= 2**62:
        raise InvalidValue(field, text, "too large")
    return minor


def _unwrap(text: str, currency: str, field: str) -> tuple[str, bool]:
    """The number in `text` without its sign and currency affixes; whether it was negative."""
    rest = unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()
    sign = ""
    if rest[:1] in ("+", "-"):
        sign, rest = rest[0], rest[1:].lstrip()
    affixes = []
    start = _AFFIX_START.match(rest)
    if start:
        affixes.append(start.group())
        rest = rest[start.end() :].lstrip()
        if not sign and rest[:1] in ("+", "-"):  # "$-12"
            sign, rest = rest[0], rest[1:].lstrip()
    end = _AFFIX_END.search(rest)
    if end:
        affixes.append(end.group())
        rest = rest[: end.start()].rstrip()
    if not _NUMBER.fullmatch(rest):
        raise InvalidValue(field, text, "not a number")
    for affix in affixes:
        _check_affix(affix, currency, text, field)
    return rest, sign == "-"


def _check_affix(affix: str, currency: str, text: str, field: str) -> None:
    code = affix.upper()
    if code == currency:
        return
    if code in EXPONENTS:
        raise InvalidValue(field, text, f"the amount is in {code}, not {currency}")
    users = _SIGNS.get(affix.casefold())
    if users is None:
        raise InvalidValue(field, text, "not a number")
    if currency not in users:
        raise InvalidValue(field, text, f"{affix} is not a sign of {currency}")


def _split(
    body: str, text: str, currency: str, field: str, decimal_comma: bool | None
) -> tuple[str, str, str | None]:
    """The whole digits, the decimal digits and the decimal mark of a number's text."""
    malformed = _MALFORMED[decimal_comma]
    if re.search(r"[^0-9]{2}", body):  # "0,,0", "1. 234"
        raise InvalidValue(field, text, malformed)
    if decimal_comma is None:
        mark = _infer_mark(body, text, currency, field)
    else:
        mark = "," if decimal_comma else "."
        if body.count(mark) > 1:  # "1,234,567" with decimal_comma on: one decimal mark
            raise InvalidValue(field, text, malformed)
    whole, fraction = body, ""
    if mark is not None and mark in body:
        whole, _, fraction = body.rpartition(mark)
        if not fraction.isdigit():  # "1,234.567,8"; "1,234.50" with decimal_comma on
            raise InvalidValue(field, text, malformed)
    if not _grouped(whole):
        raise InvalidValue(field, text, malformed)
    return re.sub("[^0-9]", "", whole), fraction, mark


def _infer_mark(body: str, text: str, currency: str, field: str) -> str | None:
    """The decimal mark of `body` when the text alone tells it; None for a whole number."""
    dot, comma = body.rfind("."), body.rfind(",")
    if dot >= 0 and comma >= 0:
        return "." if dot > comma else ","  # the last one; the other groups
    if dot >= 0:
        return "." if body.count(".") == 1 else None
    if comma < 0 or body.count(",") > 1:
        return None
    whole, _, after = body.partition(",")
    if not after.isdigit():
        return None  # "1,234 567": malformed either way
    if len(after) != 3 or any(ch in _GROUP_ONLY for ch in whole) or not _grouped(body):
        return ","  # "12,50", "1 234,567" (groups cannot mix), "0,500", "1234,567"
    if exponent(currency) == 0:
        return None  # no decimals to mark: "12,500" JPY is twelve thousand five hundred
    raise InvalidValue(
        field,
        text,
        f"ambiguous: {whole}{after} or {whole}.{after}? write one of those, "
        "or set defaults.decimal_comma",
    )


def _grouped(whole: str) -> bool:
    """Whether a whole part's digit groups are well formed: 1 to 3 digits, then threes, with
    one kind of separator (the apostrophes count as one)."""
    groups = re.split("[^0-9]", whole)
    if len(groups) == 1:
        return True
    kinds = {"'" if ch == "’" else ch for ch in whole if not ch.isdigit()}
    first = groups[0]
    return (
        len(kinds) == 1
        and 1 <= len(first) <= 3
        and not first.startswith("0")
        and all(len(group) == 3 for group in groups[1:])
    )


def to_major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def major_number(minor: int, currency: str) -> int | float:
    """The amount in major units as a JSON number: an int when whole, else a float.

    Only for output: the float is exact to the currency's decimals because the value was
    parsed from exactly that many decimals.
    """
    scale: int = 10 ** exponent(currency)
    whole, rest = divmod(minor, scale)
    # minor / scale is the float nearest the exact amount (IEEE division rounds correctly).
    return whole if not rest else minor / scale


def format_money(minor: int, currency: str) -> str:
    exp = exponent(currency)
    value = to_major(minor, currency)
    return f"{value:,.{exp}f} {currency}"
