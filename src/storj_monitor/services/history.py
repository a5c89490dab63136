"""``--ingest-log NAME:PATH``: import a whole log file once, as fast as the disk allows.

A synchronous fast path (no event loop, no writer thread): one loop reads large blocks,
parses and pairs them (durations included) and inserts in large transactions on its own
connection. Each transaction also advances the file's row in ``log_offsets`` (compare-and-
set), so importing the same file twice adds nothing, an interrupted import resumes where it
stopped, and an import composes with a live follower of the same file: whichever stores a
line first owns it, the other skips past it.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter

from rich.console import Console

from storj_monitor.logs.pipeline import LineProcessor
from storj_monitor.logs.tail import FINGERPRINT_BYTES, fingerprint_of, match_offset, split_lines
from storj_monitor.services.progress import new_progress
from storj_monitor.settings import Settings
from storj_monitor.store import events as store_events
from storj_monitor.store.database import connect, transaction
from storj_monitor.store.events import LogOffset, OffsetConflictError
from storj_monitor.store.schema import migrate

#: Rows (events + records) per transaction of an import.
IMPORT_BATCH_ROWS = 50_000
#: Bytes read at a time by an import (at least LOG_READ_BLOCK_BYTES).
IMPORT_BLOCK_BYTES = 4 << 20
#: A file untouched this long (seconds) is finished: its last line counts even without "\n".
FINISHED_AFTER_SECONDS = 60.0
_status = attrgetter("status")


@dataclass(slots=True)
class ImportResult:
    """What one import did; times in seconds, sizes in bytes."""

    path: str
    node_name: str
    start_offset: int = 0
    end_offset: int = 0
    lines: int = 0
    events: int = 0
    records: int = 0
    unparseable: int = 0
    ignored: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    skipped_bytes: int = 0  # stored by another writer while we ran
    partial_tail_bytes: int = 0  # an unfinished last line, left for a later read

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds if self.seconds > 0 else 0.0


class LogImportError(RuntimeError):
    """The file cannot be imported; the message is one line for the user."""


def _bulk_pragmas(conn: sqlite3.Connection) -> None:
    """Settings for a long series of big write transactions on this connection only."""
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
    conn.execute("PRAGMA wal_autocheckpoint=16384")  # checkpoint every ~64 MiB of WAL


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
) -> ImportResult:
    """Import ``path`` as node ``node_name`` into the database at ``db_path``.

    ``on_start(start_offset, size)`` is called once before reading, ``on_progress(offset,
    lines)`` after each block. Raises :class:`LogImportError` for a missing/unreadable file.
    """
    result = ImportResult(path, node_name)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise LogImportError(f"cannot read {path}: {exc.strerror or exc}") from None
    conn = connect(db_path)
    t0 = time.perf_counter()
    try:
        migrate(conn)
        _bulk_pragmas(conn)
        size = os.fstat(fd).st_size
        prefix = os.pread(fd, FINGERPRINT_BYTES, 0)
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
        _import_from(conn, fd, fp, pos, expected, result, block_bytes, clock, on_progress,
                     LineProcessor(node_name, max_pending=max_pending, ttl_seconds=ttl_seconds))  # fmt: skip
    finally:
        os.close(fd)
        try:
            conn.execute("PRAGMA optimize")
        finally:
            conn.close()
        result.seconds = time.perf_counter() - t0
    return result


def _import_from(
    conn: sqlite3.Connection,
    fd: int,
    fp: tuple[str, int],
    pos: int,
    expected: int | None,
    result: ImportResult,
    block_bytes: int,
    clock: Callable[[], float],
    on_progress: Callable[[int, int], None] | None,
    processor: LineProcessor,
) -> None:
    node_name, path = result.node_name, result.path
    events: list = []
    records: list = []
    held = b""
    pending_lines = 0

    def commit(end: int) -> bool:
        """Write what is pending up to byte ``end``; False when another writer got there."""
        nonlocal expected, events, records
        offset = LogOffset(node_name, path, fp[0], fp[1], end, clock())
        batch = [(offset, expected)]
        try:
            transaction(conn, lambda c: store_events.write_batch(c, events, records, batch))
        except OffsetConflictError as exc:
            expected = exc.stored
            return False
        result.events += len(events)
        result.records += len(records)
        result.by_status.update(map(_status, events))
        expected = end
        events, records = [], []
        return True

    os.lseek(fd, pos, os.SEEK_SET)
    while True:
        data = os.read(fd, block_bytes)
        if not data:
            break
        if held:
            data = held + data
        lines, used = split_lines(data)
        held = data[used:]
        pos += used
        if lines:
            out = processor.process(lines)
            events += out.events
            records += out.records
            pending_lines += len(lines)
        if len(events) + len(records) >= IMPORT_BATCH_ROWS and not commit(pos):
            pos = _skip_to(fd, expected, result, pos)
            held, events, records = b"", [], []
        if on_progress is not None:
            on_progress(pos, processor.lines)
    if held and _finished(fd, clock):  # a complete file whose last line lacks a newline
        tail, _ = split_lines(held + b"\n")
        out = processor.process(tail)
        events += out.events
        records += out.records
        pos += len(held)
        held = b""
    if pos != expected and not commit(pos):
        _skip_to(fd, expected, result, pos)
    result.end_offset = max(pos, expected or 0)
    result.partial_tail_bytes = len(held)
    result.lines = processor.lines
    result.unparseable = processor.unparseable
    result.ignored = processor.ignored


def _finished(fd: int, clock: Callable[[], float]) -> bool:
    """True when nobody has written the file for a while (so its last line is complete)."""
    return clock() - os.fstat(fd).st_mtime > FINISHED_AFTER_SECONDS


def _skip_to(fd: int, stored: int | None, result: ImportResult, pos: int) -> int:
    """Another writer stored this file up to ``stored``: drop our batch, continue there."""
    target = stored or 0
    result.skipped_bytes += max(0, target - pos)
    os.lseek(fd, target, os.SEEK_SET)
    return target


def _summary(console: Console, r: ImportResult) -> None:
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(r.by_status.items())) or "none"
    console.print(
        f"[bold]{r.node_name}[/]: {r.path}\n"
        f"  lines read      {r.lines:,}\n"
        f"  events stored   {r.events:,} ({statuses})\n"
        f"  records stored  {r.records:,}\n"
        f"  lines skipped   {r.ignored:,} not piece or record lines, "
        f"{r.unparseable:,} unparseable\n"
        f"  time            {r.seconds:.1f} s ({r.lines_per_second:,.0f} lines/s)\n"
        f"  bytes           {r.start_offset:,} → {r.end_offset:,}"
        + (f" ({r.partial_tail_bytes:,} bytes of an unfinished last line left)"
           if r.partial_tail_bytes else "")
    )  # fmt: skip


def run_history_ingest(settings: Settings, node_name: str, path: str) -> int:
    """The ``--ingest-log`` command: import, show progress and a summary; exit code."""
    console = Console(stderr=True)
    out = Console()
    progress = new_progress(console)
    task = progress.add_task(f"{node_name}: importing", total=None, lines_per_s=0.0)
    t0 = time.perf_counter()

    def on_start(offset: int, size: int) -> None:
        progress.update(task, total=size, completed=offset)
        if console.is_terminal and offset < size:
            progress.start()

    def on_progress(offset: int, lines: int) -> None:
        rate = lines / max(time.perf_counter() - t0, 1e-6)
        progress.update(task, completed=offset, lines_per_s=rate)

    try:
        result = import_log(
            settings.db_path, node_name, path,
            max_pending=settings.pairing_max_pending,
            ttl_seconds=settings.pairing_ttl_seconds,
            block_bytes=max(IMPORT_BLOCK_BYTES, settings.log_read_block_bytes),
            on_progress=on_progress, on_start=on_start,
        )  # fmt: skip
    except LogImportError as exc:
        print(f"storj_monitor: error: {exc}", file=sys.stderr)
        return 1
    except (sqlite3.Error, RuntimeError) as exc:
        print(f"storj_monitor: error: database {settings.db_path}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    finally:
        progress.stop()
    if result.start_offset > 0:
        out.print(f"{path}: already imported up to byte {result.start_offset:,}")
        if result.lines == 0:
            out.print("nothing new to import")
            return 0
    _summary(out, result)
    return 0
