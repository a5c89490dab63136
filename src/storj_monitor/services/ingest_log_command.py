"""The ``--ingest-log NAME:PATH`` command: import log files with a progress bar and a summary
per file; Ctrl-C stops cleanly (a rerun imports the rest).

``node.log*`` patterns name a log's rotated files (``logs.logfiles``), imported oldest first
with one parser and pairer, so a transfer that spans two files keeps its duration. The import
itself is :func:`storj_monitor.services.history.import_log`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence

from rich.console import Console

from storj_monitor.logs import logfiles
from storj_monitor.logs.pipeline import LineProcessor
from storj_monitor.services.history import (
    IMPORT_BLOCK_BYTES,
    ImportResult,
    LogFileError,
    LogImportError,
    import_log,
)
from storj_monitor.services.progress import new_progress
from storj_monitor.settings import Settings
from storj_monitor.store.raw_window import raw_window

DAY = 86400.0


def _summary(console: Console, r: ImportResult) -> None:
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(r.by_status.items())) or "none"
    lines = [
        f"[bold]{r.node_name}[/]: {r.path}",
        f"  lines read      {r.lines:,}",
        f"  events stored   {r.events:,} ({statuses})",
    ]
    if r.raw_events < r.events:
        lines.append(
            f"                  {r.events - r.raw_events:,} of them older than the raw-event "
            "retention: kept in the rollups only"
        )
    lines += [
        f"  records stored  {r.records:,}" + (f" ({r.scores:,} scores)" if r.scores else ""),
        f"  lines skipped   {r.ignored:,} not piece or record lines, {r.unparseable:,} unparseable",
        f"  bad lines       {r.rejected + r.quarantined:,} skipped and kept in bad_lines "
        f"({r.rejected:,} rejected: time outside the sane window or a negative size; "
        f"{r.quarantined:,} failed to write)",
        f"  time            {r.seconds:.1f} s ({r.lines_per_second:,.0f} lines/s)",
        f"  bytes           {r.start_offset:,} → {r.end_offset:,}",
    ]
    if r.partial_tail_bytes:
        lines[-1] += f" ({r.partial_tail_bytes:,} bytes of an unfinished last line left)"
    console.print("\n".join(lines))


def run_history_ingest(settings: Settings, node_name: str, paths: str | Sequence[str]) -> int:
    """The ``--ingest-log`` command: import the files named by ``paths`` (paths or glob
    patterns) oldest first with one parser and pairer, show progress and a summary per file;
    exit code (1 if any file failed: the others are still imported; 130 on Ctrl-C)."""
    patterns = [paths] if isinstance(paths, str) else list(paths)
    try:
        files = logfiles.expand(patterns)
    except logfiles.NoMatchError as exc:
        print(f"storj_monitor: error: {exc}", file=sys.stderr)
        return 1
    processor = LineProcessor(
        node_name, max_pending=settings.pairing_max_pending,
        ttl_seconds=settings.pairing_ttl_seconds,
    )  # fmt: skip
    interrupted = threading.Event()  # Ctrl-C: stop cleanly, everything read so far is kept
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: interrupted.set())
    except ValueError:  # not the main thread: no handler
        previous = None
    status = 0
    try:
        for path in files:
            code, go_on = _ingest_one(settings, node_name, path, processor, interrupted)
            status = max(status, code)
            if not go_on:  # interrupted, or the database cannot be written
                break
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return status


def _ingest_one(
    settings: Settings,
    node_name: str,
    path: str,
    processor: LineProcessor,
    interrupted: threading.Event,
) -> tuple[int, bool]:
    """Import one file: (exit code, whether the next file of the set may follow)."""
    console = Console(stderr=True)
    out = Console(soft_wrap=True)
    progress = new_progress(console)
    name = os.path.basename(path)
    task = progress.add_task(f"{node_name}: {name}", total=None, lines_per_s=0.0)
    t0 = time.perf_counter()
    shown = threading.Event()  # the bar was started (on a terminal)

    def on_start(offset: int, size: int) -> None:
        progress.update(task, total=size, completed=offset)
        if console.is_terminal and offset < size:
            progress.start()
            shown.set()

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
            raw_since=raw_window(
                time.time(), settings.events_retention_days, settings.events_detail_hours,
                settings.latency_warning_ms,
            ),
            should_stop=interrupted.is_set, defer_indexes=True, processor=processor,
        )  # fmt: skip
    except LogImportError as exc:
        print(f"storj_monitor: error: {exc}", file=sys.stderr)
        return 1, isinstance(exc, LogFileError)
    except (sqlite3.Error, RuntimeError) as exc:  # e.g. a database of a newer version
        print(f"storj_monitor: error: database {settings.db_path}: {exc}", file=sys.stderr)
        return 1, False
    finally:
        if shown.is_set():
            progress.stop()
    if interrupted.is_set():
        _summary(out, result)
        out.print("interrupted: run the same command again to import the rest")
        return 130, False
    if result.start_offset > 0:
        out.print(f"{path}: already imported up to byte {result.start_offset:,}")
        if result.lines == 0:
            out.print("nothing new to import")
            return 0, True
    _summary(out, result)
    return 0, True
