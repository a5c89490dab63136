"""The one owner of the SQLite file.

Writes go through a single writer thread that owns the only write connection and runs each
submitted ``fn(conn)`` inside ``BEGIN IMMEDIATE ... COMMIT``; readers use their own
connections (WAL mode, so they never block the writer) in a small thread pool, off the
event loop. Callers pass plain synchronous functions, so the SQL stays testable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from storj_monitor.store.schema import migrate

log = logging.getLogger(__name__)
T = TypeVar("T")

_STOP = object()


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection configured the way every part of the monitor expects.

    Autocommit mode (``isolation_level=None``): transactions are explicit.
    """
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("PRAGMA cache_size=-32000")  # 32 MiB
    if readonly:
        conn.execute("PRAGMA query_only=1")
    return conn


def transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``fn(conn)`` inside BEGIN IMMEDIATE / COMMIT, rolling back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return result


class Store:
    """Owns the database file: migrations at open, one writer, pooled readers."""

    def __init__(self, path: str | Path, *, read_threads: int = 2):
        self.path = str(path)
        self._read_threads = read_threads
        self._queue: queue.Queue[Any] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._write_conn: sqlite3.Connection | None = None
        self._readers: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._read_conns: list[sqlite3.Connection] = []
        self._read_conns_lock = threading.Lock()
        self._closed = False

    # --- lifecycle -------------------------------------------------------------------
    def open(self) -> Store:
        """Create or migrate the database and start the writer. Idempotent."""
        if self._writer is not None:
            return self
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = connect(self.path)
        migrate(conn)
        self._write_conn = conn
        self._readers = ThreadPoolExecutor(self._read_threads, thread_name_prefix="store-read")
        self._writer = threading.Thread(target=self._write_loop, name="store-writer", daemon=True)
        self._closed = False
        self._writer.start()
        return self

    def close(self, timeout: float = 30.0) -> None:
        """Drain the write queue, stop the writer, close every connection. Idempotent."""
        if self._writer is None:
            return
        self._queue.put(_STOP)
        self._writer.join(timeout)
        if self._writer.is_alive():
            log.error("store writer did not stop within %.0f s", timeout)
        self._writer = None
        if self._readers is not None:
            self._readers.shutdown(wait=True)
            self._readers = None
        with self._read_conns_lock:
            for c in self._read_conns:
                with contextlib.suppress(sqlite3.Error):
                    c.close()
            self._read_conns.clear()
        self._local = threading.local()
        if self._write_conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._write_conn.execute("PRAGMA optimize")
            self._write_conn.close()
            self._write_conn = None
        self._closed = True

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes ----------------------------------------------------------------------
    def _write_loop(self) -> None:
        conn = self._write_conn
        assert conn is not None
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            fn, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(transaction(conn, fn))
            except BaseException as exc:  # delivered to the caller, the writer goes on
                fut.set_exception(exc)

    def submit_write(self, fn: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue ``fn(conn)`` for the writer; it runs in its own transaction."""
        if self._writer is None:
            raise RuntimeError("store is not open")
        fut: Future[T] = Future()
        self._queue.put((fn, fut))
        return fut

    def write_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return self.submit_write(fn).result()

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.wrap_future(self.submit_write(fn))

    @property
    def write_queue_depth(self) -> int:
        return self._queue.qsize()

    # --- reads -----------------------------------------------------------------------
    def _read_conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, readonly=True)
            self._local.conn = conn
            with self._read_conns_lock:
                self._read_conns.append(conn)
        return conn

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on this thread's read connection (for scripts and tests)."""
        return fn(self._read_conn())

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on a pooled read connection, off the event loop."""
        if self._readers is None:
            raise RuntimeError("store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self.read_sync, fn)
