"""A log source read by its own thread into a bounded queue of chunks (adapter base).

The forwarder client and the stream sources (``docker logs``, stdin) block on a socket or a
pipe; the ingest pipeline needs ``poll()`` that never waits. This base gives them the same
mechanics: the reader thread starts on the first ``poll()``, hands chunks through a bounded
queue (a slow pipeline slows the reader, nothing buffers without limit), and ``_close_thread``
stops it within a bound even while it waits on a full queue.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time

from storj_monitor.logs.open_file import Chunk

CLOSE_TIMEOUT = 2.0  # seconds close() waits for the reader thread (a daemon)


class ThreadedSource:
    """Subclasses implement ``_run`` (the reader thread) and call ``_put`` for each chunk."""

    caught_up: bool

    def __init__(self, thread_name: str, *, max_queued_chunks: int = 64) -> None:
        self.caught_up = False
        self._thread_name = thread_name
        self._queue: queue.Queue[Chunk] = queue.Queue(max_queued_chunks)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def poll(self) -> list[Chunk]:
        """Every chunk read so far; never waits. The first call starts the reader."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
            self._thread.start()
        chunks: list[Chunk] = []
        while True:
            try:
                chunks.append(self._queue.get_nowait())
            except queue.Empty:
                return chunks

    def _put(self, chunk: Chunk) -> bool:
        """Hand one chunk over, waiting while the queue is full; False once stopping."""
        while not self._stop.is_set():
            try:
                self._queue.put(chunk, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _close_thread(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Stop the reader: set the stop flag, drain the queue so a blocked ``_put`` returns,
        and wait at most ``timeout`` seconds (a connect() may hang on a dead host)."""
        self._stop.set()
        if self._thread is not None:
            deadline = time.monotonic() + timeout
            while self._thread.is_alive() and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
                self._thread.join(0.1)
            self._thread = None
