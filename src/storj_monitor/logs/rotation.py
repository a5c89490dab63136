"""The rotation set of a log file: its rotated siblings, oldest first, and which of them to read.

Standard library only: the log forwarder, which runs on a node host, uses it through
``tail.py`` (copy ``forwarder.STANDALONE_FILES`` side by side).

A file's identity is its **head fingerprint**: the sha1 of its first line (up to and including
the first ``\\n``, at most ``FINGERPRINT_BYTES``). The first line carries a timestamp, so two log
files never share it; a renamed file (same inode), a copytruncate copy (new inode, same bytes)
and a compressed ``.gz`` of the file (read through ``gzip``, new inode) are all the same file,
with one offset in uncompressed bytes. So the head alone is the identity across names and
restarts (the store keys offsets by it); the inode only tells the follower, while it holds a
file open, that the path was renamed away (``tail.py``).

The rotation set of ``DIR/NAME`` is ``NAME`` (the current file, always the newest) and its
siblings ``NAME.N``, ``NAME-YYYYMMDD[...]``, ``NAME.YYYY-MM-DD[...]``, each optionally ``.gz``.
They are ordered oldest first by rotation number (higher is older) or date, by modification
time when the directory mixes both schemes. Other names (``NAME.bak``, ``NAME.1.xz``) are not
part of it.

Given the positions already consumed (fingerprint → byte offset, from the store or from this
run), :func:`unread` says what to read before the current file: every member from the oldest
one with a known position onward, each from its position (or byte 0 when never seen) to its
end. Members older than the oldest known one predate what was ever read and are left alone.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

FINGERPRINT_BYTES = 1024
COMPRESSED = ".gz"  # the only compression read (stdlib gzip); others are not members

_NUMBERED = re.compile(r"\.(\d{1,6})")
_DATED = re.compile(r"[-._](\d{8}|\d{4}-\d{2}-\d{2})((?:[-_.T:]?\d+)*)")
_READ_ERRORS = (OSError, EOFError, zlib.error)  # a truncated or corrupt .gz


def fingerprint_of(prefix: bytes) -> tuple[str, int] | None:
    """(sha1 hex, length) of the first line in ``prefix``; None while it is incomplete."""
    nl = prefix.find(b"\n", 0, FINGERPRINT_BYTES)
    if nl >= 0:
        n = nl + 1
    elif len(prefix) >= FINGERPRINT_BYTES:
        n = FINGERPRINT_BYTES
    else:
        return None
    return hashlib.sha1(prefix[:n]).hexdigest(), n


@dataclass(frozen=True, slots=True)
class Member:
    """One file of the rotation set. ``size`` is in uncompressed bytes (for a ``.gz``, from
    its trailer, i.e. modulo 4 GiB); ``mtime`` in UTC unix seconds."""

    path: str
    fingerprint: str
    fingerprint_len: int
    size: int
    mtime: float
    compressed: bool
    current: bool

    def has_more_than(self, offset: int) -> bool:
        """Whether bytes remain after ``offset``."""
        if self.compressed:
            return offset % (1 << 32) != self.size
        return offset < self.size


@dataclass(frozen=True, slots=True)
class Position:
    """A consumed byte offset of one identity (``open_file.OffsetLike``)."""

    fingerprint: str
    fingerprint_len: int
    offset: int


class Plan(NamedTuple):
    """What to read before the current file: (member, offset) oldest first, and whether the
    set holds any known identity (then the current file continues the log, from byte 0 when
    it is new to us, and ``from_end`` does not apply)."""

    files: list[tuple[Member, int]]
    continues: bool


def rank(base: str, name: str) -> tuple[str, tuple[int, ...]] | None:
    """("n", (-N,)) for ``NAME.N[.gz]``, ("d", (YYYYMMDD, ...)) for dated names, None for a
    name outside the rotation set. Smaller sorts older within one scheme."""
    if name == base or not name.startswith(base):
        return None
    rest = name[len(base) :]
    if rest.endswith(COMPRESSED):
        rest = rest[: -len(COMPRESSED)]
    m = _NUMBERED.fullmatch(rest)
    if m:
        return "n", (-int(m[1]),)
    m = _DATED.fullmatch(rest)
    if m:
        return "d", (int(m[1].replace("-", "")), *map(int, re.findall(r"\d+", m[2])))
    return None


def _head(path: str, compressed: bool) -> tuple[bytes, os.stat_result, int]:
    """(first bytes, stat, uncompressed size) of one file; raises OSError/EOFError/zlib.error."""
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        if not compressed:
            return f.read(FINGERPRINT_BYTES), st, st.st_size
        f.seek(max(0, st.st_size - 4))
        size = int.from_bytes(f.read(4), "little")  # ISIZE: uncompressed size mod 2**32
        f.seek(0)
        with gzip.GzipFile(fileobj=f) as gz:
            return gz.read(FINGERPRINT_BYTES), st, size


def scan(path: str) -> list[Member]:
    """The rotation set of ``path``, oldest first (the current file last when it has a
    complete first line). Unreadable or corrupt siblings are logged and left out."""
    folder, base = os.path.split(os.path.abspath(path))
    try:
        names = os.listdir(folder)
    except OSError as exc:
        log.warning("cannot list %s for rotated files: %s", folder, exc)
        return []
    ranked = [(r, name) for name in names if (r := rank(base, name)) is not None]
    ranked.append((("c", ()), base))
    members: list[tuple[tuple[str, tuple[int, ...]], Member]] = []
    for r, name in ranked:
        full = os.path.join(folder, name)
        compressed = name.endswith(COMPRESSED)
        try:
            prefix, st, size = _head(full, compressed)
        except (FileNotFoundError, IsADirectoryError):
            continue
        except _READ_ERRORS as exc:
            if r[0] != "c":  # the follower itself reports a current file it cannot read
                log.warning("cannot read rotated file %s: %s; skipped", full, exc)
            continue
        fp = fingerprint_of(prefix)
        if fp is None:  # empty, or no complete first line: nothing identifiable to read
            continue
        members.append((r, Member(full, fp[0], fp[1], size, st.st_mtime, compressed, r[0] == "c")))
    current = [m for r, m in members if r[0] == "c"]
    return oldest_first([(r, m.mtime, m) for r, m in members if r[0] != "c"]) + current


def oldest_first(ranked: list[tuple[tuple[str, tuple[int, ...]], float, T]]) -> list[T]:
    """Rotated files ``(rank, mtime, item)`` oldest first: by :func:`rank` within one naming
    scheme, by modification time (UTC unix seconds) when numbered and dated names are mixed.
    (Also orders ``--ingest-log`` patterns, ``logs/logfiles.py``.)"""
    if len({r[0] for r, _, _ in ranked}) > 1:  # numbered and dated names: go by time
        ordered = sorted(ranked, key=lambda x: (x[1], x[0][1]))
    else:
        ordered = sorted(ranked, key=lambda x: (x[0][1], x[1]))
    return [item for _, _, item in ordered]


def _preferred(a: Member, b: Member) -> Member:
    """Of two members with one identity: the current file (it is followed), else an
    uncompressed one (a ``.gz`` may still be being written), else the larger."""

    def key(m: Member) -> tuple[bool, bool, int]:
        return (m.current, not m.compressed, m.size)

    return a if key(a) >= key(b) else b


def unread(members: list[Member], positions: Mapping[str, int]) -> Plan:
    """The rotated members to read, oldest first, from the oldest one whose identity has a
    position onward (the current file excluded: the caller follows it)."""
    chosen: dict[str, Member] = {}
    for m in members:
        seen = chosen.get(m.fingerprint)
        chosen[m.fingerprint] = m if seen is None else _preferred(seen, m)
    ordered = [m for m in members if chosen[m.fingerprint] is m]
    known = [i for i, m in enumerate(ordered) if m.fingerprint in positions]
    if not known:
        return Plan([], False)
    files = []
    for m in ordered[known[0] :]:
        offset = positions.get(m.fingerprint, 0)
        if not m.current and m.has_more_than(offset):
            files.append((m, offset))
    return Plan(files, True)


class Opened(NamedTuple):
    """A rotated file open for reading at its offset: ``stream`` decompresses a ``.gz``
    (None for a plain file, read through ``fd``)."""

    path: str
    fd: int
    stream: io.BufferedIOBase | None


def open_member(member: Member, offset: int) -> Opened | None:
    """Open ``member`` at ``offset`` if its head still matches; a plain file compressed
    since the scan is found as ``PATH.gz``. None when it is gone."""
    candidates = [member.path]
    if not member.compressed:
        candidates.append(member.path + COMPRESSED)
    for path in candidates:
        try:
            opened = _open_at(path, path.endswith(COMPRESSED), member.fingerprint, offset)
        except FileNotFoundError:
            continue
        except _READ_ERRORS as exc:
            log.warning("cannot read rotated file %s: %s; skipped", path, exc)
            continue
        if opened is not None:
            return opened
    return None


def _open_at(path: str, compressed: bool, fingerprint: str, offset: int) -> Opened | None:
    if not compressed:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        fp = fingerprint_of(os.read(fd, FINGERPRINT_BYTES))
        if fp is None or fp[0] != fingerprint:
            os.close(fd)
            return None
        os.lseek(fd, offset, os.SEEK_SET)
        return Opened(path, fd, None)
    gz = gzip.open(path, "rb")  # noqa: SIM115 (handed to the caller, who closes it)
    try:
        fp = fingerprint_of(gz.read(FINGERPRINT_BYTES))
        if fp is None or fp[0] != fingerprint:
            gz.close()
            return None
        gz.seek(offset)  # decompresses and discards up to there
    except BaseException:
        gz.close()
        raise
    return Opened(path, gz.fileno(), gz)


def read_block(stream: io.BufferedIOBase, size: int) -> bytes:
    """Up to ``size`` bytes of a decompressing stream; a corrupt or truncated ``.gz`` raises
    OSError (like a plain read), so the caller logs it and moves on."""
    try:
        return stream.read(size)
    except (EOFError, zlib.error) as exc:
        raise OSError(f"corrupt compressed data: {exc}") from exc
