"""Every listing and every `show` through the real command, on terminals 80, 100 and 160 wide.

The terminal is made with `COLUMNS` (Rich reads it) and `stdout_is_tty`; the data has CJK
names (two cells a character) and an email longer than most terminals leave for it. For each:

- no line is wider than the terminal (measured in cells);
- every id, date, time, email, phone and amount is on one line, whole, or its column is named
  in the one stderr line that says what was hidden;
- overdue, today, won and lost are coloured on a terminal and said in words under NO_COLOR;
- in a pipe nothing changes: every column, nothing cut, whatever COLUMNS says.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len
from rich.console import Console

from crm_cli.domain.money import format_money
from crm_cli.render import output

WIDTHS = (80, 100, 160)
EMAIL = "maximilian.mustermann-schmidt@very-long-company-domain.example.com"
COMPANY = "Very Long Company Domain Holding GmbH & Co. KG"
BERLIN = ZoneInfo("Europe/Berlin")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

SETUP: list[list[str]] = [
    ["company", "add", COMPANY, "--domain", "very-long-company-domain.example.com"],
    ["contact", "add", "张伟", "--email", "zhang.wei@example.cn", "--phone", "+86 10 6552 9988"],
    ["contact", "edit", "zhang.wei@example.cn", "--company", COMPANY],
    [
        "contact",
        "add",
        "佐藤 花子",
        "--email",
        "hanako.sato@example.jp",
        "--phone",
        "+81 3-1234-5678",
    ],
    ["contact", "add", "김민준", "--email", "minjun.kim@example.kr", "--phone", "+82 2-312-3456"],
    [
        "contact",
        "add",
        "Maximilian Mustermann-Schmidt",
        "--email",
        EMAIL,
        "--phone",
        "+49 30 12345678",
        "--title",
        "Head of Procurement and Strategic Partnerships",
        "--company",
        COMPANY,
    ],  # fmt: skip
    [
        "deal",
        "add",
        "张伟 annual renewal of the enterprise licence",
        "--contact",
        "zhang.wei@example.cn",
        "--value",
        "120000",
        "--close",
        "2027-01-31",
    ],  # fmt: skip
    [
        "deal",
        "add",
        "Sato onboarding",
        "--contact",
        "hanako.sato@example.jp",
        "--value",
        "850000",
        "--currency",
        "JPY",
        "--close",
        "+30d",
    ],  # fmt: skip
    ["deal", "add", "Signed pilot", "--contact", EMAIL, "--stage", "won", "--value", "5000"],
    [
        "deal",
        "add",
        "Lost tender",
        "--contact",
        "minjun.kim@example.kr",
        "--stage",
        "lost",
        "--reason",
        "price",
        "--value",
        "7000",
    ],  # fmt: skip
    [
        "followup",
        "add",
        "Call 张伟 about the renewal terms and the new price list",
        "--contact",
        "zhang.wei@example.cn",
        "--due",
        "-1d",
        "--deal",
        "1",
    ],  # fmt: skip
    [
        "followup",
        "add",
        "Send 佐藤 花子 the onboarding checklist",
        "--contact",
        "hanako.sato@example.jp",
        "--due",
        "+2d",
    ],  # fmt: skip
    [
        "followup",
        "add",
        "Prepare the quarterly business review deck for Maximilian",
        "--contact",
        EMAIL,
        "--due",
        "tomorrow 9:00",
        "--priority",
        "high",
    ],  # fmt: skip
    [
        "followup",
        "add",
        "Follow up with 김민준 on the signed contract",
        "--contact",
        "minjun.kim@example.kr",
        "--due",
        "+3d",
        "--repeat",
        "weekly",
    ],  # fmt: skip
    ["followup", "add", "Check in", "--contact", "zhang.wei@example.cn", "--due", "+6d"],
    [
        "followup",
        "add",
        "Ask Maximilian Mustermann-Schmidt for a reference call",
        "--contact",
        EMAIL,
        "--due",
        "+14d",
    ],  # fmt: skip
    [
        "log",
        "call",
        EMAIL,
        "Discussed the renewal at length, including the price list and SLA",
        "--direction",
        "out",
        "--deal",
        "1",
    ],  # fmt: skip
    ["log", "meeting", "佐藤 花子", "Onboarding kick-off with the whole team in Tokyo"],
    [
        "feedback",
        "add",
        "zhang.wei@example.cn",
        "--kind",
        "nps",
        "--score",
        "9",
        "--text",
        "Great support from the whole team, especially during the migration weekend",
    ],  # fmt: skip
    [
        "feedback",
        "add",
        "minjun.kim@example.kr",
        "--kind",
        "complaint",
        "--category",
        "billing",
        "--text",
        "The invoice portal times out every time I try to download the PDF",
    ],  # fmt: skip
    ["user", "add", "佐藤 健太", "--email", "kenta.sato@example.jp"],
]


def _main(args: list[str]) -> None:
    from crm_cli.cli import main

    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()) as err:
        code = main(args)
    assert code == 0, (args, err.getvalue())


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One database for the module: the listings only read it."""
    home: Path = tmp_path_factory.mktemp("widths")
    url = f"sqlite:///{home / 'crm.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_HOME", str(home))
        mp.setenv("CRM_DATABASE_URL", url)
        mp.setenv("CRM_USER_NAME", "Test User")
        mp.setenv("CRM_USER_EMAIL", "tester@example.com")
        mp.setenv("CRM_TIMEZONE", "Europe/Berlin")
        for args in SETUP:
            _main(args)
        if datetime.now(BERLIN).hour < 23:  # one due later today, unless today is nearly over
            _main(
                ["followup", "add", "Today's call", "--due", "today 23:59", "--contact", "김민준"]
            )
    return url


