"""The write side of one node's live ingest: batches on their way to the store.

One batch is in flight while the next is parsed. The first attempt shares a transaction with
the other nodes' batches (``services.live_writer``); a batch that fails is written again on
its own, and after a second failure in isolating mode (``store.events.write_with_retries``),
so one poisonous row never stops the lines after it. After a failure that cannot be
recovered (another writer stored the same log, a broken disk) the source is moved back to
the stored offsets, so what was not committed is read again: nothing lost, nothing twice.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future

from storj_monitor.logs.sources import LogSource
from storj_monitor.model import Event, LogRecord
from storj_monitor.services.live_writer import group_writer
from storj_monitor.services.transitions import FailureLog
from storj_monitor.store import events as store_events
from storj_monitor.store.bad_lines import BadLine
from storj_monitor.store.database import Store
from storj_monitor.store.events import LogOffset, OffsetConflictError

log = logging.getLogger("storj_monitor.services.ingest")

#: Writes one batch: ``fn(conn, quarantine)`` (see ``store.events.write_batch``).
Write = Callable[[sqlite3.Connection, "list[BadLine] | None"], None]


class Batch:
    """Events, records and offsets not yet handed to the writer."""

    __slots__ = ("bad", "events", "offsets", "records", "since")

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.records: list[LogRecord] = []
        self.bad: list[BadLine] = []  # lines the parser rejected, for bad_lines
        self.offsets: dict[str, LogOffset] = {}  # source key → newest offset
        self.since = 0.0  # monotonic time of the first pending item

    def __bool__(self) -> bool:
        return bool(self.offsets)


class BatchWrites:
    """One node's batches in flight. Counters (for /metrics): ``events``, ``records`` stored,
    ``conflicts``, ``write_errors``, ``quarantined`` (rows a write failed on even alone).

    ``source`` returns the node's log source (to move it back after a failure), ``stop`` is
    the ingest thread's stop flag (waited on instead of spinning on a broken disk), and
    ``on_ok`` is called after every batch that committed.
    """

    def __init__(
        self,
        node_name: str,
        store: Store,
        *,
        source: Callable[[], LogSource | None],
        stop: threading.Event,
        on_ok: Callable[[], None],
    ) -> None:
        self.node_name = node_name
        self.store = store
        self._source = source
        self._stop = stop
        self._on_ok = on_ok
        self.events = 0
        self.records = 0
        self.conflicts = 0
        self.write_errors = 0
        self.quarantined = 0
        self._failures = FailureLog(log, f"{node_name}: writing events")
        self._committed: dict[str, int | None] = {}  # source key → offset submitted
        self._inflight: tuple[Future[None], Batch, Write] | None = None

    def forget(self) -> None:
        """After the worker starts over: nothing in flight, offsets read from the store again."""
        self._inflight = None
        self._committed.clear()

    def remember_offset(self, key: str) -> None:
        """Make sure the offset a batch of ``key`` builds on is known (read once per source)."""
        if key not in self._committed:
            stored = self.store.read_sync(lambda c: store_events.get_offset(c, key))
            self._committed[key] = stored.offset if stored is not None else None

    def inflight_failed(self) -> bool:
        """The batch in flight has finished and failed (it was handled: see ``wait``)."""
        inflight = self._inflight
        return inflight is not None and inflight[0].done() and not self.wait()

    def submit(self, batch: Batch) -> None:
        """Hand a batch to the writer after the previous one committed (one in flight)."""
        if not self.wait():
            self.resync(batch)  # the previous batch failed: this one was built on it, too
            return
        offsets = [(new, self._committed.get(key)) for key, new in batch.offsets.items()]
        events, records, bad = batch.events, batch.records, batch.bad

        def write(conn: sqlite3.Connection, quarantine: list[BadLine] | None) -> None:
            store_events.write_batch(conn, events, records, offsets, bad, quarantine=quarantine)

        # the first attempt shares a transaction with the other nodes' batches; a retry
        # (write_with_retries) writes this batch alone
        fut = group_writer(self.store).submit(events, records, offsets, bad)
        fut.add_done_callback(lambda f: self._count(f, len(events), len(records)))
        for key, new in batch.offsets.items():
            self._committed[key] = new.offset
        self._inflight = (fut, batch, write)

    def _count(self, fut: Future[None], events: int, records: int) -> None:
        """Counters of stored rows, updated as soon as the writer committed (writer thread)."""
        if not fut.cancelled() and fut.exception() is None:
            self.events += events
            self.records += records

    def wait(self) -> bool:
        """Wait for the batch in flight; False if it failed (and recover from that)."""
        if self._inflight is None:
            return True
        fut, batch, write = self._inflight
        self._inflight = None
        try:
            try:
                fut.result()
            except OffsetConflictError:
                raise
            except Exception:  # written again, then row by row (write_with_retries)
                self._retry(batch, write)
        except OffsetConflictError as exc:
            self.conflicts += 1
            log.warning(
                "%s: another writer stored this log up to byte %s; continuing from there",
                self.node_name, exc.stored,
            )  # fmt: skip
            self.resync(batch)
            return False
        except Exception as exc:
            self.write_errors += 1
            self._failures.failed(exc, f"{len(batch.events)} events; reading them again")
            self.resync(batch)
            self._stop.wait(1.0)  # the lines are read again; do not spin on a broken disk
            return False
        self._failures.ok()
        self._on_ok()
        return True

    def _retry(self, batch: Batch, write: Write) -> None:
        """The batch in flight failed once: write it again, isolating poisonous rows after
        a second failure (the rest is stored, with the offset); raises if even that fails."""
        _, quarantined = store_events.write_with_retries(
            lambda fn: self.store.submit_write(fn).result(),
            write,
            failures=1,
            what=f"{self.node_name}: a batch of {len(batch.events)} events",
        )
        bad_events = sum(q.reason.startswith(store_events.EVENT_ROW_FAILED) for q in quarantined)
        self.quarantined += len(quarantined)
        self.events += len(batch.events) - bad_events
        self.records += len(batch.records) - (len(quarantined) - bad_events)

    def resync(self, batch: Batch) -> None:
        """After a failed write: re-read the stored offsets and continue from them."""
        source = self._source()
        assert source is not None
        for key, new in batch.offsets.items():
            stored = self.store.read_sync(functools.partial(store_events.get_offset, source=key))
            self._committed[key] = stored.offset if stored is not None else None
            offset = stored.offset if stored is not None else 0
            if not source.reposition(new.fingerprint, offset):
                log.warning(
                    "%s: %s is no longer open; lines after byte %d of it are not stored",
                    self.node_name, new.path, offset,
                )  # fmt: skip
