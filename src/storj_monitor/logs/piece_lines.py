"""The vocabulary of piecestore transfer lines: what a piece line is, which messages are
transfers (and their status), and the small value readers both parsers use (pure).

``logs.parser`` (every line shape) and ``logs.pipeline`` (the ingest fast path) share these
tables, so a message added here is understood by both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, final

from storj_monitor.model import Status

__all__ = ["LEVELS", "PIECE_MESSAGES", "PLAIN", "PieceLine", "split_remote_ip"]


@final  # the parsers test ``type(x) is PieceLine``: no subclasses (mypy narrows on it)
@dataclass(slots=True)
class PieceLine:
    """One piecestore transfer line: a ``... started`` line or the transfer's result line.

    ``timestamp`` is the log's own time (UTC unix seconds, whole seconds on v1.83+);
    ``precise_ts`` docker's nanosecond receive time when the line came through docker;
    ``fine_ts`` whether the log's own stamp had milliseconds or finer (pre-v1.83 zap ISO
    8601, RFC3339Nano, epoch millis/nanos), so pairing can label a duration ``log_millis``.
    ``remote_addr`` is the raw ``ip:port`` (part of the pairing key), ``remote_ip`` the
    address without port or brackets. ``size`` and ``available_space`` are bytes.
    """

    started: bool
    timestamp: float
    precise_ts: float | None
    level: str
    action: str
    status: Status | None
    size: int | None
    satellite_id: str | None
    piece_id: str | None
    remote_ip: str | None
    remote_addr: str | None
    error: str | None
    error_category: str | None
    available_space: int | None
    fine_ts: bool = False


# --- piece lines ----------------------------------------------------------------------------

# What a piece message needs beyond its status.
PLAIN, RACE_LOST, CANCELED, DELETE, UPLOAD_FAILED, RACE_LOST_PUT = 0, 1, 2, 3, 4, 5
#: Race-lost lines of v1.86–v1.98 carry only the piece ID: the action their message implies.
RACE_LOST_ACTION = {RACE_LOST: "GET", RACE_LOST_PUT: "PUT"}

#: message -> (is a start line, status of a result line, special handling)
PIECE_MESSAGES: dict[str, tuple[bool, Status | None, int]] = {
    "upload started": (True, None, PLAIN),
    "download started": (True, None, PLAIN),
    "uploaded": (False, "success", PLAIN),
    "downloaded": (False, "success", PLAIN),
    "upload canceled": (False, "canceled", PLAIN),
    "download canceled": (False, "canceled", CANCELED),
    # Followed by a DEBUG "download canceled" for the same piece: not a second transfer.
    "download canceled (race lost or node shutdown)": (False, "canceled", RACE_LOST),
    # v1.86–v1.112; followed by a DEBUG "upload failed" for the same piece.
    "upload canceled (race lost or node shutdown)": (False, "canceled", RACE_LOST_PUT),
    "upload failed": (False, "failed", UPLOAD_FAILED),
    "download failed": (False, "failed", PLAIN),
    # DELETE transfer lines, written until v1.117 (they carry no Action field).
    "deleted": (False, "success", DELETE),
    "delete failed": (False, "failed", DELETE),
}


LEVELS = frozenset({"DEBUG", "INFO", "WARN", "ERROR", "DPANIC", "PANIC", "FATAL"})
LEVEL_ALIASES = {"WARNING": "WARN", "ERR": "ERROR", "CRITICAL": "FATAL"}
#: zap JSON-encoding keys that are not fields.
ZAP_JSON_KEYS = ("L", "T", "N", "C", "M", "S")
#: supervisord's own lines in the docker container: local time, comma millis, no tabs.
SUPERVISORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")
RACE_MEMORY = 1024
CALLER_TAIL = tuple("0123456789")  # a caller column ends in a line number
#: Whole-second stamps a node's parser remembers before starting its cache afresh (both the
#: parser and the pipeline's fast path). A live log needs the last few seconds' stamps only;
#: one new stamp a second used to fill 8,192 (0.7 MiB per node) over 2.3 hours of tailing.
TS_CACHE_MAX = 1024


def split_remote_ip(addr: str | None) -> str | None:
    """``"79.127.219.34:47146"`` -> ``79.127.219.34``; ``"[2a01:4f8::2]:34310"`` -> ``2a01:4f8::2``."""
    if not addr:
        return None
    if addr[0] == "[":
        end = addr.find("]")
        return addr[1:end] if end > 1 else None
    host, sep, _port = addr.rpartition(":")
    if not sep or ":" in host:  # no port, or a bare IPv6 address
        return addr
    return host or None


def as_int(value: Any) -> int | None:
    """A byte count written as something other than a JSON integer, or None."""
    if isinstance(value, float) and abs(value) < 1e18:  # NaN fails the comparison
        return int(value)
    if isinstance(value, str) and len(value) < 20:
        try:
            return int(value)
        except ValueError:
            return None
    return None


def epoch_seconds(value: float) -> float | None:
    """zap's epoch time encoders: seconds, milliseconds or nanoseconds since 1970."""
    if not 0 <= value < 1e20:  # also NaN and infinities
        return None
    if value > 1e17:
        return value / 1e9
    if value > 1e11:
        return value / 1e3
    return float(value)


def as_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value)
