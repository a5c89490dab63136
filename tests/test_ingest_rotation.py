"""Three rotations while the monitor (or the forwarder, or the link) is down, through the real
pipeline into SQLite: every transfer stored exactly once, in the order it was written.

One rotation of each kind: rename, copytruncate, and rename + gzip (``node.log.1.gz``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from loglines import T0, piece_id, transfer
from rotator import RotatedLog
from storj_monitor.logs.forwarder import Forwarder
from storj_monitor.model import NodeSpec
from storj_monitor.services.bus import Bus
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.settings import Settings, defaults
from storj_monitor.store.database import Store

ROTATIONS = ("rename", "copytruncate", "gzip")


def fast_settings(db: Path, **extra: object) -> Settings:
    return defaults().replace(
        db_path=str(db), db_commit_interval=0.05, log_poll_interval=0.02, db_batch_size=40, **extra
    )


def transfers_log(path: Path) -> RotatedLog:
    """A log of transfers: unit ``i`` is transfer ``i`` (two lines, one event)."""
    return RotatedLog(path, lambda i: transfer(i, T0 + i, dialect="old" if i % 2 else "new"))


async def until(cond: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not cond():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def stored(store: Store, node: str) -> list[str]:
    """Piece ids of the stored events in the order they were stored."""
    return store.read_sync(
        lambda c: [
            r[0]
            for r in c.execute(
                "SELECT piece_id FROM events WHERE node_name = ? ORDER BY id", (node,)
            )
        ]
    )


def expected(count: int) -> list[str]:
    return [piece_id(i) for i in range(count)]


def rotate_three_times(log: RotatedLog, per_file: int) -> None:
    for how in ROTATIONS:
        log.write(per_file)
        log.rotate(how)
    log.write(per_file)


async def test_local_three_rotations_while_stopped(tmp_path: Path) -> None:
    log = transfers_log(tmp_path / "node.log")
    log.write(100)
    settings = fast_settings(tmp_path / "s.db")
    node = NodeSpec("n1", str(log.path))
    with Store(settings.db_path) as store:
        first = NodeIngest(settings, store, Bus(), node)
        await first.start()
        await until(lambda: len(stored(store, "n1")) == 100, "the first file")
        await first.stop()  # offsets committed
        rotate_three_times(log, 100)  # 300 transfers in node.log.2, node.log.1.gz... while down
        assert sorted(p.name for p in tmp_path.glob("node.log*")) == [
            "node.log", "node.log.1.gz", "node.log.2", "node.log.3",
        ]  # fmt: skip
        second = NodeIngest(settings, store, Bus(), node)
        await second.start()
        await until(lambda: len(stored(store, "n1")) >= 500, "the rotated files")
        log.write(10)  # and it follows on live
        await until(lambda: len(stored(store, "n1")) >= 510, "live lines")
        await second.stop()
        assert stored(store, "n1") == expected(510)
        assert second.lines == 2 * 410  # nothing read twice


async def test_forwarder_three_rotations_while_monitor_and_forwarder_are_down(
    tmp_path: Path,
) -> None:
    log = transfers_log(tmp_path / "remote.log")
    log.write(100)
    fwd = Forwarder(str(log.path), "tok", "127.0.0.1", 0, poll_interval=0.01)
    port = fwd.port
    fwd.start()
    settings = fast_settings(tmp_path / "s.db", forwarder_token="tok")
    node = NodeSpec("r1", f"127.0.0.1:{port}", is_remote=True)
    try:
        with Store(settings.db_path) as store:
            ingest = NodeIngest(settings, store, Bus(), node)
            await ingest.start()
            await until(lambda: len(stored(store, "r1")) == 100, "the forwarded file")
            await ingest.stop()  # the monitor stops: its offsets are in the database
            fwd.stop()  # and the forwarder too
            rotate_three_times(log, 100)
            fwd = Forwarder(str(log.path), "tok", "127.0.0.1", port, poll_interval=0.01)
            fwd.start()
            ingest = NodeIngest(settings, store, Bus(), node)
            await ingest.start()
            await until(lambda: len(stored(store, "r1")) >= 500, "the rotated files")
            await ingest.stop()
            assert stored(store, "r1") == expected(500)
    finally:
        fwd.stop()


async def test_forwarder_rotations_during_outages_while_the_monitor_runs(tmp_path: Path) -> None:
    """The link (the forwarder) drops before each rotation and comes back after it: the
    monitor's client resumes from what it received, in whichever file that is now."""
    log = transfers_log(tmp_path / "remote.log")
    log.write(60)
    fwd = Forwarder(str(log.path), "tok", "127.0.0.1", 0, poll_interval=0.01)
    port = fwd.port
    fwd.start()
    settings = fast_settings(tmp_path / "s.db", forwarder_token="tok")
    node = NodeSpec("r1", f"127.0.0.1:{port}", is_remote=True)
    try:
        with Store(settings.db_path) as store:
            ingest = NodeIngest(settings, store, Bus(), node)
            await ingest.start()
            total = 60
            await until(lambda: len(stored(store, "r1")) == total, "the forwarded file")
            for how in ROTATIONS:
                log.write(30)  # read by nobody before the outage
                fwd.stop()
                log.write(30)
                log.rotate(how)
                log.write(30)
                log.rotate(ROTATIONS[(ROTATIONS.index(how) + 1) % 3])  # twice per outage
                log.write(30)
                total += 120
                fwd = Forwarder(str(log.path), "tok", "127.0.0.1", port, poll_interval=0.01)
                fwd.start()
                await until(lambda t=total: len(stored(store, "r1")) >= t, f"after {how}")
            await ingest.stop()
            assert stored(store, "r1") == expected(total)
    finally:
        fwd.stop()


async def test_a_large_current_file_after_unread_rotations_is_read_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast import of a large first read would store the current file before the rotated
    ones: with rotated files to read it is skipped, and the follower reads all in order."""
    import storj_monitor.services.ingest as ingest_module

    log = transfers_log(tmp_path / "node.log")
    log.write(20)
    settings = fast_settings(tmp_path / "s.db")
    node = NodeSpec("n1", str(log.path))
    with Store(settings.db_path) as store:
        first = NodeIngest(settings, store, Bus(), node)
        await first.start()
        await until(lambda: len(stored(store, "n1")) == 20, "the first file")
        await first.stop()
        log.rotate("rename")
        log.write(50)
        log.rotate("gzip")
        log.write(300)  # the current file: "large"
        monkeypatch.setattr(ingest_module, "FAST_IMPORT_MIN_BYTES", 1000)
        monkeypatch.setattr(ingest_module, "LIVE_TAIL_BYTES", 1000)
        second = NodeIngest(settings, store, Bus(), node)
        await second.start()
        await until(lambda: len(stored(store, "n1")) >= 370, "everything")
        await second.stop()
        assert stored(store, "n1") == expected(370)
