"""Import a whole log file once, as fast as the disk allows (``--ingest-log``, and a live
follower's large backlog).

A synchronous fast path (no event loop): one loop reads large blocks and parses and pairs
them (durations included); a writer process (``store.bulk``, inline for small files) inserts
them in large transactions on its own connection, overlapping SQLite with the parsing, with
at most two batches in flight. Each transaction also advances the file's row in ``log_offsets`` (compare-and-
set), so importing the same file twice adds nothing, an interrupted import resumes where it
stopped, and an import composes with a live follower of the same file: whichever stores a
line first owns it, the other skips past it.

``.gz``/``.bz2``/``.xz`` files (``logs.compressed``) are read as their decompressed bytes, after
one pass that checks they decompress (nothing of a corrupt file is stored). ``node scores``
lines become ``reputation_history`` rows (``source = 'log'``) in the same transaction as their
offset. The ``--ingest-log`` command (``services.ingest_log_command``: ``node.log*`` patterns,
progress, summary, Ctrl-C) imports a rotation set oldest first through one ``processor``, so
a transfer that spans two files keeps its duration.
"""

from __future__ import annotations

import gc
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter

import orjson

from storj_monitor.logs import compressed
from storj_monitor.logs.blocks import BlockLines
from storj_monitor.logs.compressed import CorruptArchiveError, LogStream, open_log_stream
from storj_monitor.logs.open_file import match_offset
from storj_monitor.logs.pipeline import LineProcessor
from storj_monitor.logs.rotation import fingerprint_of
from storj_monitor.model import LogRecord, SatelliteScore
from storj_monitor.services.log_watch import score_from_record
from storj_monitor.store import events as store_events
from storj_monitor.store.bad_lines import BadLine
from storj_monitor.store.bulk import BatchWriter, EncodedRows, make_writer, usable_cpus
from storj_monitor.store.database import connect
from storj_monitor.store.events import EVENT_ROW_FAILED, LogOffset
from storj_monitor.store.raw_window import RawSince
from storj_monitor.store.schema import migrate

#: Rows (events + records) per transaction of an import.
IMPORT_BATCH_ROWS = 20_000
#: Imports with more than this many bytes to read write in a child process (store.bulk).
PROCESS_WRITER_MIN_BYTES = 16 << 20
#: Bytes read at a time by an import (at least LOG_READ_BLOCK_BYTES).
IMPORT_BLOCK_BYTES = 4 << 20
#: A file untouched this long (seconds) is finished: its last line counts even without "\n".
FINISHED_AFTER_SECONDS = 60.0
_status = itemgetter(3)  # the status column of an event row


@dataclass(slots=True)
class ImportResult:
    """What one import did; times in seconds, sizes in bytes."""

    path: str
    node_name: str
    start_offset: int = 0
    end_offset: int = 0
    lines: int = 0
    events: int = 0  # piece operations aggregated into the rollups
    raw_events: int = 0  # of which stored as raw rows (the others were beyond retention)
    records: int = 0
    scores: int = 0  # of the records, reputation lines stored in reputation_history
    unparseable: int = 0
    ignored: int = 0
    rejected: int = 0  # bad lines (time outside the sane window, negative size): bad_lines
    quarantined: int = 0  # rows a write failed on even alone: bad_lines, the rest stored
    by_status: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    conflicts: int = 0  # times another writer had stored part of the file first
    partial_tail_bytes: int = 0  # an unfinished last line, left for a later read

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0


class LogImportError(RuntimeError):
    """The file cannot be imported; the message is one line for the user."""


class LogFileError(LogImportError):
    """This file (missing, unreadable, corrupt) cannot be imported; others of a set still can."""


