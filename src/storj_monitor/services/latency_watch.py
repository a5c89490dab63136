"""Evaluates latency alerts every minute and keeps the rollup tables bounded.

Each pass, per node: the last hour's statistics -> ``alerts.latency_rules`` (warning /
critical p99), the last 15 minutes against the 7-day hourly p95 baseline ->
``analytics.anomaly`` (info "latency spike"); both reconciled through the alert engine, so an
alert opens once, updates while true and resolves when the latency is back. Once an hour it
deletes rollup rows older than ROLLUP_MINUTE_RETENTION_DAYS / ROLLUP_HOUR_RETENTION_DAYS.

The baseline (168 hourly p95s per category) changes once an hour, so it is cached per node
and hour. A failing pass is logged once (transition) and retried next minute.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

from storj_monitor.alerts.latency_rules import LATENCY_KINDS, latency_conditions
from storj_monitor.analytics.anomaly import SPIKE_KINDS, spike_conditions
from storj_monitor.model import NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.periodic import PeriodicTask
from storj_monitor.settings import Settings
from storj_monitor.store import latency_queries as lq
from storj_monitor.store.database import Store
from storj_monitor.store.rollup_queries import compact_rollups

log = logging.getLogger(__name__)

EVALUATE_INTERVAL = 60.0  # seconds between passes
COMPACT_INTERVAL = 3600.0  # seconds between rollup retention passes
RECENT_HOURS = 0.25  # the spike detector's recent window (15 minutes)
BASELINE_DAYS = 7.0


class LatencyWatch:
    """Latency alerts and rollup retention for the configured nodes.

    ``alert_engine`` needs ``async evaluate(node_name, scope, conditions, now)``;
    ``clock`` returns UTC unix seconds. ``start``/``stop`` are idempotent.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        alert_engine: AlertEngine,
        nodes: Sequence[NodeSpec | str],
        *,
        clock: Callable[[], float],
        interval: float = EVALUATE_INTERVAL,
        compact_interval: float = COMPACT_INTERVAL,
    ) -> None:
        self.settings = settings
        self.store = store
        self.alert_engine = alert_engine
        self.node_names = [n if isinstance(n, str) else n.name for n in nodes]
        self.clock = clock
        self.interval = interval
        self.compact_interval = compact_interval
        self.passes = 0
        self._baseline: dict[str, tuple[float, dict[str, list[float]]]] = {}
        self._last_compact: float | None = None
        self._periodic = PeriodicTask("latency evaluation", interval, self.run_once)

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def run_once(self, now: float | None = None) -> None:
        """One pass over every node (alerts), and retention when it is due."""
        now = self.clock() if now is None else now
        for node in self.node_names:
            await self.evaluate_node(node, now)
        if self._last_compact is None or now - self._last_compact >= self.compact_interval:
            await self.compact(now)
        self.passes += 1

    async def evaluate_node(self, node: str, now: float) -> None:
        s = self.settings
        hour = await self.store.read(
            lambda c: lq.get_latency_stats(c, [node], 1.0, now, slow_threshold_ms=0, slow_limit=0)
        )
        conditions = latency_conditions(
            node,
            hour["statistics"],
            warning_ms=float(s.latency_warning_ms),
            critical_ms=float(s.latency_critical_ms),
            hysteresis_ms=float(s.latency_hysteresis_ms),
        )
        await self.alert_engine.evaluate(node, LATENCY_KINDS, conditions, now)

        recent = await self.store.read(
            lambda c: lq.get_latency_stats(
                c, [node], RECENT_HOURS, now, slow_threshold_ms=0, slow_limit=0
            )
        )
        baseline = await self._baseline_for(node, now)
        spikes = spike_conditions(
            node, recent["statistics"], baseline, z_threshold=float(s.latency_spike_z_score)
        )
        await self.alert_engine.evaluate(node, SPIKE_KINDS, spikes, now)

    async def _baseline_for(self, node: str, now: float) -> dict[str, list[float]]:
        """Hourly p95s of the last 7 whole hours-aligned days, cached until the hour turns."""
        hour_start = math.floor(now / 3600.0) * 3600.0
        cached = self._baseline.get(node)
        if cached is not None and cached[0] == hour_start:
            return cached[1]
        start = hour_start - BASELINE_DAYS * 86400.0
        baseline = await self.store.read(
            lambda c: lq.hourly_percentiles(c, [node], start, hour_start, 0.95)
        )
        self._baseline[node] = (hour_start, baseline)
        return baseline

    async def compact(self, now: float) -> tuple[int, int]:
        s = self.settings
        deleted = await self.store.write(
            lambda c: compact_rollups(
                c,
                now,
                float(s.rollup_minute_retention_days),
                float(s.rollup_hour_retention_days),
            )
        )
        self._last_compact = now
        if deleted[0] or deleted[1]:
            log.info("rollup retention: deleted %d minute and %d hour rows", *deleted)
        return deleted


__all__ = ["LatencyWatch"]
