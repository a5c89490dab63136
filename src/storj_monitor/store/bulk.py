"""Batch writers for a log import: in a child process (big files) or inline (small ones).

Why a process: parsing and SQLite inserting each cost a few microseconds per line, and
Python's ``sqlite3`` releases the GIL around every row's step, so a writer *thread* makes
the two fight over the GIL and is slower than doing both in turn. A writer process on its
own connection overlaps them for real. Event rows travel ``marshal``-ed (both ends are this
same interpreter; rows hold only str, int, float and None; 2.7 times cheaper to write than
pickle, which stays the fallback): the parser interns the repeated strings (action,
satellite id, status, categories), which marshal then sends once per batch and the writer
rebuilds as shared objects; each batch is one transaction with
its compare-and-set offset, exactly as inline. With one usable CPU (``taskset -c 0``, a
one-core VM) the process only adds pickling: the import then writes inline
(:func:`usable_cpus`).

``defer_indexes``: when the ``events`` table is empty as the import starts (a first import),
its indexes are dropped and built once when the writer closes, which costs a third of keeping
them up to date row by row; an import killed before that leaves them to ``schema.migrate``.

An import feeding a process (``BatchWriter.encodes``) hands its rows over as
:class:`EncodedRows`: each block's rows marshalled as soon as they are made, while they are
still in the CPU's cache, and freed at once; encoding a whole batch of 20,000 rows long after
they were made costs the parsing process a third more.

Protocol: ``submit(rows, records, offset, expected, raw_since, bad, scores)`` (``bad``: the
parser's rejected lines, for ``bad_lines``; ``scores``: ``reputation_history`` rows of the
records' ``node scores`` lines) then, in order, one ``result()`` per submitted batch:
``("ok", (raw_rows_inserted, quarantined))``, ``("conflict", stored_offset)`` or
``("error", text)``. A batch that fails twice is written in isolating mode
(``store.events.write_with_retries``): ``quarantined`` lists the rows that failed alone
(stored in ``bad_lines``), everything else of the batch is stored with its offset.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import pickle
import queue
import sqlite3
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any, Protocol, cast

from storj_monitor.model import LogRecord, SatelliteScore

if sys.platform == "win32":
    fcntl = None
else:
    import fcntl
from storj_monitor.store.bad_lines import BadLine
from storj_monitor.store.database import connect, transaction
from storj_monitor.store.events import (
    LogOffset,
    OffsetConflictError,
    write_row_batch,
    write_with_retries,
)
from storj_monitor.store.raw_window import RawSince
from storj_monitor.store.schema import drop_event_indexes_if_empty, ensure_event_indexes
from storj_monitor.store.snapshots import insert_reputation

Reply = tuple[str, Any]
Row = tuple[Any, ...]


def bulk_pragmas(conn: sqlite3.Connection) -> None:
    """Settings for a long series of big write transactions on this connection only."""
    conn.execute("PRAGMA cache_size=-16384")  # 16 MiB page cache: appends need few pages
    conn.execute("PRAGMA wal_autocheckpoint=4096")  # every ~16 MiB of WAL: the last one is on the import's critical path


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return len(affinity(0))
    return os.cpu_count() or 1


def _begin(conn: sqlite3.Connection, defer_indexes: bool) -> bool:
    """Pragmas, and the events indexes dropped if asked and the table is empty."""
    bulk_pragmas(conn)
    return defer_indexes and transaction(conn, drop_event_indexes_if_empty)


def _end(conn: sqlite3.Connection, deferred: bool) -> None:
    """Build the indexes dropped by :func:`_begin`, then close."""
    try:
        if deferred:
            ensure_event_indexes(conn)
    finally:
        conn.close()


def _write(
    conn: sqlite3.Connection,
    rows: Sequence[Row],
    records: Sequence[LogRecord],
    offset: LogOffset,
    expected: int | None,
    raw_since: RawSince = None,
    bad: Sequence[BadLine] = (),
    scores: Sequence[SatelliteScore] = (),
) -> Reply:
    """One transaction: the offset (compare-and-set), the rows, the records and the
    ``reputation_history`` rows of the records' ``node scores`` lines."""
    offsets = [(offset, expected)]

    def write(c: sqlite3.Connection, quarantine: list[BadLine] | None) -> int:
        raw = write_row_batch(
            c, rows, records, offsets, raw_since=raw_since, bad=bad, quarantine=quarantine
        )
        if scores:
            insert_reputation(c, list(scores))
        return raw

    try:
        raw, quarantined = write_with_retries(
            lambda fn: transaction(conn, fn),
            write,
            what=f"the batch ending at byte {offset.offset}",
        )
    except OffsetConflictError as exc:
        return ("conflict", exc.stored)
    except Exception as exc:  # not even the isolating attempt could write (a full disk...)
        return ("error", f"{type(exc).__name__}: {exc}")
    return ("ok", (raw, quarantined))


class EncodedRows:
    """Event rows marshalled block by block for the writer process (see the module
    docstring); ``len()`` is the number of rows."""

    __slots__ = ("chunks", "count")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.count = 0

    def extend(self, rows: Sequence[Row]) -> None:
        if rows:
            self.chunks.append(_rows_to_bytes(rows))
            self.count += len(rows)

    def __len__(self) -> int:
        return self.count

    def decode(self) -> list[Row]:
        rows: list[Row] = []
        for chunk in self.chunks:
            rows += _rows_from_bytes(chunk)
        return rows


Rows = Sequence[Row] | EncodedRows


class BatchWriter(Protocol):
    #: True when rows travel to another process: hand them over as :class:`EncodedRows`.
    encodes: bool

    def submit(
        self,
        rows: Rows,
        records: Sequence[LogRecord],
        offset: LogOffset,
        expected: int | None,
        raw_since: RawSince = None,
        bad: Sequence[BadLine] = (),
        scores: Sequence[SatelliteScore] = (),
    ) -> None: ...
    def result(self) -> Reply: ...
    @property
    def in_flight(self) -> int: ...
    def close(self) -> None: ...


