"""``--ingest-log``: whole-file import, idempotence, resume, composition with a live follower."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from loglines import text, transfer, transfers
from storj_monitor.cli import main
from storj_monitor.services.history import import_log
from storj_monitor.services.ingest_log_command import run_history_ingest
from storj_monitor.settings import defaults
from storj_monitor.store import events as se
from storj_monitor.store.database import connect, transaction
from storj_monitor.store.schema import migrate


def counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT status, COUNT(*) FROM events GROUP BY status").fetchall())
    finally:
        conn.close()


def run(db: Path, log: Path, *, process: bool = False, node: str = "n1", block: int = 1 << 20):  # type: ignore[no-untyped-def]
    return import_log(
        str(db), node, str(log), max_pending=1000, ttl_seconds=3600, writer_process=process,
        block_bytes=block,
    )  # fmt: skip


@pytest.mark.parametrize("process", [False, True], ids=["inline", "writer-process"])
def test_import_stores_events_with_durations_and_is_idempotent(
    tmp_path: Path, process: bool
) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    lines = transfers(0, 30) + transfer(100, status="failed") + transfer(101, status="canceled")
    log.write_text(text(lines) + "garbage that is not a log line\n")
    r = run(db, log, process=process)
    assert (r.lines, r.events, r.unparseable) == (len(lines) + 1, 32, 1)
    assert dict(r.by_status) == {"success": 30, "failed": 1, "canceled": 1}
    assert r.end_offset == log.stat().st_size and r.partial_tail_bytes == 0
    assert counts(db) == {"success": 30, "failed": 1, "canceled": 1}
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM events WHERE duration_ms = 1000").fetchone()[0] == 32
    conn.close()
    again = run(db, log, process=process)
    assert (again.start_offset, again.lines, again.events) == (r.end_offset, 0, 0)
    assert counts(db) == {"success": 30, "failed": 1, "canceled": 1}


def test_import_of_a_grown_file_adds_only_the_new_part(tmp_path: Path) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    log.write_text(text(transfers(0, 10)))
    first = run(db, log)
    with open(log, "a") as f:
        f.write(text(transfers(10, 5)))
    second = run(db, log)
    assert second.start_offset == first.end_offset and second.events == 5
    assert counts(db) == {"success": 15}


def test_renamed_copy_is_recognised_by_its_content(tmp_path: Path) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    log.write_text(text(transfers(0, 4)))
    run(db, log)
    os.rename(log, tmp_path / "node.log.1")
    assert run(db, tmp_path / "node.log.1").events == 0
    assert run(db, tmp_path / "node.log.1", node="other-node").events == 4  # per node


def test_unfinished_last_line_waits_unless_the_file_is_old(tmp_path: Path) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    lines = transfers(0, 3)
    log.write_text(text(lines[:-1]) + lines[-1])  # no newline after the last line
    r = run(db, log)
    assert r.events == 2 and r.partial_tail_bytes == len(lines[-1])
    old = time.time() - 3600
    os.utime(log, (old, old))
    r2 = run(db, log)
    assert r2.events == 1 and r2.partial_tail_bytes == 0  # pairing lost with the restart
    assert counts(db) == {"success": 3}


def test_import_composes_with_offsets_a_live_follower_stored(tmp_path: Path) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    lines = transfers(0, 10)
    log.write_text(text(lines))
    # A live follower already stored the first 4 transfers (8 lines) of this file.
    head = text(lines[:8]).encode()
    from storj_monitor.logs.rotation import fingerprint_of

    fp = fingerprint_of(head)
    assert fp is not None
    conn = connect(db)
    migrate(conn)
    offset = se.LogOffset("n1", str(log), fp[0], fp[1], len(head), 1.0)
    transaction(conn, lambda c: se.advance_offset(c, offset, expected=None))
    conn.close()
    r = run(db, log)
    assert r.start_offset == len(head) and r.events == 6


def test_import_skips_past_lines_another_writer_stored_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storj_monitor.services.history as history

    monkeypatch.setattr(history, "IMPORT_BATCH_ROWS", 5)
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    lines = transfers(0, 20)
    log.write_text(text(lines))
    from storj_monitor.logs.rotation import fingerprint_of

    fp = fingerprint_of(log.read_bytes())
    assert fp is not None
    other_end = len(text(lines[:30]).encode())  # the "live follower" stores 15 transfers

    calls = {"n": 0}
    real_submit = history._Importer._submit

    def racing_submit(self, rows, records, end, expected):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:  # after our first batch, the other writer jumps ahead
            c = connect(db)
            stored = se.get_offset(c, se.source_key("n1", fp[0]))
            assert stored is not None
            new = se.LogOffset("n1", str(log), fp[0], fp[1], other_end, 2.0)
            transaction(c, lambda cc: se.advance_offset(cc, new, expected=stored.offset))
            transaction(c, lambda cc: se.insert_events(cc, []))
            c.close()
        real_submit(self, rows, records, end, expected)

    monkeypatch.setattr(history._Importer, "_submit", racing_submit)
    r = run(db, log, block=len(text(lines[:10]).encode()))  # 5 transfers per block
    assert r.conflicts == 1
    conn = sqlite3.connect(db)
    stored_offset = conn.execute("SELECT offset FROM log_offsets").fetchone()[0]
    conn.close()
    assert stored_offset == log.stat().st_size
    # ours: the first batch (5) + everything after the other writer's end (5 transfers)
    assert r.events == 10


def test_missing_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = defaults().replace(db_path=str(tmp_path / "s.db"))
    assert run_history_ingest(settings, "n1", str(tmp_path / "absent.log")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "absent.log" in err[0] and err[0].startswith("storj_monitor: error")


def test_cli_ingest_log_prints_a_summary_then_already_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    recent = time.time() - 3600
    log.write_text(text(transfers(0, 6, recent) + transfer(50, recent, status="failed")))
    assert main(["--db", str(db), "--ingest-log", f"My-Node:{log}"]) == 0
    out = capsys.readouterr().out
    assert "lines read      14" in out
    assert "events stored   7 (failed 1, success 6)" in out
    assert "lines/s" in out
    assert main(["--db", str(db), "--ingest-log", f"My-Node:{log}"]) == 0
    out = capsys.readouterr().out
    assert f"already imported up to byte {log.stat().st_size:,}" in out
    assert counts(db) == {"success": 6, "failed": 1}


def test_empty_file_imports_nothing(tmp_path: Path) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    log.write_text("")
    r = run(db, log)
    assert (r.lines, r.events) == (0, 0)


def test_events_beyond_retention_go_to_rollups_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    old, recent = time.time() - 30 * 86400, time.time() - 3600
    log.write_text(text(transfers(0, 5, old) + transfers(100, 3, recent)))
    settings = defaults().replace(db_path=str(db), events_retention_days=7)
    assert run_history_ingest(settings, "n1", str(log)) == 0
    out = capsys.readouterr().out
    assert "events stored   8 (success 8)" in out
    assert "5 of them older than the raw-event retention" in out
    assert counts(db) == {"success": 3}
    conn = sqlite3.connect(db)
    rolled = conn.execute("SELECT SUM(count) FROM rollups_minute").fetchone()[0]
    conn.close()
    assert rolled == 8


def test_a_directory_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = defaults().replace(db_path=str(tmp_path / "s.db"))
    assert run_history_ingest(settings, "n1", str(tmp_path)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"storj_monitor: error: cannot read {tmp_path}: not a regular file"]


def test_ctrl_c_stops_cleanly_and_a_rerun_imports_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    import storj_monitor.services.history as history
    import storj_monitor.services.ingest_log_command as command

    log, db = tmp_path / "node.log", tmp_path / "s.db"
    recent = time.time() - 3600
    log.write_text(text(transfers(0, 200, recent)))
    monkeypatch.setattr(command, "IMPORT_BLOCK_BYTES", 4096)
    settings = defaults().replace(db_path=str(db), log_read_block_bytes=4096)
    real_budget = history._Importer._budget
    reads = {"n": 0}

    def read_then_ctrl_c(self, pos, held, block_bytes):  # type: ignore[no-untyped-def]
        reads["n"] += 1
        if reads["n"] == 3:
            signal.raise_signal(signal.SIGINT)  # the user presses Ctrl-C
        return real_budget(self, pos, held, block_bytes)

    monkeypatch.setattr(history._Importer, "_budget", read_then_ctrl_c)
    assert run_history_ingest(settings, "n1", str(log)) == 130
    out = capsys.readouterr().out
    assert "interrupted: run the same command again" in out
    first = sum(counts(db).values())
    assert 0 < first < 200
    monkeypatch.setattr(history._Importer, "_budget", real_budget)
    assert run_history_ingest(settings, "n1", str(log)) == 0
    assert counts(db) == {"success": 200}


def _event_indexes(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'piece_ops'")
        return {name for (name,) in rows if name.startswith("idx_")}
    finally:
        conn.close()


@pytest.mark.parametrize("process", [False, True], ids=["inline", "writer-process"])
def test_big_import_into_empty_table_builds_the_indexes_at_its_end(
    tmp_path: Path, process: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first import drops the events indexes and builds them once at its end; queries
    answer the same either way. A second import (table not empty) keeps them."""
    import storj_monitor.services.history as history
    import storj_monitor.store.bulk as bulk
    from storj_monitor.store.schema import EVENT_INDEXES

    monkeypatch.setattr(history, "PROCESS_WRITER_MIN_BYTES", 1)  # "big": every import
    dropped: list[bool] = []
    real = bulk.drop_event_indexes_if_empty
    monkeypatch.setattr(
        bulk, "drop_event_indexes_if_empty", lambda c: dropped.append(real(c)) or dropped[-1]
    )
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    log.write_text(text(transfers(0, 30)))
    live = import_log(str(tmp_path / "live.db"), "n1", str(log), max_pending=1000,
                      ttl_seconds=3600, writer_process=process)  # fmt: skip
    assert live.events == 30 and dropped == []  # a live catch-up keeps its indexes

    def run(db: Path, log: Path, *, process: bool):  # type: ignore[no-untyped-def]
        return import_log(str(db), "n1", str(log), max_pending=1000, ttl_seconds=3600,
                          writer_process=process, defer_indexes=True)  # fmt: skip

    r = run(db, log, process=process)
    assert r.events == 30
    assert _event_indexes(db) == set(EVENT_INDEXES)
    assert counts(db) == {"success": 30}
    if not process:  # the child process has its own copy of the module
        assert dropped == [True]
    with open(log, "a") as f:
        f.write(text(transfers(30, 10)))
    assert run(db, log, process=process).events == 10
    if not process:
        assert dropped == [True, False]  # not empty any more: indexes kept
    assert _event_indexes(db) == set(EVENT_INDEXES)


