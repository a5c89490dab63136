"""What /metrics needs that nothing else keeps: monotonic counters and the last forecast.

:class:`MetricsFeed` subscribes to the bus (``events``, ``poll``) when the web server is built
(before the log sources start) and keeps operations per satellite, a latency histogram per
category and each node's last capacity forecast; ``web/node_metrics.py`` reads it at scrape
time.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from storj_monitor.model import Event, action_category
from storj_monitor.services.bus import Bus

if TYPE_CHECKING:
    from storj_monitor.services.poll_result import PollResult

#: Upper bounds (seconds) of the operation duration histogram's buckets.
LATENCY_BUCKETS_SECONDS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
)  # fmt: skip


class _Histogram:
    __slots__ = ("count", "counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * len(LATENCY_BUCKETS_SECONDS)  # per bucket, not cumulative
        self.count = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        i = bisect.bisect_left(LATENCY_BUCKETS_SECONDS, seconds)
        if i < len(self.counts):
            self.counts[i] += 1
        self.count += 1
        self.sum += seconds

    def buckets(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, n in zip(LATENCY_BUCKETS_SECONDS, self.counts, strict=True):
            running += n
            out.append((repr(bound), float(running)))
        out.append(("+Inf", float(self.count)))
        return out


class MetricsFeed:
    """Bus subscriber (``events``, ``poll``) keeping what /metrics cannot read elsewhere.

    ``operations``: (node, satellite, action, status) -> operations seen since start (of a
    backlog, the part the ingest publishes: its last hour). ``latency``: (node, category) ->
    histogram of the measured durations (s). ``forecasts``: node -> the last API poll's
    capacity forecast. Callbacks run on the loop thread and only add to dicts.
    """

    def __init__(self) -> None:
        self.operations: Counter[tuple[str, str, str, str]] = Counter()
        self.latency: dict[tuple[str, str], _Histogram] = {}
        self.forecasts: dict[str, dict[str, Any]] = {}
        self._unsubscribe: list[Callable[[], None]] = []

    def attach(self, bus: Bus) -> None:
        """Subscribe now (before the log sources start, so no batch is missed); idempotent."""
        if not self._unsubscribe:
            self._unsubscribe = [
                bus.subscribe("events", self.on_events),
                bus.subscribe("poll", self.on_poll),
            ]

    def detach(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def on_events(self, node_name: str, events: Sequence[Event]) -> None:
        ops = self.operations
        for e in events:
            ops[(node_name, e.satellite_id or "", e.action, e.status)] += 1
            if e.duration_ms is not None and e.duration_ms >= 0:
                key = (node_name, action_category(e.action))
                hist = self.latency.get(key)
                if hist is None:
                    hist = self.latency[key] = _Histogram()
                hist.observe(e.duration_ms / 1000.0)

    def on_poll(self, node_name: str, result: PollResult) -> None:
        if result.ok and result.forecast is not None:
            self.forecasts[node_name] = dict(result.forecast)
