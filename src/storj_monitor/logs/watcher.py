"""Wake a log follower when its file may have changed, so idle followers do no I/O.

On Linux one inotify instance (``inotify_simple``) serves every followed file of the
process: one daemon thread reads its events and sets the ``Watch`` of the path they concern.
Each path gets two watches: the file itself (writes, truncation, being moved or deleted) and
its directory, for name events only (a file created or moved to the path: a rotation), so
writes to other files of that directory (other nodes' logs, rotated siblings) wake nobody.
One instance for all nodes keeps within the per-user inotify limits (often 128 instances).

Elsewhere (or when inotify cannot be used: no binding, limits reached, the directory
missing) a ``StatWatch`` stats the path every ``interval`` seconds and reports a change of
inode, size or mtime: one ``stat`` per interval instead of a full poll.

inotify does not see writes made by another host to a network filesystem, so callers still
poll now and then (``Watch.wait`` returns False on its timeout; see services.ingest).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
from typing import Any, Protocol

log = logging.getLogger(__name__)

try:  # Linux only (see pyproject's marker); the stat fallback covers the rest
    import inotify_simple
except ImportError:  # pragma: no cover - depends on the platform
    inotify_simple = None

#: Seconds the dispatcher waits after the first event before reading (followers wait longer).
DISPATCH_DELAY = 0.01


class Watch(Protocol):
    """What a follower's loop needs: block until the file may have changed."""

    kind: str  # "inotify" or "stat", for logs and benchmarks

    def wait(self, timeout: float) -> bool:
        """True when the file may have changed (or ``wake()`` was called), False on timeout."""
        ...

    def wake(self) -> None:
        """Make a pending or the next ``wait`` return at once (used by stop)."""
        ...

    def clear(self) -> None:
        """Forget the notices so far (the caller is about to read everything there is)."""
        ...

    def close(self) -> None: ...


