"""Suite-wide guards: tests must close what they open and write nothing outside tmp_path."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OWNED_THREAD_PREFIXES = ("store-writer", "store-read")


def _owned_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(OWNED_THREAD_PREFIXES)}


@pytest.fixture(autouse=True)
def _no_leftover_store_threads() -> Iterator[None]:
    """Fail a test that leaves a Store open (its writer or reader threads still running)."""
    before = _owned_threads()
    yield
    deadline = time.monotonic() + 2.0
    leftover = _owned_threads() - before
    while leftover and time.monotonic() < deadline:
        time.sleep(0.02)
        leftover = {t for t in leftover if t.is_alive()}
    assert not leftover, f"test left store threads running: {sorted(t.name for t in leftover)}"


@pytest.fixture(autouse=True, scope="session")
def _default_data_dir_in_a_temporary_directory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """The default database location (DATA_DIR) of every monitor the tests start, including
    CLI subprocesses, is a temporary directory, never the user's or /var/lib."""
    old = os.environ.get("STORJ_MONITOR_DATA_DIR")
    os.environ["STORJ_MONITOR_DATA_DIR"] = str(tmp_path_factory.mktemp("data-dir"))
    yield
    if old is None:
        os.environ.pop("STORJ_MONITOR_DATA_DIR", None)
    else:
        os.environ["STORJ_MONITOR_DATA_DIR"] = old


@pytest.fixture(autouse=True, scope="session")
def _no_stray_database_in_the_working_tree() -> Iterator[None]:
    stray = REPO / "storj_stats.db"
    existed = stray.exists()
    yield
    if not existed and stray.exists():
        pytest.fail(f"a test created {stray}; use tmp_path")


_SESSION_START = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Name where the dashboard tests saved their screenshots in this run."""
    from dashboard_support import SCREENSHOTS

    shots = [p for p in SCREENSHOTS.glob("dashboard-*.png") if p.stat().st_mtime >= _SESSION_START]
    if shots:
        terminalreporter.write_line(f"dashboard screenshots ({len(shots)}): {SCREENSHOTS}")
