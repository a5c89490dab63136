"""kill -9 the real monitor process mid-stream, restart it, and count: nothing lost, nothing twice.

The monitor runs as ``python -m storj_monitor --no-serve --node ...`` (no web server), its
node API pointed at a closed local port. The test appends lines while the process ingests,
kills it with SIGKILL right after it committed part of them (so a batch is in flight and a
partial line is pending), appends more, restarts it, and checks the exact events.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loglines import text, transfers

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")


def start_monitor(db: Path, log: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    args = ["--no-serve", "--db", str(db), "--node", f"n1:{log}:http://127.0.0.1:9"]
    for setting in ("db_commit_interval=0.05", "log_poll_interval=0.02", "db_batch_size=50"):
        args += ["--set", setting]
    with open(tmp_path / "monitor.err", "ab") as err:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "storj_monitor", *args, "--log-level", "WARNING"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def stored(db: Path) -> tuple[int, int]:
    """(events, distinct piece ids) committed so far; (0, 0) before the schema exists."""
    if not db.exists():
        return 0, 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT COUNT(*), COUNT(DISTINCT piece_id) FROM events").fetchone()
        return int(row[0]), int(row[1])
    except sqlite3.OperationalError:  # no events table yet
        return 0, 0
    finally:
        conn.close()


def wait_for(cond, what: str, proc: subprocess.Popen[bytes], limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not cond():
        assert proc.poll() is None, f"monitor exited early (code {proc.returncode})"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


def test_kill_9_mid_stream_then_restart_counts_exactly(tmp_path: Path) -> None:
    log, db = tmp_path / "node.log", tmp_path / "s.db"
    now = time.time() - 600  # recent lines: older ones would meet the retention pass
    log.write_text(text(transfers(0, 200, now)))
    total = 200
    proc = start_monitor(db, log, tmp_path)
    try:
        wait_for(lambda: stored(db)[0] == 200, "the backlog", proc)
        for round_ in range(3):
            # Stream transfers in small appends; kill once some (not all) are stored.
            start = total
            lines = transfers(start, 300, now)
            body = text(lines)
            cut = body.index("\n", len(body) // 2) + 40  # leave a partial line at the kill
            with open(log, "a", encoding="utf-8") as f:
                step = max(1, cut // 30)
                for i in range(0, cut, step):
                    f.write(body[i : min(i + step, cut)])
                    f.flush()
                    time.sleep(0.002)
            wait_for(lambda s=start: stored(db)[0] > s, f"round {round_} progress", proc)
            kill9(proc)
            with open(log, "a", encoding="utf-8") as f:
                f.write(body[cut:])  # the rest, completing the partial line
            total += 300
            proc = start_monitor(db, log, tmp_path)
            wait_for(lambda t=total: stored(db)[0] >= t, f"round {round_} after restart", proc)
        # Settled: exact counts, no duplicate piece, the offset at the end of the file.
        wait_for(lambda: _offset(db) == log.stat().st_size, "the final offset", proc)
        assert stored(db) == (total, total)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    assert stored(db) == (total, total)


def _offset(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT MAX(offset) FROM log_offsets").fetchone()
        return int(row[0] or 0)
    finally:
        conn.close()
