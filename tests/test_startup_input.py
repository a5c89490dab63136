"""Start-up input that cannot work: one clear line on stderr and a non-zero exit, never a
traceback, a directory created by accident, a monitor that runs on while every write fails,
or a log read and committed before the port turns out to be taken.

Each case runs the real program (``python -m storj_monitor``) in a subprocess.

Read-only database: the tests run as root in CI, where ``chmod 0444`` stops nobody. So the
database is made read-only for SQLite itself, for every user: byte 18 of the file header (the
"write version") set to 3 makes SQLite open the file read-only ("attempt to write a readonly
database"), exactly what a read-only file or mount gives. The chmod variant runs too when the
tests are not root.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storj_monitor.demo.loggen import LogGenerator
from storj_monitor.store.database import Store

pytestmark = pytest.mark.timeout(120)
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_cli(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    """Exit status and stderr lines of ``storj_monitor ARGS`` (which must exit by itself)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORJ_MONITOR_")}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "storj_monitor", *args],
            capture_output=True,
            text=True,
            timeout=45,
            cwd=tmp_path,
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        pytest.fail(f"storj_monitor accepted {args} and kept running:\n{err[-2000:]}")
    return done.returncode, done.stderr.strip().splitlines()


def assert_one_clear_line(code: int, lines: list[str], *must_contain: str) -> str:
    assert code != 0
    text = "\n".join(lines)
    assert "Traceback" not in text, text
    assert len(lines) == 1, text
    line = lines[0]
    assert line.startswith("storj_monitor: error: "), line
    for part in must_contain:
        assert part in line, line
    return line


def _node(tmp_path: Path) -> list[str]:
    log = tmp_path / "node.log"
    if not log.exists():
        log.write_text("", encoding="utf-8")
    return ["--node", f"N:{log}:http://127.0.0.1:9", "--port", "0"]


# --- --db -----------------------------------------------------------------------------


def test_db_that_is_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "dbdir"
    folder.mkdir()
    code, lines = run_cli(tmp_path, *_node(tmp_path), "--db", str(folder))
    assert_one_clear_line(code, lines, str(folder), "directory")
    assert list(folder.iterdir()) == []


def test_db_whose_parent_is_missing_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "nonexistent-dir" / "sub" / "x.db"
    code, lines = run_cli(tmp_path, *_node(tmp_path), "--db", str(target))
    assert_one_clear_line(code, lines, "does not exist")
    assert not (tmp_path / "nonexistent-dir").exists()


@pytest.mark.parametrize("path", ["/proc/storj_monitor_test.db", "/proc/self/comm"])
def test_db_in_proc(tmp_path: Path, path: str) -> None:
    code, lines = run_cli(tmp_path, *_node(tmp_path), "--db", path)
    assert_one_clear_line(code, lines, path, "/proc")


def _migrated_db(path: Path) -> None:
    with Store(path):
        pass


def _make_sqlite_read_only(path: Path) -> None:
    """Header byte 18 (write version) > 2: SQLite opens the file read-only, for any user."""
    with path.open("r+b") as f:
        f.seek(18)
        f.write(bytes([3]))


def test_read_only_database_stops_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    _migrated_db(db)
    _make_sqlite_read_only(db)
    log = tmp_path / "node.log"
    log.write_text("\n".join(LogGenerator(seed=1).transfer("GET", "success")) + "\n")
    code, lines = run_cli(tmp_path, *_node(tmp_path), "--db", str(db))
    assert_one_clear_line(code, lines, str(db), "read-only")


@pytest.mark.skipif(IS_ROOT, reason="root writes to 0444 files in 0555 directories anyway")
def test_read_only_file_and_directory(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "x.db"
    _migrated_db(db)
    db.chmod(0o444)
    folder.chmod(0o555)
    try:
        code, lines = run_cli(tmp_path, *_node(tmp_path), "--db", str(db))
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)
    assert_one_clear_line(code, lines, str(db))


def test_not_a_database(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("not SQLite " * 100)
    code, lines = run_cli(tmp_path, *_node(tmp_path), "--db", str(db))
    assert_one_clear_line(code, lines, str(db))
    assert db.read_text() == "not SQLite " * 100


def test_ingest_checks_the_database_too(tmp_path: Path) -> None:
    log = tmp_path / "old.log"
    log.write_text("")
    target = tmp_path / "nonexistent-dir" / "x.db"
    code, lines = run_cli(tmp_path, "--ingest-log", f"N:{log}", "--db", str(target))
    assert_one_clear_line(code, lines, "does not exist")
    assert not target.parent.exists()


# --- --node API URL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        ("localhost:14002", "http://localhost:14002"),
        ("192.168.1.20:14002", "http://192.168.1.20:14002"),
        ("ftp://localhost:14002", "must start with http:// or https://"),
        ("ws://localhost:14002", "must start with http:// or https://"),
        ("http://", "has no host"),
        ("http://localhost:99999", "invalid port"),
    ],
)
def test_api_url_without_or_with_another_scheme(tmp_path: Path, api: str, expected: str) -> None:
    log = tmp_path / "node.log"
    log.write_text("")
    code, lines = run_cli(
        tmp_path, "--node", f"N:{log}:{api}", "--db", str(tmp_path / "x.db"), "--port", "0"
    )
    assert_one_clear_line(code, lines, expected)


# --- --host and --port --------------------------------------------------------------------


@pytest.mark.parametrize("host", ["bad host!", "999.1.1.1", "-x", "a..b"])
def test_malformed_host(tmp_path: Path, host: str) -> None:
    code, lines = run_cli(
        tmp_path, *_node(tmp_path), "--db", str(tmp_path / "x.db"), f"--host={host}"
    )
    line = assert_one_clear_line(code, lines, "--host")
    assert "--port" not in line and "another storj_monitor" not in line


def test_host_that_is_not_this_machine(tmp_path: Path) -> None:
    """192.0.2.1 (TEST-NET-1) parses, but no interface has it: the hint is about --host."""
    code, lines = run_cli(
        tmp_path, *_node(tmp_path), "--db", str(tmp_path / "x.db"), "--host", "192.0.2.1"
    )
    line = assert_one_clear_line(code, lines, "192.0.2.1", "--host")
    assert "another storj_monitor" not in line and "choose another --port" not in line


def test_port_in_use_exits_before_reading_the_log(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    gen = LogGenerator(seed=3)
    lines_in_log: list[str] = []
    for _ in range(50):
        lines_in_log += gen.transfer("GET", "success")
    log.write_text("\n".join(lines_in_log) + "\n", encoding="utf-8")
    db = tmp_path / "busy.db"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, lines = run_cli(
            tmp_path,
            "--node", f"N:{log}:http://127.0.0.1:9",
            "--db", str(db), "--host", "127.0.0.1", "--port", str(port),
        )  # fmt: skip
    assert_one_clear_line(code, lines, f"127.0.0.1:{port}", "in use", "--port")
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM log_offsets").fetchone() == (0,)
            assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)
