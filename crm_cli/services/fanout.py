"""A long listing's chunks turned into text on two cores, in order.

Why: streaming a million deals as JSON costs about 6 µs a row to read (SQLite, or the
PostgreSQL driver) and 8 µs to write the row's text, all on one core: about 70,000 rows a
second, where a script exporting its pipeline wants 100,000. Python's threads cannot write
text at the same time (the interpreter lock), so the second core is a forked copy of this
process: the parent keeps reading the rows, and sends most chunks to the copy to be written;
the copy sends their text back, and the parent writes every chunk's text in the listing's
order. While the copy is busy with the chunks it holds, the parent writes the next chunk's text
itself, so the work balances on its own (a loaded machine, a slow copy).

The copy touches no database and no file: it reads plain rows from one pipe (`pack`ed:
`marshal`, or `pickle` for rows holding datetimes), writes text to the other, and leaves with
`os._exit` (none of the parent's connections closed twice, no code of the parent run again).
If it fails or dies, the parent writes the chunks it held itself: the output is the same
either way. Where the system cannot fork or offers one core, and for listings of a few chunks
(`alone`), everything runs in this process as before.
"""

from __future__ import annotations

import itertools
import os
import struct
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import Any

# Chunks the copy may hold at once (sent, not yet answered): enough to keep it busy while the
# parent reads; each costs a chunk of rows and of text in memory (~0.1 and ~0.7 MB a thousand
# deals).
AHEAD = 3
# Texts the parent may hold back, written by itself, waiting for the copy's earlier one.
HELD = 8
# Chunks written in this process before the copy is made: a short listing never forks.
ALONE = 4
# Each pipe's capacity asked of Linux: a chunk's rows or text in one write, mostly.
PIPE_BYTES = 1 << 20

_HEAD = struct.Struct("<Q")


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def in_order(
    parts: Iterable[Sequence[Any]],
    work: Callable[[Sequence[Any]], str],
    pack: Callable[[Any], bytes],
    unpack: Callable[[bytes], Any],
    alone: int | None = None,
) -> Generator[str, None, None]:
    """`work(part)` for each of `parts`, in their order, most of them worked out by a forked
    copy of this process (see the module). `work` must need nothing the copy cannot have: no
    database, no file; whatever it makes lazily, it has made after the first part. The first
    `alone` parts (default ALONE) are worked out here before the copy is made."""
    chunks = iter(parts)
    for _ in range(max(ALONE if alone is None else alone, 1)):
        part = next(chunks, None)
        if part is None:
            return
        yield work(part)
    following = next(chunks, None)
    if following is None:
        return
    chunks = itertools.chain([following], chunks)
    helper = _Helper.start(work, unpack) if cores() > 1 else None
    if helper is None:
        yield from map(work, chunks)
        return
    try:
        for part in chunks:
            helper.collect(wait=False)
            yield from helper.ready()
            if helper.waiting < AHEAD and helper.alive:
                helper.send(part, pack(part))
            else:
                helper.keep(work(part))
                while helper.held > HELD:
                    helper.collect(wait=True)
                    yield from helper.ready()
        helper.finish()
        yield from helper.ready()
    finally:
        helper.stop()


