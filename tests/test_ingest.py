"""The live pipeline of one node: follow → parse → pair → store + bus, on real files."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from loglines import T0, text, transfers
from storj_monitor.model import Event, NodeSpec
from storj_monitor.services.bus import Bus
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.settings import Settings, defaults
from storj_monitor.store import events as se
from storj_monitor.store.database import Store


def fast_settings(db: Path, **extra: object) -> Settings:
    return defaults().replace(
        db_path=str(db), db_commit_interval=0.05, log_poll_interval=0.02, **extra
    )


async def until(cond: Callable[[], bool], what: str, limit: float = 20.0) -> None:
    """Wait for a condition (polling, no timing assertion); fail with ``what`` if never."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not cond():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def append(path: Path, lines: list[str]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text(lines))


def stored_events(store: Store, node: str = "n1") -> int:
    return store.read_sync(lambda c: se.count_events(c, node))


async def test_backlog_then_live_lines_reach_store_and_bus(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 20)))
    clock_now = [T0 + 100]
    settings = fast_settings(tmp_path / "s.db")
    bus = Bus()
    seen: list[Event] = []
    bus.subscribe("events", lambda node, events: seen.extend(events))
    with Store(settings.db_path) as store:
        ingest = NodeIngest(
            settings, store, bus, NodeSpec("n1", str(log)), clock=lambda: clock_now[0]
        )
        await ingest.start()
        await ingest.start()  # idempotent
        await until(lambda: stored_events(store) == 20, "the backlog")
        await until(lambda: len(seen) == 20, "backlog events on the bus")  # recent: published
        assert all(e.duration_source == "log_seconds" for e in seen)
        append(log, transfers(20, 5))
        await until(lambda: stored_events(store) == 25, "live lines")
        await until(lambda: len(seen) == 25, "live events on the bus")
        live = seen[20:]
        assert all(e.duration_source == "arrival" for e in live)  # stamped when read
        assert ingest.lines == 50 and ingest.events == 25 and ingest.caught_up
        await ingest.stop()
        await ingest.stop()
        offsets = store.read_sync(lambda c: se.get_offsets(c, "n1"))
        assert [o.offset for o in offsets] == [log.stat().st_size]


async def test_old_backlog_is_stored_but_not_broadcast(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 10)))
    settings = fast_settings(tmp_path / "s.db")
    bus = Bus()
    seen: list[Event] = []
    bus.subscribe("events", lambda node, events: seen.extend(events))
    with Store(settings.db_path) as store:
        ingest = NodeIngest(
            settings, store, bus, NodeSpec("n1", str(log)), clock=lambda: T0 + 30 * 86400
        )
        await ingest.start()
        await until(lambda: stored_events(store) == 10, "the backlog")
        await ingest.stop()
    assert seen == []


async def test_restart_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 10)))
    settings = fast_settings(tmp_path / "s.db")
    with Store(settings.db_path) as store:
        first = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)))
        await first.start()
        await until(lambda: stored_events(store) == 10, "first run")
        await first.stop()
        append(log, transfers(10, 7))  # written while the monitor is down
        second = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)))
        await second.start()
        await until(lambda: stored_events(store) == 17, "second run")
        await second.stop()
        assert second.lines == 14  # only the new lines were read
        assert stored_events(store) == 17


async def test_rotation_and_truncation_while_following(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 3)))
    settings = fast_settings(tmp_path / "s.db")
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)))
        await ingest.start()
        await until(lambda: stored_events(store) == 3, "first file")
        append(log, transfers(3, 2))
        os.rename(log, tmp_path / "node.log.1")  # rename rotation
        log.write_text(text(transfers(5, 4)))
        await until(lambda: stored_events(store) == 9, "old remainder and new file")
        with open(log, "r+b") as f:  # copytruncate
            f.truncate(0)
        append(log, transfers(9, 2))
        await until(lambda: stored_events(store) == 11, "after copytruncate")
        await ingest.stop()
        offsets = store.read_sync(lambda c: se.get_offsets(c, "n1"))
        assert len(offsets) == 3  # the rotated file, the new file, the truncated rewrite


async def test_from_end_starts_at_the_end(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 10)))
    settings = fast_settings(tmp_path / "s.db", follow_from_end=True)
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)))
        await ingest.start()
        await until(lambda: ingest.caught_up, "the end of the file")
        append(log, transfers(10, 2))
        await until(lambda: stored_events(store) == 2, "new lines only")
        await ingest.stop()
        assert stored_events(store) == 2  # the 10 transfers before the start stay unread


async def test_missing_file_appears_later(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    settings = fast_settings(tmp_path / "s.db")
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)))
        await ingest.start()
        await until(lambda: ingest.caught_up, "the first poll")
        log.write_text(text(transfers(0, 4)))
        await until(lambda: stored_events(store) == 4, "the new file")
        await ingest.stop()
        assert stored_events(store) == 4


async def test_unparseable_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_bytes(b"\x00\xff garbage\n{not json\n" + text(transfers(0, 2)).encode())
    settings = fast_settings(tmp_path / "s.db")
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)))
        await ingest.start()
        await until(lambda: stored_events(store) == 2, "the good lines")
        await ingest.stop()
        assert ingest.unparseable == 2


