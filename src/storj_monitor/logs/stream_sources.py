"""Log sources that are streams, not files: ``docker logs -f`` of a container, and stdin.

Both give the ingest pipeline the ``LogSource`` contract of ``logs.sources`` (``poll()`` that
never waits, chunks of complete lines with an identity and offsets to store).

**docker:CONTAINER** runs ``docker logs -f -t --since <last stored time> CONTAINER`` (stdout
and stderr: the storagenode writes its log to stderr). Each line starts with docker's own
RFC3339Nano receive stamp (which the parser also uses for precise durations); the stored
offset is that stamp in integer nanoseconds, so after a restart, a dropped ``docker`` process
or a recreated container, lines up to the stored stamp are skipped and nothing is stored
twice or lost while the container's log still holds it. The process is restarted with
backoff when it ends (container stopped, engine restarted), logging transitions only.

**-** (stdin) reads lines as they come (``journalctl -f -o cat -u storagenode | storj_monitor
--node N:-``). A pipe has no position to resume from: lines the pipe sends again after a
restart are stored again, so use ``journalctl --since`` or a file for exactly-once history.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import IO

from storj_monitor.logs.open_file import Chunk, FileIdentity, OffsetLike
from storj_monitor.logs.threaded_source import ThreadedSource

log = logging.getLogger(__name__)

DOCKER_PREFIX = "docker:"
STDIN_SOURCE = "-"
#: Lines per chunk handed to the pipeline, and how long a quiet stream means caught up (s).
CHUNK_LINES = 2000
QUIET_S = 0.5
BACKOFF_MIN, BACKOFF_MAX = 1.0, 30.0
CLOSE_TIMEOUT = 3.0  # seconds: a `docker logs` process is terminated first


def stream_identity(source: str) -> FileIdentity:
    """A stable identity for a stream: its name's hash stands in for a first-line fingerprint."""
    return FileIdentity(source, hashlib.sha1(source.encode()).hexdigest(), 0)


def docker_stamp_ns(line: str) -> int | None:
    """Integer nanoseconds of a ``docker logs -t`` prefix (``2026-12-06T01:02:03.123456789Z``)."""
    head, sep, _ = line.partition(" ")
    if not sep or len(head) < 20 or head[-1] != "Z" or head[10] != "T":
        return None
    from storj_monitor.logs.timestamps import parse_timestamp

    whole = parse_timestamp(head[:19] + "Z")
    if whole is None:
        return None
    frac = head[20:-1] if head[19] == "." else ""
    if not frac.isdigit() and frac:
        return None
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9] or 0)


class _StreamFollower(ThreadedSource):
    """A stream source: its identity stands in for a file's."""

    def __init__(self, source: str) -> None:
        super().__init__(f"log-{source}")
        self.identity = stream_identity(source)


