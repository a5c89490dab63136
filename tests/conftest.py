"""Suite-wide guards: tests must close what they open and write nothing outside tmp_path.

Every test fails (at teardown) when it leaves a thread running or, for async tests, an
asyncio task pending; unclosed files, sockets and SQLite connections fail it through
``filterwarnings = error`` (ResourceWarning is not ignored).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_asyncio import is_async_test

REPO = Path(__file__).resolve().parents[1]
#: Seconds a test's threads get to end after its teardown (a closing store joins its threads).
THREAD_GRACE = 2.0
#: Loop iterations a test's tasks get, after the test, to finish their cancellation.
TASK_GRACE_ITERATIONS = 5

_THREADS_BEFORE = pytest.StashKey[set[threading.Thread]]()
#: Threads started by module- or session-scoped fixtures: they outlive single tests.
_WIDER_SCOPE_THREADS: set[threading.Thread] = set()


def _library_pool_threads() -> set[threading.Thread]:
    """Threads of process-wide pools that libraries create once and keep (apprise's shared
    executors): not a test's leftovers."""
    threads: set[threading.Thread] = set()
    apprise_mod = sys.modules.get("apprise.apprise")
    for attr in ("_shared_executor", "_coordinator_executor"):
        pool = getattr(apprise_mod, attr, None)
        threads.update(getattr(pool, "_threads", ()))
    return threads


def _owned_by_wider_scope(t: threading.Thread) -> bool:
    """Started by a module/session fixture, or named after such a thread (its loop's
    executor ``dashboard-loop-executor_0`` belongs to ``dashboard-loop``)."""
    if t in _WIDER_SCOPE_THREADS:
        return True
    # ``asyncio_N``: the default executor of an event loop that outlives the test (a test's
    # own pytest-asyncio loop shuts its executor down before this check), e.g. the loop of
    # the module-scoped Playwright browser.
    if re.fullmatch(r"asyncio_\d+", t.name):
        return True
    return any(t.name.startswith(o.name + "-") for o in _WIDER_SCOPE_THREADS if o.is_alive())


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Iterator[Any]:
    if fixturedef.scope == "function":
        return (yield)
    before = set(threading.enumerate())
    try:
        return (yield)
    finally:
        _WIDER_SCOPE_THREADS.update(set(threading.enumerate()) - before)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[_THREADS_BEFORE] = set(threading.enumerate())
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """Fail a test that leaves a thread running (a Store left open, a forwarder, an ingest
    worker...): every thread started during its setup, call or teardown must have ended."""
    result = yield
    before = item.stash.get(_THREADS_BEFORE, set())

    def leftovers() -> list[threading.Thread]:
        new = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        library = _library_pool_threads() if new else set()
        return [t for t in new if t not in library and not _owned_by_wider_scope(t)]

    deadline = time.monotonic() + THREAD_GRACE
    left = leftovers()
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = leftovers()
    if left:
        names = sorted(f"{t.name}{' (daemon)' if t.daemon else ''}" for t in left)
        pytest.fail(f"test left threads running: {names}", pytrace=False)
    return result


@pytest.fixture(autouse=True)
def _no_leftover_tasks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail an async test that leaves asyncio tasks pending on its loop at its end (after its
    async fixtures are torn down): a service not stopped, a task nobody awaits or cancels."""
    if not is_async_test(request.node):
        yield
        return
    runner = request.getfixturevalue("_function_scoped_runner")
    yield
    loop = runner.get_loop()
    if loop.is_closed():
        return
    for _ in range(TASK_GRACE_ITERATIONS):
        if not asyncio.all_tasks(loop):
            return
        loop.run_until_complete(asyncio.sleep(0))
    pending = asyncio.all_tasks(loop)
    if not pending:
        return
    names = sorted(f"{t.get_name()}: {t.get_coro()!r}" for t in pending)
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    pytest.fail(f"test left asyncio tasks pending: {names}", pytrace=False)


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
