"""The real `crm tui` in a real terminal (tmux): it draws the board, `>` saves a stage change,
`q` quits with exit code 0 and the terminal back in its normal (canonical) mode."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import pytest

from tests.tui.helpers import deal_now

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self) -> None:
        self.socket = f"crm-test-{uuid.uuid4().hex[:8]}"

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check
        )

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "crm").stdout

    def wait(self, check: Callable[[], bool], what: str, limit: float = 30) -> None:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"gave up waiting for {what}; the screen:\n{self.screen()}")


def test_the_real_tui_in_tmux(sqlite_url, crm) -> None:  # type: ignore[no-untyped-def]
    crm.ok("deal", "add", "Acme renewal", "--value", "12000")
    crm.ok("deal", "add", "Globex pilot", "--value", "500")
    names = ("CRM_HOME", "CRM_DATABASE_URL", "CRM_USER_NAME", "CRM_USER_EMAIL", "CRM_TIMEZONE")
    env = " ".join(f"{n}={shlex.quote(os.environ[n])}" for n in names)
    crm_tui = f"{shlex.quote(sys.executable)} -m crm_cli tui"
    # After crm exits, the pane says how it ended and whether the terminal is canonical again.
    script = f'env {env} TERM=xterm-256color {crm_tui}; echo "exit=$?"; stty -a; sleep 30'
    tmux = Tmux()
    tmux("new-session", "-d", "-s", "crm", "-x", "80", "-y", "24", "sh", "-c", script)
    try:
        tmux.wait(lambda: "Acme renew" in tmux.screen(), "the board")  # cut at 80 columns
        screen = tmux.screen()
        for stage in ("lead", "qualified", "proposal", "negotiation", "won", "lost"):
            assert stage in screen
        assert "Globex pil" in screen
        tmux("send-keys", "-t", "crm", ">")
        tmux.wait(lambda: deal_now(1)["stage"] == "qualified", "the move in the database")
        last = deal_now(1)["stage_changes"][-1]
        assert (last["from"], last["to"], last["by"]) == ("lead", "qualified", "Test User")
        tmux("send-keys", "-t", "crm", "q")
        tmux.wait(lambda: "exit=" in tmux.screen(), "crm to quit")
        after = tmux.screen()
        assert "exit=0" in after
        for flag in ("icanon", "echo"):  # not -icanon / -echo: the terminal was restored
            assert re.search(rf"(^|\s){flag}(\s|$)", after, re.MULTILINE), after
    finally:
        tmux("kill-server", check=False)