def test_migrate_restores_indexes_a_killed_import_left_missing(tmp_path: Path) -> None:
    from storj_monitor.store.schema import EVENT_INDEXES, drop_event_indexes_if_empty

    db = tmp_path / "s.db"
    conn = connect(db)
    migrate(conn)
    assert transaction(conn, drop_event_indexes_if_empty) is True
    assert _event_indexes(db) == set()
    migrate(conn)  # the next open
    assert _event_indexes(db) == set(EVENT_INDEXES)
    conn.close()


def test_one_usable_cpu_writes_inline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With one CPU (taskset -c 0) a writer process would only add pickling."""
    import storj_monitor.services.history as history

    made: list[bool] = []
    real = history.make_writer

    def spy(db_path: str, *, process: bool, defer_indexes: bool = False):  # type: ignore[no-untyped-def]
        made.append(process)
        return real(db_path, process=process, defer_indexes=defer_indexes)

    monkeypatch.setattr(history, "make_writer", spy)
    monkeypatch.setattr(history, "PROCESS_WRITER_MIN_BYTES", 1)
    log = tmp_path / "node.log"
    log.write_text(text(transfers(0, 5)))
    for cpus, db in ((1, "a.db"), (2, "b.db")):
        monkeypatch.setattr(history, "usable_cpus", lambda cpus=cpus: cpus)
        import_log(str(tmp_path / db), "n1", str(log), max_pending=100, ttl_seconds=60)
    assert made == [False, True]


def test_rows_cross_to_the_writer_process_marshalled_or_pickled() -> None:
    from decimal import Decimal

    from storj_monitor.store import bulk

    plain = [(1.5, "n", "GET", "success", 10, "sat", "P", "1.2.3.4", None, None, 2.0, "log_millis")]
    data = bulk._rows_to_bytes(plain)
    assert data[:1] == b"m" and bulk._rows_from_bytes(data) == plain
    odd = [(Decimal("1.5"), "n")]  # nothing the parser makes, but never a lost batch
    data = bulk._rows_to_bytes(odd)
    assert data[:1] == b"p" and bulk._rows_from_bytes(data) == odd
