"""The one owner of the SQLite file.

Writes go through a single writer thread that owns the only write connection and runs each
submitted ``fn(conn)`` inside ``BEGIN IMMEDIATE ... COMMIT``; readers use their own
connections (WAL mode, so they never block the writer) in a small thread pool, off the
event loop. Callers pass plain synchronous functions, so the SQL stays testable.

Memory: each connection's page cache grows with the pages it touches up to its
``cache_size``, so a monitor's RSS rises for as long as its caches fill. Both are bounded
here: the writer's cache is ``WRITER_CACHE_KIB``, each reader's ``READER_CACHE_KIB``, and
the read connections are a fixed pool (``read_threads`` + ``EXTRA_READ_CONNECTIONS``) shared
by the thread pool and by ``read_sync`` callers on other threads (one per node's ingest
thread used to open a connection each, kept until the store closed). ``connections`` and
``cache_limit_bytes`` count them (/metrics).
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
#: Page cache of the writer (KiB): the live log's inserts touch the right edge of the events
#: table and its indexes, which stays cached; more only holds pages nobody writes again.
WRITER_CACHE_KIB = 16 * 1024
#: Page cache of each read connection (KiB); the OS page cache holds the rest of the file.
READER_CACHE_KIB = 8 * 1024
#: Read connections beyond the pool's threads, for ``read_sync`` callers (ingest threads).
EXTRA_READ_CONNECTIONS = 2


def connect(
    path: str | Path, *, readonly: bool = False, cache_kib: int = WRITER_CACHE_KIB
) -> sqlite3.Connection:
    """A connection configured the way every part of the monitor expects.

    Autocommit mode (``isolation_level=None``): transactions are explicit. ``cache_kib``
    bounds its page cache (KiB).
    """
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")  # negative: KiB, not pages
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
        self._max_read_conns = read_threads + EXTRA_READ_CONNECTIONS
        self._read_conns: list[sqlite3.Connection] = []  # every open read connection
        self._idle: list[sqlite3.Connection] = []  # those not in use
        self._read_cond = threading.Condition()
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
        with self._read_cond:
            for c in self._read_conns:
                with contextlib.suppress(sqlite3.Error):
                    c.close()
            self._read_conns.clear()
            self._idle.clear()
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

    @property
    def connections(self) -> int:
        """Open SQLite connections (the writer and the read pool)."""
        return (self._write_conn is not None) + len(self._read_conns)

    @property
    def cache_limit_bytes(self) -> int:
        """What the page caches of all connections may hold at most (bytes)."""
        return 1024 * (
            WRITER_CACHE_KIB * (self._write_conn is not None)
            + READER_CACHE_KIB * self._max_read_conns
        )

    # --- reads -----------------------------------------------------------------------
    def _borrow(self) -> sqlite3.Connection:
        """An idle read connection; a new one while fewer than the pool's size are open."""
        with self._read_cond:
            while True:
                if self._idle:
                    return self._idle.pop()
                if len(self._read_conns) < self._max_read_conns:
                    conn = connect(self.path, readonly=True, cache_kib=READER_CACHE_KIB)
                    self._read_conns.append(conn)
                    return conn
                self._read_cond.wait()

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._read_cond:
            if conn in self._read_conns:  # not closed meanwhile
                self._idle.append(conn)
            self._read_cond.notify()

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on a read connection of the pool, on this thread (ingest threads,
        scripts and tests). Do not nest: ``fn`` must not call ``read_sync`` itself."""
        conn = self._borrow()
        try:
            return fn(conn)
        finally:
            self._give_back(conn)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on a pooled read connection, off the event loop."""
        if self._readers is None:
            raise RuntimeError("store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self.read_sync, fn)
