"""Values through the real command, on SQLite and PostgreSQL.

- arguments that are not text (invalid UTF-8, escape sequences) are refused before anything
  runs, with one line naming the option, and nothing is written;
- stored text holding escape sequences or Rich markup is shown escaped, never obeyed;
- times past what every zone can show are refused at input;
- a repeating follow-up created in the spring-forward gap keeps its intended time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from sqlalchemy import text

from crm_cli.errors import ExitCode
from crm_cli.store.engine import make_engine

EVIL_NAME = "\x1b[2J evil [red]x[/red] [link=https://evil.example]y[/link]"


def execute(db_url: str, statement: str, **params: Any) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement), params)
    finally:
        engine.dispose()


def count(db_url: str, table: str) -> int:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


# --- arguments -----------------------------------------------------------------------------


def test_arguments_that_are_not_text_are_refused(crm: Any, db_url: str) -> None:
    cases = [
        # Python hands invalid UTF-8 bytes over as lone surrogates (surrogateescape).
        (["contact", "add", "\udcffname"], "argument 3: not valid UTF-8 (byte 0xff at position 0)"),
        (
            ["contact", "add", "Ana", "--email", "ana\udcc3@acme.com"],
            "--email: not valid UTF-8 (byte 0xc3 at position 3)",
        ),
        (
            ["contact", "add", "Ana", "--title=CEO\udcff"],
            "--title: not valid UTF-8 (byte 0xff at position 3)",
        ),
        (
            ["contact", "add", "\x1b[2J evil"],
            "argument 3: contains a control character (\\x1b at position 0)",
        ),
        (
            ["contact", "add", "Ana", "--title", "a\x1b]0;title\x07"],
            "--title: contains a control character (\\x1b at position 1)",
        ),
        (
            ["contact", "add", "Ana", "--json", "--tag", "x\x9b"],
            "--tag: contains a control character (\\x9b at position 1)",
        ),
        (
            ["contact", "add", "Ana", "--json", "x\x00"],  # --json takes no value
            "argument 5: contains a control character (\\x00 at position 1)",
        ),
        (
            ["followup", "add", "Call\x7f", "--due", "+1d"],
            "argument 3: contains a control character (\\x7f at position 4)",
        ),
    ]
    for args, expected in cases:
        result = crm(*args)
        assert result.code == ExitCode.USAGE, (args, result)
        assert result.err == f"crm: error: {expected}\n", (args, result)
        assert result.out == ""
    assert crm.json("contact", "list") == []
    assert crm.json("followup", "list") == []


def test_tabs_and_line_breaks_in_arguments_are_text(crm: Any, db_url: str) -> None:
    added = crm.json("contact", "add", "Ana Lima")
    note = crm.json(
        "log", "note", str(added["id"]), "Call notes", "--body", "line one\r\n\tline two\n"
    )
    assert note["body"].startswith("line one")


def test_invalid_utf8_bytes_from_a_real_command_line(sqlite_url: str) -> None:
    env = {**os.environ, "PYTHONUTF8": "1"}  # the same decoding whatever the test machine's locale
    refused = subprocess.run(
        [sys.executable, "-m", "crm_cli", "contact", "add", b"\xffname"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert refused.returncode == ExitCode.USAGE, refused
    assert refused.stdout == b""
    assert refused.stderr == b"crm: error: argument 3: not valid UTF-8 (byte 0xff at position 0)\n"

    named = subprocess.run(
        [sys.executable, "-m", "crm_cli", "contact", "add", "Ana", "--name", b"An\xe9"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert named.returncode == ExitCode.USAGE, named
    assert named.stderr.count(b"\n") == 1
    assert b"not valid UTF-8 (byte 0xe9 at position 2)" in named.stderr

    listed = subprocess.run(
        [sys.executable, "-m", "crm_cli", "contact", "list", "--json"],
        capture_output=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert json.loads(listed.stdout) == []


# --- stored text on the way out --------------------------------------------------------------


def test_stored_escape_sequences_and_markup_are_shown_not_obeyed(crm: Any, db_url: str) -> None:
    # The command line refuses these characters, so they are put in as an import or an old
    # version could have stored them.
    added = crm.json("contact", "add", "placeholder", "--title", "placeholder")
    execute(
        db_url,
        "UPDATE contact SET name = :name, title = :title WHERE id = :id",
        name=EVIL_NAME,
        title="over\rwrite \x1b]0;pwned\x07",
        id=added["id"],
    )

    listed = crm.ok("contact", "list").out  # a pipe: plain text
    assert "\x1b" not in listed and "\r" not in listed and "\x07" not in listed
    assert "\\x1b[2J evil [red]x[/red] [link=https://evil.example]y[/link]" in listed

    shown = crm.ok("contact", "show", str(added["id"])).out
    assert "\x1b" not in shown and "\r" not in shown
    assert "\\x1b[2J evil [red]x[/red]" in shown and "over\\rwrite \\x1b]0;pwned\\x07" in shown

    # The machine forms keep the exact data.
    assert crm.json("contact", "list")[0]["name"] == EVIL_NAME
    assert EVIL_NAME in crm.ok("contact", "list", "--csv").out


def test_an_error_never_prints_a_long_value_or_a_raw_escape(crm: Any, db_url: str) -> None:
    result = crm("contact", "show", "x" * 5000)
    assert result.code in (ExitCode.NOT_FOUND, ExitCode.USAGE)
    assert result.err.count("\n") == 1 and len(result.err) < 200
    assert "(5000 characters)" in result.err


# --- times -----------------------------------------------------------------------------------


def test_times_past_what_every_zone_can_show_are_refused(crm: Any, db_url: str) -> None:
    for due in ("9999-12-31 23:30", "9999-12-31T23:30Z", "1899-06-01", "in 9000 years"):
        result = crm("followup", "add", "Far", "--due", due)
        assert result.code == ExitCode.USAGE, (due, result)
        assert "must be between 1900-01-01 and 9998-12-31" in result.err
    assert count(db_url, "followup") == 0
    edge = crm.json("followup", "add", "Edge", "--due", "9998-12-31 23:59")
    assert edge["due_at"] == "9998-12-31T23:59:00+01:00"


# --- repeats created in the spring-forward gap -----------------------------------------------


def test_a_daily_followup_created_in_the_spring_gap_keeps_its_time(crm: Any, db_url: str) -> None:
    """02:30 does not exist in Berlin on 2026-03-29: it is stored as 03:30 CEST, and the next
    occurrences are at 02:30, the time meant, not at 03:30."""
    first = crm.json(
        "followup", "add", "Night job", "--due", "2026-03-29 02:30", "--repeat", "daily"
    )
    assert first["due_at"] == "2026-03-29T03:30:00+02:00"
    done = crm.json("followup", "done", str(first["id"]), "--at", "2026-03-29 04:00")
    assert done["next"]["due_at"] == "2026-03-30T02:30:00+02:00"
    again = crm.json("followup", "done", str(done["next"]["id"]), "--at", "2026-03-30 03:00")
    assert again["next"]["due_at"] == "2026-03-31T02:30:00+02:00"


def test_a_weekly_followup_created_in_the_spring_gap_keeps_its_time(crm: Any, db_url: str) -> None:
    first = crm.json(
        "followup", "add", "Weekly job", "--due", "2026-03-29 02:30", "--repeat", "weekly"
    )
    done = crm.json("followup", "done", str(first["id"]), "--at", "2026-03-29 04:00")
    assert done["next"]["due_at"] == "2026-04-05T02:30:00+02:00"


def test_a_series_at_0330_through_the_gap_stays_at_0330(crm: Any, db_url: str) -> None:
    first = crm.json("followup", "add", "Early", "--due", "2026-03-28 03:30", "--repeat", "daily")
    done = crm.json("followup", "done", str(first["id"]), "--at", "2026-03-28 04:00")
    assert done["next"]["due_at"] == "2026-03-29T03:30:00+02:00"
    again = crm.json("followup", "done", str(done["next"]["id"]), "--at", "2026-03-29 04:00")
    assert again["next"]["due_at"] == "2026-03-30T03:30:00+02:00"