async def test_remote_node_through_a_forwarder(tmp_path: Path) -> None:
    from storj_monitor.logs.forwarder import Forwarder

    log = tmp_path / "remote.log"
    log.write_text(text(transfers(0, 6)))
    fwd = Forwarder(str(log), "tok", "127.0.0.1", 0, poll_interval=0.01)
    fwd.start()
    settings = fast_settings(tmp_path / "s.db", forwarder_token="tok")
    node = NodeSpec("r1", f"127.0.0.1:{fwd.port}", is_remote=True)
    try:
        with Store(settings.db_path) as store:
            ingest = NodeIngest(settings, store, Bus(), node)
            await ingest.start()
            await until(lambda: stored_events(store, "r1") == 6, "the forwarded backlog")
            append(log, transfers(6, 3))
            await until(lambda: stored_events(store, "r1") == 9, "forwarded live lines")
            await ingest.stop()
            offsets = store.read_sync(lambda c: se.get_offsets(c, "r1"))
            assert [o.offset for o in offsets] == [log.stat().st_size]
    finally:
        fwd.stop()


async def test_large_first_read_uses_the_import_fast_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storj_monitor.services.history as history
    import storj_monitor.services.ingest as ingest_module

    imports = []
    real_import = history.import_log

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real_import(*args, **kwargs)
        imports.append(result)
        return result

    monkeypatch.setattr(ingest_module, "import_log", spy)
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 300)))
    tail = len(text(transfers(290, 10)).encode())  # about the last 10 transfers
    monkeypatch.setattr(ingest_module, "FAST_IMPORT_MIN_BYTES", 1000)
    monkeypatch.setattr(ingest_module, "LIVE_TAIL_BYTES", tail)
    settings = fast_settings(tmp_path / "s.db")
    bus = Bus()
    seen: list[Event] = []
    bus.subscribe("events", lambda node, events: seen.extend(events))
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, bus, NodeSpec("n1", str(log)), clock=lambda: T0)
        await ingest.start()
        await until(lambda: stored_events(store) == 300 and ingest.caught_up, "the backlog")
        assert ingest.lines == 600 and ingest.events == 300
        assert imports and imports[0].events > 250  # most of it went through the fast path
        durations = store.read_sync(
            lambda c: c.execute("SELECT COUNT(*) FROM events WHERE duration_ms = 1000").fetchone()
        )
        assert durations == (300,)  # the pairing state crossed the hand-over
        await until(lambda: len(seen) >= 9, "the tail on the bus")
        assert 9 <= len(seen) <= 11  # only the tail read by the follower is broadcast
        append(log, transfers(300, 2))
        await until(lambda: stored_events(store) == 302, "live lines")
        await ingest.stop()
        ids = store.read_sync(
            lambda c: c.execute("SELECT COUNT(DISTINCT piece_id) FROM events").fetchone()[0]
        )
        assert ids == 302


async def test_an_unexpected_error_restarts_from_stored_offsets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storj_monitor.services.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "RESTART_DELAY", 0.01)
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 5)))
    settings = fast_settings(tmp_path / "s.db")
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)))
        real = ingest.processor.process
        failures = [1]

        def flaky(lines, arrival=None, now=None):  # type: ignore[no-untyped-def]
            if failures and len(lines) == 4:  # the second append, once
                failures.pop()
                raise RuntimeError("boom")
            return real(lines, arrival, now)

        monkeypatch.setattr(ingest.processor, "process", flaky)
        await ingest.start()
        await until(lambda: stored_events(store) == 5, "the first lines")
        append(log, transfers(5, 2))
        await until(lambda: ingest.restarts == 1, "the restart")
        await until(lambda: stored_events(store) == 7, "the lines after the error")
        await ingest.stop()
        assert stored_events(store) == 7


async def test_live_durations_use_the_injected_arrival_clock(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("")
    now = [T0 + 10.0]
    settings = fast_settings(tmp_path / "s.db")
    bus = Bus()
    seen: list[Event] = []
    bus.subscribe("events", lambda node, events: seen.extend(events))
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, bus, NodeSpec("n1", str(log)), clock=lambda: now[0])
        await ingest.start()
        await until(lambda: ingest.caught_up, "the empty file")
        start, finish = transfers(0, 1)  # both lines carry whole-second log stamps
        append(log, [start])
        await until(lambda: ingest.lines == 1, "the start line")
        now[0] += 0.25  # the finish line is read 250 ms later
        append(log, [finish])
        await until(lambda: len(seen) == 1, "the event")
        await ingest.stop()
    assert seen[0].duration_source == "arrival"
    assert seen[0].duration_ms == pytest.approx(250.0)


async def test_live_follower_and_import_of_the_same_file_store_each_line_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storj_monitor.services.history as history

    monkeypatch.setattr(history, "IMPORT_BATCH_ROWS", 40)
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 1500)))
    settings = fast_settings(tmp_path / "s.db", db_batch_size=40, log_read_block_bytes=8192)
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)))
        await ingest.start()
        result = await asyncio.to_thread(
            history.import_log, settings.db_path, "n1", str(log),
            max_pending=1000, ttl_seconds=3600, block_bytes=8192, writer_process=False,
        )  # fmt: skip
        await until(lambda: ingest.caught_up, "the follower")
        await until(
            lambda: (
                store.read_sync(lambda c: se.get_offsets(c, "n1"))[0].offset == log.stat().st_size
            ),
            "the end of the file",
        )
        await ingest.stop()
        total, distinct = store.read_sync(
            lambda c: c.execute("SELECT COUNT(*), COUNT(DISTINCT piece_id) FROM events").fetchone()
        )
    assert (total, distinct) == (1500, 1500)
    assert result.events + ingest.events == 1500  # whoever stored a line first owns it
