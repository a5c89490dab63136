"""Writes of the log pipeline: events, log records and the log offsets that cover them.

The pipeline's exactly-once rule lives here: a batch of events and the byte offset just past
the last line that produced them are written in ONE transaction (the caller's), so after any
crash (even ``kill -9``) the database holds either both or neither. The offset update is a
compare-and-set on the previous offset, so two writers on the same file (a live follower
and an ``--ingest-log`` of the same file) can never both store the same lines: the second
one gets :class:`OffsetConflictError` and its transaction rolls back.

Poison rows: a batch whose write fails twice is written a third time in isolating mode
(:func:`write_with_retries`): rows that fail alone go to ``bad_lines`` (``store.bad_lines``),
the rest and the offset are stored, so no batch is retried forever.

All functions are plain ``fn(conn, ...)``; they run inside the caller's transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar

import orjson

from storj_monitor.model import Event, LogRecord
from storj_monitor.store import piece_ops
from storj_monitor.store.bad_lines import BadLine, insert_bad_lines, quarantine_failing
from storj_monitor.store.raw_window import RawSince, raw_rows
from storj_monitor.store.rollups import write_rollup_rows, write_rollups

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Reasons of quarantined rows (the start of ``bad_lines.reason``).
EVENT_ROW_FAILED = "event row failed to write"
RECORD_ROW_FAILED = "record row failed to write"

#: The events columns we write, in the order of ``model.Event``'s fields (a test checks it).
_EVENT_COLUMNS = (
    "timestamp",
    "node_name",
    "action",
    "status",
    "size",
    "satellite_id",
    "piece_id",
    "remote_ip",
    "error",
    "error_category",
    "duration_ms",
    "duration_source",
)
#: One C call per event builds the row tuple (much faster than a Python-level tuple).
_event_row = attrgetter(*_EVENT_COLUMNS)

_INSERT_RECORD = (
    "INSERT INTO log_records "
    "(timestamp, node_name, kind, level, message, satellite_id, duration_ms, fields) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def insert_events(conn: sqlite3.Connection, events: Iterable[Event]) -> None:
    """Insert finished piece operations (into ``piece_ops``, store.piece_ops)."""
    piece_ops.insert_rows(conn, list(map(_event_row, events)))


def event_rows(events: Iterable[Event]) -> list[tuple[Any, ...]]:
    """Events as plain row tuples in column order; cheap to serialise."""
    return list(map(_event_row, events))


def event_from_row(row: Sequence[Any]) -> Event:
    return Event(*row)  # the dataclass's field order is the column order


def insert_event_rows(conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> None:
    piece_ops.insert_rows(conn, rows)


_RECORD_COLUMNS = (
    "timestamp", "node_name", "kind", "level", "message", "satellite_id", "duration_ms", "fields",
)  # fmt: skip


def _record_row(r: LogRecord) -> tuple[object, ...]:
    fields = orjson.dumps(r.fields, default=str).decode() if r.fields else None
    return (
        r.timestamp,
        r.node_name,
        r.kind,
        r.level,
        r.message,
        r.satellite_id,
        r.duration_ms,
        fields,
    )


def insert_records(conn: sqlite3.Connection, records: Iterable[LogRecord]) -> None:
    """Insert typed non-piece lines; ``fields`` is stored as a JSON object (text)."""
    conn.executemany(_INSERT_RECORD, map(_record_row, records))


# --- log offsets -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogOffset:
    """How far one log file of one node has been consumed.

    A file is identified by ``fingerprint`` (sha1 hex of its first ``fingerprint_len``
    bytes), not by its path: a rotated file keeps its identity under a new name.
    ``offset`` is in bytes and always at a line boundary; ``updated_at`` UTC unix seconds.
    """

    node_name: str
    path: str
    fingerprint: str
    fingerprint_len: int
    offset: int
    updated_at: float = 0.0

    @property
    def source(self) -> str:
        return source_key(self.node_name, self.fingerprint)


class OffsetConflictError(RuntimeError):
    """The stored offset is not the one this writer started from (someone else advanced it).

    ``stored`` is the offset now in the table (None when the row is gone).
    """

    def __init__(self, source: str, expected: int | None, stored: int | None):
        super().__init__(f"log offset of {source} is {stored}, expected {expected}")
        self.source = source
        self.expected = expected
        self.stored = stored


def source_key(node_name: str, fingerprint: str) -> str:
    """The primary key of a log_offsets row: node name and file fingerprint."""
    return f"{node_name}|{fingerprint}"


_OFFSET_COLUMNS = "node_name, path, fingerprint, fingerprint_len, offset, updated_at"


def get_offsets(conn: sqlite3.Connection, node_name: str) -> list[LogOffset]:
    """Every file of ``node_name`` seen so far, most recently updated first."""
    rows = conn.execute(
        f"SELECT {_OFFSET_COLUMNS} FROM log_offsets WHERE node_name = ? ORDER BY updated_at DESC",
        (node_name,),
    ).fetchall()
    return [LogOffset(*row) for row in rows]


def get_offset(conn: sqlite3.Connection, source: str) -> LogOffset | None:
    row = conn.execute(
        f"SELECT {_OFFSET_COLUMNS} FROM log_offsets WHERE source = ?", (source,)
    ).fetchone()
    return LogOffset(*row) if row else None


def advance_offset(
    conn: sqlite3.Connection,
    new: LogOffset,
    *,
    expected: int | None,
) -> None:
    """Move a file's offset to ``new.offset``, if it still is ``expected``.

    ``expected`` is the offset this writer resumed from (None: it believed the file new).
    Raises :class:`OffsetConflictError` when another writer got there first; the caller's
    transaction must then roll back (raising does that in ``Store``/``transaction``).
    """
    key = new.source
    row = conn.execute("SELECT offset FROM log_offsets WHERE source = ?", (key,)).fetchone()
    stored = None if row is None else int(row[0])
    if stored != expected:
        raise OffsetConflictError(key, expected, stored)
    if row is None:
        conn.execute(
            f"INSERT INTO log_offsets (source, {_OFFSET_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (new.source, new.node_name, new.path, new.fingerprint, new.fingerprint_len,
             new.offset, new.updated_at),
        )  # fmt: skip
        return
    conn.execute(
        "UPDATE log_offsets SET path = ?, offset = ?, updated_at = ? WHERE source = ?",
        (new.path, new.offset, new.updated_at, key),
    )


def write_batch(
    conn: sqlite3.Connection,
    events: Sequence[Event],
    records: Sequence[LogRecord],
    offsets: Sequence[tuple[LogOffset, int | None]] = (),
    bad: Sequence[BadLine] = (),
    *,
    quarantine: list[BadLine] | None = None,
) -> None:
    """One pipeline transaction: offsets (compare-and-set first, so a conflict costs
    nothing), raw events, their rollups, log records and the parser's rejected lines.

    ``offsets`` pairs each file's new offset with the offset the writer started from.
    ``quarantine``: None writes plainly (any failure raises); a list writes in isolating
    mode: rows that fail on their own go to ``bad_lines`` and are appended to the list.
    """
    for new, expected in offsets:
        advance_offset(conn, new, expected=expected)
    if quarantine is None:
        if events:
            insert_events(conn, events)
            write_rollups(conn, events)  # aggregates in the same transaction as the raw events
        if records:
            insert_records(conn, records)
    else:
        _isolating(conn, offsets, quarantine, events, records, _write_events, _event_row)
    if bad:
        insert_bad_lines(conn, bad)


def _write_events(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    insert_events(conn, events)
    write_rollups(conn, events)


def _isolating(
    conn: sqlite3.Connection,
    offsets: Sequence[tuple[LogOffset, int | None]],
    quarantine: list[BadLine],
    events: Sequence[Any],
    records: Sequence[LogRecord],
    write_events: Callable[[sqlite3.Connection, Sequence[Any]], Any],
    as_row: Callable[[Any], Sequence[Any]],
) -> None:
    """Events and records written through ``store.bad_lines.isolate``; rows that fail
    alone go to ``bad_lines``, attributed to the batch's file when it has only one, at the
    offset the batch started from."""
    one_file = len(offsets) == 1
    origin = (
        offsets[0][0].path if one_file else None,
        offsets[0][1] if one_file else None,
        max((new.updated_at for new, _ in offsets), default=0.0),
    )
    parts = [
        (events, write_events, lambda e: dict(zip(_EVENT_COLUMNS, as_row(e), strict=True)),
         EVENT_ROW_FAILED),
        (records, insert_records, lambda r: dict(zip(_RECORD_COLUMNS, _record_row(r), strict=True)),
         RECORD_ROW_FAILED),
    ]  # fmt: skip
    quarantine_failing(conn, quarantine, origin, parts)


def write_with_retries(
    run: Callable[[Callable[[sqlite3.Connection], T]], T],
    write: Callable[[sqlite3.Connection, list[BadLine] | None], T],
    *,
    failures: int = 0,
    what: str = "a batch",
) -> tuple[T, list[BadLine]]:
    """Write a batch so that it can never fail forever on its own rows.

    ``run(fn)`` runs ``fn(conn)`` in a transaction of its own (and raises what it raised);
    ``write(conn, quarantine)`` is :func:`write_batch` or :func:`write_row_batch` bound to
    the batch. Failed once → written again; failed twice → written in isolating mode (the
    rows that fail alone are quarantined, the rest stored with the offset). ``failures``:
    attempts that already failed elsewhere. Returns the result and the quarantined rows.
    An :class:`OffsetConflictError` is raised at once (the lines belong to another writer);
    the isolating attempt's own failure (a full disk, say) is raised to the caller.
    """
    while failures < 2:
        try:
            return run(lambda c: write(c, None)), []
        except OffsetConflictError:
            raise
        except Exception as exc:
            failures += 1
            log.warning("writing %s failed (%s: %s), attempt %d of 2",
                        what, type(exc).__name__, exc, failures)  # fmt: skip
    quarantined: list[BadLine] = []

    def isolating(conn: sqlite3.Connection) -> T:
        quarantined.clear()  # a retried transaction starts over
        return write(conn, quarantined)

    result = run(isolating)
    if quarantined:
        log.warning("%s: %d row(s) failed alone and went to bad_lines; the rest is stored",
                    what, len(quarantined))  # fmt: skip
    return result, quarantined


def write_row_batch(
    conn: sqlite3.Connection,
    rows: Sequence[Sequence[Any]],
    records: Sequence[LogRecord],
    offsets: Sequence[tuple[LogOffset, int | None]] = (),
    *,
    raw_since: RawSince = None,
    bad: Sequence[BadLine] = (),
    quarantine: list[BadLine] | None = None,
) -> int:
    """:func:`write_batch` for events given as row tuples (see :func:`event_rows`).

    ``raw_since`` (:data:`RawSince`): events it excludes go into the rollups only, not into
    ``events`` (an import of old history does not write raw rows that retention would delete
    within the hour). Returns how many raw rows were inserted.
    """
    for new, expected in offsets:
        advance_offset(conn, new, expected=expected)
    if quarantine is not None:
        stored = [0]

        def write_rows(c: sqlite3.Connection, part: Sequence[Sequence[Any]]) -> None:
            raw = raw_rows(part, raw_since)
            insert_event_rows(c, raw)
            write_rollup_rows(c, part)
            stored[0] += len(raw)  # only counted once the part's savepoint is kept

        _isolating(conn, offsets, quarantine, rows, records, write_rows, tuple)
        if bad:
            insert_bad_lines(conn, bad)
        return stored[0]
    raw = raw_rows(rows, raw_since)
    if raw:
        insert_event_rows(conn, raw)
    if rows:
        write_rollup_rows(conn, rows)
    if records:
        insert_records(conn, records)
    if bad:
        insert_bad_lines(conn, bad)
    return len(raw)


def delete_events_before(conn: sqlite3.Connection, cutoff: float, limit: int = 50_000) -> int:
    """Delete at most ``limit`` raw events older than ``cutoff`` (UTC unix seconds).

    Bounded so one retention pass never holds the write lock for long; returns the count
    (0: none left; a chunk may stop short of ``limit`` at a timestamp boundary).
    """
    return piece_ops.delete_before(conn, cutoff, limit)


def raw_event_nodes(conn: sqlite3.Connection) -> list[int]:
    """The keys :func:`thin_events_chunk` takes (store.piece_ops ids)."""
    return piece_ops.node_ids(conn)


def thin_events_chunk(
    conn: sqlite3.Connection,
    node: int,
    since: float | None,
    cutoff: float,
    keep_ms: float,
    limit: int = 50_000,
) -> tuple[int, float]:
    """Past the detail window (``cutoff``, UTC unix seconds) keep only the operations of at
    least ``keep_ms`` (LATENCY_WARNING_MS: what the slow-operations list shows): delete at
    most about ``limit`` faster ones (or without a duration) of one node (a
    :func:`raw_event_nodes` key) with ``since <= timestamp < cutoff``. Returns the count
    and where the next chunk starts (``cutoff``: done). Nothing else reads raw rows that
    old: the traffic details and the map read the detail window, latency the rollups."""
    return piece_ops.thin_node(conn, node, since, cutoff, limit, keep_ms)


def delete_records_before(conn: sqlite3.Connection, cutoff: float, limit: int = 50_000) -> int:
    """Delete at most ``limit`` log records older than ``cutoff`` (UTC unix seconds)."""
    cur = conn.execute(
        "DELETE FROM log_records WHERE id IN "
        "(SELECT id FROM log_records WHERE timestamp < ? LIMIT ?)",
        (cutoff, limit),
    )
    return cur.rowcount


def count_events(conn: sqlite3.Connection, node_name: str | None = None) -> int:
    if node_name is None:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    return int(
        conn.execute("SELECT COUNT(*) FROM events WHERE node_name = ?", (node_name,)).fetchone()[0]
    )


def event_status_counts(conn: sqlite3.Connection, node_name: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT status, COUNT(*) FROM events WHERE node_name = ? GROUP BY status", (node_name,)
    ).fetchall()
    return {status: int(n) for status, n in rows}


__all__: Sequence[str] = (
    "LogOffset",
    "OffsetConflictError",
    "advance_offset",
    "count_events",
    "delete_events_before",
    "delete_records_before",
    "event_status_counts",
    "get_offset",
    "get_offsets",
    "insert_events",
    "insert_records",
    "raw_event_nodes",
    "source_key",
    "thin_events_chunk",
    "write_batch",
    "write_row_batch",
    "write_with_retries",
)
