"""How many lines a node's log writes a minute, learned from what was read (pure).

Lines are counted in per-minute buckets by the time they belong to: the arrival time (UTC
unix seconds) of lines read live; a backlog chunk's lines are spread evenly over the log times
of the events and records parsed from it (one read may hold an hour of history). The rate
is measured over the ``window_s`` that *ends at the last line*, so it stays what it was while
the log is silent (a rate measured up to "now" would decay during the gap and end the alert
it should keep open). Until ``min_span_s`` of log has been seen there is no rate (0), and
``analytics.node_health.silence`` never calls a node silent without one.
"""

from __future__ import annotations

from collections.abc import Sequence

from storj_monitor.analytics.node_health import learned_rate

WINDOW_S = 3600.0
MIN_SPAN_S = 600.0


class LineRate:
    """Per-minute line counts of one node; not thread-safe (the caller holds a lock)."""

    __slots__ = ("_buckets", "first_at", "last_at", "min_span_s", "window_s")

    def __init__(self, window_s: float = WINDOW_S, min_span_s: float = MIN_SPAN_S) -> None:
        self.window_s = window_s
        self.min_span_s = min_span_s
        self._buckets: dict[int, float] = {}
        self.first_at: float | None = None  # UTC unix seconds of the first line counted
        self.last_at: float | None = None  # ... and of the newest one

    def add(self, at: float, lines: int) -> None:
        """Count ``lines`` lines at ``at`` (UTC unix seconds)."""
        if lines <= 0:
            return
        self.spread([at], lines)

    def spread(self, times: Sequence[float], lines: int) -> None:
        """Count ``lines`` lines spread evenly over ``times`` (UTC unix seconds, any order)."""
        if lines <= 0 or not times:
            return
        per = lines / len(times)
        for t in times:
            minute = int(t // 60)
            self._buckets[minute] = self._buckets.get(minute, 0.0) + per
        lo, hi = min(times), max(times)
        self.first_at = lo if self.first_at is None else min(self.first_at, lo)
        self.last_at = hi if self.last_at is None else max(self.last_at, hi)
        if len(self._buckets) > self.window_s / 60 + 2:
            oldest = int((self.last_at - self.window_s) // 60)
            for m in [m for m in self._buckets if m < oldest]:
                del self._buckets[m]

    def per_minute(self) -> float:
        """Lines per minute over the window ending at the last line (0: not learned yet)."""
        if self.last_at is None or self.first_at is None:
            return 0.0
        span = min(self.window_s, self.last_at - self.first_at)
        if span < self.min_span_s:
            return 0.0
        start = int((self.last_at - span) // 60)
        lines = sum(n for m, n in self._buckets.items() if m >= start)
        return learned_rate(round(lines), span)
