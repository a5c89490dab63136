"""Change notices for followed log files: inotify (Linux) and the stat fallback.

A follower driven by its watch reads appended lines, a rename rotation and a copytruncate,
and does no file I/O at all while nothing changes.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from loglines import text, transfers
from storj_monitor.logs import watcher
from storj_monitor.logs.open_file import Chunk
from storj_monitor.logs.tail import FileFollower
from storj_monitor.logs.watcher import open_watch
from storj_monitor.model import NodeSpec
from storj_monitor.services.bus import Bus
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.settings import defaults
from storj_monitor.store import events as se
from storj_monitor.store.database import Store

linux_only = pytest.mark.skipif(
    sys.platform != "linux" or watcher.inotify_simple is None, reason="inotify is Linux-only"
)
NOTICE = 5.0  # seconds a wait may take for a notice that is due (returns at once normally)
QUIET = 0.2  # seconds of waiting that must bring no notice


def lines_of(chunks: list[Chunk]) -> list[str]:
    return [line for c in chunks for line in c.lines]


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


@pytest.fixture
def io_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts the file system calls a follower and its watch make (every thread)."""
    calls: Counter[str] = Counter()
    for name in ("stat", "fstat", "read", "pread", "open"):
        real = getattr(os, name)

        def counted(*args: object, _real=real, _name=name, **kwargs: object) -> object:  # type: ignore[no-untyped-def]
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, counted)
    yield calls


def log_watch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "log-watch"]


@linux_only
def test_inotify_follower_reads_appends_and_idles_without_io(
    tmp_path: Path, io_calls: Counter[str]
) -> None:
    log = tmp_path / "node.log"
    log.write_text("first\n")
    f = FileFollower(str(log))
    w = open_watch(str(log), interval=0.25)
    try:
        assert w.kind == "inotify"
        assert lines_of(f.poll()) == ["first"] and f.drained
        io_calls.clear()
        assert w.wait(QUIET) is False  # nothing changed: no notice ...
        assert sum(io_calls.values()) == 0  # ... and not one stat or read meanwhile
        append(log, b"second\nthird\n")
        assert w.wait(NOTICE) is True
        assert lines_of(f.poll()) == ["second", "third"] and f.drained
        assert io_calls["pread"] <= 1  # the first line checked once: the size changed
    finally:
        w.close()
        f.close()
    assert log_watch_threads() == []  # the last watch stopped the notifier


