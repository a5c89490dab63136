"""Bad lines end to end (issue #14, items 1 and 5): extreme dates and negative sizes in a
live follow and in ``--ingest-log``; a row the writer fails on is isolated and quarantined,
the rest and the offset stored; /healthz and /metrics show the count."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from loglines import piece_id, stamp, text, transfer, transfers
from storj_monitor.cli import main
from storj_monitor.logs.rejects import BAD_SIZE, BAD_TIME
from storj_monitor.model import NodeSpec
from storj_monitor.services.bus import Bus
from storj_monitor.services.history import import_log
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.store import events as se
from storj_monitor.store.database import Store, connect
from storj_monitor.store.schema import migrate
from storj_monitor.web.metrics import MonitorCollector
from test_bad_lines import dated, finish_line
from test_ingest import append, fast_settings, stored_events, until
from web_harness import poll_until, running_monitor

pytestmark = pytest.mark.timeout(120)


def extreme_dates(now: float) -> list[str]:
    return ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2017-12-31T23:59:59Z",
            stamp(now + 2 * 86400)]  # fmt: skip


def poisoned_log(now: float, first: int = 0) -> tuple[list[str], int, int]:
    """10 good transfers with, between them, a transfer at each extreme date (8 bad lines) and
    one result line with a negative size (1 bad line): (lines, good events, bad lines)."""
    t = now - 3600
    lines = transfers(first, 5, t)
    for k, ts_text in enumerate(extreme_dates(now)):
        lines += [dated(line, ts_text) for line in transfer(first + 100 + k, t)]
    lines += [transfer(first + 200, t)[0], finish_line(first + 200, stamp(t + 1), Size=-1)]
    lines += transfers(first + 5, 5, t + 10)
    return lines, 10, 9


def bad_rows(db: Path | str) -> list[tuple[str, str, str, int | None]]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT node_name, source, reason, offset FROM bad_lines ORDER BY id"
        ).fetchall()
        return [tuple(r) for r in rows]  # type: ignore[misc]
    finally:
        conn.close()


def db_counts(db: Path | str) -> tuple[int, int, int]:
    """(raw events, events in the minute rollups, bad_lines rows)."""
    conn = sqlite3.connect(db)
    try:
        return (
            conn.execute("SELECT COUNT(*) FROM events").fetchone()[0],
            conn.execute("SELECT COALESCE(SUM(count), 0) FROM rollups_minute").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM bad_lines").fetchone()[0],
        )
    finally:
        conn.close()


def poison_trigger(db: Path | str, pid: str) -> None:
    """A real write failure on one row: SQLite aborts any insert of this piece id."""
    conn = connect(db)
    migrate(conn)
    conn.execute(
        f"CREATE TRIGGER poison BEFORE INSERT ON piece_ops WHEN NEW.piece = '{pid}' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
    )
    conn.close()


# --- live follow ----------------------------------------------------------------------------


async def test_live_follow_skips_extreme_dates_and_keeps_going(tmp_path: Path) -> None:
    now = time.time()
    log = tmp_path / "node.log"
    lines, good, bad = poisoned_log(now)
    log.write_text(text(lines))
    settings = fast_settings(tmp_path / "s.db")
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)), clock=lambda: now)
        await ingest.start()
        await until(lambda: stored_events(store) == good, "the good lines of the backlog")
        more, more_good, more_bad = poisoned_log(now, first=1000)  # read live, after catch-up
        append(log, more)
        await until(lambda: stored_events(store) == good + more_good, "the lines after")
        await until(lambda: db_counts(settings.db_path)[2] == bad + more_bad, "bad_lines rows")
        await ingest.stop()
        assert (ingest.events, ingest.rejected, ingest.quarantined) == (20, 18, 0)
        assert ingest.bad_lines_by_reason == {"timestamp": 16, "size": 2, "write": 0}
        offsets = store.read_sync(lambda c: se.get_offsets(c, "n1"))
        assert [o.offset for o in offsets] == [log.stat().st_size]
    assert db_counts(settings.db_path) == (20, 20, 18)
    reasons = [r[2] for r in bad_rows(settings.db_path)]
    assert reasons == ([BAD_TIME] * 8 + [BAD_SIZE]) * 2
    assert {r[:2] for r in bad_rows(settings.db_path)} == {("n1", str(log))}


async def test_live_follow_quarantines_a_row_the_writer_fails_on(tmp_path: Path) -> None:
    now = time.time()
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 10, now - 60)))
    settings = fast_settings(tmp_path / "s.db")
    poison_trigger(settings.db_path, piece_id(3))
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)), clock=lambda: now)
        await ingest.start()
        await until(lambda: ingest.quarantined == 1, "the poisonous row isolated")
        append(log, transfers(10, 3, now - 30))
        await until(lambda: stored_events(store) == 12, "everything else, and what follows")
        await ingest.stop()
        assert (ingest.events, ingest.write_errors) == (12, 0)
        offsets = store.read_sync(lambda c: se.get_offsets(c, "n1"))
        assert [o.offset for o in offsets] == [log.stat().st_size]
    assert db_counts(settings.db_path) == (12, 12, 1)
    (row,) = bad_rows(settings.db_path)
    assert row[:3] == ("n1", str(log), "event row failed to write: IntegrityError: poisoned row")
    assert row[3] is None  # the batch began where the file had no stored offset yet


async def test_live_follow_retries_a_batch_that_failed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transient failure (the first attempt only): the retry stores the whole batch."""
    now = time.time()
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 6, now - 60)))
    settings = fast_settings(tmp_path / "s.db")
    real = se.write_batch
    calls: list[bool] = []

    def flaky(conn, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("quarantine") is not None)
        if len(calls) == 1:
            raise sqlite3.OperationalError("disk I/O error")
        return real(conn, *args, **kwargs)

    monkeypatch.setattr(se, "write_batch", flaky)
    with Store(settings.db_path) as store:
        ingest = NodeIngest(settings, store, Bus(), NodeSpec("n1", str(log)), clock=lambda: now)
        await ingest.start()
        await until(lambda: stored_events(store) == 6, "the batch, on its second attempt")
        await ingest.stop()
        assert calls == [False, False]  # plain, plain: never isolated
        assert (ingest.events, ingest.quarantined, ingest.write_errors) == (6, 0, 0)
    assert db_counts(settings.db_path) == (6, 6, 0)