class DockerFollower(_StreamFollower):
    """``docker logs -f -t`` of one container, resumed by docker's own line stamps."""

    def __init__(
        self,
        container: str,
        *,
        known_offsets: Callable[[], Sequence[OffsetLike]] = tuple,
        from_end: bool = False,
        docker: str = "docker",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(DOCKER_PREFIX + container)
        self.container = container
        self._docker = docker
        self._clock = clock
        self._from_end = from_end
        self._known_offsets = known_offsets
        self._last_ns: int | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._failing = False

    def reposition(self, fingerprint: str, offset: int) -> bool:
        if fingerprint != self.identity.fingerprint:
            return False
        with self._lock:
            self._last_ns = offset
            proc = self._proc
        if proc is not None:  # the reader restarts from the corrected stamp
            with contextlib.suppress(OSError):
                proc.terminate()
        return True

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            proc = self._proc
        if proc is not None:
            with contextlib.suppress(OSError):
                proc.terminate()
        self._close_thread(CLOSE_TIMEOUT)

    def _start_point(self) -> list[str]:
        if self._last_ns is None:
            for known in self._known_offsets():
                if known.fingerprint == self.identity.fingerprint:
                    self._last_ns = int(known.offset)
        if self._last_ns is not None:
            sec, ns = divmod(self._last_ns, 1_000_000_000)
            return ["--since", f"{sec}.{ns:09d}"]
        if self._from_end:
            self._last_ns = int(self._clock() * 1e9)
            return ["--tail", "0"]
        return []

    def _run(self) -> None:
        backoff = BACKOFF_MIN
        while not self._stop.is_set():
            cmd = [self._docker, "logs", "-f", "-t", *self._start_point(), self.container]
            try:
                proc = subprocess.Popen(
                    cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    text=True, encoding="utf-8", errors="replace", bufsize=1,
                )  # fmt: skip
            except OSError as exc:
                self._transition(True, f"cannot run {self._docker!r}: {exc}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            with self._lock:
                self._proc = proc
            delivered, complaint = self._read(proc)
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()
            if proc.stdout is not None:  # the pipe: else one file descriptor leaks per restart
                with contextlib.suppress(OSError):
                    proc.stdout.close()
            with self._lock:
                self._proc = None
            if self._stop.is_set():
                return
            if delivered:
                backoff = BACKOFF_MIN
            elif complaint:
                self._transition(True, complaint)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    def _transition(self, failing: bool, why: str = "") -> None:
        if failing and not self._failing:
            log.warning("docker:%s: %s; retrying", self.container, why)
        elif not failing and self._failing:
            log.info("docker:%s: following the container's log again", self.container)
        self._failing = failing

    def _read(self, proc: subprocess.Popen[str]) -> tuple[int, str]:
        """Lines until the process ends; returns (lines delivered, what it said if none)."""
        assert proc.stdout is not None
        lines: list[str] = []
        first_ns = last_ns = 0
        delivered = 0
        other: list[str] = []
        pending: queue.Queue[str | None] = queue.Queue(CHUNK_LINES * 4)
        reader = threading.Thread(target=_pump, args=(proc.stdout, pending), daemon=True)
        reader.start()
        while not self._stop.is_set():
            try:
                line = pending.get(timeout=QUIET_S)
            except queue.Empty:
                line = ""
            if line is None:
                break
            if line:
                ns = docker_stamp_ns(line)
                if ns is None:
                    if len(other) < 5:
                        other.append(line.strip())
                    continue
                if self._last_ns is not None and ns <= self._last_ns:
                    continue  # stored before (docker's --since is inclusive)
                if not lines:
                    first_ns = ns
                lines.append(line if line.endswith("\n") else line + "\n")
                last_ns = self._last_ns = ns
                if len(lines) < CHUNK_LINES:
                    continue
            elif not lines:
                self.caught_up = True
                continue
            chunk = Chunk(lines, self.identity, first_ns, last_ns, None)
            if not self._put(chunk):
                break
            delivered += len(lines)
            self._transition(False)
            lines = []
        if lines and self._put(Chunk(lines, self.identity, first_ns, last_ns, None)):
            delivered += len(lines)
        reader.join(1.0)
        return delivered, " ".join(other)[:300] or f"docker logs exited ({proc.poll()})"


def _pump(stream: IO[str], out: queue.Queue[str | None]) -> None:
    """Blocking reads of a pipe, handed to the parsing thread (None at the end)."""
    try:
        for line in stream:
            out.put(line)
    except (OSError, ValueError):
        pass
    finally:
        out.put(None)


class StdinFollower(_StreamFollower):
    """Lines piped to standard input; offsets count bytes from the stored one on."""

    def __init__(
        self,
        *,
        known_offsets: Callable[[], Sequence[OffsetLike]] = tuple,
        stream: IO[bytes] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(STDIN_SOURCE)
        self._stream = stream if stream is not None else sys.stdin.buffer
        self._known_offsets = known_offsets
        self._clock = clock

    def reposition(self, fingerprint: str, offset: int) -> bool:
        return False  # a pipe cannot be read again

    def close(self) -> None:
        self._close_thread(CLOSE_TIMEOUT)

    def _run(self) -> None:
        offset = 0
        for known in self._known_offsets():
            if known.fingerprint == self.identity.fingerprint:
                offset = int(known.offset)
        for raw in self._stream:
            if self._stop.is_set():
                return
            text = raw.decode("utf-8", errors="replace")
            if not text.endswith("\n"):
                text += "\n"
            start, offset = offset, offset + len(raw)
            if not self._put(Chunk([text], self.identity, start, offset, self._clock())):
                return
        self.caught_up = True
        log.info("-: standard input ended; no more lines will come from it")
