"""Pair ``... started`` lines with their result lines into events with a duration.

Piece lines carry no duration: it is the time between ``upload started``/``download started``
and the transfer's one result line, matched on (piece id, satellite id, action, remote
address). The clock is the most precise one both lines have:

* ``precise``: docker's nanosecond receive stamps (``PieceLine.precise_ts``) on both lines;
* ``log_millis``: the log's own timestamps when both have milliseconds or finer
  (``PieceLine.fine_ts``: pre-v1.83 nodes, ``--log.encoding=json``, wrappers); written by the
  node itself, so closer to the transfer than the monitor's reading time;
* ``arrival``: the monitor's own reading time of both lines when tailing live (``arrival=``);
* ``log_seconds``: the log's own timestamps, whole seconds on v1.83+ (so 0 ms is common).

A negative difference (clock steps, out-of-order lines) is clamped to 0. A result line
without a start (INFO log level, a restart in between) becomes an event with no duration.

Memory is bounded: pending starts older than ``ttl_seconds`` — measured on the log's own
time, never the wall clock, so a historical import behaves like live tailing — expire, and
beyond ``max_pending`` the oldest are dropped. Pure: no I/O, no clock.
"""

from __future__ import annotations

from itertools import islice

from storj_monitor.logs.piece_lines import PieceLine
from storj_monitor.model import DurationSource, Event

__all__ = ["Pairer", "PendingKey"]

PendingKey = tuple[str | None, str | None, str, str | None]
#: (log time, docker time, arrival time, log time had ms or finer) of a start line.
_Pending = tuple[float, float | None, float | None, bool]


class Pairer:
    """Turns a node's stream of :class:`PieceLine` into :class:`~storj_monitor.model.Event`.

    Counters: ``pending`` (starts waiting now), ``paired`` (results that found their start),
    ``unmatched`` (results without one), ``expired`` (starts dropped by ttl or size bound).
    """

    def __init__(
        self, node_name: str, max_pending: int = 200_000, ttl_seconds: float = 3600.0
    ) -> None:
        self.node_name = node_name
        self.max_pending = max(1, max_pending)
        self.ttl_seconds = ttl_seconds
        self.paired = 0
        self.unmatched = 0
        self.expired = 0
        # Insertion order is start order, so the oldest entries are at the front.
        self._pending: dict[PendingKey, _Pending] = {}
        self._next_sweep = float("-inf")
        self._sweep_every = max(1.0, ttl_seconds / 10)

    @property
    def pending(self) -> int:
        return len(self._pending)

    # -- for a caller that inlines start/finish (LineProcessor's fast path) -----------------

    @property
    def waiting(self) -> dict[PendingKey, _Pending]:
        """The waiting starts themselves, oldest first: key -> (log time, docker time,
        arrival, fine log time). A caller adding to it must call :meth:`sweep` once a line's log time
        reaches :attr:`next_sweep`, and :meth:`bound` when it holds more than ``max_pending``."""
        return self._pending

    @property
    def next_sweep(self) -> float:
        """Log time (UTC unix seconds) from which the next line must trigger :meth:`sweep`."""
        return self._next_sweep

    def sweep(self, now: float) -> float:
        """Expire starts older than the ttl at log time ``now``; returns :attr:`next_sweep`."""
        self._expire(now)
        return self._next_sweep

    def bound(self) -> None:
        """Drop the oldest starts beyond ``max_pending`` (and a tenth more, so it is rare)."""
        excess = len(self._pending) - self.max_pending
        if excess > 0:
            self._drop_oldest(excess + self.max_pending // 10)

    def feed(self, piece: PieceLine, arrival: float | None = None) -> Event | None:
        """A start line is remembered (returns None); a result line returns its Event.

        ``arrival`` is the monitor's clock (UTC unix seconds) when the line was read live;
        leave it None for historical ingest.
        """
        key = (piece.piece_id, piece.satellite_id, piece.action, piece.remote_addr)
        if piece.started:
            self.start(key, piece.timestamp, piece.precise_ts, arrival, piece.fine_ts)
            return None
        duration_ms, source = self.finish(
            key, piece.timestamp, piece.precise_ts, arrival, piece.fine_ts
        )
        return Event(
            piece.timestamp,
            self.node_name,
            piece.action,
            piece.status or "failed",
            piece.size,
            piece.satellite_id,
            piece.piece_id,
            piece.remote_ip,
            piece.error,
            piece.error_category,
            duration_ms,
            source,
        )

    def start(
        self,
        key: PendingKey,
        timestamp: float,
        precise: float | None,
        arrival: float | None,
        fine: bool = False,
    ) -> None:
        """Remember a start line: ``key`` = (piece id, satellite id, action, remote address),
        ``timestamp`` its log time, ``precise`` docker's time, ``arrival`` the monitor's,
        ``fine`` whether the log time had milliseconds or finer."""
        if timestamp >= self._next_sweep:
            self._expire(timestamp)
        pending = self._pending
        pending.pop(key, None)  # a repeated start replaces the old one, at the back
        pending[key] = (timestamp, precise, arrival, fine)
        if len(pending) > self.max_pending:
            self.bound()

    def finish(
        self,
        key: PendingKey,
        timestamp: float,
        precise: float | None,
        arrival: float | None,
        fine: bool = False,
    ) -> tuple[float | None, DurationSource | None]:
        """A result line: (duration ms, duration source) from its start, or (None, None)."""
        if timestamp >= self._next_sweep:
            self._expire(timestamp)
        start = self._pending.pop(key, None)
        if start is None:
            self.unmatched += 1
            return None, None
        self.paired += 1
        start_ts, start_precise, start_arrival, start_fine = start
        source: DurationSource
        if start_precise is not None and precise is not None:
            duration_ms, source = (precise - start_precise) * 1000.0, "precise"
        elif fine and start_fine:
            duration_ms, source = (timestamp - start_ts) * 1000.0, "log_millis"
        elif start_arrival is not None and arrival is not None:
            duration_ms, source = (arrival - start_arrival) * 1000.0, "arrival"
        else:
            duration_ms, source = (timestamp - start_ts) * 1000.0, "log_seconds"
        return (0.0 if duration_ms < 0.0 else duration_ms), source

    def _expire(self, now: float) -> None:
        """Drop starts older than the ttl (``now`` is the current line's log time)."""
        self._next_sweep = now + self._sweep_every
        cutoff = now - self.ttl_seconds
        stale = []
        for key, (started_at, _, _, _) in self._pending.items():
            if started_at >= cutoff:
                break  # entries are in start order (give or take out-of-order lines)
            stale.append(key)
        for key in stale:
            del self._pending[key]
        self.expired += len(stale)

    def _drop_oldest(self, count: int) -> None:
        """Drop ``count`` oldest starts at once (one scan, so the bound costs O(1) per line)."""
        victims = list(islice(self._pending, max(1, count)))
        for key in victims:
            del self._pending[key]
        self.expired += len(victims)
