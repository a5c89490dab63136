"""kill -9 the real monitor while it reads a rotated file (``node.log.1``), after two
rotations it did not see; restart it and count: nothing lost, nothing twice.

Uses the process harness of ``test_restart.py``.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import test_restart as harness
from loglines import transfer
from rotator import RotatedLog
from storj_monitor.logs.rotation import fingerprint_of

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")


def _offset_of(db: Path, first_line: str) -> int | None:
    fp = fingerprint_of(first_line.encode() + b"\n")
    assert fp is not None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute(
            "SELECT offset FROM log_offsets WHERE fingerprint = ?", (fp[0],)
        ).fetchone()
        return None if row is None else int(row[0])
    finally:
        conn.close()


def test_kill_9_while_reading_a_rotated_file_then_restart_counts_exactly(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    base = time.time() - 8 * 3600  # inside the detail window: every one keeps a raw row
    log = RotatedLog(
        tmp_path / "node.log",
        lambda i: transfer(i, base + i, dialect="old" if i % 2 else "new"),
    )
    log.write(200)
    total = 200 + 100 + 20_000 + 100 + 50
    proc = harness.start_monitor(db, log.path, tmp_path)
    try:
        harness.wait_for(lambda: harness.stored(db)[0] == 200, "the first file", proc)
        harness.kill9(proc)
        # While it is down: two rotations (gzip, rename); the big one ends up as node.log.1.
        log.write(100)
        log.rotate("gzip")
        big_first = log.write(20_000)[0]
        log.rotate("rename")
        log.write(100)
        assert sorted(p.name for p in tmp_path.glob("node.log*")) == [
            "node.log", "node.log.1", "node.log.2.gz",
        ]  # fmt: skip
        big_size = (tmp_path / "node.log.1").stat().st_size
        proc = harness.start_monitor(db, log.path, tmp_path)
        harness.wait_for(lambda: harness.stored(db)[0] > 1300, "reading node.log.1", proc)
        harness.kill9(proc)
        offset = _offset_of(db, big_first)
        assert offset is not None and 0 < offset < big_size  # the crash came mid-file
        log.write(50)
        proc = harness.start_monitor(db, log.path, tmp_path)
        harness.wait_for(lambda: harness.stored(db)[0] >= total, "everything", proc)
        harness.wait_for(
            lambda: _offset_of(db, log.written[-100 * 2 - 50 * 2]) == log.path.stat().st_size,
            "the final offset",
            proc,
        )
        assert harness.stored(db) == (total, total)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    assert harness.stored(db) == (total, total)
