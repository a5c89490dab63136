"""A seeded generator of realistic storagenode log lines (for the demo, tests and benchmarks).

What it writes follows the storagenode's own format (console encoding, tab separated, zap's
spaced JSON) and a busy healthy node's mix (reference: storj-details.md A.12):

* transfers arrive as a Poisson stream of ``ops_per_second``: ~70 % GET, ~20 % PUT, ~3 %
  GET_AUDIT, ~4 % GET_REPAIR, ~3 % PUT_REPAIR;
* each transfer has a DEBUG ``... started`` line (when ``debug``) and exactly one result line
  ``latency`` seconds later (log-normal, sub-second to multi-second): success, canceled
  (``upload canceled``, ``download canceled`` with a reason, rarely the race-lost pair) or
  failed with the node's real error texts; DEBUG ``upload failed: unexpected EOF`` only when
  ``debug``;
* log timestamps are whole seconds (RFC 3339, ``Z``) unless ``ts`` asks for ``millis``,
  ``micros`` or ``nanos`` (``2026-11-28T10:30:15.123Z``: older nodes, zap's ISO 8601, docker
  and journald wrappers); lines come out in time order;
* ``dialect``: ``old`` (Title Case keys, before v1.146), ``new`` (snake_case) or ``mixed``
  (chosen per transfer);
* background lines now and then (``background_per_hour``): reputation scores, hashstore
  compaction, used-space filewalker, ping satellite failed, trash, retain, orders, collector;
* satellite IDs of the real satellites, base32 piece IDs, IPv4 and IPv6 peers;
* ``docker=True`` wraps every line as docker's json-file log, whose ``time`` is the
  line's exact (sub-second) time, so pairing can measure precise durations.

The text of transfer lines is :mod:`storj_monitor.demo.piecestore_lines`, of background
lines :mod:`storj_monitor.demo.background`; this module schedules them and stamps the time.

Usage::

    gen = LogGenerator(seed=1)
    for line in gen.lines(1000): ...                     # continues where it stopped
    for line in gen.lines_between(t0, t1): ...           # live demo: the lines of [t0, t1)
    gen.failure_line("GET_AUDIT", "file does not exist")  # one specific result line
    gen.transfer("PUT", "canceled", at=t, latency=2.0)     # start + result of one transfer
    gen.available_space = free_bytes                     # what "upload started" reports

Deterministic for a seed (``transfer``/``failure_line`` draw from the same random stream,
so calling them changes what follows). About 5 µs per line (~200,000 lines/s on one core).
Lines have no line ending.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Iterator
from itertools import accumulate
from typing import Literal, TypedDict, Unpack

import orjson

from storj_monitor.demo.background import background_lines
from storj_monitor.demo.piecestore_lines import (
    NEW_KEYS,
    OLD_KEYS,
    race_lost_lines,
    result_line,
    start_line,
)

__all__ = ["DEFAULT_START", "SATELLITES", "LogGenerator"]

Dialect = Literal["old", "new", "mixed"]
#: Precision of the log's own timestamps: fraction digits written after the seconds.
TsPrecision = Literal["seconds", "millis", "micros", "nanos"]
_FRACTION_DIGITS: dict[str, int] = {"seconds": 0, "millis": 3, "micros": 6, "nanos": 9}

#: 2026-01-05T08:00:00Z: a fixed default so a seed always gives the same lines.
DEFAULT_START = 1_767_600_000.0

#: The public satellites (id, share of traffic).
SATELLITES: tuple[tuple[str, float], ...] = (
    ("121RTSDpyNZVcEU84Ticf2L1ntiuUimbWgfATz21tuvgk3vzoA6", 0.40),  # us1
    ("12EayRS2V1kEsWESU9QMRseFhdxYxKicsiFmxrsLZHeLUtdps3S", 0.30),  # eu1
    ("12L9ZFwhzVpuEKMUNUqkaTLGzwY9G24tbiigLiXpmZWKwmcNDDs", 0.15),  # ap1
    ("1wFTAgs9DP5RSnCqKV1eLf6N9wtk4EAtmN5DpSxcs8EjT69tGE", 0.15),  # saltlake
)

#: action -> (share, median latency s, log-normal sigma)
_ACTIONS: dict[str, tuple[float, float, float]] = {
    "GET": (0.70, 0.35, 0.9),
    "PUT": (0.20, 0.9, 0.8),
    "GET_AUDIT": (0.03, 0.08, 0.7),
    "GET_REPAIR": (0.04, 1.2, 0.8),
    "PUT_REPAIR": (0.03, 1.5, 0.8),
}
#: action -> (P(canceled), P(failed)); the rest succeed.
_OUTCOMES: dict[str, tuple[float, float]] = {
    "GET": (0.035, 0.012),
    "PUT": (0.06, 0.045),
    "GET_AUDIT": (0.001, 0.001),
    "GET_REPAIR": (0.03, 0.015),
    "PUT_REPAIR": (0.05, 0.04),
}
_SIZES = (2319360, 2319360, 2319360, 1048576, 181504, 92416, 36352, 9472, 2560, 1280)


#: byte -> one RFC 4648 base32 character (256 is a multiple of 32, so uniform).
_BASE32_OF_BYTE = bytes(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" * 8)


class TransferOptions(TypedDict, total=False):
    """The keyword arguments of :meth:`LogGenerator.transfer` that ``failure_line`` passes on."""

    dialect: Literal["old", "new"] | None
    satellite_id: str | None
    piece_id: str | None
    remote_address: str | None
    size: int | None


class LogGenerator:
    """Seeded, stateful stream of storagenode log lines (see the module doc)."""

    def __init__(
        self,
        seed: int = 0,
        dialect: Dialect = "mixed",
        start: float = DEFAULT_START,
        ops_per_second: float = 50.0,
        debug: bool = True,
        background_per_hour: float = 30.0,
        docker: bool = False,
        available_space: int = 14_478_332_563_968,
        ts: TsPrecision = "seconds",
    ) -> None:
        if ts not in _FRACTION_DIGITS:
            raise ValueError(f"ts must be one of {', '.join(_FRACTION_DIGITS)}, not {ts!r}")
        if dialect not in ("old", "new", "mixed"):
            raise ValueError(f"dialect must be old, new or mixed, not {dialect!r}")
        if ops_per_second <= 0:
            raise ValueError("ops_per_second must be positive")
        self.dialect = dialect
        self.debug = debug
        self.docker = docker
        self.ops_per_second = ops_per_second
        self._rng = random.Random(seed)
        self._next_arrival = float(start)
        self._background_rate = background_per_hour / 3600.0
        self._next_background = self._after(float(start), self._background_rate)
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        #: (first message, satellite) -> when that job's current run ends: a node runs one
        #: filewalker/compaction/trash job per satellite at a time, so none overlap here.
        self._busy: dict[tuple[str, str], float] = {}
        self._stamp_cache: dict[int, str] = {}
        self._digits = _FRACTION_DIGITS[ts]
        self._available = available_space
        rng = self._rng
        self._customers = [self._random_address() for _ in range(400)]
        self._workers = [f"34.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(12)]  # fmt: skip
        self._action_names = list(_ACTIONS)
        self._action_weights = list(accumulate(share for share, _, _ in _ACTIONS.values()))
        self._sat_ids = [sat for sat, _ in SATELLITES]
        self._sat_weights = list(accumulate(share for _, share in SATELLITES))

    # -- public --------------------------------------------------------------------------

    @property
    def available_space(self) -> int:
        """Free bytes the next ``upload started`` line reports (each upload lowers it)."""
        return self._available

    @available_space.setter
    def available_space(self, value: int) -> None:
        self._available = int(value)

    def lines(self, n: int) -> Iterator[str]:
        """The next ``n`` lines, in time order; a later call continues the same stream."""
        heap = self._heap
        for _ in range(n):
            while not heap or heap[0][0] > self._next_due():
                self._schedule_next()
            yield heapq.heappop(heap)[2]

    def lines_between(self, t0: float, t1: float) -> Iterator[str]:
        """The lines whose time is in ``[t0, t1)`` (UTC unix seconds), for live replay.

        Call it with consecutive windows; a window that starts after the stream's current
        time skips the gap (no backlog flood after a pause).
        """
        heap = self._heap
        while heap and heap[0][0] < t0:
            heapq.heappop(heap)
        if self._next_arrival < t0:
            self._next_arrival = t0 + self._rng.expovariate(self.ops_per_second)
        if self._next_background < t0:
            self._next_background = self._after(t0, self._background_rate)
        while True:
            while (not heap or heap[0][0] > self._next_due()) and self._next_due() < t1:
                self._schedule_next()
            if heap and heap[0][0] < t1:
                yield heapq.heappop(heap)[2]
            else:
                return

    def transfer(
        self,
        action: str = "GET",
        status: Literal["success", "canceled", "failed"] = "success",
        error: str | None = None,
        at: float | None = None,
        latency: float = 0.5,
        debug: bool | None = None,
        dialect: Literal["old", "new"] | None = None,
        satellite_id: str | None = None,
        piece_id: str | None = None,
        remote_address: str | None = None,
        size: int | None = None,
    ) -> list[str]:
        """The lines of one transfer: the start line (if ``debug``) and its result line.

        ``at`` is the start time (default: the stream's current time); ``error`` the failure
        text or cancel reason. Does not advance the stream.
        """
        start = self._next_arrival if at is None else at
        sat = satellite_id or self._rng.choice(self._sat_ids)
        piece = piece_id or self._piece_id()
        peer = remote_address or self._peer(action)
        keys = self._keys(dialect)
        size = size if size is not None else (256 if action == "GET_AUDIT" else 2319360)
        out = []
        if self.debug if debug is None else debug:
            out.append(self._start_line(start, action, keys, sat, piece, peer, size))
        out.append(
            self._result_line(start + latency, action, status, keys, sat, piece, peer, size, error)
        )
        return out

    def failure_line(
        self,
        action: str = "GET_AUDIT",
        error: str = "file does not exist",
        at: float | None = None,
        **kwargs: Unpack[TransferOptions],
    ) -> str:
        """One ``download failed``/``upload failed`` line with exactly this error text (any
        text: it is JSON-escaped like zap does). Keyword arguments as for :meth:`transfer`."""
        lines = self.transfer(action, "failed", error, at=at, latency=0.0, debug=False, **kwargs)
        return lines[-1]

    # -- transfers -----------------------------------------------------------------------

    def _schedule_next(self) -> None:
        """Schedule the transfer (or background line) due next and advance the clock."""
        rng = self._rng
        if self._next_background <= self._next_arrival:
            at = self._next_background
            self._next_background = self._after(at, self._background_rate)
            for when, line in self._background(at):
                self._push(when, line)
            return
        start = self._next_arrival
        self._next_arrival = start + rng.expovariate(self.ops_per_second)
        action = rng.choices(self._action_names, cum_weights=self._action_weights)[0]
        _, median, sigma = _ACTIONS[action]
        latency = min(120.0, rng.lognormvariate(math.log(median), sigma))
        p_cancel, p_fail = _OUTCOMES[action]
        roll = rng.random()
        status = "canceled" if roll < p_cancel else "failed" if roll < p_cancel + p_fail else "success"  # fmt: skip
        keys = self._keys(None)
        sat = rng.choices(self._sat_ids, cum_weights=self._sat_weights)[0]
        piece = self._piece_id()
        peer = self._peer(action)
        size = 256 if action == "GET_AUDIT" else rng.choice(_SIZES)
        if action == "GET_AUDIT" and status == "failed":
            error: str | None = "file does not exist"
        else:
            error = None
        if self.debug:
            self._push(start, self._start_line(start, action, keys, sat, piece, peer, size))
        end = start + latency
        if status == "canceled" and action == "GET" and rng.random() < 0.05:
            for level, message, fields in race_lost_lines(self.debug, keys, sat, piece, peer, size):
                self._push(end, self._format(end, level, "piecestore", message, fields))
        else:
            self._push(end, self._result_line(end, action, status, keys, sat, piece, peer, size, error))  # fmt: skip

    def _start_line(
        self,
        at: float,
        action: str,
        keys: tuple[str, ...],
        sat: str,
        piece: str,
        peer: str,
        size: int,
    ) -> str:
        if action.startswith("PUT"):
            self._available -= size  # each upload lowers what the next one reports
        level, message, fields = start_line(action, keys, sat, piece, peer, size, self._available)
        return self._format(at, level, "piecestore", message, fields)

    def _result_line(
        self,
        at: float,
        action: str,
        status: str,
        keys: tuple[str, ...],
        sat: str,
        piece: str,
        peer: str,
        size: int,
        error: str | None,
    ) -> str:
        level, message, fields = result_line(
            self._rng, self.debug, action, status, keys, sat, piece, peer, size, error
        )
        return self._format(at, level, "piecestore", message, fields)

    def _background(self, at: float) -> list[tuple[float, str]]:
        """One background occurrence as (time, line) pairs."""
        sat = self._rng.choices(self._sat_ids, cum_weights=self._sat_weights)[0]
        old = self._keys(None) is OLD_KEYS
        lines = background_lines(self._rng, sat, old)
        if len(lines) > 1:  # a job with a start and an end: not while the same one runs
            job = (lines[0][3], sat)
            if self._busy.get(job, float("-inf")) >= at:
                return []
            self._busy[job] = at + max(line[0] for line in lines)
        return [
            (at + offset, self._format(at + offset, level, logger, message, fields))
            for offset, level, logger, message, fields in lines
        ]

    # -- helpers -------------------------------------------------------------------------

    def _next_due(self) -> float:
        """When the next not-yet-scheduled line is due (a transfer or a background line)."""
        return min(self._next_arrival, self._next_background)

    def _push(self, at: float, line: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, line))

    def _after(self, at: float, rate: float) -> float:
        return at + self._rng.expovariate(rate) if rate > 0 else math.inf

    def _keys(self, dialect: Literal["old", "new"] | None) -> tuple[str, ...]:
        choice = dialect or self.dialect
        if choice == "mixed":
            return OLD_KEYS if self._rng.random() < 0.5 else NEW_KEYS
        return OLD_KEYS if choice == "old" else NEW_KEYS

    def _piece_id(self) -> str:
        """52 base32 characters, as a 32-byte piece id encodes (the last one is A or Q)."""
        head = self._rng.randbytes(51).translate(_BASE32_OF_BYTE).decode()
        return head + ("A" if self._rng.random() < 0.5 else "Q")

    def _random_address(self) -> str:
        rng = self._rng
        port = rng.randrange(1024, 65536)
        if rng.random() < 0.12:
            groups = ":".join(f"{rng.randrange(65536):x}" for _ in range(4))
            return f"[2a01:4f8:{groups}::{rng.randrange(1, 255):x}]:{port}"
        return f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}:{port}"  # fmt: skip

    def _peer(self, action: str) -> str:
        rng = self._rng
        if action in ("GET_AUDIT", "GET_REPAIR", "PUT_REPAIR"):
            return f"{rng.choice(self._workers)}:{rng.randrange(1024, 65536)}"
        return rng.choice(self._customers)

    def _format(self, at: float, level: str, logger: str, message: str, fields: str) -> str:
        second = int(at)
        stamp = self._stamp_cache.get(second)
        if stamp is None:
            if len(self._stamp_cache) > 4096:
                self._stamp_cache.clear()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
            self._stamp_cache[second] = stamp
        log_stamp = stamp
        if self._digits:
            scale = 10**self._digits
            fraction = min(scale - 1, int((at - second) * scale))
            log_stamp = f"{stamp[:-1]}.{fraction:0{self._digits}d}Z"
        line = f"{log_stamp}\t{level}\t{logger}\t{message}\t{fields}"
        if self.docker:
            nanos = min(999_999_999, int((at - second) * 1e9))
            wrapper = {"log": line + "\n", "stream": "stderr", "time": f"{stamp[:-1]}.{nanos:09d}Z"}
            return orjson.dumps(wrapper).decode()
        return line
