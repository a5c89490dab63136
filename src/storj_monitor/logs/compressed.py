"""Rotated logs compressed by logrotate (``.gz``, ``.bz2``, ``.xz``), read with the standard
library as a stream of decompressed bytes, block by block (never the whole file in memory).

A compressed file has the identity and offsets of the plain file it was made from: the
fingerprint of its *decompressed* first line and positions in decompressed bytes, so importing
``node.log.1`` and later ``node.log.1.gz`` stores its lines once.

Corrupt or truncated data only shows when it is reached, and a CRC mismatch only at the end,
so :func:`check` reads a file through once before anything of it is stored.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import lzma
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from storj_monitor.logs.blocks import ByteStream
from storj_monitor.logs.open_file import open_log, read_prefix
from storj_monitor.logs.rotation import FINGERPRINT_BYTES

#: Compression kind → a decompressing binary stream over an open file (closing it leaves the
#: file open), the suffix logrotate gives it and the magic bytes its data starts with.
OPENERS: dict[str, Callable[[BinaryIO], ByteStream]] = {
    "gzip": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    "bzip2": lambda f: bz2.BZ2File(f, "rb"),
    "xz": lambda f: lzma.LZMAFile(f, "rb"),  # noqa: SIM115 (the caller closes them)
}
SUFFIXES = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}
#: Compressions the standard library cannot read: refused with a clear error, not read as text.
UNSUPPORTED = {".zst": "zstd", ".lz4": "lz4", ".zip": "zip", ".7z": "7z", ".Z": "compress"}
_UNSUPPORTED_MAGIC = {b"\x28\xb5\x2f\xfd": "zstd", b"\x04\x22\x4d\x18": "lz4",
                      b"PK\x03\x04": "zip", b"7z\xbc\xaf": "7z"}  # fmt: skip
#: What a decompressor raises on bad data (gzip.BadGzipFile and bz2's errors are OSErrors).
DATA_ERRORS = (EOFError, zlib.error, lzma.LZMAError)


class CorruptArchiveError(OSError):
    """A compressed log does not decompress, or is compressed in a way the standard library
    cannot read; ``str()`` is one line for the user."""


def suffix_of(path: str) -> str | None:
    """The compression suffix of ``path`` (``.gz``, ``.zst``, ...), None for a plain name."""
    for suffix in (*SUFFIXES, *UNSUPPORTED):
        if path.endswith(suffix):
            return suffix
    return None


def kind_of(path: str, head: bytes) -> str | None:
    """``gzip``, ``bzip2``, ``xz`` or None (plain text), by the name's suffix, else by the
    first bytes (a compressed file without its suffix). Raises :class:`CorruptArchiveError`
    for a compression that cannot be read."""
    suffix = suffix_of(path)
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    unsupported = UNSUPPORTED.get(suffix or "") or next(
        (k for m, k in _UNSUPPORTED_MAGIC.items() if head.startswith(m)), None
    )
    if unsupported:
        raise CorruptArchiveError(f"{path}: {unsupported}-compressed; only gzip, bzip2 and xz "
                                  "are read (decompress it first)")  # fmt: skip
    return next((k for m, k in _MAGIC.items() if head.startswith(m)), None)


def open_stream(raw: BinaryIO, kind: str) -> ByteStream:
    """A seekable stream of the decompressed bytes of ``raw`` (compressed as ``kind``);
    seeking decompresses up to there, seeking back starts over."""
    return OPENERS[kind](raw)


def why_corrupt(path: str, kind: str, exc: BaseException) -> CorruptArchiveError:
    """One line saying which file does not decompress and why."""
    return CorruptArchiveError(f"{path}: not a valid {kind} file ({exc or type(exc).__name__})")


def check(stream: ByteStream, path: str, kind: str, block_bytes: int = 1 << 20) -> int:
    """Read ``stream`` (of the file ``path``, ``kind``) through from where it is; the number of
    decompressed bytes. The caller seeks back before reading it again.

    Raises :class:`CorruptArchiveError` for bad, truncated or CRC-failing data, OSError
    for a read error of the disk.
    """
    buf = bytearray(block_bytes)
    size = 0
    try:
        while n := stream.readinto(buf):
            size += n
    except DATA_ERRORS as exc:
        raise why_corrupt(path, kind, exc) from None
    except OSError as exc:  # gzip.BadGzipFile, bz2's "Invalid data stream"
        if exc.errno is not None:
            raise  # a read error of the disk, not of the data
        raise why_corrupt(path, kind, exc) from None
    return size


@dataclass(slots=True)
class LogStream:
    """A log open for a bulk read: ``file`` is unbuffered (plain) or decompressing; ``size``
    and every offset are in (decompressed) bytes; ``prefix`` the bytes a fingerprint covers."""

    file: ByteStream
    size: int
    prefix: bytes
    raw: BinaryIO | None = None  # the compressed file under a decompressing ``file``
    kind: str | None = None  # its compression (gzip, bzip2, xz)

    def finished(self, now: float, quiet_seconds: float) -> bool:
        """Whether a last line without "\\n" is complete: a compressed file is a finished
        archive; a plain one is when nobody has written it for ``quiet_seconds`` (``now``:
        UTC unix seconds)."""
        if self.raw is not None:
            return True
        return now - os.fstat(self.file.fileno()).st_mtime > quiet_seconds

    def close(self) -> None:
        self.file.close()
        if self.raw is not None:
            self.raw.close()


def open_log_stream(path: str) -> LogStream:
    """Open a plain or compressed log; a compressed one is read through once first (its
    size, and no half import of a file that turns out corrupt).

    Raises OSError (``strerror`` says why) when it cannot be read, :class:`CorruptArchiveError`
    when it does not decompress.
    """
    fd, error = open_log(path)
    if fd is None:
        if error is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        raise OSError(error)
    try:
        head = read_prefix(fd)
        kind = kind_of(path, head)
    except BaseException:
        os.close(fd)
        raise
    if kind is None:
        return LogStream(os.fdopen(fd, "rb", buffering=0), os.fstat(fd).st_size, head)
    raw = os.fdopen(fd, "rb")
    stream = open_stream(raw, kind)
    try:
        size = check(stream, path, kind)
        stream.seek(0)
        prefix = stream.read(FINGERPRINT_BYTES)
        stream.seek(0)
    except BaseException as exc:
        stream.close()
        raw.close()
        if isinstance(exc, DATA_ERRORS):  # changed since the check
            raise why_corrupt(path, kind, exc) from None
        raise
    return LogStream(stream, size, prefix, raw, kind)
