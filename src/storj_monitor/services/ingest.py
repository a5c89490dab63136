"""The live log pipeline of one node: source → parser → pairer → store writer and bus.

All the work (reading, parsing, pairing) happens on one worker thread per node, so a large
backlog never blocks the event loop; results reach the loop through
``call_soon_threadsafe``. Each write transaction holds a batch of events, their rollups, the
log records and the offsets just past the lines that produced them, so a restart (even after
``kill -9``) resumes exactly there. One batch is in flight while the next is parsed.

Live lines are published on the bus as soon as they are parsed (low latency); the backlog
of a first read is stored but only its last ``BROADCAST_BACKLOG_SECONDS`` are published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable

from storj_monitor.analytics.line_rate import LineRate
from storj_monitor.logs import rotation
from storj_monitor.logs.open_file import Chunk
from storj_monitor.logs.pipeline import LineProcessor, Processed
from storj_monitor.logs.rejects import BAD_SIZE, BAD_TIME
from storj_monitor.logs.sources import LogSource, forwarder_tls, open_source
from storj_monitor.logs.tail import FileFollower, LogState
from storj_monitor.logs.watcher import Watch, open_watch
from storj_monitor.model import Event, LogRecord, NodeSpec
from storj_monitor.services.bus import Bus
from storj_monitor.services.history import LogImportError, import_log
from storj_monitor.services.ingest_writes import Batch, BatchWrites
from storj_monitor.services.progress import CatchupProgress
from storj_monitor.services.transitions import FailureLog
from storj_monitor.settings import Settings
from storj_monitor.store import events as store_events
from storj_monitor.store.bad_lines import BadLine
from storj_monitor.store.database import Store
from storj_monitor.store.events import LogOffset
from storj_monitor.store.raw_window import raw_window

log = logging.getLogger(__name__)

BROADCAST_BACKLOG_SECONDS = 3600.0
#: Record kinds published from the backlog whatever their age (rare, and history matters).
HISTORY_RECORD_KINDS = frozenset({"reputation", "startup"})
RESTART_DELAY = 5.0  # seconds before the worker starts over after an unexpected error
FAST_POLL = 0.01  # seconds between polls of a stream source while lines keep coming
#: A local file is read when its watch (logs/watcher) says it changed, this many seconds
#: later, so a burst of writes is read in one go (live lines reach the bus within ~0.15 s).
LIVE_COALESCE = 0.1
#: ... and at least this often even without a notice (inotify misses writes made by another
#: host to a network filesystem); an unchanged file costs two stat calls then.
WATCH_SAFETY_POLL = 5.0
PROGRESS_MIN_BYTES = 32 << 20  # a first read this large shows progress
FAST_IMPORT_MIN_BYTES = 64 << 20  # a backlog this large goes through services.history
LIVE_TAIL_BYTES = 8 << 20  # ... except its last bytes, read (and broadcast) by the follower


class NodeIngest:
    """Follows one node's log and feeds the store and the bus; start/stop are idempotent.

    Counters (for /metrics): ``lines``, ``events``, ``records``, ``unparseable``,
    ``backlog_bytes`` (bytes of the local file not yet read), ``caught_up``,
    ``last_event_time`` (UTC unix seconds), ``available_space`` ((log time, free bytes) of
    the newest ``upload started`` line that said it), ``conflicts``, ``write_errors``, ``restarts``,
    ``rejected`` (bad lines: a time outside the sane window, a negative size) and
    ``quarantined`` (rows a write failed on even alone; both kinds are kept in ``bad_lines``).

    A batch whose write fails is written again; after a second failure it is written in
    isolating mode (``store.events.write_with_retries``), so one poisonous row never stops
    the lines after it.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: Bus,
        node: NodeSpec,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.node = node
        self.clock = clock
        self.processor = LineProcessor(
            node.name,
            max_pending=settings.pairing_max_pending,
            ttl_seconds=settings.pairing_ttl_seconds,
        )
        self.restarts = 0  # times the worker started over after an unexpected error
        # Failures that repeat (a broken disk, a bug on one line) log on transitions only.
        self._follow_failures = FailureLog(log, f"{node.name}: log ingest")
        self._import_backlog_bytes = 0
        self.last_event_time: float | None = None
        self.available_space: tuple[float, int] | None = None
        self._line_rate = LineRate()  # every line read, for the silence alert (node_watch)
        self._rate_lock = threading.Lock()
        self._source: LogSource | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        #: Batches on their way to the store (services.ingest_writes).
        self.writes = BatchWrites(node.name, store, source=lambda: self._source,
                                  stop=self._stop, on_ok=self._follow_failures.ok)  # fmt: skip
        self._watch: Watch | None = None

    # --- counters --------------------------------------------------------------------
    @property
    def events(self) -> int:
        """Piece operations stored (live batches and the fast import of a backlog)."""
        return self.writes.events

    @property
    def records(self) -> int:
        return self.writes.records

    @property
    def conflicts(self) -> int:
        return self.writes.conflicts

    @property
    def write_errors(self) -> int:
        return self.writes.write_errors

    @property
    def quarantined(self) -> int:
        return self.writes.quarantined

    @property
    def lines(self) -> int:
        return self.processor.lines

    @property
    def unparseable(self) -> int:
        return self.processor.unparseable

    @property
    def rejected(self) -> int:
        return self.processor.rejected

    @property
    def bad_lines_by_reason(self) -> dict[str, int]:
        """Bad lines by reason (``timestamp``, ``size``, ``write``) since start (/metrics)."""
        by_reason = self.processor.parser.rejected_by_reason
        return {
            "timestamp": by_reason.get(BAD_TIME, 0),
            "size": by_reason.get(BAD_SIZE, 0),
            "write": self.quarantined,
        }

    @property
    def log_state(self) -> LogState | None:
        """Whether the local log file can be read (None: not a local file, or not looked at
        yet)."""
        src = self._source
        return src.log_state if isinstance(src, FileFollower) else None

    def line_activity(self) -> tuple[float | None, float]:
        """(UTC unix seconds of the last line read, lines per minute learned before it):
        live lines count at their arrival, backlog lines at their log time."""
        with self._rate_lock:
            return self._line_rate.last_at, self._line_rate.per_minute()

    @property
    def caught_up(self) -> bool:
        return bool(self._source is not None and self._source.caught_up)

    @property
    def backlog_bytes(self) -> int:
        src = self._source
        if src is None:  # the fast import of a large first read is running (or nothing yet)
            return self._import_backlog_bytes
        size, pos = getattr(src, "size", 0), getattr(src, "position", 0)
        return max(0, size - pos)

    # --- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"ingest-{self.node.name}", daemon=True
        )
        self._thread.start()

    async def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        if self._watch is not None:
            self._watch.wake()
        await asyncio.get_running_loop().run_in_executor(None, thread.join, 8.0)
        if thread.is_alive():
            log.error("%s: ingest thread did not stop in time", self.node.name)
        self._thread = None

    # --- worker thread ---------------------------------------------------------------
    def _known_offsets(self) -> list[LogOffset]:
        return self.store.read_sync(lambda c: store_events.get_offsets(c, self.node.name))

    def _import_backlog(self) -> None:
        """A large first read goes through the history import's fast path (a writer
        process, big transactions) up to the last ``LIVE_TAIL_BYTES`` of the file; the
        follower then resumes from the offset it stored and handles the tail (whose recent
        events reach the bus) and everything after, with the same parser and pairing state
        (so no duration is lost at the hand-over)."""
        s, path = self.settings, self.node.log_source
        try:
            size = os.path.getsize(path)
        except OSError:
            return
        if s.follow_from_end or size < FAST_IMPORT_MIN_BYTES + LIVE_TAIL_BYTES:
            return
        positions = {o.fingerprint: o.offset for o in self._known_offsets()}
        if rotation.unread(rotation.scan(path), positions).files:
            return  # rotated files to read first: the follower reads them all, in order
        stop_at = size - LIVE_TAIL_BYTES
        progress: list[CatchupProgress] = []

        def on_start(offset: int, _size: int) -> None:
            if stop_at - offset >= PROGRESS_MIN_BYTES:
                progress.append(CatchupProgress(self.node.name, stop_at - offset))

        def on_progress(offset: int, lines: int) -> None:
            self._import_backlog_bytes = size - offset
            if progress:
                progress[0].update(stop_at - offset, lines)

        try:
            result = import_log(
                s.db_path, self.node.name, path,
                max_pending=s.pairing_max_pending, ttl_seconds=s.pairing_ttl_seconds,
                block_bytes=max(s.log_read_block_bytes, 4 << 20), clock=self.clock,
                on_start=on_start, on_progress=on_progress,
                stop_at=stop_at, should_stop=self._stop.is_set,
                raw_since=raw_window(
                    self.clock(), s.events_retention_days, s.events_detail_hours,
                    s.latency_warning_ms,
                ),
                processor=self.processor,  # the pairing state carries over to the follower
            )  # fmt: skip
        except (LogImportError, RuntimeError) as exc:
            log.warning("%s: fast import of the log history failed (%s); reading it live",
                        self.node.name, exc)  # fmt: skip
            return
        finally:
            if progress:
                progress[0].close()
            self._import_backlog_bytes = 0
        self.writes.events += result.events
        self.writes.records += result.records
        self.writes.quarantined += result.quarantined

    def _run(self) -> None:
        """The worker thread: never dies of an error; after one it starts over from the
        stored offsets (what was not committed is read again)."""
        if not self.node.is_remote:
            self._import_backlog()
        while not self._stop.is_set():
            try:
                self._follow()
                return
            except Exception as exc:
                self.restarts += 1
                self._follow_failures.failed(
                    exc, f"starting again from the stored offsets in {RESTART_DELAY:.0f} s"
                )
                self.writes.forget()
                self._stop.wait(RESTART_DELAY)

    def _follow(self) -> None:
        s = self.settings
        source = open_source(
            self.node,
            token=s.forwarder_token,
            tls=forwarder_tls(s.forwarder_tls_ca, s.forwarder_tls_fingerprint, self.node.name),
            known_offsets=self._known_offsets,
            block_bytes=s.log_read_block_bytes,
            from_end=s.follow_from_end and self.restarts == 0,
            clock=self.clock,
        )
        self._source = source
        if isinstance(source, FileFollower):  # streams (forwarder, docker, stdin) are polled
            self._watch = open_watch(self.node.log_source, interval=s.log_poll_interval)
        progress: CatchupProgress | None = None
        batch = Batch()
        delay = FAST_POLL
        try:
            while not self._stop.is_set():
                chunks = source.poll()
                for chunk in chunks:
                    self._process(chunk, batch)
                if self.writes.inflight_failed():
                    if batch:  # built on the failed batch: read again from the stored offsets
                        self.writes.resync(batch)
                    batch = Batch()
                backlog = self.backlog_bytes
                if progress is None and not source.caught_up and backlog >= PROGRESS_MIN_BYTES:
                    progress = CatchupProgress(self.node.name, backlog)
                if progress is not None:
                    progress.update(backlog, self.lines)
                    if source.caught_up:
                        progress.close()
                        progress = None
                if batch and self._due(batch):
                    self.writes.submit(batch)
                    batch = Batch()
                if chunks and not getattr(source, "drained", False):
                    delay = FAST_POLL
                    continue
                if self._watch is not None:
                    self._wait_for_change(batch)
                    continue
                if chunks:
                    delay = FAST_POLL
                    continue
                self._stop.wait(delay)
                delay = min(delay * 2, s.log_poll_interval)
            if batch:
                self.writes.submit(batch)
            self.writes.wait()
        finally:
            if progress is not None:
                progress.close()
            if self._watch is not None:
                self._watch.close()
                self._watch = None
            source.close()

    def _wait_for_change(self, batch: Batch) -> None:
        """Sleep until the file changes (no I/O meanwhile), the safety poll is due or the
        pending batch must be written."""
        assert self._watch is not None
        timeout = WATCH_SAFETY_POLL
        if batch:
            timeout = max(0.0, min(timeout, self._deadline(batch) - time.monotonic()))
        if self._watch.wait(timeout):
            self._stop.wait(LIVE_COALESCE)
            self._watch.clear()  # the poll that follows reads what these notices announced

    def _process(self, chunk: Chunk, batch: Batch) -> None:
        now = self.clock()
        out = self.processor.process(chunk.lines, chunk.arrival, now)
        ident = chunk.identity
        key = store_events.source_key(self.node.name, ident.fingerprint)
        self.writes.remember_offset(key)
        if not batch:
            batch.since = time.monotonic()
        batch.offsets[key] = LogOffset(
            self.node.name, ident.path, ident.fingerprint, ident.fingerprint_len, chunk.end,
            self.clock(),
        )  # fmt: skip
        batch.events += out.events
        batch.records += out.records
        if out.bad:
            batch.bad += [
                BadLine(self.node.name, ident.path, chunk.start, raw, why, now)
                for raw, why in out.bad
            ]
        if out.events:
            self.last_event_time = out.events[-1].timestamp
        # A backlog's log times, never later than now (a log clock ahead must not postpone
        # the silence alert); live lines at their arrival.
        times = [chunk.arrival] if chunk.arrival is not None else _log_times(out, now)
        with self._rate_lock:
            self._line_rate.spread(times, len(chunk.lines))
        if out.available_space is not None:
            self.available_space = out.available_space
            if self._loop is not None:  # log-derived storage samples (services.log_watch)
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(
                        self.bus.publish, "storage_sample", self.node.name, *out.available_space
                    )
        self._publish(out, live=chunk.arrival is not None)

    def _due(self, batch: Batch) -> bool:
        s = self.settings
        if len(batch.events) + len(batch.records) + len(batch.bad) >= s.db_batch_size:
            return True
        return time.monotonic() >= self._deadline(batch)

    def _deadline(self, batch: Batch) -> float:
        """When a batch must be written (monotonic s): the first multiple of
        ``DB_COMMIT_INTERVAL`` after its first line, the same instants for every node, so
        their batches share a transaction (services.live_writer)."""
        interval: float = self.settings.db_commit_interval  # s (Settings values are Any)
        return (batch.since // interval + 1) * interval

    def _publish(self, out: Processed, *, live: bool) -> None:
        if not (out.events or out.records) or self._loop is None:
            return
        events, records = out.events, out.records
        if not live:  # backlog: only what is recent enough to matter to live views
            horizon = self.clock() - BROADCAST_BACKLOG_SECONDS
            if events and events[-1].timestamp < horizon:
                events = []
            elif events and events[0].timestamp < horizon:
                events = [e for e in events if e.timestamp >= horizon]
            # Reputation lines come every 4 h per satellite: the backlog's are the node's
            # score history (API-less nodes have no other), so they are always passed on;
            # start-up lines (a few per start) give the node's start time (node_watch).
            records = [
                r for r in records if r.timestamp >= horizon or r.kind in HISTORY_RECORD_KINDS
            ]
        if events or records:
            with contextlib.suppress(RuntimeError):  # the loop is closed: shutting down
                self._loop.call_soon_threadsafe(self._deliver, events, records)

    def _deliver(self, events: list[Event], records: list[LogRecord]) -> None:
        if events:
            self.bus.publish("events", self.node.name, events)
        if records:
            self.bus.publish("records", self.node.name, records)


def _log_times(out: Processed, now: float) -> list[float]:
    """The log times (UTC unix seconds, at most ``now``) of a chunk's events and records."""
    times = [e.timestamp for e in out.events] + [r.timestamp for r in out.records]
    return [min(t, now) for t in times]
