"""Console progress of long log reads: a rich bar on a terminal, a log line every 10 s otherwise.

Several nodes may catch up at once; they share one rich ``Progress`` (rich allows one live
display at a time), started with the first task and stopped with the last.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

log = logging.getLogger(__name__)

_lock = threading.Lock()
_shared: Progress | None = None
_users = 0
LOG_EVERY = 10.0  # seconds between progress log lines when not on a terminal


def new_progress(console: Console | None = None) -> Progress:
    """The bar used for log reads: bytes done/total, bytes/s, lines/s, time left."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[lines_per_s]:>9,.0f} lines/s"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )


class CatchupProgress:
    """Progress of one node's first read; ``update`` is cheap and may be called often."""

    def __init__(self, node_name: str, total_bytes: int):
        global _shared, _users
        self.node_name = node_name
        self.total = total_bytes
        self._t0 = time.monotonic()
        self._lines0: int | None = None
        self._last_log = self._t0
        self._task: TaskID | None = None
        self._progress: Progress | None = None
        if sys.stderr.isatty():
            with _lock:
                if _shared is None:
                    _shared = new_progress()
                    _shared.start()
                _users += 1
                self._progress = _shared
                self._task = _shared.add_task(
                    f"{node_name}: reading log history", total=total_bytes, lines_per_s=0.0
                )
        else:
            log.info("%s: reading %.1f MB of log history", node_name, total_bytes / 1e6)

    def update(self, remaining_bytes: int, lines: int) -> None:
        now = time.monotonic()
        if self._lines0 is None:
            self._lines0 = lines
        rate = (lines - self._lines0) / max(now - self._t0, 1e-6)
        done = max(0, self.total - remaining_bytes)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, lines_per_s=rate)
        elif now - self._last_log >= LOG_EVERY:
            self._last_log = now
            log.info(
                "%s: log history %.0f%% read (%.0f lines/s)",
                self.node_name, 100.0 * done / max(self.total, 1), rate,
            )  # fmt: skip

    def close(self) -> None:
        global _shared, _users
        if self._progress is None:
            log.info("%s: log history read; following live", self.node_name)
            return
        with _lock:
            if self._task is not None:
                self._progress.update(self._task, completed=self.total)
            _users -= 1
            if _users == 0 and _shared is not None:
                _shared.stop()
                _shared = None
        self._progress = None
