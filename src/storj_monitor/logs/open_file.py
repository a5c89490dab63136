"""One log file's bytes as lines: who the file is, and reading it from an offset.

Standard library only: the log forwarder, which runs on a node host, imports it through
``tail.py`` (copy ``forwarder.STANDALONE_FILES`` side by side).

A file's identity (:class:`FileIdentity`) is the fingerprint of its first line
(``rotation.fingerprint_of``): stored offsets are matched to a file by it
(:func:`match_offset`), never by path or inode. :class:`OpenFile` is one open file (a plain
file, or a rotated ``.gz`` through its decompressing stream) with its read position, always
at a line boundary, and the bytes of a partial last line held back; :func:`split_lines`
cuts a read into complete lines (CRLF to LF, invalid UTF-8 as U+FFFD). The follower that
moves between files is :class:`storj_monitor.logs.tail.FileFollower`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

try:
    from storj_monitor.logs import rotation
except ImportError:  # copied next to rotation.py on a host without storj_monitor
    import rotation  # type: ignore[no-redef, import-not-found]  # standalone copy

#: A "line" longer than this is cut and handed on, so one corrupt file cannot eat memory.
MAX_LINE_BYTES = 8 * 1024 * 1024


class OffsetLike(Protocol):
    """What the follower needs of a stored offset (``store.events.LogOffset`` has it)."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def fingerprint_len(self) -> int: ...
    @property
    def offset(self) -> int: ...


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """Which file bytes came from: its path when read and its first-line fingerprint."""

    path: str
    fingerprint: str
    fingerprint_len: int


@dataclass(slots=True)
class Chunk:
    """Complete lines read in one go, and where they sit in their file.

    ``start``/``end`` are byte offsets: ``end`` is where to resume after these lines.
    ``arrival`` is the clock (UTC unix seconds) when the bytes were read, set only for
    lines read live (after the follower first reached the end of the file), None for
    the historical backlog.
    """

    lines: list[str]
    identity: FileIdentity
    start: int
    end: int
    arrival: float | None


def match_offset(rows: Sequence[OffsetLike], prefix: bytes) -> OffsetLike | None:
    """The stored offset whose fingerprint matches the file starting with ``prefix``."""
    for row in rows:
        n = row.fingerprint_len
        if 0 < n <= len(prefix) and hashlib.sha1(prefix[:n]).hexdigest() == row.fingerprint:
            return row
    return None


def split_lines(data: bytes) -> tuple[list[str], int]:
    """Complete lines of ``data`` and how many bytes they cover (the rest is a partial line)."""
    cut = data.rfind(b"\n") + 1
    if not cut:
        return [], 0
    body = data[:cut] if cut < len(data) else data
    if b"\r" in body:
        body = body.replace(b"\r\n", b"\n")
    lines = body.decode("utf-8", "replace").split("\n")
    lines.pop()  # the empty string after the last newline
    return lines, cut


def pread(fd: int, size: int, offset: int) -> bytes:
    """Read ``size`` bytes at ``offset`` without moving the file position (also on Windows,
    which has no ``os.pread``)."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    here = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)
    finally:
        os.lseek(fd, here, os.SEEK_SET)


def read_prefix(fd: int) -> bytes:
    """The bytes a fingerprint may cover."""
    return pread(fd, rotation.FINGERPRINT_BYTES, 0)


class OpenFile:
    """One open file: handle, identity once known, read position, held-back bytes."""

    __slots__ = ("fd", "final", "held", "identity", "ino", "path", "pos", "stream")

    def __init__(
        self,
        path: str,
        fd: int,
        pos: int,
        *,
        final: bool = False,
        stream: io.BufferedIOBase | None = None,
    ):
        self.path = path
        self.final = final  # a rotated file: read to its end, then move on
        self.fd = fd
        self.stream = stream  # decompresses a rotated .gz (None: read fd)
        self.pos = pos  # bytes consumed into lines (a line boundary)
        self.held = b""  # bytes after pos not yet ending in a newline
        st = os.fstat(fd)
        self.ino = (st.st_dev, st.st_ino)
        self.identity: FileIdentity | None = None

    def identify(self) -> FileIdentity | None:
        if self.identity is None:
            fp = rotation.fingerprint_of(read_prefix(self.fd))
            if fp is not None:
                self.identity = FileIdentity(self.path, fp[0], fp[1])
        return self.identity

    def read(self, size: int) -> bytes:
        if self.stream is not None:
            return rotation.read_block(self.stream, size)
        return os.read(self.fd, size)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.stream is not None:
                self.stream.close()
            else:
                os.close(self.fd)


def open_log(path: str) -> tuple[int | None, str | None]:
    """(fd, None), or (None, why) when the path is missing, unreadable or not a file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, exc.strerror or str(exc)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None, "not a regular file"
    return fd, None