# --- --ingest-log ---------------------------------------------------------------------------


@pytest.mark.parametrize("process", [False, True], ids=["inline", "writer-process"])
def test_import_skips_extreme_dates(tmp_path: Path, process: bool) -> None:
    now = time.time()
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    lines, good, bad = poisoned_log(now)
    log.write_text(text(lines))
    r = import_log(str(db), "n1", str(log), max_pending=100, ttl_seconds=3600,
                   writer_process=process, clock=lambda: now)  # fmt: skip
    assert (r.lines, r.events, r.rejected, r.quarantined) == (len(lines), good, bad, 0)
    assert r.end_offset == log.stat().st_size
    assert db_counts(db) == (good, good, bad)
    assert [row[2] for row in bad_rows(db)] == [BAD_TIME] * 8 + [BAD_SIZE]
    assert {row[3] for row in bad_rows(db)} == {0}  # read in one block from byte 0


@pytest.mark.parametrize("process", [False, True], ids=["inline", "writer-process"])
def test_import_quarantines_a_row_the_writer_fails_on(tmp_path: Path, process: bool) -> None:
    now = time.time()
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    log.write_text(text(transfers(0, 10, now - 60) + transfer(50, now - 50, status="failed")))
    poison_trigger(db, piece_id(50))
    r = import_log(str(db), "n1", str(log), max_pending=100, ttl_seconds=3600,
                   writer_process=process, clock=lambda: now)  # fmt: skip
    assert (r.events, r.raw_events, r.quarantined) == (10, 10, 1)
    assert dict(r.by_status) == {"success": 10}
    assert r.end_offset == log.stat().st_size
    assert db_counts(db) == (10, 10, 1)
    (row,) = bad_rows(db)
    assert row[2] == "event row failed to write: IntegrityError: poisoned row"
    again = import_log(str(db), "n1", str(log), max_pending=100, ttl_seconds=3600)
    assert (again.lines, again.events) == (0, 0)  # the offset was committed once, with the rest


def test_cli_ingest_log_of_extreme_dates_exits_0_with_the_skipped_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    lines, good, bad = poisoned_log(time.time())
    log.write_text(text(lines))
    assert main(["--db", str(db), "--ingest-log", f"n1:{log}"]) == 0
    out = capsys.readouterr().out
    assert f"events stored   {good} (success {good})" in out
    assert f"bad lines       {bad} skipped and kept in bad_lines" in out
    assert db_counts(db) == (good, good, bad)


# --- /healthz and /metrics ------------------------------------------------------------------


async def test_healthz_and_metrics_count_bad_lines(tmp_path: Path) -> None:
    async with running_monitor(tmp_path) as run, aiohttp.ClientSession() as session:
        run.transfers("A", 2)
        run.append("A", [dated(line, "0001-01-01T00:00:00Z") for line in transfer(7, time.time())])
        run.append("B", [finish_line(8, stamp(time.time()), Size=-3)])

        async def healthz() -> bool:
            async with session.get(run.base + "/healthz") as resp:
                body = await resp.json()
            return resp.status == 200 and body["status"] == "ok" and body["bad_lines"] == 3

        await poll_until(healthz)
        registry = CollectorRegistry()
        registry.register(MonitorCollector(run.monitor.web.ctx))  # type: ignore[union-attr]
        value = registry.get_sample_value
        assert value("storj_monitor_bad_lines_total", {"node": "A", "reason": "timestamp"}) == 2
        assert value("storj_monitor_bad_lines_total", {"node": "B", "reason": "size"}) == 1
        assert value("storj_monitor_bad_lines_total", {"node": "A", "reason": "write"}) == 0
