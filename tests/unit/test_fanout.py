"""A long listing's text written on two cores (services.fanout): every chunk's text comes out
once, in order, whatever the forked copy does (works, fails, dies, lags), and no copy outlives
the listing."""

from __future__ import annotations

import marshal
import os
import signal
import time
from collections.abc import Sequence
from typing import Any

import pytest

from crm_cli.services import fanout

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="this system cannot fork")

PARENT = os.getpid()


def _parts(count: int, size: int = 50) -> list[list[tuple[int, str, None, float]]]:
    return [
        [(n, f"row {n} ünï 报价", None, n / 7) for n in range(i * size, (i + 1) * size)]
        for i in range(count)
    ]


def _text(part: Sequence[Any]) -> str:
    return ",\n".join(f"{n}:{s}:{f!r}" for n, s, _none, f in part)


def _tagged(part: Sequence[Any]) -> str:
    """The chunk's text, prefixed with who wrote it."""
    who = "here" if os.getpid() == PARENT else "copy"
    return who + "|" + _text(part)


def _run(parts: list[Any], work: Any, alone: int = 1) -> list[str]:
    return list(fanout.in_order(parts, work, marshal.dumps, marshal.loads, alone=alone))


_COPIES: list[int] = []  # the pids of the copies the test made


@pytest.fixture(autouse=True)
def _two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "cores", lambda: 2)
    _COPIES.clear()
    start = fanout._Helper.start

    def recorded(*args: Any) -> Any:
        helper = start(*args)
        if helper is not None:
            _COPIES.append(helper.pid)
        return helper

    monkeypatch.setattr(fanout._Helper, "start", recorded)


def _no_children_left() -> bool:
    """Every copy the test made has ended and was reaped (this process may have other
    children: the test runner's)."""
    assert _COPIES, "no copy was made"
    for pid in _COPIES:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True


def test_every_chunk_once_in_order_most_by_the_copy() -> None:
    parts = _parts(200)
    out = _run(parts, _tagged)
    assert [t.split("|", 1)[1] for t in out] == [_text(p) for p in parts]
    writers = [t.split("|", 1)[0] for t in out]
    assert writers[0] == "here"
    assert writers.count("copy") > 0
    assert _no_children_left()


def test_a_short_listing_never_forks(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []
    real = fanout._Helper.start

    def start(*args: Any) -> Any:
        started.append(1)
        return real(*args)

    monkeypatch.setattr(fanout._Helper, "start", start)
    parts = _parts(4)
    assert _run(parts, _tagged, alone=4) == ["here|" + _text(p) for p in parts]
    assert _run([], _tagged, alone=4) == []
    assert started == []


def test_one_core_writes_everything_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fanout, "cores", lambda: 1)
    parts = _parts(30)
    assert _run(parts, _tagged) == ["here|" + _text(p) for p in parts]


def test_a_failing_copy_leaves_its_chunks_to_the_parent() -> None:
    def work(part: Sequence[Any]) -> str:
        if os.getpid() != PARENT and part[0][0] >= 50 * 20:
            raise RuntimeError("the copy fails from chunk 20 on")
        return _tagged(part)

    parts = _parts(100)
    out = _run(parts, work)
    assert [t.split("|", 1)[1] for t in out] == [_text(p) for p in parts]
    assert "copy" in {t.split("|", 1)[0] for t in out[:20]}
    assert {t.split("|", 1)[0] for t in out[20:]} == {"here"}
    assert _no_children_left()


def test_a_copy_killed_mid_stream_changes_nothing_in_the_output() -> None:
    def work(part: Sequence[Any]) -> str:
        if os.getpid() != PARENT and part[0][0] == 50 * 30:
            os.kill(os.getpid(), signal.SIGKILL)
        return _text(part)

    parts = _parts(100)
    assert _run(parts, work) == [_text(p) for p in parts]
    assert _no_children_left()


def test_a_slow_copy_leaves_more_to_the_parent_and_keeps_the_order() -> None:
    def work(part: Sequence[Any]) -> str:
        if os.getpid() != PARENT:
            time.sleep(0.01)
        return _tagged(part)

    parts = _parts(120)
    out = _run(parts, work)
    assert [t.split("|", 1)[1] for t in out] == [_text(p) for p in parts]
    writers = [t.split("|", 1)[0] for t in out]
    assert writers.count("here") > writers.count("copy") > 0


def test_chunks_and_texts_larger_than_a_pipe_do_not_block_either_side() -> None:
    # A chunk's rows of ~2.5 MB and its text of ~5 MB: more than a pipe holds both ways.
    parts = [[(i, "x" * 50_000, None, 0.5) for i in range(j * 50, (j + 1) * 50)] for j in range(12)]

    def work(part: Sequence[Any]) -> str:
        return _text(part) * 2

    assert _run(parts, work) == [_text(p) * 2 for p in parts]


def test_a_reader_that_stops_early_leaves_no_copy_behind() -> None:
    stream = fanout.in_order(_parts(500), _text, marshal.dumps, marshal.loads, alone=1)
    first = [next(stream) for _ in range(10)]
    assert first == [_text(p) for p in _parts(10)]
    stream.close()
    assert _no_children_left()


def test_an_error_in_the_parent_kills_and_reaps_the_copy() -> None:
    def parts() -> Any:
        yield from _parts(40)
        raise OSError("the database went away")

    with pytest.raises(OSError, match="went away"):
        _run(parts(), _text)
    assert _no_children_left()
