"""Values as people type them and as terminals show them.

- one money parser for every road in (command line, imports, TUI): the forms it reads, per
  currency exponent and `decimal_comma` setting, and the forms it refuses;
- the text checks services call before storing a name or a note;
- how an error quotes a value: cut when long, control characters escaped;
- stored text on a terminal: shown, never obeyed (escape sequences, Rich markup);
- times that every zone can show, and repeats that keep a time moved by the spring gap.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crm_cli.domain.dates import gap_origin, iso, localize, parse_date, parse_repeat, parse_when
from crm_cli.domain.money import parse_amount
from crm_cli.domain.text import clean_block, clean_line, escape_controls
from crm_cli.errors import CrmError, ExitCode, InvalidValue, NotFound, shown
from crm_cli.render import output
from crm_cli.render.output import Column

NBSP, NARROW_NBSP = "\u00a0", "\u202f"

# --- money: accepted ---------------------------------------------------------------------------

# (text, currency, decimal_comma, minor units). `decimal_comma` None is "tell from the text".
ACCEPTED: list[tuple[str, str, bool | None, int]] = [
    # EUR, two decimals
    ("12", "EUR", None, 1200),
    ("12", "EUR", True, 1200),
    ("12", "EUR", False, 1200),
    ("12.50", "EUR", None, 1250),
    ("12.50", "EUR", False, 1250),
    ("12.5", "EUR", None, 1250),
    ("0.01", "EUR", None, 1),
    ("12.5000", "EUR", None, 1250),  # zeros beyond the cents lose nothing
    ("1,234.50", "EUR", None, 123450),
    ("1,234.50", "EUR", False, 123450),
    ("1.234,50", "EUR", None, 123450),
    ("1.234,50", "EUR", True, 123450),
    ("1 234,50", "EUR", None, 123450),
    ("1 234,50", "EUR", True, 123450),
    ("1 234.50", "EUR", None, 123450),
    ("1 234.50", "EUR", False, 123450),
    (f"1{NBSP}234,50", "EUR", None, 123450),
    (f"1{NARROW_NBSP}234,50", "EUR", None, 123450),
    (f"1{NARROW_NBSP}234{NARROW_NBSP}567,89", "EUR", True, 123456789),
    ("12_000", "EUR", None, 1200000),
    ("12,50", "EUR", None, 1250),
    ("12,50", "EUR", True, 1250),
    ("12,5", "EUR", None, 1250),
    ("0,5", "EUR", None, 50),
    ("1.234.567,89", "EUR", None, 123456789),
    ("1,234,567.89", "EUR", None, 123456789),
    ("1.234.567", "EUR", None, 123456700),  # several dots can only group
    ("1,234,567", "EUR", None, 123456700),  # several commas likewise
    ("12,500", "EUR", False, 1250000),
    ("1.234", "EUR", True, 123400),
    ("1234567", "EUR", None, 123456700),
    ("+12", "EUR", None, 1200),
    (" 7 ", "EUR", None, 700),
    ("１２", "EUR", None, 1200),  # full-width digits
    # the currency's code or sign, before or after
    ("12 EUR", "EUR", None, 1200),
    ("eur 12", "EUR", None, 1200),
    ("€12", "EUR", None, 1200),
    ("12 €", "EUR", None, 1200),
    ("1.234,50 €", "EUR", None, 123450),
    ("$12,400.00", "USD", None, 1240000),
    ("US$ 12", "USD", None, 1200),
    ("R$ 1.234,56", "BRL", None, 123456),
    ("£1,000.00", "GBP", None, 100000),
    ("1'234.50", "CHF", None, 123450),
    ("1’234.50", "CHF", None, 123450),
    ("1 234,50 zł", "PLN", None, 123450),
    ("-0", "EUR", None, 0),
    # JPY, no decimals: a lone comma with three digits can only group
    ("12,500", "JPY", None, 12500),
    ("12,500", "JPY", False, 12500),
    ("1,500", "JPY", None, 1500),
    ("1.500", "JPY", True, 1500),
    ("1.234.567", "JPY", None, 1234567),
    ("1 500", "JPY", None, 1500),
    ("1500.0", "JPY", None, 1500),  # no fraction, so nothing is lost
    ("¥1,500", "JPY", None, 1500),
    ("1,500円", "JPY", None, 1500),
    ("12 JPY", "JPY", None, 12),
    # BHD, three decimals
    ("1.234", "BHD", None, 1234),
    ("12,500", "BHD", True, 12500),
    ("12,500", "BHD", False, 12500000),
    ("1,234.567", "BHD", None, 1234567),
    ("1.234,567", "BHD", None, 1234567),
    ("1 234,567", "BHD", None, 1234567),  # spaces group, so the comma is the decimal mark
    ("1234,567", "BHD", None, 1234567),  # "1234" is no thousands group
    ("0,500", "BHD", None, 500),
    ("12,5", "BHD", None, 12500),
    ("12,5", "BHD", True, 12500),
    ("1,234,567", "BHD", None, 1234567000),
]


@pytest.mark.parametrize(("text", "currency", "decimal_comma", "minor"), ACCEPTED)
def test_amounts_accepted(text: str, currency: str, decimal_comma: bool | None, minor: int) -> None:
    assert parse_amount(text, currency, decimal_comma=decimal_comma) == minor


# --- money: refused ----------------------------------------------------------------------------

MALFORMED = "not a well-formed number"
AMBIGUOUS = "ambiguous"

# (text, currency, decimal_comma, a part of the reason)
REFUSED: list[tuple[str, str, bool | None, str]] = [
    # EUR
    ("12,500", "EUR", None, AMBIGUOUS),
    ("1,234", "EUR", None, AMBIGUOUS),
    ("12,500", "EUR", True, "EUR takes at most 2 decimals"),
    ("12.50", "EUR", True, "decimal_comma on"),
    ("12,50", "EUR", False, "decimal_comma off"),
    ("1,234.50", "EUR", True, "decimal_comma on"),
    ("1.234,50", "EUR", False, "decimal_comma off"),
    ("12.345", "EUR", None, "EUR takes at most 2 decimals"),
    ("12.345", "EUR", None, "set defaults.decimal_comma"),  # the hint for 1.234 meant as 1234
    ("0,500", "EUR", None, "EUR takes at most 2 decimals"),
    ("12.000", "EUR", None, "EUR takes at most 2 decimals"),  # twelve thousand in Germany
    ("12.500", "EUR", False, "EUR takes at most 2 decimals"),
    ("0,,0", "EUR", None, MALFORMED),
    ("1,2,3", "EUR", None, MALFORMED),
    ("1.2.3", "EUR", None, MALFORMED),
    ("1,234,5", "EUR", None, MALFORMED),
    ("1,234.567,8", "EUR", None, MALFORMED),
    ("1.234.56", "EUR", None, MALFORMED),
    ("0,123,456", "EUR", None, MALFORMED),
    ("1,23,456.00", "INR", None, MALFORMED),  # Indian grouping: write 123456.00
    ("1 234,567.00", "EUR", None, MALFORMED),  # two kinds of group separator
    ("1  234", "EUR", None, MALFORMED),
    ("12 34", "EUR", None, MALFORMED),
    ("1_2", "EUR", None, MALFORMED),
    ("1. 234", "EUR", None, MALFORMED),
    (",5", "EUR", None, "not a number"),
    (".5", "EUR", None, "not a number"),
    ("5,", "EUR", None, "not a number"),
    ("12.", "EUR", None, "not a number"),
    ("--5", "EUR", None, "not a number"),
    ("+-5", "EUR", None, "not a number"),
    ("5-", "EUR", None, "not a number"),
    ("-5", "EUR", None, "must not be negative"),
    ("-0.01", "EUR", None, "must not be negative"),
    ("−5", "EUR", None, "must not be negative"),  # U+2212 MINUS SIGN
    ("-€5", "EUR", None, "must not be negative"),
    ("NaN", "EUR", None, "not a number"),
    ("nan", "EUR", None, "not a number"),
    ("inf", "EUR", None, "not a number"),
    ("Infinity", "EUR", None, "not a number"),
    ("1e5", "EUR", None, "not a number"),
    ("1E5", "EUR", None, "not a number"),
    ("12k", "EUR", None, "not a number"),
    ("", "EUR", None, "not a number"),
    ("   ", "EUR", None, "not a number"),
    ("EUR", "EUR", None, "not a number"),
    ("€", "EUR", None, "not a number"),
    ("١٢", "EUR", None, "not a number"),  # Arabic-Indic digits
    ("12 USD", "EUR", None, "the amount is in USD, not EUR"),
    ("USD 12", "EUR", None, "the amount is in USD, not EUR"),
    ("€12", "USD", None, "€ is not a sign of USD"),
    ("$12", "EUR", None, "$ is not a sign of EUR"),
    ("12 XYZ", "EUR", None, "not a number"),
    ("1" + "0" * 40, "EUR", None, "too large"),
    ("1" + "0" * 20, "EUR", None, "too large"),
    # JPY
    ("12,50", "JPY", None, "JPY takes no decimals"),
    ("1.500", "JPY", None, "JPY takes no decimals"),
    ("1.000", "JPY", None, "JPY takes no decimals"),
    ("12,500", "JPY", True, "JPY takes no decimals"),
    ("1500.5", "JPY", None, "JPY takes no decimals"),
    ("12 EUR", "JPY", None, "the amount is in EUR, not JPY"),
    # BHD
    ("12,500", "BHD", None, AMBIGUOUS),
    ("1.2345", "BHD", None, "BHD takes at most 3 decimals"),
    ("12.5", "BHD", True, "decimal_comma on"),
    ("1,234.5678", "BHD", None, "at most 3 decimals"),
]


@pytest.mark.parametrize(("text", "currency", "decimal_comma", "reason"), REFUSED)
def test_amounts_refused(text: str, currency: str, decimal_comma: bool | None, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_amount(text, currency, field="value", decimal_comma=decimal_comma)
    error = caught.value
    assert (error.field, error.value) == ("value", text)
    assert reason in error.reason, error.reason
    assert error.exit_code == ExitCode.USAGE
    assert repr(text) in str(error)


def test_an_ambiguous_amount_says_both_readings_and_the_setting() -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_amount("12,500", "EUR")
    assert caught.value.reason == (
        "ambiguous: 12500 or 12.500? write one of those, or set defaults.decimal_comma"
    )


# --- text checks for storing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("Ana Lima", "Ana Lima"),
        ("  Ana \t Lima\n", "Ana Lima"),
        ("Ana\r\nLima", "Ana Lima"),
        (f"Ana{NBSP}Lima", "Ana Lima"),
        ("张伟", "张伟"),
        ("مُحَمَّد علي", "مُحَمَّد علي"),
        ("שָׁלוֹם", "שָׁלוֹם"),
        ("मोहन राज", "मोहन राज"),
        ("김민준", "김민준"),
        ("Jose\u0301", "José"),  # NFC: one code point
        ("👩\u200d💻 Dev", "👩\u200d💻 Dev"),  # the joiner inside an emoji stays
        ("🙂", "🙂"),
        ("a\u200bb", "a\u200bb"),  # zero-width characters are allowed inside
        ("\u202eevil", "\u202eevil"),  # a format character, not a control; shown escaped
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("[red]x[/red]", "[red]x[/red]"),  # markup is text; the display escapes it
        ("x" * 500, "x" * 500),
    ],
)
def test_clean_line_accepts(value: str, stored: str) -> None:
    assert clean_line(value, "name") == stored


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("\x1b[2J evil", "control character (\\x1b at position 0)"),
        ("evil\x1b]0;title\x07", "control character (\\x1b at position 4)"),
        ("a\x00b", "control character (\\x00"),
        ("a\x7fb", "control character (\\x7f"),
        ("a\x85b", "control character (\\x85"),  # C1: NEXT LINE
        ("a\x9bb", "control character (\\x9b"),  # C1: CSI
        ("a\x0bb", "control character (\\x0b"),
        ("a\udcffb", "undecodable bytes (\\udcff at position 1)"),
        ("", "must not be empty"),
        ("   \n\t", "must not be empty"),
        ("\u200b", "must contain a visible character"),
        ("\ufeff", "must contain a visible character"),
        ("\u200b \ufeff \u200d", "must contain a visible character"),
        ("\u0301\u0308", "must contain a visible character"),
        ("\u202e", "must contain a visible character"),
        ("x" * 501, "too long (501 characters; at most 500)"),
    ],
)
def test_clean_line_refuses(value: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        clean_line(value, "name")
    assert caught.value.field == "name" and caught.value.value == value
    assert reason in caught.value.reason, caught.value.reason
    assert "\x1b" not in str(caught.value)


def test_clean_line_options() -> None:
    assert clean_line("", "title", required=False) == ""
    assert clean_line("  \n", "title", required=False) == ""
    with pytest.raises(InvalidValue):
        clean_line("\u200b", "title", required=False)  # not empty, but nothing to see
    assert clean_line("abc", "title", max_len=3) == "abc"
    with pytest.raises(InvalidValue, match="at most 2"):
        clean_line("abc", "title", max_len=2)


def test_clean_block() -> None:
    note = "Line one\r\n\tindented 佐藤\r\n\r\nlast 😀\n"
    assert clean_block(note, "notes") == "Line one\n\tindented 佐藤\n\nlast 😀"
    assert clean_block("  \n ", "notes") == ""
    assert clean_block("Jose\u0301", "notes") == "José"
    assert clean_block("a\u200bb", "notes") == "a\u200bb"
    for bad in ("a\rb", "\x1b]0;title\x07", "a\x00b", "\x1b[2J", "a\x85", "a\udcff"):
        with pytest.raises(InvalidValue) as caught:
            clean_block(bad, "notes")
        assert caught.value.value == bad
    with pytest.raises(InvalidValue, match="too long"):
        clean_block("abcd", "notes", max_len=3)


# --- how errors quote values -------------------------------------------------------------------


def test_a_long_value_is_cut_in_the_message_but_kept_whole() -> None:
    value = "a" * 100_000
    error = InvalidValue("name", value, "too long")
    assert str(error) == f"name '{'a' * 60}…' (100000 characters): too long"
    assert error.value == value
    missing = NotFound("contact", "b" * 1000)
    assert str(missing) == f"no contact '{'b' * 60}…' (1000 characters)"
    assert missing.ref == "b" * 1000


def test_controls_in_messages_are_escaped() -> None:
    error = InvalidValue("name", "\x1b[2J\r\x9b\u202e", "bad")
    assert str(error) == r"name '\x1b[2J\r\x9b\u202e': bad"
    # A value made of escapes is cut by what the message shows, not by its length.
    many = InvalidValue("name", "\x1b" * 100, "bad")
    assert "\x1b" not in str(many) and len(str(many)) < 100
    assert "(100 characters)" in str(many)
    # Every message, not only the ones that quote a value.
    assert CrmError("deal \x1b[2Jx is closed\n").message == r"deal \x1b[2Jx is closed\n"
    assert "\x1b" not in str(NotFound("deal", "\x1b]0;t\x07"))


def test_shown() -> None:
    assert shown("Ana") == "'Ana'"
    assert shown("it's") == '"it\'s"'
    assert shown(42) == "42"
    assert shown(None) == "None"
    assert shown(list(range(100))).endswith("…") and len(shown(list(range(100)))) == 60
    cut = shown("ab\x1b" * 50)
    assert cut.startswith("'ab\\x1bab") and cut.endswith("…' (150 characters)")


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain 张伟 😀", "plain 张伟 😀"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\rb\nc\td", "a\\rb\\nc\\td"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\x7f\x85\x9b", "\\x7f\\x85\\x9b"),
        ("\u202eabc\u2066", "\\u202eabc\\u2066"),
        ("a\u2028b", "a\\u2028b"),
        ("a\udcffb", "a\\udcffb"),
        ("a\u200bb\u200dc", "a\u200bb\u200dc"),  # invisible, but harmless: left alone
    ],
)
def test_escape_controls(text: str, escaped: str) -> None:
    assert escape_controls(text) == escaped


def test_escape_controls_can_keep_line_breaks() -> None:
    assert escape_controls("a\nb\tc\rd\x1b", keep="\n\t") == "a\nb\tc\\rd\\x1b"


# --- stored text on a terminal -----------------------------------------------------------------

EVIL = "\x1b[2J evil [red]x[/red] [link=https://evil.example]y[/link]"
COLUMNS = [Column("id", "ID", justify="right"), Column("name", "Name")]
ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": EVIL},
    {"id": 2, "name": "over\rwrite \x1b]0;title\x07 two\nlines \u202eevil"},
]


def test_plain_table_shows_controls_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    output.emit_rows(ROWS, COLUMNS, "table")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b[2J evil [red]x[/red] [link=https://evil.example]y[/link]" in out
    assert "over\\rwrite \\x1b]0;title\\x07 two\\nlines \\u202eevil" in out
    assert len(out.splitlines()) == 3  # a header and one line per row


def test_rich_table_prints_values_literally() -> None:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=80, highlight=False)
    output._rich_table(ROWS, COLUMNS, "\x1b[2J[bold]title", {"name": "[i]f"}, console)
    out = buffer.getvalue()
    assert "\x1b[" in out  # Rich's own styling is on: this is a terminal
    assert "\x1b[2J" not in out and "\x1b]" not in out and "\x07" not in out
    assert "\r" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out
    assert "[red]x[/red]" in out and "[link=https://evil.example]y[/link]" in out
    assert "\x1b]8;" not in out  # no hyperlink made from the name
    assert "[bold]title" in out and "[i]f" in out


def test_record_view_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    buffer = io.StringIO()
    monkeypatch.setattr(output, "stdout_is_tty", lambda: True)
    monkeypatch.setattr(
        output, "_console", lambda: Console(file=buffer, force_terminal=True, highlight=False)
    )
    record = {"name": EVIL, "notes": "first\nsecond \x1b[2J"}
    fields = [("name", "Name"), ("notes", "Notes")]
    output.emit_record(record, fields, "table", title=EVIL)
    out = buffer.getvalue()
    assert "\x1b[2J" not in out and "[red]x[/red]" in out
    assert "Notes  first\n       second \\x1b[2J" in out.replace("\x1b[0m", "")


def test_plain_record_view_keeps_note_lines_indented(capsys: pytest.CaptureFixture[str]) -> None:
    record = {"name": "Ana\x1b[2J", "notes": "first\nsecond\r\n\tthird"}
    output.emit_record(record, [("name", "Name"), ("notes", "Notes")], "table")
    assert capsys.readouterr().out.splitlines() == [
        "Name:  Ana\\x1b[2J",
        "Notes: first",
        "       second\\r",
        "       \tthird",
    ]


def test_json_escapes_what_a_terminal_would_obey(capsys: pytest.CaptureFixture[str]) -> None:
    data = [{"name": "a\x1b[2J\x9b2J\u202e\u2028\x7f 张伟"}]
    output.write_json(data)
    out = capsys.readouterr().out
    assert all(ch not in out for ch in "\x1b\x9b\u202e\u2028\x7f")
    assert "张伟" in out  # not ASCII-escaped
    assert json.loads(out) == data


def test_csv_stays_the_exact_data(capsys: pytest.CaptureFixture[str]) -> None:
    output.emit_rows(ROWS[:1], COLUMNS, "csv")
    assert EVIL in capsys.readouterr().out


def test_messages_are_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    output.message("Added \x1b[2Jevil\nline")
    output.warn("\x1b]0;t\x07")
    assert capsys.readouterr().err.splitlines() == [
        "Added \\x1b[2Jevil\\nline",
        "crm: warning: \\x1b]0;t\\x07",
    ]


# --- times every zone can show -----------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
NIUE = ZoneInfo("Pacific/Niue")  # UTC-11
NOW = datetime(2026, 11, 18, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31 23:30",
        "9999-01-01",
        "9999-12-31T23:30Z",
        "1899-12-31 23:00",
        "0001-01-01",
        "0202-03-04",
        "in 8000 years",
        "+99999999d",
        "-9999999d",
        "9998-12-31T23:00-12:00",  # 9999 in Kiritimati
    ],
)
def test_times_beyond_the_bounds_are_refused(text: str) -> None:
    for tz in (KIRITIMATI, NIUE):
        with pytest.raises(InvalidValue) as caught:
            parse_when(text, tz, now=NOW, field="due")
        assert caught.value.reason == "must be between 1900-01-01 and 9998-12-31"
        assert caught.value.value == text


def test_times_at_the_bounds_show_in_every_zone() -> None:
    for tz in (KIRITIMATI, NIUE, BERLIN):
        late = parse_when("9998-12-31 23:59", tz, now=NOW)
        early = parse_when("1900-01-01 00:00", tz, now=NOW)
        for other in (KIRITIMATI, NIUE, TOKYO, ZoneInfo("America/Los_Angeles")):
            assert iso(late, other) is not None and iso(early, other) is not None
            late.astimezone(other)
    with pytest.raises(InvalidValue, match="must be between"):
        parse_date("9999-01-01", BERLIN)
    with pytest.raises(InvalidValue, match="must be between"):
        parse_date("1899-12-31", BERLIN)
    assert parse_date("9998-12-31", BERLIN) == date(9998, 12, 31)


def test_iso_never_overflows() -> None:
    """A row stored before the bounds existed still shows: in UTC, rather than failing."""
    stored = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
    assert iso(stored, TOKYO) == "9999-12-31T23:30:00+00:00"
    assert iso(stored, NIUE) == "9999-12-31T12:30:00-11:00"
    assert iso(datetime(1, 1, 1, tzinfo=UTC), NIUE) == "0001-01-01T00:00:00+00:00"


# --- repeats created in the spring gap ---------------------------------------------------------


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    return localize(day, time(hour, minute), BERLIN).astimezone(UTC)


def local_times(rule: str, start: datetime, count: int) -> list[str]:
    repeat, done = parse_repeat(rule), [start]
    for _ in range(count):
        done.append(repeat.next_after(done[-1], BERLIN, previous=reversed(done[:-1])))
    return [d.astimezone(BERLIN).isoformat(timespec="minutes") for d in done[1:]]


def test_a_daily_series_created_in_the_gap_goes_back_to_its_time() -> None:
    first = parse_when("2027-03-28 02:30", BERLIN, now=NOW)  # 02:30 does not exist that night
    assert first.astimezone(BERLIN).isoformat() == "2027-03-28T03:30:00+02:00"
    assert gap_origin(first, BERLIN) == time(2, 30)
    assert local_times("daily", first, 3) == [
        "2027-03-29T02:30+02:00",
        "2027-03-30T02:30+02:00",
        "2027-03-31T02:30+02:00",
    ]


def test_a_weekly_and_a_monthly_series_created_in_the_gap() -> None:
    first = parse_when("2027-03-28 02:30", BERLIN, now=NOW)
    assert local_times("weekly", first, 2) == ["2027-04-04T02:30+02:00", "2027-04-11T02:30+02:00"]
    assert local_times("monthly", first, 1) == ["2027-04-28T02:30+02:00"]


def test_a_series_at_0330_before_the_gap_stays_at_0330() -> None:
    assert local_times("daily", berlin(date(2027, 3, 27), 3, 30), 3) == [
        "2027-03-28T03:30+02:00",
        "2027-03-29T03:30+02:00",
        "2027-03-30T03:30+02:00",
    ]