class _Helper:
    """The forked copy, seen from the parent: the chunks in order, each either its text
    (written here) or its rows (sent, waiting for the copy's text)."""

    def __init__(self, pid: int, to_copy: int, from_copy: int, work: Callable[..., str]) -> None:
        self.pid = pid
        self.to_copy = to_copy
        self.from_copy = from_copy
        self.work = work
        self.alive = True
        # [text or None, rows]: None until the text is known.
        self.queue: deque[list[Any]] = deque()
        self.waiting = 0  # sent and not answered
        self.answered = 0  # texts the copy wrote
        self.inbox = bytearray()
        import select

        # poll, not select: a long-lived process may hold file descriptors past FD_SETSIZE.
        self.texts = select.poll()
        self.texts.register(from_copy, select.POLLIN)
        self.either = select.poll()
        self.either.register(from_copy, select.POLLIN)
        self.either.register(to_copy, select.POLLOUT)

    @classmethod
    def start(cls, work: Callable[..., str], unpack: Callable[[bytes], Any]) -> _Helper | None:
        if not hasattr(os, "fork"):
            return None
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        for fd in (down_w, up_w):
            _widen(fd)
        try:
            pid = os.fork()
        except OSError:
            for fd in (down_r, down_w, up_r, up_w):
                os.close(fd)
            return None
        if pid == 0:  # the copy: never returns
            code = 1
            try:
                os.close(down_w)
                os.close(up_r)
                _serve(down_r, up_w, work, unpack)
                code = 0
            finally:
                os._exit(code)
        os.close(down_r)
        os.close(up_w)
        os.set_blocking(down_w, False)
        os.set_blocking(up_r, False)
        return cls(pid, down_w, up_r, work)

    @property
    def held(self) -> int:
        return len(self.queue)

    def keep(self, text: str) -> None:
        self.queue.append([text, None])

    def send(self, rows: Sequence[Any], data: bytes) -> None:
        entry = [None, rows]
        self.queue.append(entry)
        self.waiting += 1
        if not self._write(_HEAD.pack(len(data)) + data):
            self._fail()

    def ready(self) -> Iterator[str]:
        """The texts at the front of the queue that are known, in order."""
        queue = self.queue
        while queue and queue[0][0] is not None:
            yield queue.popleft()[0]

    def collect(self, wait: bool) -> None:
        """Take in the texts the copy has written; with `wait`, wait for one at least."""
        answered = 0
        while self.alive:
            try:
                data = os.read(self.from_copy, PIPE_BYTES)
            except BlockingIOError:
                if wait and not answered and self.waiting:
                    self.texts.poll()
                    continue
                return
            if not data:  # the copy is gone before answering everything it holds
                if self.waiting:
                    self._fail()
                return
            self.inbox += data
            answered += self._answer()

    def _answer(self) -> int:
        """Hand each complete text in the inbox to the oldest chunk waiting for one (the copy
        answers in the order it was sent): how many."""
        inbox = self.inbox
        answered = offset = 0
        while len(inbox) - offset >= _HEAD.size:
            (size,) = _HEAD.unpack_from(inbox, offset)
            end = offset + _HEAD.size + size
            if len(inbox) < end:
                break
            text = inbox[offset + _HEAD.size : end].decode()
            offset = end
            entry = next(e for e in self.queue if e[0] is None)
            entry[0], entry[1] = text, None
            self.waiting -= 1
            answered += 1
        self.answered += answered
        del inbox[:offset]
        return answered

    def finish(self) -> None:
        """Tell the copy there is no more, and take in every text it still owes."""
        if self.alive and not self._write(_HEAD.pack(0)):
            self._fail()
        while self.alive and self.waiting:
            self.collect(wait=True)

    def stop(self) -> None:
        """Close the pipes and reap the copy, killing it if it is still at work."""
        import signal

        for fd in (self.to_copy, self.from_copy):
            try:
                os.close(fd)
            except OSError:
                pass
        self.to_copy = self.from_copy = -1
        if self.pid:
            if self.alive:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.waitpid(self.pid, 0)
            self.pid = 0

    def _write(self, data: bytes) -> bool:
        """Send `data` whole, taking in the copy's texts while the pipe is full (the copy
        may be waiting for room in its own). False if the copy is gone."""
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.to_copy, view) :]
            except BlockingIOError:
                if any(fd == self.from_copy for fd, _event in self.either.poll()):
                    self.collect(wait=False)
                    if not self.alive:
                        return False
            except OSError:  # the copy is gone
                return False
        return True

    def _fail(self) -> None:
        """The copy failed: write here every chunk it held, and send it no more."""
        import signal

        if self.alive:
            self.alive = False
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for entry in self.queue:
            if entry[0] is None:
                entry[0], entry[1] = self.work(entry[1]), None
        self.waiting = 0


def _widen(fd: int) -> None:
    """Ask Linux for a pipe of PIPE_BYTES (a chunk in one write): best effort."""
    import fcntl

    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setpipe is not None:
        try:
            fcntl.fcntl(fd, setpipe, PIPE_BYTES)
        except OSError:
            pass


def _serve(
    down: int, up: int, work: Callable[[Sequence[Any]], str], unpack: Callable[[bytes], Any]
) -> None:
    """The copy's loop: rows in, text out, until told there is no more (or the parent is
    gone: the pipe ends)."""
    import gc
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    gc.disable()  # nothing it makes is cyclic; and no finaliser of the parent's objects runs
    with os.fdopen(down, "rb") as rows_in, os.fdopen(up, "wb", buffering=0) as text_out:
        while True:
            head = rows_in.read(_HEAD.size)
            if len(head) < _HEAD.size:
                return
            (size,) = _HEAD.unpack(head)
            if size == 0:
                return
            data = rows_in.read(size)
            if len(data) < size:
                return
            text = work(unpack(data)).encode()
            out = memoryview(_HEAD.pack(len(text)) + text)
            while out:
                out = out[text_out.write(out) :]
