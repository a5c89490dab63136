"""Live traffic for the dashboard: the last few minutes of piece operations, pushed every tick.

Fed by the bus topic ``events`` (never by polling the database). Each node keeps per-second
buckets of ``(satellite, action, status, error category) -> [count, bytes]`` for the last
:data:`LIVE_WINDOW_SECONDS`, plus running totals over that window (added on arrival,
subtracted on expiry), so a tick costs a merge of a few dozen keys per view, whatever the
event rate. Every ``STATS_PUSH_INTERVAL`` seconds one ``stats_update`` is computed per
distinct view and queued (encoded once) for the clients on that view: a burst of 5,000
events/s still costs one message per client per tick.

Series points are per second; a second is sent once it is :data:`SETTLE_SECONDS` old (lines
of that second have arrived by then). A client that (re)selects a view first gets a ``full``
message holding every point of the window; later messages hold only the new points. A point
replaces any earlier point with the same timestamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from storj_monitor.analytics.traffic import summarize_traffic, traffic_series
from storj_monitor.model import EGRESS_ACTIONS, INGRESS_ACTIONS, Event, iso_utc
from storj_monitor.services.bus import Bus
from storj_monitor.services.hub import Client, Hub
from storj_monitor.services.transitions import FailureLog

log = logging.getLogger(__name__)

LIVE_WINDOW_SECONDS = 300
RATE_WINDOW_SECONDS = 60
SETTLE_SECONDS = 2

Key = tuple[str, str, str, str]  # satellite_id, action, status, error_category


class _NodeWindow:
    """Per-second buckets and window totals of one node."""

    __slots__ = ("buckets", "last_event", "received", "totals")

    def __init__(self) -> None:
        self.buckets: dict[int, dict[Key, list[int]]] = {}
        self.totals: dict[Key, list[int]] = {}
        self.received = 0
        self.last_event: float | None = None

    def add(self, events: Iterable[Event], oldest: int, newest: int) -> None:
        buckets, totals = self.buckets, self.totals
        for e in events:
            self.received += 1
            sec = int(e.timestamp)
            if sec < oldest:
                continue
            if sec > newest:
                sec = newest  # clock skew: a line from the future counts as now
            if self.last_event is None or e.timestamp > self.last_event:
                self.last_event = e.timestamp
            key = (e.satellite_id or "", e.action, e.status, e.error_category or "")
            size = e.size or 0
            bucket = buckets.get(sec)
            if bucket is None:
                bucket = buckets[sec] = {}
            acc = bucket.get(key)
            if acc is None:
                bucket[key] = [1, size]
            else:
                acc[0] += 1
                acc[1] += size
            tot = totals.get(key)
            if tot is None:
                totals[key] = [1, size]
            else:
                tot[0] += 1
                tot[1] += size

    def expire(self, oldest: int) -> None:
        for sec in [s for s in self.buckets if s < oldest]:
            for key, (n, b) in self.buckets.pop(sec).items():
                tot = self.totals[key]
                tot[0] -= n
                tot[1] -= b
                if tot[0] <= 0:
                    del self.totals[key]


class LiveStats:
    """Keeps the live window of every node and pushes ``stats_update`` through the hub.

    ``clock`` returns UTC unix seconds (tests inject their own); ``interval`` is the push
    period in seconds. ``live_counts`` (node, action, status) -> operations seen since start
    feeds /metrics.
    """

    def __init__(
        self,
        bus: Bus,
        hub: Hub,
        node_names: Sequence[str],
        *,
        interval: float = 2.0,
        clock: Callable[[], float] = time.time,
        window: int = LIVE_WINDOW_SECONDS,
    ) -> None:
        self.bus = bus
        self.hub = hub
        self.node_names = list(node_names)
        self.interval = interval
        self.clock = clock
        self.window = window
        self.nodes: dict[str, _NodeWindow] = {n: _NodeWindow() for n in node_names}
        self.live_counts: Counter[tuple[str, str, str]] = Counter()
        self.ticks = 0
        self._last_point: dict[tuple[str, ...], int] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------
    def attach(self) -> None:
        """Subscribe to the bus now (before the log sources start, so no batch is missed)."""
        if self._unsubscribe is None:
            self._unsubscribe = self.bus.subscribe("events", self.on_events)

    async def start(self) -> None:
        if self._task is not None:
            return
        self.attach()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="live-stats")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        failures = FailureLog(log, "live stats tick")
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.tick()
            except Exception as exc:
                failures.failed(exc)
            else:
                failures.ok()

    # --- input -----------------------------------------------------------------------
    def on_events(self, node_name: str, events: Sequence[Event]) -> None:
        """Bus callback: count a batch of events of one node (cheap, on the loop thread)."""
        window = self.nodes.get(node_name)
        if window is None:
            window = self.nodes[node_name] = _NodeWindow()
        now = int(self.clock())
        window.add(events, now - self.window + 1, now)
        counts = self.live_counts
        for e in events:
            counts[(node_name, e.action, e.status)] += 1

    # --- output ----------------------------------------------------------------------
    def tick(self, now: float | None = None) -> int:
        """Expire old seconds and queue one ``stats_update`` per view; returns messages queued."""
        now = self.clock() if now is None else now
        self.ticks += 1
        oldest = int(now) - self.window + 1
        for w in self.nodes.values():
            w.expire(oldest)
        queued = 0
        groups = self.hub.by_view()
        for key, clients in groups.items():
            first = clients[0]
            since = self._last_point.get(key)
            message = self.snapshot(first.view, first.view_label, now=now, since=since)
            self._last_point[key] = int(now) - SETTLE_SECONDS
            queued += self.hub.broadcast(message, clients)
        for key in [k for k in self._last_point if k not in groups]:
            del self._last_point[key]
        return queued

    def full_message(self, client: Client, now: float | None = None) -> dict[str, Any]:
        """A ``full`` stats_update (every point of the window) for a client that just chose its
        view; the next ticks of that view then carry only newer points."""
        now = self.clock() if now is None else now
        self._last_point.setdefault(client.view_key, int(now) - SETTLE_SECONDS)
        return self.snapshot(client.view, client.view_label, now=now)

    def send_full(self, client: Client, now: float | None = None) -> bool:
        """Queue :meth:`full_message` for one client."""
        return self.hub.send(client, self.full_message(client, now))

    def snapshot(
        self,
        node_names: Sequence[str],
        label: Sequence[str],
        *,
        now: float,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The ``stats_update`` of a view; points after second ``since`` (all when None)."""
        now_sec = int(now)
        oldest = now_sec - self.window + 1
        last_point = now_sec - SETTLE_SECONDS
        first_point = oldest if since is None else max(since + 1, oldest)
        totals: dict[Key, list[int]] = {}
        series_rows: list[tuple[int, str, str, int, int]] = []
        rate_ops = rate_in = rate_out = 0
        received = 0
        last_event: float | None = None
        rate_from = now_sec - RATE_WINDOW_SECONDS + 1
        for name in node_names:
            w = self.nodes.get(name)
            if w is None:
                continue
            received += w.received
            if w.last_event is not None and (last_event is None or w.last_event > last_event):
                last_event = w.last_event
            for key, (n, b) in w.totals.items():
                acc = totals.get(key)
                if acc is None:
                    totals[key] = [n, b]
                else:
                    acc[0] += n
                    acc[1] += b
            for sec, bucket in w.buckets.items():
                in_series = first_point <= sec <= last_point
                if sec < rate_from and not in_series:
                    continue
                for (_sat, action, status, _err), (n, b) in bucket.items():
                    if in_series:
                        series_rows.append((sec, action, status, n, b))
                    if sec >= rate_from:
                        rate_ops += n
                        if status == "success":
                            if action in EGRESS_ACTIONS:
                                rate_out += b
                            elif action in INGRESS_ACTIONS:
                                rate_in += b
        rows = [(s, a, st, e, n, b) for (s, a, st, e), (n, b) in totals.items()]
        message: dict[str, Any] = {
            "type": "stats_update",
            "view": list(label),
            "nodes": list(node_names),
            "timestamp": iso_utc(now),
            "window_seconds": self.window,
            "full": since is None,
            "received": received,
            "last_event": iso_utc(last_event),
            **summarize_traffic(rows),
            "rates": {
                "window_seconds": RATE_WINDOW_SECONDS,
                "ops_per_second": round(rate_ops / RATE_WINDOW_SECONDS, 3),
                "ingress_bytes_per_second": round(rate_in / RATE_WINDOW_SECONDS, 1),
                "egress_bytes_per_second": round(rate_out / RATE_WINDOW_SECONDS, 1),
            },
        }
        points = (
            traffic_series(series_rows, start=first_point, end=last_point, step=1)
            if first_point <= last_point
            else []
        )
        message["series"] = {"step_seconds": 1, "points": points}
        return message
