"""Group commit: the live batches of every node in one write transaction.

A node's live batch is small (20 operations/s × ``DB_COMMIT_INTERVAL``), and a transaction
has a fixed cost (BEGIN/COMMIT, the rollups' read-merge-write per table): with one
transaction per node and interval, 100 nodes cost ~20× the CPU of one node with the same
traffic. Here batches submitted within ``GATHER_SECONDS`` of each other (node batches fall
due on the same interval grid, see services.ingest) share one transaction: each node's
offset compare-and-set runs in its own SAVEPOINT, so a conflict (another writer stored that
file) rolls back that node's batch alone and fails only its future with
``OffsetConflictError``; the other batches' events, rollups and records are written
together. If writing them together fails, each batch is written again in a SAVEPOINT of its
own, so a batch that cannot be stored fails alone (its node re-reads from its stored offset,
as before) and never holds back the other nodes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from storj_monitor.store import events as store_events
from storj_monitor.store.bad_lines import BadLine
from storj_monitor.store.database import Store
from storj_monitor.store.events import LogOffset, OffsetConflictError

#: Seconds a group stays open for more batches before the writer takes it.
GATHER_SECONDS = 0.03


@dataclass(slots=True)
class _Item:
    events: list[Any]
    records: list[Any]
    offsets: Sequence[tuple[LogOffset, int | None]]
    bad: Sequence[BadLine]
    future: Future[None] = field(default_factory=Future)
    error: Exception | None = None  # this batch alone failed (an offset conflict, say)


class GroupWriter:
    """Collects batches of all nodes of one store; ``submit`` never blocks."""

    def __init__(self, store: Store, *, gather: float = GATHER_SECONDS) -> None:
        self.store = store
        self.gather = gather
        self._lock = threading.Lock()
        self._open: list[_Item] | None = None  # the group not yet taken by the writer
        self._opened = 0.0  # monotonic time it was opened
        self.transactions = 0  # groups committed (for benchmarks and tests)
        self.batches = 0  # batches committed in them

    def submit(
        self,
        events: list[Any],
        records: list[Any],
        offsets: Sequence[tuple[LogOffset, int | None]],
        bad: Sequence[BadLine] = (),
    ) -> Future[None]:
        """Queue one node's batch (``store.events.write_batch``'s arguments); its future ends
        when its group committed (or failed)."""
        item = _Item(events, records, offsets, bad)
        with self._lock:
            if self._open is not None:
                self._open.append(item)
                return item.future
            group = self._open = [item]
            self._opened = time.monotonic()
        try:
            done = self.store.submit_write(lambda conn: self._write(conn, group))
        except RuntimeError as exc:  # the store is closed
            with self._lock:
                if self._open is group:
                    self._open = None
            for it in group:
                it.future.set_exception(exc)
            return item.future
        done.add_done_callback(lambda f: self._settle(f, group))
        return item.future

    def _write(self, conn: sqlite3.Connection, group: list[_Item]) -> None:
        """On the writer thread, inside its transaction."""
        wait = self._opened + self.gather - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # let the other nodes' batches of this tick join
        with self._lock:
            if self._open is group:
                self._open = None  # later batches open the next group
        try:
            with _savepoint(conn, "live_group"):
                ok: list[_Item] = []
                for it in group:
                    it.error = None
                    try:
                        with _savepoint(conn, "live_offsets"):
                            for new, expected in it.offsets:
                                store_events.advance_offset(conn, new, expected=expected)
                    except OffsetConflictError as exc:
                        it.error = exc
                    else:
                        ok.append(it)
                events = [e for it in ok for e in it.events]
                records = [r for it in ok for r in it.records]
                bad = [b for it in ok for b in it.bad]
                store_events.write_batch(conn, events, records, (), bad)
        except Exception:
            if len(group) == 1:
                raise
            for it in group:  # one at a time: only the batch that cannot be stored fails
                try:
                    with _savepoint(conn, "live_batch"):
                        store_events.write_batch(conn, it.events, it.records, it.offsets, it.bad)
                except Exception as exc:
                    it.error = exc

    def _settle(self, done: Future[None], group: list[_Item]) -> None:
        """After the group's transaction: pass its outcome to each batch's future."""
        error = done.exception() if not done.cancelled() else RuntimeError("write cancelled")
        if error is None:
            self.transactions += 1
            self.batches += sum(it.error is None for it in group)
        for it in group:
            if error is not None:
                it.future.set_exception(error)
            elif it.error is not None:
                it.future.set_exception(it.error)
            else:
                it.future.set_result(None)


@contextlib.contextmanager
def _savepoint(conn: sqlite3.Connection, name: str) -> Iterator[None]:
    """Everything in the block, or (on an exception, which passes on) nothing of it."""
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


_writers: weakref.WeakKeyDictionary[Store, GroupWriter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


def group_writer(store: Store) -> GroupWriter:
    """The one group writer of ``store`` (every node ingest of a monitor shares it)."""
    with _writers_lock:
        writer = _writers.get(store)
        if writer is None:
            writer = _writers[store] = GroupWriter(store)
        return writer
