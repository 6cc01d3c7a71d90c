"""`crm import` shows a progress bar on stderr at a terminal, and nothing of it in a pipe.

Run as a real process: once with stderr on a pseudo-terminal (what a person sees), once with
stderr on a pipe (what a script or a log file gets)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROWS = 600


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    lines = ["name,email"] + [f"Person {i},p{i}@example.com" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _env(sqlite_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI")}
    return {**env, "CRM_DATABASE_URL": sqlite_url, "TERM": "xterm-256color", "COLUMNS": "100"}


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_terminal_gets_a_bar_with_the_rows(sqlite_url: str, tmp_path: Path) -> None:
    import pty

    path = _csv(tmp_path)
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    chunks: list[bytes] = []

    def read() -> None:  # the terminal's buffer is small: read while crm writes
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # closed: everything is read
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "crm_cli", "import", "contacts", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            env=_env(sqlite_url),
            timeout=300,
            check=False,
        )
    finally:
        os.close(follower)
        reader.join(timeout=10)
        os.close(leader)
    seen = b"".join(chunks)
    text = seen.decode("utf-8", errors="replace")
    assert done.returncode == 0, text
    assert "importing contacts from" in text
    assert f"{ROWS}/{ROWS}" in text  # the bar's count: rows done of the rows in the file
    assert "━" in text  # the bar itself


def test_a_pipe_gets_no_progress_output(sqlite_url: str, tmp_path: Path) -> None:
    path = _csv(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "crm_cli", "import", "contacts", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=_env(sqlite_url),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    err = done.stderr.decode()
    assert "importing contacts from" not in err
    assert "━" not in err and "\x1b[" not in err and "\r" not in err
    assert f"{ROWS} new" in err + done.stdout.decode()
