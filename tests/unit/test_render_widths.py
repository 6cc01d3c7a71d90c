"""Tables and record views fitted to a terminal's width (render/fit.py, render/tones.py).

- an atom (id, date, email, phone, amount) is shown whole or its column is hidden; text is
  cut with an ellipsis at a cell boundary, so 张 (two cells) is never split;
- columns are kept in priority order, narrow low ones still show when a wide high one could
  not, empty ones only when nothing else was hidden; the hidden ones are named on stderr;
- `--wide` and `--columns` (a TableView) hide nothing;
- overdue, today, won and lost are coloured on a terminal and said in words without colour;
- the plain form in a pipe is never cut and never loses a column.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console

from crm_cli.errors import InvalidValue
from crm_cli.render import fit, output, tones
from crm_cli.render.fit import Measure, TableView
from crm_cli.render.output import Column

ANSI = re.compile(r"\x1b\[[0-9;]*m")
EMAIL = "maximilian.mustermann-schmidt@very-long-company-domain.example.com"


def console(width: int, **kw: Any) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, force_terminal=True, highlight=False, **kw), buffer


def lines_of(buffer: io.StringIO) -> list[str]:
    return ANSI.sub("", buffer.getvalue()).splitlines()


def on_terminal(monkeypatch: pytest.MonkeyPatch, width: int, **kw: Any) -> io.StringIO:
    con, buffer = console(width, **kw)
    monkeypatch.setattr(output, "stdout_is_tty", lambda: True)
    monkeypatch.setattr(output, "_console", lambda: con)
    return buffer


# --- cutting text ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "width", "cut"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("a longer title", 8, "a longe…"),
        ("张伟张伟张伟", 6, "张伟…"),  # 张伟 is 4 cells, … one: 张 would make 7
        ("张伟张伟张伟", 7, "张伟张…"),
        ("佐藤 花子", 6, "佐藤…"),  # the space before the cut goes too
        ("김민준김민준", 5, "김민…"),
        ("x", 0, ""),
    ],
)
def test_ellipsize_cuts_in_cells_never_inside_a_wide_character(
    text: str, width: int, cut: str
) -> None:
    assert fit.ellipsize(text, width) == cut
    assert cell_len(fit.ellipsize(text, width)) <= width


def test_pack_breaks_between_tokens_and_chops_only_what_cannot_fit() -> None:
    assert fit.pack(fit.words("one two three four"), 9) == ["one two", "three", "four"]
    assert fit.pack(["张伟张伟张伟"], 5) == ["张伟", "张伟", "张伟"]
    assert fit.pack(fit.words("  indented  twice"), 40) == ["  indented  twice"]


# --- choosing columns --------------------------------------------------------------------------


def m(
    name: str, natural: int, *, atom: bool = True, priority: float = 0, floor: int = 12
) -> Measure:
    return fit.measure(name, name, ["x" * natural], atom=atom, priority=priority, floor=floor)


def test_columns_are_kept_by_priority_and_hidden_from_the_lowest() -> None:
    cols = [
        m("id", 2, priority=0),
        m("title", 60, atom=False, priority=1),
        m("due", 24, priority=2),
    ]
    cols += [m("owner", 30, atom=False, priority=3), m("repeats", 30, priority=4)]
    layout = fit.fit(cols, 80)
    assert layout.shown == [0, 1, 2, 3]
    assert [cols[i].name for i in layout.hidden] == ["repeats"]
    assert layout.width <= 80
    assert layout.width_of(2) == 24  # an atom is never narrowed


def test_an_atom_too_wide_is_hidden_while_narrower_lower_columns_show() -> None:
    cols = [m("id", 2, priority=0), m("name", 30, atom=False, priority=1)]
    cols += [m("email", len(EMAIL), priority=2), m("phone", 16, priority=3)]
    layout = fit.fit(cols, 80)
    assert [cols[i].name for i in layout.hidden] == ["email"]
    assert layout.shown == [0, 1, 3]


def test_text_grows_in_proportion_up_to_its_cap_first() -> None:
    title = fit.measure("title", "Title", ["t" * 80], atom=False, priority=1, floor=20, cap=40)
    name = fit.measure("name", "Name", ["n" * 30], atom=False, priority=2)
    layout = fit.fit([title, name], 60)
    assert layout.widths == [33, 25]  # each to about the same share of its cap (40, 30)
    layout = fit.fit([title, name], 75)
    assert layout.widths == [43, 30]  # both to their caps first; then the title past its cap
    layout = fit.fit([title, name], 200)
    assert layout.widths == [80, 30]  # room for all: past the cap


def test_empty_columns_show_only_when_nothing_else_is_hidden() -> None:
    deal = fit.measure("deal", "Deal", ["", ""], atom=False, priority=1)
    title = fit.measure("title", "Title", ["t" * 60], atom=False, priority=0, cap=40)
    assert fit.fit([title, deal], 100).shown == [0, 1]
    assert fit.fit([title, deal], 44).hidden == [1]  # the title wants its 40 first


def test_wide_and_columns_hide_nothing() -> None:
    cols = [m("id", 2), m("title", 60, atom=False), m("email", 66)]
    wide = fit.fit(cols, 80, wide=True)
    assert wide.shown == [0, 1, 2] and wide.hidden == [] and wide.width == 2 + 60 + 66 + 4
    picked = fit.fit(cols, 80, only=[2, 0])
    assert picked.shown == [2, 0] and picked.widths == [66, 2]


def test_columns_option_names_are_checked() -> None:
    view = TableView.from_options(columns=" ID, Title ")
    assert view.columns == ("id", "title")
    assert fit.resolve(["id", "title", "due"], ["due", "id"]) == [2, 0]
    assert fit.resolve(["id", "due"], ["due_local"], ["id", "due_local"]) == [1]
    with pytest.raises(InvalidValue, match="choose from id,title"):
        fit.resolve(["id", "title"], ["owner"])
    with pytest.raises(InvalidValue):
        TableView.from_options(columns=" , ")


def test_column_names_and_kinds_default_sensibly() -> None:
    assert Column("open_deals", "Open deals").label == "open-deals"
    assert Column("probability", "Prob %").label == "prob"
    assert Column("position", "#").label == "position"
    assert Column("due_local", "Due").is_atom()
    assert Column("emails", "Email").is_atom()
    assert Column("contacts", "Contacts", justify="right").is_atom()
    assert not Column("name", "Name").is_atom()
    assert not Column("emails", "Email", atom=False).is_atom()


# --- Rich tables -------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_the_table_is_as_wide_as_the_layout_says(count: int) -> None:
    columns = [Column(f"c{i}", f"C{i}") for i in range(count)]
    rows = [{f"c{i}": "v" * (5 + i) for i in range(count)}]
    con, buffer = console(200)
    output._rich_table(rows, columns, None, None, con)
    widths = {cell_len(line) for line in lines_of(buffer)}
    assert widths == {sum(5 + i for i in range(count)) + fit.GAP * (count - 1)}


ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": "张伟", "emails": ["zhang.wei@example.cn"], "phones": ["+86 10 6552 9988"]},
    {"id": 2, "name": "佐藤 花子", "emails": ["hanako.sato@example.jp"], "phones": []},
    {"id": 3, "name": "김민준", "emails": [], "phones": ["+82 2-312-3456"]},
    {
        "id": 4,
        "name": "Maximilian Mustermann-Schmidt",
        "emails": [EMAIL],
        "phones": ["+49 30 12345678"],
        "company": "Very Long Company Domain Holding GmbH & Co. KG",
        "tags": ["key-account", "dach", "renewal-2027"],
    },
]
COLUMNS = [
    Column("id", "ID", justify="right"),
    Column("name", "Name"),
    Column("emails", "Email", lambda v: v[0] if v else ""),
    Column("phones", "Phone", lambda v: v[0] if v else ""),
    Column("company", "Company"),
    Column("tags", "Tags"),
]


@pytest.mark.parametrize("width", [80, 100, 160])
def test_a_listing_fits_and_names_what_it_hid(
    width: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    buffer = on_terminal(monkeypatch, width)
    output.emit_rows(ROWS, COLUMNS, "table")
    lines = lines_of(buffer)
    err = capsys.readouterr().err
    assert all(cell_len(line) <= width for line in lines)
    for value in ("zhang.wei@example.cn", EMAIL, "+86 10 6552 9988", "+49 30 12345678"):
        whole = any(value in line for line in lines)
        column = "email" if "@" in value else "phone"
        assert whole or re.search(rf"hidden at {width} columns: .*\b{column}\b", err), (value, err)
    if width == 80:
        assert EMAIL not in buffer.getvalue()
        assert err.count("\n") == 1 and "email" in err and "--csv" in err
        assert "佐藤 花子" in buffer.getvalue()
    if width == 160:
        assert err == "" and any(EMAIL in line for line in lines)
    names = [line for line in lines if "Maximilian" in line][0]
    assert "Maximilian Mustermann-Schmidt" in names or "…" in names


def test_hidden_note_names_the_options_when_a_view_is_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    on_terminal(monkeypatch, 80)
    output.emit_rows(ROWS, COLUMNS, "table", view=TableView())
    err = capsys.readouterr().err
    assert err.startswith("crm: hidden at 80 columns: email")
    assert "--wide shows all; --columns id,name,email picks" in err


def test_wide_shows_every_column_uncut(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = on_terminal(monkeypatch, 80)
    output.emit_rows(ROWS, COLUMNS, "table", view=TableView(wide=True))
    out = ANSI.sub("", buffer.getvalue())
    assert EMAIL in out and "Very Long Company Domain Holding GmbH & Co. KG" in out
    assert "…" not in out


def test_columns_picks_and_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = on_terminal(monkeypatch, 80)
    output.emit_rows(ROWS, COLUMNS, "table", view=TableView.from_options(columns="phone,id"))
    lines = lines_of(buffer)
    assert lines[0].split() == ["Phone", "ID"]
    assert all(cell_len(line) <= 80 for line in lines)


def test_the_plain_form_is_never_cut_and_keeps_every_column(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    output.emit_rows(ROWS, COLUMNS, "table")
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["ID", "Name", "Email", "Phone", "Company", "Tags"]
    assert len(lines) == 5 and captured.err == ""
    assert EMAIL in lines[4] and "key-account, dach, renewal-2027" in lines[4]
    assert "…" not in captured.out and "\x1b" not in captured.out
    output.emit_rows(ROWS, COLUMNS, "table", view=TableView.from_options(columns="id,email"))
    assert capsys.readouterr().out.splitlines()[0].split() == ["ID", "Email"]


# --- colour --------------------------------------------------------------------------------------


def _now(days: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone().isoformat()


def test_followup_tones() -> None:
    assert tones.followup_status({"status": "overdue", "due_at": _now(-1)}) == ("red", None)
    assert tones.followup_status({"status": "open", "due_at": _now()}) == ("green", "today")
    assert tones.followup_status({"status": "open", "due_at": _now(2)}) is None
    assert tones.followup_status({"status": "done", "due_at": _now()}) is None
    assert tones.followup_style({"status": "open", "due_at": _now()}) == ("green", None)


def test_deal_tones_say_the_status_in_words() -> None:
    assert tones.deal_stage({"status": "won", "stage": "won"}) == ("green", None)
    assert tones.deal_stage({"status": "lost", "stage": "lost"}) == ("dim", None)
    assert tones.deal_stage({"status": "won", "stage": "signed"}) == ("green", "signed (won)")
    assert tones.deal_stage({"status": "open", "stage": "lead"}) is None


FOLLOWUPS = [
    {"id": 1, "title": "Call 张伟", "status": "overdue", "due_at": _now(-1), "due": "yesterday"},
    {"id": 2, "title": "Send 佐藤 花子 the deck", "status": "open", "due_at": _now(), "due": "now"},
    {"id": 3, "title": "Later", "status": "open", "due_at": _now(3), "due": "later"},
]
FOLLOWUP_COLUMNS = [
    Column("id", "ID", justify="right"),
    Column("due", "Due", tone=tones.followup_style),
    Column(
        "status",
        "Status",
        lambda v: "OVERDUE" if v == "overdue" else v,
        tone=tones.followup_status,
    ),
    Column("title", "Title"),
]


def test_overdue_is_red_and_today_green_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = on_terminal(monkeypatch, 80)
    output.emit_rows(FOLLOWUPS, FOLLOWUP_COLUMNS, "table")
    raw = buffer.getvalue()
    assert "\x1b[31mOVERDUE" in raw and "\x1b[31myesterday" in raw
    assert "\x1b[32mtoday" in raw and "\x1b[32mnow" in raw
    assert [line.split()[2] for line in lines_of(buffer)[2:]] == ["OVERDUE", "today", "open"]


def test_no_color_keeps_the_words(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = on_terminal(monkeypatch, 80, no_color=True)
    output.emit_rows(FOLLOWUPS, FOLLOWUP_COLUMNS, "table")
    raw = buffer.getvalue()
    assert "\x1b[31m" not in raw and "\x1b[32m" not in raw
    assert "OVERDUE" in raw and "today" in raw


def test_the_plain_form_does_not_change_its_words(capsys: pytest.CaptureFixture[str]) -> None:
    output.emit_rows(FOLLOWUPS, FOLLOWUP_COLUMNS, "table")
    out = capsys.readouterr().out
    assert "today" not in out and "OVERDUE" in out and "\x1b" not in out


# --- record views --------------------------------------------------------------------------------

RECORD = {
    "id": 4,
    "name": "Maximilian Mustermann-Schmidt",
    "emails": [EMAIL, "max@example.com"],
    "phones": ["+49 30 12345678", "+49 170 1234567", "+49 40 98765432", "+49 89 5556677"],
    "notes": "A long note that wraps at the spaces between its words and never inside "
    "one, with 张伟 and 佐藤 花子 in it.\n\tSecond paragraph.",
    "created_at": "2026-11-20T10:00:00+01:00",
    "status": "lost",
    "stage": "lost",
}
FIELDS = [
    ("id", "ID"),
    ("name", "Name"),
    ("emails", "Emails"),
    ("phones", "Phones"),
    ("notes", "Notes"),
    ("created_at", "Cadence (days)"),
    ("status", "Status"),
]


@pytest.mark.parametrize("width", [80, 100, 160])
def test_a_record_view_fits_and_never_splits_an_atom(
    width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    buffer = on_terminal(monkeypatch, width)
    output.emit_record(RECORD, FIELDS, "table", title=RECORD["name"])
    lines = lines_of(buffer)
    assert all(cell_len(line) <= width for line in lines)
    for value in [EMAIL, "max@example.com", *RECORD["phones"], "2026-11-20T10:00:00+01:00"]:
        assert any(value in line for line in lines), value
    text = "\n".join(lines)
    for word in ("between", "张伟", "花子", "never", "inside"):
        assert word in text
    if width == 80:
        assert "Emails\n  " + EMAIL + "," in text  # too long beside the label: below it
    else:
        assert "Emails          " + EMAIL + "," in text
    assert "\x1b[2mlost" in buffer.getvalue()


def test_a_record_view_section_that_hides_a_column_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    on_terminal(monkeypatch, 80)
    sections = [("Contacts", ROWS, COLUMNS)]
    output.emit_record(RECORD, FIELDS[:2], "table", sections=sections)
    err = capsys.readouterr().err
    assert err.startswith("crm: hidden at 80 columns: Contacts: email")
    assert err.count("\n") == 1
