"""How fast does `crm tui` show its first board and answer a key, and how much memory does it
take, at 100, 10,000 and 100,000 open deals?

Targets (the TUI issue): at 10,000 open deals the first screen within 0.6 s of the process
starting and every key within 50 ms; at 100,000 the first screen within 1.5 s and at most
150 MiB of peak memory.

Builds SQLite databases with bench/deal_list.py's `build` (deals spread over every stage:
1.5x the deals gives the open ones wanted), and gives a third of the deals an open follow-up
(the cards' next-step markers read them). Then, in a fresh process each run, starts the real
`crm tui` in a pseudo-terminal of 160x48 and reads what it writes:
- first screen: from just before the process starts until the screen holds the board's title
  and its cards (the first full paint);
- keys: once the screen is quiet, presses j / l / k / h and times each key until the app
  writes the screen's answer (the first output after the key);
- peak memory: the process's maximum resident set size, as the kernel reports it at exit
  (after `q`).
Beside them, in the same run, the floor: `python -c pass` and `crm --help`; with `--before
CRM`, the same measures of another build's `crm` script (an older checkout's virtualenv), on
the same databases, one run of each in turn.

Usage: python bench/tui.py [--runs 5] [--open 100,10000,100000] [--keep DIR] [--before CRM]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import select
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deal_list import _env, build  # noqa: E402

COLS, ROWS = 160, 48
KEYS = ["j"] * 8 + ["l"] * 3 + ["k"] * 5 + ["h"] * 3 + ["j"] * 3
ANSI = re.compile(
    rb"\x1b(\[[0-9;?<>=$ ]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|P[^\x1b]*\x1b\\|.)"
)
# The board's title once it is read, and a card's next-step marker: the first full paint.
READY = (b"crm - pipeline", b"no step")


def add_followups(db: Path) -> None:
    """An open follow-up for every third deal: due yesterday, today or next week."""
    now = datetime.now(UTC).replace(tzinfo=None)
    conn = sqlite3.connect(db)
    with conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM deal WHERE id % 3 = 0")]
        conn.executemany(
            "INSERT INTO followup (created_at, updated_at, title, due_at, timezone, deal_id,"
            " owner_id, priority, version) VALUES (?, ?, ?, ?, 'Europe/Berlin', ?, 1, 'normal', 1)",
            [(now, now, f"Call about {i}", now + timedelta(days=(i % 9) - 1), i) for i in ids],
        )
    conn.close()


class Terminal:
    """`crm tui` in a pseudo-terminal: what it writes, read as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        import fcntl
        import pty
        import struct
        import termios

        self.started = time.perf_counter()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes crm tui
            os.execve(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.seen = b""

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return b""
        self.seen += data
        return data

    def until(self, check: object, limit: float = 30) -> float:
        """Seconds since the start until `check(text)` holds."""
        assert callable(check)
        end = time.perf_counter() + limit
        while time.perf_counter() < end:
            self.read(0.05)
            if check(ANSI.sub(b"", self.seen)):
                return time.perf_counter() - self.started
        raise RuntimeError("the board never showed:\n" + ANSI.sub(b"", self.seen)[-2000:].decode())

    def quiet(self, for_seconds: float = 0.3, limit: float = 10) -> None:
        end = time.perf_counter() + limit
        last = time.perf_counter()
        while time.perf_counter() < end and time.perf_counter() - last < for_seconds:
            if self.read(0.02):
                last = time.perf_counter()

    def key(self, key: str) -> float:
        """Seconds from pressing `key` to the first output that answers it."""
        self.quiet(0.15)
        t = time.perf_counter()
        os.write(self.fd, key.encode())
        while time.perf_counter() - t < 5:
            if self.read(0.5):
                return time.perf_counter() - t
        raise RuntimeError(f"no answer to {key!r}")

    def quit(self) -> int:
        """`q`; the process's peak resident memory in KiB."""
        os.write(self.fd, b"q")
        deadline = time.perf_counter() + 20
        while time.perf_counter() < deadline:
            self.read(0.05)
            pid, _status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return int(usage.ru_maxrss)
        os.kill(self.pid, 9)
        raise RuntimeError("crm tui did not quit")


def measure(crm: str, env: dict[str, str]) -> tuple[float, list[float], int]:
    term = Terminal([crm, "tui"], dict(env, TERM="xterm-256color", COLUMNS="", LINES=""))
    first = term.until(lambda text: all(marker in text for marker in READY))
    term.quiet(0.5)  # the Context opens in the background once the board shows
    keys = [term.key(k) for k in KEYS]
    return first, keys, term.quit()


def floor(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--open", default="100,10000,100000", help="Open deals, comma-separated.")
    parser.add_argument("--keep", help="Keep (and reuse) the databases in this folder.")
    parser.add_argument("--before", help="Another build's crm script, measured alike.")
    args = parser.parse_args()
    sizes = [int(n) for n in args.open.split(",")]
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="crm-bench-tui-"))
    tmp.mkdir(parents=True, exist_ok=True)
    home = tmp / "home"
    crm = str(Path(sys.executable).parent / "crm")
    print(f"{platform.node()} {platform.machine()} Python {platform.python_version()}")
    try:
        for size in sizes:
            db = tmp / f"{size}.db"
            if not db.exists():
                build(home, db, size * 3 // 2)
                add_followups(db)
            env = _env(home, db)
            measure(crm, env)  # warm the file and bytecode caches
            builds = {"this": crm}
            if args.before:
                measure(args.before, env)
                builds["before"] = args.before
            python = floor([sys.executable, "-c", "pass"], env, args.runs)
            help_ = floor([crm, "--help"], env, args.runs)
            firsts: dict[str, list[float]] = {name: [] for name in builds}
            keys: dict[str, list[float]] = {name: [] for name in builds}
            peaks: dict[str, list[int]] = {name: [] for name in builds}
            for _ in range(args.runs):
                for name, script in builds.items():  # in turn: the load hits both alike
                    first, pressed, peak = measure(script, env)
                    firsts[name].append(first)
                    keys[name].extend(pressed)
                    peaks[name].append(peak)
            for name in builds:
                print(
                    f"{size:>7,} open deals, {name}: first screen median"
                    f" {statistics.median(firsts[name]):.3f} s (max {max(firsts[name]):.3f});"
                    f" key median {statistics.median(keys[name]) * 1000:.1f} ms, max"
                    f" {max(keys[name]) * 1000:.1f} ms ({len(keys[name])} keys); peak memory"
                    f" {max(peaks[name]) / 1024:.0f} MiB"
                )
            print(
                f"{size:>7,} open deals, same run: python -c pass {python:.3f} s,"
                f" crm --help {help_:.3f} s | load {os.getloadavg()[0]:.2f}"
            )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