def _signature(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class StatWatch:
    """The fallback: one ``os.stat`` of the path every ``interval`` seconds."""

    kind = "stat"

    def __init__(self, path: str, interval: float):
        self.path = path
        self.interval = max(0.01, interval)
        self._event = threading.Event()
        self._last = _signature(path)

    def wait(self, timeout: float) -> bool:
        left = timeout
        while left > 0:
            step = min(self.interval, left)
            if self._event.wait(step):
                self._event.clear()
                return True
            left -= step
            sig = _signature(self.path)
            if sig != self._last:
                self._last = sig
                return True
        return False

    def wake(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._last = _signature(self.path)

    def close(self) -> None:
        self._event.set()


class InotifyWatch:
    """One followed path on the shared notifier; ``wait`` is a ``threading.Event`` wait."""

    kind = "inotify"

    def __init__(self, notifier: ChangeNotifier, path: str):
        self.notifier = notifier
        self.path = path
        self.folder, self.name = os.path.split(os.path.abspath(path))
        self.file_wd: int | None = None
        self.dir_wd: int | None = None
        self._event = threading.Event()
        self._closed = False

    def wait(self, timeout: float) -> bool:
        fired = self._event.wait(timeout)
        self._event.clear()
        return fired

    def wake(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    def close(self) -> None:
        self._event.set()
        if not self._closed:
            self._closed = True
            self.notifier.unwatch(self)
            _release()


class ChangeNotifier:
    """The process's inotify instance and the thread that dispatches its events."""

    def __init__(self) -> None:
        assert inotify_simple is not None
        flags = inotify_simple.flags
        self.FILE_MASK = flags.MODIFY | flags.ATTRIB | flags.MOVE_SELF | flags.DELETE_SELF
        self.DIR_MASK = flags.CREATE | flags.MOVED_TO | flags.MOVED_FROM | flags.DELETE
        self._ino = inotify_simple.INotify()
        self._lock = threading.Lock()
        self._by_wd: dict[int, set[InotifyWatch]] = {}
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self.events = 0  # inotify events read (for benchmarks)
        self._thread = threading.Thread(target=self._run, name="log-watch", daemon=True)
        self._thread.start()

    # --- watches ---------------------------------------------------------------------
    def watch(self, path: str) -> InotifyWatch:
        """A watch of ``path``; raises OSError when its directory cannot be watched."""
        w = InotifyWatch(self, path)
        with self._lock:
            w.dir_wd = self._add(w.folder, self.DIR_MASK, w)  # OSError: caller falls back
            self._add_file(w)
        return w

    def _add(self, path: str, mask: int, w: InotifyWatch) -> int:
        wd: int = self._ino.add_watch(path, mask)  # one inode, one wd (shared by its users)
        self._by_wd.setdefault(wd, set()).add(w)
        return wd

    def _add_file(self, w: InotifyWatch) -> None:
        """(Re)watch the file now at the path (none yet is fine: the directory says when)."""
        old = w.file_wd
        try:
            new = self._add(w.path, self.FILE_MASK, w)
        except OSError:
            new = None
        if old is not None and old != new:
            self._drop(old, w)
        w.file_wd = new

    def _drop(self, wd: int, w: InotifyWatch) -> None:
        users = self._by_wd.get(wd)
        if users is None:
            return
        users.discard(w)
        if not users:
            del self._by_wd[wd]
            with contextlib.suppress(OSError):
                self._ino.rm_watch(wd)

    def unwatch(self, w: InotifyWatch) -> None:
        with self._lock:
            for wd in (w.file_wd, w.dir_wd):
                if wd is not None:
                    self._drop(wd, w)
            w.file_wd = w.dir_wd = None

    # --- dispatch --------------------------------------------------------------------
    def _run(self) -> None:
        fd = self._ino.fileno()
        while not self._closed:
            try:
                ready, _, _ = select.select([fd, self._wake_r], [], [])
            except (OSError, ValueError):
                return  # closed under us
            if self._wake_r in ready:
                return
            time.sleep(DISPATCH_DELAY)  # one read for the events of many writes
            try:
                events = self._ino.read(timeout=0)
            except OSError as exc:
                log.warning("reading inotify events failed: %s; files are checked every few s", exc)
                self._wake_all()
                return
            self.events += len(events)
            self._dispatch(events)

    def _dispatch(self, events: list[Any]) -> None:
        flags = inotify_simple.flags
        fired: set[InotifyWatch] = set()
        with self._lock:
            for ev in events:
                if ev.mask & flags.Q_OVERFLOW:
                    for watchers in self._by_wd.values():
                        fired |= watchers
                    continue
                users = self._by_wd.get(ev.wd)
                if not users:
                    continue
                if ev.mask & flags.IGNORED:  # the inode is gone or the watch was removed
                    for w in users:
                        if w.file_wd == ev.wd:
                            w.file_wd = None
                    del self._by_wd[ev.wd]
                    fired |= users
                    continue
                if not ev.name:  # an event of a watched file
                    fired |= {w for w in users if w.file_wd == ev.wd}
                    continue
                for w in users:  # a name event in a watched directory
                    if w.dir_wd == ev.wd and ev.name == w.name:
                        if ev.mask & (flags.CREATE | flags.MOVED_TO):
                            self._add_file(w)
                        fired.add(w)
        for w in fired:
            w.wake()

    def _wake_all(self) -> None:
        with self._lock:
            users = [w for ws in self._by_wd.values() for w in ws]
        for w in users:
            w.wake()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        os.write(self._wake_w, b"x")
        self._thread.join(5.0)
        self._wake_all()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._ino.close()


# The process's notifier: started by the first inotify watch, stopped with the last one.
_shared: ChangeNotifier | None = None
_users = 0
_shared_lock = threading.Lock()
_inotify_failed = False


def _release() -> None:
    global _shared, _users
    with _shared_lock:
        _users -= 1
        if _users <= 0 and _shared is not None:
            _shared.close()
            _shared, _users = None, 0


def open_watch(path: str, *, interval: float, use_inotify: bool = True) -> Watch:
    """An inotify watch of ``path`` where possible, else a stat watch every ``interval`` s."""
    global _shared, _users, _inotify_failed
    if use_inotify and inotify_simple is not None:
        with _shared_lock:
            if _shared is None and not _inotify_failed:
                try:
                    _shared = ChangeNotifier()
                except OSError as exc:
                    _inotify_failed = True  # said once per process
                    log.warning("inotify unavailable (%s); log files are checked by stat", exc)
            if _shared is not None:
                try:
                    watch = _shared.watch(path)
                except OSError as exc:
                    log.warning("cannot watch %s with inotify (%s); checking it every %.2f s",
                                path, exc, interval)  # fmt: skip
                    if _users == 0:
                        _shared.close()
                        _shared = None
                else:
                    _users += 1
                    return watch
    return StatWatch(path, interval)
