"""Is each node still talking? Log file state, log silence, restarts (alerts and uptime).

Every ``interval`` seconds (10 s), per node, with ``now`` from the injected clock:

- **log_missing** (critical, at once): the follower (``logs.tail.FileFollower.log_state``,
  read through ``NodeIngest.log_state``) says the local log file is missing or unreadable;
  resolved when it can be read. The follower logs the transition once, naming the path.
- **node_silent** (warning): no line for longer than the node's own recent rate explains
  (``NodeIngest.line_activity``: every line read, learned per node;
  ``analytics.node_health.silence`` with SILENCE_ALERT_FLOOR_SECONDS and
  SILENCE_EXPECTED_LINES). Not raised while the file is missing (that alert says more), nor
  before the ingest has read the backlog (its last line would be an old one).
- **crash_loop** (warning): several starts within an hour (``alerts.health_rules``). Starts
  come from ``startup`` log records (bus ``records``, and the stored ones at start, so a
  restart of the monitor keeps them) and from the API's ``startedAt``
  (``NodeCoordinator.data.summary.started_at``). The newest start is the node's
  ``started_at``; ``uptime(node, now)`` feeds the node objects of the web API.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from storj_monitor.alerts.health_rules import (
    CRASH_LOOP_WINDOW_S,
    HEALTH_KINDS,
    RESTART_KINDS,
    crash_loop_condition,
    log_missing_condition,
    node_silent_condition,
    starts_of,
)
from storj_monitor.analytics.node_health import silence
from storj_monitor.model import AlertCondition, LogRecord, NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.coordinator import NodeCoordinator
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.services.periodic import PeriodicTask
from storj_monitor.settings import Settings
from storj_monitor.store.database import Store
from storj_monitor.store.restarts import startup_times

log = logging.getLogger(__name__)

EVALUATE_INTERVAL = 10.0  # seconds between passes (a missing file is an alert within it)
#: Start-up times kept per node (seconds back from the newest): enough for the crash-loop
#: window, and the newest start is always kept.
KEEP_STARTS_S = 2 * CRASH_LOOP_WINDOW_S
LOAD_STARTS_DAYS = 30.0  # how far back the stored start-up records are read at start


class NodeWatch:
    """Service; ``start``/``stop`` are idempotent, ``run_once(now)`` is one pass (tests)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: Bus,
        engine: AlertEngine,
        nodes: tuple[NodeSpec, ...] | list[NodeSpec],
        ingests: Mapping[str, NodeIngest],
        coordinators: Mapping[str, NodeCoordinator],
        *,
        clock: Callable[[], float],
        interval: float = EVALUATE_INTERVAL,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.engine = engine
        self.nodes = list(nodes)
        self.ingests = ingests
        self.coordinators = coordinators
        self.clock = clock
        self._startups: dict[str, list[float]] = {n.name: [] for n in self.nodes}
        self._unsubscribe: Callable[[], None] | None = None
        self._loaded = False
        self._periodic = PeriodicTask("node health", interval, self.run_once)

    async def start(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self.bus.subscribe("records", self._on_records)
        if not self._loaded:
            await self._load_starts()
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def _load_starts(self) -> None:
        since = self.clock() - LOAD_STARTS_DAYS * 86400.0
        for node in self.nodes:
            times = await self.store.read(
                functools.partial(startup_times, node_name=node.name, since=since)
            )
            self._add_starts(node.name, times)
        self._loaded = True

    # --- start-ups -------------------------------------------------------------------------
    def _on_records(self, node_name: str, records: list[LogRecord]) -> None:
        times = [r.timestamp for r in records if r.kind == "startup"]
        if times:
            self._add_starts(node_name, times)

    def _add_starts(self, node_name: str, times: list[float]) -> None:
        known = self._startups.setdefault(node_name, [])
        known.extend(t for t in times if t not in known)
        known.sort()
        newest = known[-1] if known else None
        if newest is not None:
            self._startups[node_name] = [t for t in known if t >= newest - KEEP_STARTS_S]

    def _api_started_at(self, node_name: str) -> float | None:
        coordinator = self.coordinators.get(node_name)
        data = coordinator.data if coordinator is not None else None
        return data.summary.started_at if data is not None else None

    def starts(self, node_name: str) -> list[float]:
        """Distinct starts (UTC unix seconds, oldest first) from the log and the API."""
        times = list(self._startups.get(node_name, ()))
        api = self._api_started_at(node_name)
        if api is not None:
            times.append(api)
        return starts_of(times)

    def uptime(self, node_name: str, now: float) -> dict[str, Any]:
        """``started_at`` (UTC unix seconds, the API's when it says, else the log's newest
        start) and ``uptime_seconds`` (None when unknown)."""
        started = self._api_started_at(node_name)
        if started is None:
            starts = self.starts(node_name)
            started = starts[-1] if starts else None
        uptime = max(now - started, 0.0) if started is not None else None
        return {"started_at": started, "uptime_seconds": uptime}

    # --- evaluation ------------------------------------------------------------------------
    async def run_once(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        for node in self.nodes:
            await self.evaluate_node(node.name, now)

    async def evaluate_node(self, node_name: str, now: float) -> None:
        s = self.settings
        conditions: list[AlertCondition] = []
        ingest = self.ingests.get(node_name)
        state = ingest.log_state if ingest is not None else None
        if state is not None:
            missing = log_missing_condition(
                node_name, state.state, state.path, state.error, state.since
            )
            if missing is not None:
                conditions.append(missing)
        # Silence only once the backlog is read: mid-way, the last line is an old one.
        if ingest is not None and ingest.caught_up and not conditions:
            last_at, rate = ingest.line_activity()
            quiet = silence(
                last_line_at=last_at, lines_per_minute=rate, now=now,
                floor_s=float(s.silence_alert_floor_seconds),
                expected_lines=float(s.silence_expected_lines),
            )  # fmt: skip
            silent = node_silent_condition(node_name, quiet, last_at or 0.0)
            if silent is not None:
                conditions.append(silent)
        await self.engine.evaluate(node_name, HEALTH_KINDS, conditions, now)
        loop = crash_loop_condition(node_name, self.starts(node_name), now)
        await self.engine.evaluate(node_name, RESTART_KINDS, [loop] if loop else [], now)