class InlineWriter:
    """Writes on the caller's thread (small imports: no process start-up cost)."""

    encodes = False

    def __init__(self, db_path: str, *, defer_indexes: bool = False):
        self._conn = connect(db_path)
        self._deferred = _begin(self._conn, defer_indexes)
        self._replies: deque[Reply] = deque()

    def submit(
        self,
        rows: Rows,
        records: Sequence[LogRecord],
        offset: LogOffset,
        expected: int | None,
        raw_since: RawSince = None,
        bad: Sequence[BadLine] = (),
        scores: Sequence[SatelliteScore] = (),
    ) -> None:
        if isinstance(rows, EncodedRows):
            rows = rows.decode()
        reply = _write(self._conn, rows, records, offset, expected, raw_since, bad, scores)
        self._replies.append(reply)

    def result(self) -> Reply:
        return self._replies.popleft()

    @property
    def in_flight(self) -> int:
        return len(self._replies)

    def close(self) -> None:
        _end(self._conn, self._deferred)


def _serve(db_path: str, inbox: Connection, outbox: Connection, defer_indexes: bool) -> None:
    """The writer process: one connection, one transaction per received batch.

    A reader thread drains the pipe while the main thread writes, so the parent never
    waits for the pipe while SQLite is busy.
    """
    conn = connect(db_path)
    deferred = _begin(conn, defer_indexes)
    batches: queue.Queue[Any] = queue.Queue(maxsize=1)

    def read() -> None:
        try:
            while True:
                meta = inbox.recv()
                if meta is None:
                    break
                n_chunks, *rest = meta
                rows: list[Row] = []
                for _ in range(n_chunks):
                    rows += _rows_from_bytes(inbox.recv_bytes())
                batches.put((rows, *rest))
        except (EOFError, OSError):
            pass
        batches.put(None)

    threading.Thread(target=read, name="import-writer-read", daemon=True).start()
    try:
        while (msg := batches.get()) is not None:
            outbox.send(_write(conn, *msg))
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        _end(conn, deferred)


def _rows_to_bytes(rows: Sequence[Row]) -> bytes:
    """``b"m"`` + marshal (the fast path), or ``b"p"`` + pickle for a row marshal refuses."""
    try:
        return b"m" + marshal.dumps(cast("list[Row]", rows), 4)
    except ValueError:  # an object marshal cannot write
        return b"p" + pickle.dumps(rows, pickle.HIGHEST_PROTOCOL)


def _rows_from_bytes(data: bytes) -> Any:
    body = memoryview(data)[1:]
    return marshal.loads(body) if data[:1] == b"m" else pickle.loads(body)


def _grow_pipe(fd: int, size: int = 1 << 20) -> None:
    """Ask Linux for a 1 MiB pipe buffer (fewer, larger writes); harmless elsewhere."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, size)


class WriterDiedError(RuntimeError):
    """The writer process is gone (killed, or crashed); the import stops."""


class ProcessWriter:
    """Writes in a child process (``python -m storj_monitor.store.bulk DB``), fed through
    its stdin and answering on its stdout; ``submit`` returns once the batch is in the pipe.

    A separate interpreter rather than ``multiprocessing``: no fork of a threaded process,
    no re-import of the caller's main module.
    """

    encodes = True

    def __init__(self, db_path: str, *, defer_indexes: bool = False):
        flags = ["--defer-indexes"] if defer_indexes else []
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "storj_monitor.store.bulk", db_path, *flags],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._out = Connection(os.dup(self._proc.stdin.fileno()), readable=False)
        self._in = Connection(os.dup(self._proc.stdout.fileno()), writable=False)
        _grow_pipe(self._proc.stdin.fileno())
        self._proc.stdin.close()
        self._proc.stdout.close()
        self._in_flight = 0

    def submit(
        self,
        rows: Rows,
        records: Sequence[LogRecord],
        offset: LogOffset,
        expected: int | None,
        raw_since: RawSince = None,
        bad: Sequence[BadLine] = (),
        scores: Sequence[SatelliteScore] = (),
    ) -> None:
        chunks = rows.chunks if isinstance(rows, EncodedRows) else [_rows_to_bytes(rows)]
        try:  # rows on their own, in buffers (see the module docstring)
            self._out.send((len(chunks), records, offset, expected, raw_since, bad, scores))
            for chunk in chunks:
                self._out.send_bytes(chunk)
        except OSError:
            raise WriterDiedError("the import writer process died") from None
        self._in_flight += 1

    def result(self) -> Reply:
        try:
            reply: Reply = self._in.recv()
        except (EOFError, OSError):
            raise WriterDiedError("the import writer process died") from None
        self._in_flight -= 1
        return reply

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._out.send(None)
        self._out.close()
        try:
            self._proc.wait(600)  # it may build the events indexes first
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._in.close()


def make_writer(db_path: str, *, process: bool, defer_indexes: bool = False) -> BatchWriter:
    """A process writer where it is supported (POSIX), else inline."""
    if process and os.name == "posix":
        return ProcessWriter(db_path, defer_indexes=defer_indexes)
    return InlineWriter(db_path, defer_indexes=defer_indexes)


if __name__ == "__main__":
    sys.stdout = sys.stderr  # stdout is the reply pipe: nothing else may write to it
    gc.disable()  # batches are acyclic lists and tuples: the cycle collector would only cost
    _serve(
        sys.argv[1],
        Connection(0, writable=False),
        Connection(1, readable=False),
        "--defer-indexes" in sys.argv[2:],
    )
