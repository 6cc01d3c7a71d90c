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
- keys: once the screen is quiet, presses CYCLES rounds of KEYS (h/j/k/l, page up/down,
  end/home, `/` and enter, `r` and `r`: each changes the screen, so each has an answer)
  and times each key until the app writes the screen's answer (the first output after the
  key); beside the wall time, the CPU time the process spent from each key until it was quiet
  again (the machine is shared: CPU time moves less with the load);
- peak memory: the process's maximum resident set size, as the kernel reports it at exit
  (after `q`).
Beside them, in the same run, the floor: `python -c pass` and `crm --help`; with `--before
CRM`, the same measures of another build's `crm` script (an older checkout's virtualenv), on
the same databases, one run of each in turn.

Reports per size the median, p99 and max key over every run (5 runs: 510 keys), and the mean
CPU time a key costs. A key another build does not answer within a second (an older build
without page keys) is counted as unanswered, not timed.

Usage: python bench/tui.py [--runs 5] [--open 100,10000,100000] [--keep DIR] [--before CRM]
"""

from __future__ import annotations

import argparse
import math
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
# One round: it ends where it began (the first column, its first card). Keys as a terminal
# sends them. Back from the two screens by enter and `r`, not escape: a terminal's lone escape
# is told apart from the start of a sequence by waiting (Textual's ESCDELAY, 100 ms).
PAGE_UP, PAGE_DOWN, HOME, END, ENTER = "\x1b[5~", "\x1b[6~", "\x1b[H", "\x1b[F", "\r"
KEYS = (
    ["j"] * 8
    + ["l"] * 3  # into the fourth column
    + ["j"] * 5
    + ["k"] * 3
    + ["h"] * 3  # back to the first
    + ["k"] * 3
    + [PAGE_DOWN, PAGE_DOWN, PAGE_UP, END, HOME]
    + ["/", ENTER]  # the filter's question, and back with the same (no) words
    + ["r", "r"]  # the reminders, and back
)
CYCLES = 3
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

    def cpu(self) -> float:
        """CPU seconds the process has used (user and system, every thread)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def key(self, key: str) -> tuple[float | None, float]:
        """Seconds from pressing `key` to the first output that answers it (None: no answer
        within a second), and the CPU seconds from the key until the screen is quiet."""
        self.quiet(0.15)
        cpu = self.cpu()
        t = time.perf_counter()
        os.write(self.fd, key.encode())
        answer = None
        while time.perf_counter() - t < 1:
            if self.read(0.1):
                answer = time.perf_counter() - t
                break
        self.quiet(0.1)
        return answer, self.cpu() - cpu

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


NAMES = {PAGE_UP: "pgup", PAGE_DOWN: "pgdn", HOME: "home", END: "end", ENTER: "enter"}


def measure(
    crm: str, env: dict[str, str], cycles: int = CYCLES
) -> tuple[float, list[tuple[str, float | None, float]], int]:
    term = Terminal([crm, "tui"], dict(env, TERM="xterm-256color", COLUMNS="", LINES=""))
    first = term.until(lambda text: all(marker in text for marker in READY))
    term.quiet(0.5)
    keys = [(NAMES.get(k, k), *term.key(k)) for _ in range(cycles) for k in KEYS]
    return first, keys, term.quit()


def percentile(values: list[float], share: float) -> float:
    """The value `share` of them are at or below (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


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
            measure(crm, env, 1)  # warm the file and bytecode caches
            builds = {"this": crm}
            if args.before:
                measure(args.before, env, 1)
                builds["before"] = args.before
            python = floor([sys.executable, "-c", "pass"], env, args.runs)
            help_ = floor([crm, "--help"], env, args.runs)
            firsts: dict[str, list[float]] = {name: [] for name in builds}
            keys: dict[str, list[tuple[str, float | None, float]]] = {name: [] for name in builds}
            peaks: dict[str, list[int]] = {name: [] for name in builds}
            for _ in range(args.runs):
                for name, script in builds.items():  # in turn: the load hits both alike
                    first, pressed, peak = measure(script, env)
                    firsts[name].append(first)
                    keys[name].extend(pressed)
                    peaks[name].append(peak)
            for name in builds:
                walls = [wall for _key, wall, _cpu in keys[name] if wall is not None]
                unanswered = len(keys[name]) - len(walls)
                cpu = statistics.fmean(cpu for _key, _wall, cpu in keys[name])
                slowest: dict[str, float] = {}
                for key, wall, _cpu in keys[name]:
                    if wall is not None:
                        slowest[key] = max(wall, slowest.get(key, 0.0))
                print(
                    f"{size:>7,} open deals, {name}: first screen median"
                    f" {statistics.median(firsts[name]):.3f} s (max {max(firsts[name]):.3f});"
                    f" keys ({len(walls)}{f', {unanswered} unanswered' if unanswered else ''}):"
                    f" median {statistics.median(walls) * 1000:.1f} ms,"
                    f" p99 {percentile(walls, 0.99) * 1000:.1f} ms,"
                    f" max {max(walls) * 1000:.1f} ms, CPU {cpu * 1000:.1f} ms a key;"
                    f" peak memory {max(peaks[name]) / 1024:.0f} MiB"
                )
                ranked = sorted(slowest.items(), key=lambda item: -item[1])
                print(
                    f"{size:>7,} open deals, {name}: slowest of each key: "
                    + ", ".join(f"{key} {wall * 1000:.0f} ms" for key, wall in ranked)
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