@linux_only
def test_inotify_sees_a_rename_rotation_and_the_new_files_writes(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("old 1\n")
    f = FileFollower(str(log))
    w = open_watch(str(log), interval=0.25)
    try:
        assert lines_of(f.poll()) == ["old 1"]
        append(log, b"old 2\n")
        log.rename(tmp_path / "node.log.1")
        log.write_text("new 1\n")
        assert w.wait(NOTICE) is True
        assert lines_of(f.poll()) == ["old 2", "new 1"] and f.rotations == 1
        while w.wait(0):  # notices of the rotation itself
            pass
        append(log, b"new 2\n")  # the new file is watched too
        assert w.wait(NOTICE) is True
        assert lines_of(f.poll()) == ["new 2"]
        append(tmp_path / "node.log.1", b"late\n")  # the rotated file is no longer watched
        assert w.wait(QUIET) is False
    finally:
        w.close()
        f.close()


@linux_only
def test_inotify_sees_a_copytruncate(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("first 1\nfirst 2\n")
    f = FileFollower(str(log))
    w = open_watch(str(log), interval=0.25)
    try:
        assert lines_of(f.poll()) == ["first 1", "first 2"]
        with open(log, "r+b") as fh:
            fh.truncate(0)
        append(log, b"second 1\n")
        assert w.wait(NOTICE) is True
        chunks = f.poll()
        assert lines_of(chunks) == ["second 1"]
        assert chunks[0].start == 0 and f.truncations == 1
    finally:
        w.close()
        f.close()


@linux_only
def test_a_file_that_appears_later_is_noticed(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    f = FileFollower(str(log))
    w = open_watch(str(log), interval=0.25)
    try:
        assert f.poll() == [] and f.drained
        log.write_text("hello\n")
        assert w.wait(NOTICE) is True
        assert lines_of(f.poll()) == ["hello"]
        while w.wait(0):
            pass
        append(log, b"again\n")
        assert w.wait(NOTICE) is True
    finally:
        w.close()
        f.close()


@linux_only
def test_writes_to_a_neighbour_wake_nobody_and_closing_one_keeps_the_other(
    tmp_path: Path,
) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("a\n")
    b.write_text("b\n")
    wa = open_watch(str(a), interval=0.25)
    wb = open_watch(str(b), interval=0.25)
    try:
        append(a, b"a2\n")
        assert wa.wait(NOTICE) is True
        assert wb.wait(QUIET) is False  # same directory, other file
        wa.close()
        b.rename(tmp_path / "b.log.1")  # the shared directory watch still serves b
        b.write_text("b new\n")
        assert wb.wait(NOTICE) is True
        assert len(log_watch_threads()) == 1
    finally:
        wa.close()
        wb.close()
    assert log_watch_threads() == []


def test_stat_fallback_follows_appends_rotation_and_truncation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watcher, "inotify_simple", None)  # as on a platform without it
    log = tmp_path / "node.log"
    log.write_text("one\n")
    f = FileFollower(str(log))
    w = open_watch(str(log), interval=0.01)
    try:
        assert w.kind == "stat" and log_watch_threads() == []
        assert lines_of(f.poll()) == ["one"]
        assert w.wait(0.05) is False
        append(log, b"two\n")
        assert w.wait(NOTICE) is True
        assert lines_of(f.poll()) == ["two"]
        log.rename(tmp_path / "node.log.1")
        log.write_text("three\n")
        assert w.wait(NOTICE) is True
        assert lines_of(f.poll()) == ["three"] and f.rotations == 1
        with open(log, "r+b") as fh:
            fh.truncate(0)
        assert w.wait(NOTICE) is True
        append(log, b"four\n")
        assert lines_of(f.poll()) == ["four"] and f.truncations == 1
        w.wake()
        assert w.wait(NOTICE) is True  # wake() ends a wait at once (stop uses it)
    finally:
        w.close()
        f.close()


def test_unchanged_file_poll_skips_the_first_line_check(
    tmp_path: Path, io_calls: Counter[str]
) -> None:
    """Identity (a 1 KiB read and SHA-1) is checked only when the size changed."""
    log = tmp_path / "node.log"
    log.write_text("first\n")
    f = FileFollower(str(log))
    try:
        f.poll()
        io_calls.clear()
        assert f.poll() == []
        assert io_calls["pread"] == 0
        append(log, b"x\n")
        assert lines_of(f.poll()) == ["x"]
        assert io_calls["pread"] == 1
    finally:
        f.close()


@pytest.mark.parametrize("inotify", [pytest.param(True, marks=linux_only), False])
async def test_node_ingest_waits_for_notices_and_polls_nothing_while_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inotify: bool
) -> None:
    """The live pipeline reads on notices (inotify, or the forced stat fallback); while the
    file is idle it calls ``poll`` no more (the old loop polled every LOG_POLL_INTERVAL)."""
    if not inotify:
        monkeypatch.setattr(watcher, "inotify_simple", None)
    polls = Counter[str]()
    real_poll = FileFollower.poll

    def counted_poll(self: FileFollower) -> list[Chunk]:
        polls["poll"] += 1
        return real_poll(self)

    monkeypatch.setattr(FileFollower, "poll", counted_poll)
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 10)))
    settings = defaults().replace(
        db_path=str(tmp_path / "s.db"), db_commit_interval=0.05, log_poll_interval=0.02
    )

    async def stored(n: int) -> None:
        for _ in range(1000):
            if store.read_sync(lambda c: se.count_events(c, "n1")) == n:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"never stored {n} events")

    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)))
        await ingest.start()
        try:
            await stored(10)
            assert (ingest._watch.kind if ingest._watch else None) == (
                "inotify" if inotify else "stat"
            )
            await asyncio.sleep(0.1)  # the batch's commit poll, if any, is behind us
            before = polls["poll"]
            await asyncio.sleep(0.5)  # 25 polls of the old loop at 0.02 s
            assert polls["poll"] == before
            with open(log, "a", encoding="utf-8") as f:
                f.write(text(transfers(10, 5)))
            await stored(15)
        finally:
            await ingest.stop()
    assert log_watch_threads() == []