def _open_source(path: str) -> LogStream:
    try:
        return open_log_stream(path)
    except CorruptArchiveError as exc:
        raise LogFileError(f"{exc}; nothing of it was imported") from None
    except OSError as exc:
        raise LogFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def import_log(
    db_path: str,
    node_name: str,
    path: str,
    *,
    max_pending: int,
    ttl_seconds: float,
    block_bytes: int = IMPORT_BLOCK_BYTES,
    clock: Callable[[], float] = time.time,
    on_progress: Callable[[int, int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    writer_process: bool | None = None,
    stop_at: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    raw_since: RawSince = None,
    processor: LineProcessor | None = None,
    defer_indexes: bool = False,
) -> ImportResult:
    """Import ``path`` as node ``node_name`` into the database at ``db_path``.

    ``on_start(start_offset, size)`` is called once before reading, ``on_progress(offset,
    lines)`` after each block. ``writer_process``: write in a child process (None: only when
    more than ``PROCESS_WRITER_MIN_BYTES`` are left to read and a second CPU is usable).
    ``defer_indexes`` (the ``--ingest-log`` command, not a live monitor's catch-up, whose
    dashboard keeps querying meanwhile): an import of that size into an empty ``events``
    table builds the table's indexes once at its end. ``stop_at``: read no further
    than this byte (the rest is left to a live follower); ``should_stop()`` ends the import
    early (everything read so far is still stored). ``raw_since`` (UTC unix seconds): older
    events are aggregated into the rollups but not stored as raw rows (retention would
    delete them at once). ``processor``: parse and pair with this one (a live follower that
    continues after ``stop_at``, or the import of the next file of a rotation set, keeps the
    pairing state, so no duration is lost). ``path`` may be compressed (``.gz``, ``.bz2``,
    ``.xz``): offsets then count decompressed bytes. Raises :class:`LogFileError` for a
    missing, unreadable or corrupt file, :class:`LogImportError` for a database that cannot
    be written.
    """
    result = ImportResult(path, node_name)
    source = _open_source(path)
    t0 = time.perf_counter()
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(db_path)
        migrate(conn)
        size, prefix = source.size, source.prefix
        fp = fingerprint_of(prefix)
        if fp is None:  # empty, or not even one complete line yet
            result.partial_tail_bytes = size
            return result
        row = match_offset(store_events.get_offsets(conn, node_name), prefix)
        expected = row.offset if row is not None else None
        pos = expected if expected is not None and expected <= size else 0
        result.start_offset = result.end_offset = pos
        if on_start is not None:
            on_start(pos, size)
        end = size if stop_at is None else min(size, stop_at)
        if pos >= end:
            return result
        big = end - pos >= PROCESS_WRITER_MIN_BYTES
        if writer_process is None:  # a process only pays off with a second CPU to run on
            writer_process = big and usable_cpus() > 1
        writer = make_writer(db_path, process=writer_process, defer_indexes=defer_indexes and big)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # millions of short-lived acyclic objects: the cycle collector only costs
        try:
            importer = _Importer(conn, source, fp, result, writer, clock, on_progress)
            importer.processor = processor or LineProcessor(
                node_name, max_pending=max_pending, ttl_seconds=ttl_seconds
            )
            importer.stop_at, importer.should_stop = stop_at, should_stop
            importer.raw_since = raw_since
            importer.run(pos, expected, block_bytes)
        finally:
            if gc_was_enabled:
                gc.enable()
            writer.close()
    except sqlite3.Error as exc:
        raise LogImportError(f"database {db_path}: {exc}") from None
    except compressed.DATA_ERRORS as exc:  # changed since it was checked
        raise LogFileError(str(compressed.why_corrupt(path, str(source.kind), exc))) from None
    except OSError as exc:  # a read error of the disk
        raise LogFileError(f"cannot read {path}: {exc}") from None
    finally:
        source.close()
        if conn is not None:
            conn.close()
        result.seconds = time.perf_counter() - t0
    return result


class _Importer:
    """The read → parse/pair → write loop of one import, with at most two batches in flight."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        source: LogStream,
        fp: tuple[str, int],
        result: ImportResult,
        writer: BatchWriter,
        clock: Callable[[], float],
        on_progress: Callable[[int, int], None] | None,
    ):
        self.conn = conn  # reads only (offsets after a conflict)
        self.source = source
        self.fp = fp
        self.result = result
        self.writer = writer
        self.clock = clock
        self.on_progress = on_progress
        self.processor: LineProcessor
        # rows, their statuses, records, scores of each batch in flight
        self.sent: deque[tuple[int, Counter[str], int, int]] = deque()
        self.statuses: Counter[str] = Counter()  # of the rows of the batch being built
        self.bad: list[BadLine] = []  # rejected lines of the batch being built
        self.conflict = False
        self.stop_at: int | None = None
        self.raw_since: RawSince = None
        self.should_stop: Callable[[], bool] | None = None

    def _budget(self, pos: int, held: int, block_bytes: int) -> int:
        """Bytes to read next; 0 when reading ends early (stop_at / should_stop)."""
        if self.should_stop is not None and self.should_stop():
            return 0
        if self.stop_at is not None:
            return max(0, min(block_bytes, self.stop_at - pos - held))
        return block_bytes

    def run(self, pos: int, expected: int | None, block_bytes: int) -> None:
        r, source, processor = self.result, self.source, self.processor
        reader = BlockLines(source.file, block_bytes)
        rows = self._new_rows()
        records: list[LogRecord] = []
        # this file's counts: a processor may have read other files (or a follower's lines)
        lines0, unparseable0 = processor.lines, processor.unparseable
        ignored0, rejected0 = processor.ignored, processor.rejected
        source.file.seek(pos)
        while True:
            budget = self._budget(pos, reader.held, block_bytes)
            early = budget == 0
            read_from = pos - reader.held  # where the first line of this read begins
            lines, used, eof = reader.read(budget) if budget else ([], 0, True)
            pos += used
            last = eof or early
            quiet = FINISHED_AFTER_SECONDS
            if last and reader.held and not early and source.finished(self.clock(), quiet):
                tail, used = reader.finish()  # last line of a finished file, no "\n"
                lines += tail
                pos += used
            if lines:
                out = processor.process_rows(lines, now=self.clock())
                self.statuses.update(map(_status, out.rows))
                if isinstance(rows, EncodedRows):
                    rows.extend(out.rows)
                else:
                    rows += out.rows
                records += out.records
                if out.bad:
                    self._reject(out.bad, read_from)
            full = len(rows) + len(records) + len(self.bad) >= IMPORT_BATCH_ROWS
            if full or (last and (rows or records or pos != expected)):
                self._submit(rows, records, pos, expected)
                expected, rows, records = pos, self._new_rows(), []
            if full or last:
                self._collect(0 if last else 1)
                if self.conflict:  # another writer stored part of this file: go past it
                    pos = expected = self._stored_offset()
                    r.conflicts += 1
                    source.file.seek(pos)
                    reader.reset()
                    rows, records, self.conflict = self._new_rows(), [], False
                    self.bad, self.statuses = [], Counter()
                    continue
            if self.on_progress is not None:
                self.on_progress(pos, processor.lines - lines0)
            if last:
                break
        r.end_offset = pos
        r.partial_tail_bytes = 0 if early else reader.held  # stopped early: not a file's end
        r.lines = processor.lines - lines0
        r.unparseable = processor.unparseable - unparseable0
        r.ignored = processor.ignored - ignored0
        r.rejected = processor.rejected - rejected0

    def _reject(self, bad: list[tuple[str, str]], offset: int) -> None:
        """Rejected lines, kept in ``bad_lines`` with the batch they were read in."""
        node_name, path, now = self.result.node_name, self.result.path, self.clock()
        self.bad += [BadLine(node_name, path, offset, raw, why, now) for raw, why in bad]

    def _new_rows(self) -> list[tuple[object, ...]] | EncodedRows:
        """A batch's rows: encoded block by block when they go to a writer process."""
        return EncodedRows() if self.writer.encodes else []

    def _submit(
        self,
        rows: list[tuple[object, ...]] | EncodedRows,
        records: list[LogRecord],
        end: int,
        expected: int | None,
    ) -> None:
        node_name, path = self.result.node_name, self.result.path
        offset = LogOffset(node_name, path, self.fp[0], self.fp[1], end, self.clock())
        scores = _scores(records)
        self.writer.submit(rows, records, offset, expected, self.raw_since, self.bad, scores)
        self.sent.append((len(rows), self.statuses, len(records), len(scores)))
        self.bad, self.statuses = [], Counter()

    def _collect(self, keep: int) -> None:
        """Take replies until at most ``keep`` batches are in flight (all, on a conflict)."""
        while self.writer.in_flight > (0 if self.conflict else keep):
            kind, value = self.writer.result()
            n_rows, statuses, n_records, n_scores = self.sent.popleft()
            if kind == "ok":
                raw, quarantined = value
                bad_events = [b for b in quarantined if b.reason.startswith(EVENT_ROW_FAILED)]
                self.result.events += n_rows - len(bad_events)
                self.result.raw_events += raw
                self.result.records += n_records - (len(quarantined) - len(bad_events))
                self.result.quarantined += len(quarantined)
                self.result.scores += n_scores
                self.result.by_status.update(statuses)
                if bad_events:
                    self.result.by_status.subtract(
                        orjson.loads(b.raw)["status"] for b in bad_events
                    )
                    self.result.by_status = +self.result.by_status  # drop zero counts
            elif kind == "conflict":
                self.conflict = True
            else:
                raise LogImportError(f"writing to the database failed: {value}")

    def _stored_offset(self) -> int:
        row = store_events.get_offset(
            self.conn, store_events.source_key(self.result.node_name, self.fp[0])
        )
        return row.offset if row is not None else 0


def _scores(records: list[LogRecord]) -> list[SatelliteScore]:
    """The reputation rows of ``node scores`` records, as live ingest makes them (log_watch)."""
    found = (score_from_record(r) for r in records if r.kind == "reputation")
    return [s for s in found if s is not None]
