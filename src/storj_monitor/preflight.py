"""Checks of start-up input that need the file system: the database path and the bind address.

They run in ``cli.main`` before anything is started, so a wrong ``--db`` or ``--host`` gets one
clear line and a non-zero exit instead of a traceback, a directory created by accident, or a
monitor that runs on while every write fails. (Syntax of ``--node`` is checked, without I/O,
in :mod:`storj_monitor.nodespec`; the port itself is taken by the web server before any log
is read, see :mod:`storj_monitor.web.listen`.)
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import sqlite3
from pathlib import Path

#: Kernel pseudo-file systems: a database there cannot work.
PSEUDO_FS = ("/proc", "/sys", "/dev")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_-]{1,63})*\.?$"
)


class PreflightError(ValueError):
    """Start-up input that cannot work; the message is one line saying what and why."""


def check_host(host: str) -> None:
    """``--host`` must be an IP address, ``localhost`` or a host name ("" = all interfaces).

    Whether the address belongs to this machine is found out when the port is bound.
    """
    if host == "":
        return
    text = host.strip("[]") if host.startswith("[") else host
    try:
        ipaddress.ip_address(text)
        return
    except ValueError:
        pass
    dotted_numbers = all(part.isdigit() for part in text.split(".") if part)
    if dotted_numbers or not _HOSTNAME.match(text):
        raise PreflightError(
            f"--host {host!r} is not an IP address or host name of this machine "
            "(e.g. 127.0.0.1, ::1, 0.0.0.0 for every interface)"
        )


def ensure_dir(path: Path, what: str, hint: str) -> None:
    """Create a directory that is ours to create (the default data directory)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PreflightError(
            f"cannot create {what} {path}: {exc.strerror or exc} ({hint})"
        ) from None


def _in_pseudo_fs(path: Path) -> str | None:
    try:
        resolved = str(path.resolve())
    except (OSError, RuntimeError):
        return None
    for root in PSEUDO_FS:
        if resolved == root or resolved.startswith(root + "/"):
            return root
    return None


def check_database(path: str) -> None:
    """The database file can be created or opened, and written.

    Refuses: a directory; a missing parent directory (it is never created, so a typo does not
    leave ``/nonexistent-dir`` behind); something that is not a regular file; a path in
    /proc, /sys or /dev; a file SQLite cannot open or write (read-only file or directory,
    read-only database, not a database). Writing is tested inside a transaction that is
    rolled back, so nothing in the file changes. A database locked by another process counts
    as writable (the writer waits for it, as it always has).
    """
    where = f"--db {path}"
    p = Path(path)
    try:
        if p.is_dir():
            raise PreflightError(
                f"{where}: is a directory; give a file in it, e.g. {p / 'storj_stats.db'}"
            )
        parent = p.absolute().parent
        if not parent.exists():
            raise PreflightError(f"{where}: directory {parent} does not exist (create it first)")
        if not parent.is_dir():
            raise PreflightError(f"{where}: {parent} is not a directory")
        root = _in_pseudo_fs(p)
        if root is not None:
            raise PreflightError(
                f"{where}: is in {root}, a kernel file system; give a path on a disk"
            )
        existed = p.exists()
        if existed and not p.is_file():
            raise PreflightError(f"{where}: is not a regular file")
    except OSError as exc:
        raise PreflightError(f"{where}: cannot use this path: {exc.strerror or exc}") from None
    _probe_write(p, where, existed)


def _probe_write(p: Path, where: str, existed: bool) -> None:
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(str(p), isolation_level=None, timeout=2)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("CREATE TABLE storj_monitor_write_probe (x)")
        conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return  # another process writes right now: the file is writable
        if "readonly" in text or "read-only" in text:
            raise PreflightError(
                f"{where}: the database is read-only ({text}); make the file and its "
                "directory writable, or give another --db"
            ) from None
        raise PreflightError(f"{where}: cannot open or write the database ({text})") from None
    except sqlite3.DatabaseError as exc:
        raise PreflightError(f"{where}: not a usable SQLite database ({exc})") from None
    except OSError as exc:
        raise PreflightError(f"{where}: cannot use this path: {exc.strerror or exc}") from None
    finally:
        if conn is not None:
            conn.close()
        if not existed:  # the probe created an empty file: leave no trace of a failed start
            with contextlib.suppress(OSError):
                if p.exists() and p.stat().st_size == 0:
                    p.unlink()
