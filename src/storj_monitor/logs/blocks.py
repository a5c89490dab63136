"""Bulk reading of complete lines for imports: large blocks, one reused buffer, no copies.

A copy of a 4 MiB block costs about as much as decoding it, so the block is decoded in place
through a memoryview and only the partial last line is moved to the front of the buffer.
"""

from __future__ import annotations

import codecs
import os
from typing import Protocol

from storj_monitor.logs.open_file import MAX_LINE_BYTES


class ByteStream(Protocol):
    """What a bulk read needs of a file: a plain unbuffered one (``FileIO``) or a
    decompressing one (``GzipFile``, ``BZ2File``, ``LZMAFile``), which share no base class
    that has ``readinto``."""

    def readinto(self, buffer: bytearray | memoryview, /) -> int | None: ...
    def read(self, size: int = -1, /) -> bytes: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...


class BlockLines:
    """Complete lines of a file, read in large blocks into one reused buffer.

    For bulk reads (imports): the block is decoded in place through a memoryview and only
    the partial last line is moved to the front, so no block is copied (a copy of a 4 MiB
    block costs as much as decoding it). The caller seeks the fd (or the stream, e.g. a
    decompressing one of ``logs.compressed``); ``reset()`` after a seek.
    """

    def __init__(self, fd: int | ByteStream, block_bytes: int):
        self._file = os.fdopen(fd, "rb", buffering=0, closefd=False) if isinstance(fd, int) else fd
        self._buf = bytearray(block_bytes)
        self.held = 0  # bytes of an unfinished line at the front of the buffer

    def reset(self) -> None:
        self.held = 0

    def read(self, limit: int) -> tuple[list[str], int, bool]:
        """(lines, bytes they cover, end of file) for at most ``limit`` new bytes."""
        if self.held == len(self._buf):  # one line fills the buffer
            if self.held >= MAX_LINE_BYTES:
                lines, used = [self._buf.decode("utf-8", "replace")], self.held
                self.held = 0
                return lines, used, False
            self._buf.extend(bytes(len(self._buf)))
        with memoryview(self._buf) as view:
            n = self._file.readinto(view[self.held : self.held + max(0, limit)]) or 0
            end = self.held + n
            cut = self._buf.rfind(b"\n", 0, end) + 1
            lines = _decode_lines(view[:cut], self._buf.find(b"\r", 0, cut) >= 0) if cut else []
            self._buf[: end - cut] = view[cut:end]
        self.held = end - cut
        return lines, cut, n == 0  # the buffer starts at the caller's position: cut bytes

    def finish(self) -> tuple[list[str], int]:
        """The unfinished last line as a line (the file is complete), and its size."""
        held, self.held = self.held, 0
        if not held:
            return [], 0
        data = bytes(self._buf[:held])
        return [data.rstrip(b"\r").decode("utf-8", "replace")], held


def _decode_lines(view: memoryview, has_cr: bool) -> list[str]:
    if has_cr:
        text = bytes(view).replace(b"\r\n", b"\n").decode("utf-8", "replace")
    else:
        text = codecs.utf_8_decode(view, "replace", True)[0]
    lines = text.split("\n")
    lines.pop()  # the empty string after the last newline
    return lines