@pytest.fixture
def data(database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CRM_DATABASE_URL", database)
    return database


def terminal(monkeypatch: pytest.MonkeyPatch, width: int) -> None:
    """A terminal `width` columns wide, as `crm` itself finds it (COLUMNS; no colour codes)."""
    monkeypatch.setenv("COLUMNS", str(width))
    monkeypatch.setattr(output, "stdout_is_tty", lambda: True)


def hidden_names(err: str, width: int) -> str:
    notes = [line for line in err.splitlines() if line.startswith("crm: hidden at")]
    assert len(notes) <= 1, err  # one line, whatever was hidden
    if notes:
        assert notes[0].startswith(f"crm: hidden at {width} columns: ")
        assert "--wide shows all" in notes[0] or "less -S" in notes[0]  # how to see them
    return notes[0] if notes else ""


def whole(value: str, lines: list[str]) -> bool:
    pattern = re.compile(rf"(?<![\w.@+-]){re.escape(value)}(?![\w.@-])")
    return any(pattern.search(line) for line in lines)


def check(out: str, err: str, width: int, atoms: dict[str, list[str]]) -> list[str]:
    """Lines no wider than the terminal; each atom whole on a line or its column named."""
    lines = out.splitlines()
    assert lines, err
    too_wide = [line for line in lines if cell_len(line) > width]
    assert not too_wide, too_wide
    note = hidden_names(err, width)
    for column, values in atoms.items():
        missing = [v for v in values if v and not whole(v, lines)]
        if missing:
            assert re.search(rf"[:,;] {re.escape(column)}\b", note), (column, missing, out, err)
    return lines


def _when(value: str) -> str:
    return value[:16].replace("T", " ")


def _money(row: dict[str, Any]) -> str:
    return format_money(int(row["value_minor"]), row["currency"])


Atoms = Callable[[list[dict[str, Any]]], dict[str, list[str]]]

LISTINGS: list[tuple[list[str], Atoms]] = [
    (
        ["contact", "list"],
        lambda rows: {
            "id": [str(r["id"]) for r in rows],
            "email": [r["emails"][0] for r in rows if r["emails"]],
            "phone": [r["phones"][0] for r in rows if r["phones"]],
        },
    ),
    (
        ["company", "list"],
        lambda rows: {"id": [str(r["id"]) for r in rows], "domain": [r["domain"] for r in rows]},
    ),
    (
        ["deal", "list", "--status", "all"],
        lambda rows: {
            "id": [str(r["id"]) for r in rows],
            "value": [_money(r) for r in rows],
            "close": [r["expected_close"] or "" for r in rows],
        },
    ),
    (
        ["followup", "list"],
        lambda rows: {"id": [str(r["id"]) for r in rows], "due": [r["due_local"] for r in rows]},
    ),
    (
        ["log", "list"],
        lambda rows: {
            "id": [str(r["id"]) for r in rows],
            "when": [_when(r["occurred_at"]) for r in rows],
        },
    ),
    (
        ["feedback", "list"],
        lambda rows: {
            "id": [str(r["id"]) for r in rows],
            "date": [r["created_at"][:10] for r in rows],
        },
    ),
    (
        ["user", "list"],
        lambda rows: {"id": [str(r["id"]) for r in rows], "email": [r["email"] for r in rows]},
    ),
    (["search", "sato"], lambda rows: {"id": [str(r["id"]) for r in rows]}),
    (["pipeline", "list"], lambda rows: {}),
]


@pytest.mark.parametrize(("args", "atoms"), LISTINGS, ids=[" ".join(a) for a, _ in LISTINGS])
def test_every_listing_fits_at_every_width(
    crm: Any, data: str, monkeypatch: pytest.MonkeyPatch, args: list[str], atoms: Atoms
) -> None:
    rows = crm.json(*args)
    expected = atoms(rows)
    for width in WIDTHS:
        terminal(monkeypatch, width)
        result = crm.ok(*args)
        lines = check(result.out, result.err, width, expected)
        if args[0] in ("contact", "followup"):
            text = "\n".join(lines)
            assert "张伟" in text and "佐藤 花子" in text and "김민준" in text


def test_six_followups_take_a_line_each_at_80_columns(
    crm: Any, data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = len(crm.json("followup", "list"))
    terminal(monkeypatch, 80)
    result = crm.ok("followup", "list")
    assert len(result.out.splitlines()) == count + 2  # a header, a rule, one line each
    assert "hidden at 80 columns: deal, priority, repeats, owner (" in result.err


def _show_atoms(kind: str, record: dict[str, Any]) -> dict[str, list[str]]:
    stamps = [record[k] for k in ("created_at", "updated_at") if record.get(k)]
    if kind == "contact":
        return {"": [*record["emails"], *record["phones"], *stamps]}
    if kind == "company":
        return {"": [record["domain"], *stamps]}
    if kind == "deal":
        return {"": [record["expected_close"] or "", _money(record), *stamps]}
    if kind == "followup":
        return {"": [record["due_local"], *stamps]}
    if kind == "log":
        return {"": [record["occurred_at"], *stamps]}
    return {"": stamps}


SHOWS = [
    ["contact", "show", EMAIL],
    ["contact", "show", "zhang.wei@example.cn"],
    ["company", "show", COMPANY],
    ["deal", "show", "1"],
    ["deal", "show", "4"],
    ["followup", "show", "1"],
    ["log", "show", "1"],
    ["feedback", "show", "2"],
]


@pytest.mark.parametrize("args", SHOWS, ids=" ".join)
def test_every_show_fits_at_every_width(
    crm: Any, data: str, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    record = crm.json(*args)
    atoms = _show_atoms(args[0], record)
    for width in WIDTHS:
        terminal(monkeypatch, width)
        result = crm.ok(*args)
        lines = check(result.out, result.err, width, atoms)
        if args == ["contact", "show", EMAIL] and width == 80:
            # Too long to sit beside its label: the email starts the next line, whole.
            assert "  " + EMAIL in lines
        # The sections' times are whole or their column is named.
        for section, key in (("Next follow-ups", "followups"), ("Timeline", "timeline")):
            for item in record.get(key, []):
                stamp = _when(item.get("due_at") or item.get("at") or "")
                if not whole(stamp, lines):
                    assert f"{section}: " in result.err, (stamp, result.out, result.err)


@pytest.fixture
def coloured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A colour terminal 80 wide (force_terminal: capsys is no terminal)."""
    import os

    monkeypatch.setattr(output, "stdout_is_tty", lambda: True)
    monkeypatch.setattr(
        output,
        "_console",
        lambda: Console(
            width=80, force_terminal=True, highlight=False, no_color="NO_COLOR" in os.environ
        ),
    )
    yield


def test_colour_on_a_terminal(crm: Any, data: str, coloured: None) -> None:
    rows = crm.json("followup", "list")
    followups = crm.ok("followup", "list").out
    assert "\x1b[31mOVERDUE" in followups
    today = [r for r in rows if r["status"] == "open" and r["due_at"][:10] == _today()]
    if today:
        assert "\x1b[32mtoday" in followups
    deals = crm.ok("deal", "list", "--status", "all").out
    assert "\x1b[32mwon" in deals and "\x1b[2mlost" in deals
    assert "\x1b[2mlost" in crm.ok("deal", "show", "4").out
    assert "\x1b[31moverdue" in crm.ok("followup", "show", "1").out


def _today() -> str:
    return datetime.now(BERLIN).date().isoformat()


def test_no_color_says_it_in_words(
    crm: Any, data: str, coloured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    rows = crm.json("followup", "list")
    followups = crm.ok("followup", "list").out
    deals = crm.ok("deal", "list", "--status", "all").out
    for out in (followups, deals):
        assert not re.search(r"\x1b\[3[0-9]m", out)  # no colour; bold and dim are not colour
    followups, deals = ANSI.sub("", followups), ANSI.sub("", deals)
    assert "OVERDUE" in followups
    if any(r["status"] == "open" and r["due_at"][:10] == _today() for r in rows):
        assert re.search(r"\btoday\b", followups)
    assert re.search(r"\bwon\b", deals) and re.search(r"\blost\b", deals)


def test_a_pipe_gets_every_column_uncut_whatever_the_width(
    crm: Any, data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = crm.ok("followup", "list")
    header = result.out.splitlines()[0].split()
    assert header == [
        "ID",
        "Due",
        "Status",
        "Title",
        "Contact",
        "Deal",
        "Priority",
        "Repeats",
        "Owner",
    ]
    assert "…" not in result.out and "hidden" not in result.err
    assert "Prepare the quarterly business review deck for Maximilian" in result.out
    contacts = crm.ok("contact", "list").out
    assert EMAIL in contacts and max(cell_len(line) for line in contacts.splitlines()) > 80


def test_wide_and_columns_show_what_was_hidden(
    crm: Any, data: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal(monkeypatch, 80)
    narrow = crm.ok("followup", "list")
    assert "--wide shows all" in narrow.err  # the note says how to see the hidden columns
    wide = crm.ok("followup", "list", "--wide")
    header = wide.out.splitlines()[0]
    assert all(name in header.lower() for name in ("deal", "priority", "owner"))
    assert "hidden" not in wide.err
    picked = crm.ok("followup", "list", "--columns", "id,owner,title")
    assert picked.out.splitlines()[0].split()[:3] == ["ID", "Owner", "Title"]
    unknown = crm("followup", "list", "--columns", "id,nope")
    assert unknown.code == 2 and "nope" in unknown.err


@pytest.mark.parametrize("args", [a for a in SHOWS if a[0] in ("contact", "company", "deal")])
def test_wide_show_keeps_every_section_column(
    crm: Any, data: str, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    terminal(monkeypatch, 40)  # narrow enough that every section gives up a column
    narrow = crm.ok(*args)
    wide = crm.ok(*args, "--wide")
    assert "hidden" not in wide.err
    note = hidden_names(narrow.err, 40)
    assert "--wide shows all" in note
    # Every column the narrow view named is a header of the wide one.
    named = note.split(" columns: ", 1)[1].rsplit(" (", 1)[0]
    for section in named.split("; "):
        for column in section.split(": ", 1)[1].split(", "):
            assert column.lower() in wide.out.lower(), (column, wide.out)
