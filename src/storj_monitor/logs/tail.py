"""Follow one log file by identity and byte offset: the local half of every log source.

Standard library only (the log forwarder, which runs on a node host, imports this file; the
files it needs are ``forwarder.STANDALONE_FILES``). One file's bytes: ``logs/open_file.py``.

A file's identity is a fingerprint of its first line (sha1 of the bytes up to and including
the first ``\\n``, at most ``FINGERPRINT_BYTES``), not its path or inode: the first line
carries a timestamp, so two log files never share it, a rotated file keeps it under any new
name, and once a file has one complete line its identity never changes. Nothing is consumed
before the first line is complete, so every consumed byte has a stable identity to store its
offset under.

The follower reads new bytes in large blocks, holds back a partial last line, normalises CRLF,
decodes invalid UTF-8 with replacement characters, and handles:

- rename rotation: the old file is read to its end through the open handle, then the new
  file at the path is read from its beginning;
- copytruncate: the file shrinks below the read position (or its first line changes), and
  is read again from its beginning;
- a file that does not exist yet: polled until it appears; ``log_state`` says so (missing,
  unreadable with the reason, or ok, with the path), logged once per transition;
- restart, and every rotation or truncation: the rotation set (``logs/rotation.py``:
  ``node.log.1``, ``node.log.2.gz``, ``node.log-2026...``) is matched against the consumed
  offsets (stored, or read in this run) by fingerprint, and every rotated file from the oldest
  known one on is read to its end, oldest first, before the current file (several rotations
  while stopped, or between two polls, lose nothing; copytruncate's lost tail is read from
  the copy).

Offsets are bytes from the start of the file, always at a line boundary. ``poll()`` never
blocks; the caller decides how long to wait between polls.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

try:
    from storj_monitor.logs import rotation
    from storj_monitor.logs.open_file import (
        MAX_LINE_BYTES,
        Chunk,
        FileIdentity,
        OffsetLike,
        OpenFile,
        match_offset,
        open_log,
        pread,
        read_prefix,
        split_lines,
    )
except ImportError:  # copied next to rotation.py and open_file.py on a host without storj_monitor
    import rotation  # type: ignore[no-redef, import-not-found]  # standalone copy
    from open_file import (  # type: ignore[no-redef, import-not-found]  # standalone copy
        MAX_LINE_BYTES,
        Chunk,
        FileIdentity,
        OffsetLike,
        OpenFile,
        match_offset,
        open_log,
        pread,
        read_prefix,
        split_lines,
    )

log = logging.getLogger(__name__)

LOG_OK, LOG_MISSING, LOG_UNREADABLE = "ok", "missing", "unreadable"
#: A path gone while its file is open (between logrotate's rename and create) counts as
#: missing only after this many seconds (clock time).
GONE_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class LogState:
    """Whether the followed path can be read: ``state`` is ``ok``, ``missing`` or
    ``unreadable`` (``error`` says why: the OS's words); ``since`` (UTC unix seconds) is
    when it became so."""

    state: str
    path: str
    error: str | None
    since: float


class FileFollower:
    """Follows the log file at ``path`` across rotation, truncation and restarts.

    ``known_offsets()`` returns the stored offsets of this node (any order); it is called
    whenever a file is opened. ``from_end`` applies only to a file that exists at start and
    has no stored offset. ``clock`` gives UTC unix seconds for arrival stamps.
    """

    def __init__(
        self,
        path: str,
        *,
        known_offsets: Callable[[], Sequence[OffsetLike]] = tuple,
        block_bytes: int = 1 << 20,
        max_bytes_per_poll: int = 8 << 20,
        from_end: bool = False,
        clock: Callable[[], float] = time.time,
    ):
        self.path = os.fspath(path)
        self._known_offsets = known_offsets
        self.block_bytes = block_bytes
        self.max_bytes_per_poll = max(block_bytes, max_bytes_per_poll)
        self._from_end = from_end
        self.clock = clock
        self._cur: OpenFile | None = None
        self._older: list[tuple[rotation.Member, int]] = []  # rotated files to read first
        self._continues = False  # the rotation set held a known file: the path is no first sight
        self._read: dict[str, rotation.Position] = {}  # fingerprint → consumed in this run
        self._tried: set[tuple[str, int]] = set()  # rotated (fingerprint, offset) opened
        self._started = False
        #: None until the path was first looked at (see :class:`LogState`).
        self.log_state: LogState | None = None
        self._gone_since: float | None = None  # the open file's path vanished at (clock)
        self.caught_up = False  # reached the end of the file at least once
        self.size = 0  # size of the current file when last checked (bytes)
        self.rotations = 0
        self.truncations = 0
        self._open_error: str | None = None  # why the path cannot be read, while it cannot
        #: The last poll read everything there was: the next is due when the file changes.
        self.drained = False
        self._stamp: tuple[int, int] | None = None  # (size, mtime ns) at the last check

    # --- public ----------------------------------------------------------------------
    @property
    def position(self) -> int:
        return self._cur.pos if self._cur else 0

    @property
    def identity(self) -> FileIdentity | None:
        return self._cur.identity if self._cur else None

    def poll(self) -> list[Chunk]:
        """Read what is available now (at most ``max_bytes_per_poll``); never waits."""
        if self._cur is None and not self._open_next():
            self.caught_up = self.drained = True  # nothing there yet: later lines are live
            return []
        chunks: list[Chunk] = []
        self.drained = False
        opened = self._cur  # set by _open_next() when it was None
        if opened is not None and not opened.final:
            self._check_truncated(opened, verify=True)
        budget = self.max_bytes_per_poll
        while budget > 0 and self._cur is not None:
            cur = self._cur
            try:
                data = cur.read(self.block_bytes)
            except OSError as exc:
                log.warning("reading %s failed: %s", cur.path, exc)
                data = b""
            if data:
                budget -= len(data)
                self._take(cur, data, chunks)
                continue
            if not self._at_end(chunks):
                self.drained = True
                break
        return chunks

    def reposition(self, fingerprint: str, offset: int) -> bool:
        """Continue the current file at ``offset`` (another writer stored up to there)."""
        cur = self._cur
        if cur is None or cur.identity is None or cur.identity.fingerprint != fingerprint:
            return False
        if cur.stream is not None:  # a rotated .gz
            cur.stream.seek(offset)
        else:
            os.lseek(cur.fd, offset, os.SEEK_SET)
        cur.pos, cur.held = offset, b""
        self._consumed(cur)
        return True

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()
            self._cur = None

    # --- reading ---------------------------------------------------------------------
    def _take(self, cur: OpenFile, data: bytes, chunks: list[Chunk]) -> None:
        if cur.held:
            data = cur.held + data
        lines, used = split_lines(data)
        if not used and len(data) > MAX_LINE_BYTES:
            lines, used = [data.decode("utf-8", "replace")], len(data)
        cur.held = data[used:]
        if not used:
            return
        identity = cur.identify()
        if identity is None:  # impossible once a newline was read; be safe
            cur.held = data
            return
        start = cur.pos
        cur.pos += used
        self._consumed(cur)
        arrival = self.clock() if self.caught_up else None
        chunks.append(Chunk(lines, identity, start, cur.pos, arrival))

    def _consumed(self, cur: OpenFile) -> None:
        ident = cur.identity
        if ident is not None:
            self._read[ident.fingerprint] = rotation.Position(
                ident.fingerprint, ident.fingerprint_len, cur.pos
            )

    def _at_end(self, chunks: list[Chunk]) -> bool:
        """At the end of the current file: check rotation/truncation; True to read on."""
        cur = self._cur
        assert cur is not None
        if cur.final:  # a rotated file: done, go on
            self._finish(cur, chunks)
            if not self._older:  # rotated again while we read the rotated files?
                self._older = self._plan().files
            self._open_next()
            return True
        self.caught_up = True
        try:
            st = os.stat(self.path)
        except FileNotFoundError:  # renamed away, the new one not created yet: keep waiting
            now = self.clock()
            if self._gone_since is None:
                self._gone_since = now
            elif now - self._gone_since >= GONE_GRACE_S:
                self._set_state(LOG_MISSING, None)
            return False
        except OSError as exc:
            self._set_state(LOG_UNREADABLE, exc.strerror or str(exc))
            return False
        self._gone_since = None
        self._set_state(LOG_OK, None)
        if (st.st_dev, st.st_ino) != cur.ino:  # rename rotation
            self._finish(cur, chunks)
            self.rotations += 1
            log.info("%s was rotated; following the new file", self.path)
            self._older = self._plan().files  # rotated more than once since the last poll
            return self._open_next()
        return self._check_truncated(cur, verify=False)

    def _check_truncated(self, cur: OpenFile, *, verify: bool) -> bool:
        """Copytruncate: the file shrank below what we read, or its first line changed
        (truncated and written again past our offset). Then read it again from byte 0,
        after the rotated files that hold what we did not read yet (NAME.1: the copy).
        A file about to be read from byte 0 checks those too (rotated again meanwhile?).

        The first line is read again (1 KiB and a SHA-1) only with ``verify`` and when the
        size or the modification time differs from the last check: a poll of an unchanged
        file costs one ``fstat``."""
        st = os.fstat(cur.fd)
        fsize = st.st_size
        # Size *or* mtime: a copytruncate followed by a write can leave the same size.
        stamp = (fsize, st.st_mtime_ns)
        changed, self.size, self._stamp = stamp != self._stamp, fsize, stamp
        truncated = fsize < cur.pos + len(cur.held)
        if not truncated and verify and changed and cur.identity is not None:
            fp = rotation.fingerprint_of(read_prefix(cur.fd))
            truncated = fp is None or fp[0] != cur.identity.fingerprint
        fresh = cur.pos == 0 and not cur.held and fsize > 0  # nothing of it consumed yet
        if not truncated and not fresh:
            return False
        if truncated:
            self.truncations += 1
            log.info("%s was truncated (copytruncate?); reading it from the start", self.path)
        self._older = self._plan().files
        if self._older:
            cur.close()
            self._cur = None
            self._open_next()
            return True
        if not truncated:
            return False
        os.lseek(cur.fd, 0, os.SEEK_SET)
        cur.pos, cur.held, cur.identity = 0, b"", None
        return True

    def _finish(self, cur: OpenFile, chunks: list[Chunk]) -> None:
        """Close a file we will not come back to; a partial last line is passed on."""
        if cur.held and cur.identify() is not None:
            start = cur.pos
            cur.pos += len(cur.held)
            self._consumed(cur)
            line = cur.held.rstrip(b"\r").decode("utf-8", "replace")
            arrival = self.clock() if self.caught_up else None
            assert cur.identity is not None
            chunks.append(Chunk([line], cur.identity, start, cur.pos, arrival))
        cur.held = b""
        cur.close()
        self._cur = None

    # --- opening ---------------------------------------------------------------------
    def _open_next(self) -> bool:
        """Open the next file to read: an unfinished rotated file, else the path."""
        first = not self._started
        if first:
            self._older, self._continues = self._plan()
            self._started = True
        failed: set[tuple[str, str, int]] = set()
        while self._older:
            member, offset = self._older.pop(0)
            opened = rotation.open_member(member, offset)
            if opened is None:  # renamed by another rotation since the scan? look again
                failed.add((member.path, member.fingerprint, offset))
                self._older = [x for x in self._plan().files if (x[0].path, *_key(x)) not in failed]
                if not any(x[0].fingerprint == member.fingerprint for x in self._older):
                    log.warning("rotated file %s is gone; its lines after byte %d are lost",
                                member.path, offset)  # fmt: skip
                continue
            self._tried.add((member.fingerprint, offset))
            log.info("reading rotated file %s from byte %d", opened.path, offset)
            self._cur = OpenFile(opened.path, opened.fd, offset, final=True, stream=opened.stream)
            self._cur.identity = FileIdentity(
                opened.path, member.fingerprint, member.fingerprint_len
            )
            return True
        fd, error = open_log(self.path)
        self._open_error = error
        self._gone_since = None
        state = LOG_OK if fd is not None else LOG_UNREADABLE if error else LOG_MISSING
        self._set_state(state, error)
        if fd is None:
            return False
        offset = self._resume_offset(fd, from_end=self._from_end and first and not self._continues)
        os.lseek(fd, offset, os.SEEK_SET)
        self._cur = OpenFile(self.path, fd, offset)
        self.size = os.fstat(fd).st_size
        self._cur.identify()
        if first and offset < self.size:
            log.info("%s: reading from byte %d of %d", self.path, offset, self.size)
        return True

    def _set_state(self, state: str, error: str | None) -> None:
        """Record the path's state; log transitions (not polls) in one line naming the path."""
        old = self.log_state
        if old is not None and (old.state, old.error) == (state, error):
            return
        self.log_state = LogState(state, self.path, error, self.clock())
        if state == LOG_MISSING:
            log.warning("log file %s does not exist; waiting for it (is the path right?)",
                        self.path)  # fmt: skip
        elif state == LOG_UNREADABLE:
            log.warning("cannot read %s: %s; retrying", self.path, error)
        elif old is not None and old.state != LOG_OK:
            log.info("log file %s is readable again", self.path)

    def _resume_offset(self, fd: int, *, from_end: bool) -> int:
        size = os.fstat(fd).st_size
        row = match_offset(self._rows(), read_prefix(fd))
        if row is not None:
            return row.offset if row.offset <= size else 0
        if not from_end or size == 0:
            return 0
        tail_len = min(size, 1 << 16)
        tail = pread(fd, tail_len, size - tail_len)
        nl = tail.rfind(b"\n")
        return size - tail_len + nl + 1 if nl >= 0 else size

    def _rows(self) -> list[OffsetLike]:
        """The stored offsets, overridden by what this run consumed (it may be ahead)."""
        rows: dict[str, OffsetLike] = {r.fingerprint: r for r in self._known_offsets()}
        rows.update(self._read)
        return list(rows.values())

    def _plan(self) -> rotation.Plan:
        """The rotated files to read before the path (see ``logs/rotation.py``)."""
        positions = {r.fingerprint: r.offset for r in self._rows()}
        plan = rotation.unread(rotation.scan(self.path), positions)
        files = [x for x in plan.files if _key(x) not in self._tried]
        return rotation.Plan(files, plan.continues)  # a file that failed is not retried


def _key(planned: tuple[rotation.Member, int]) -> tuple[str, int]:
    return planned[0].fingerprint, planned[1]
