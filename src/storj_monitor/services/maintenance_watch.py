"""Background jobs of each node (filewalkers, garbage collection, trash, hashstore compaction):
runs from the stored log records, their alerts, and the state /metrics reads.

Every ``interval`` seconds (and on demand, :meth:`MaintenanceWatch.run_once`) it reads the last
``window_days`` of each node's job records (``store.maintenance_runs``), pairs them into runs
(``analytics.maintenance``) and reconciles the ``maintenance_overdue`` / ``maintenance_failed``
alerts (``analytics.maintenance_status``) at the injected clock's ``now``. The runs it found
last stay in :attr:`runs` (and satellite names in :attr:`names`) for the metrics collector
(read at scrape time, no I/O there).
Retention of raw data is :mod:`services.maintenance`, a different thing despite the name.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence

from storj_monitor.analytics.maintenance import MaintenanceRun, runs_from_records
from storj_monitor.analytics.maintenance_status import MAINTENANCE_KINDS, maintenance_conditions
from storj_monitor.model import NodeSpec
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.periodic import PeriodicTask
from storj_monitor.store import maintenance_runs as q
from storj_monitor.store.database import Store

log = logging.getLogger(__name__)

DAY = 86400.0
#: How far back runs are read (days): long enough for a few runs of the weekly jobs.
WINDOW_DAYS = 14.0
#: Seconds between passes; a filewalker runs for minutes to days, so a minute is plenty.
INTERVAL = 60.0
#: A run is overdue after this many times its job's median completed duration.
OVERDUE_FACTOR = 3.0


async def node_runs(
    store: Store, node_name: str, now: float, window_days: float = WINDOW_DAYS
) -> tuple[list[MaintenanceRun], dict[str, str]]:
    """The node's runs of the last ``window_days`` and its satellite names."""

    def read(conn: sqlite3.Connection) -> tuple[list[MaintenanceRun], dict[str, str]]:
        records = q.maintenance_records(conn, node_name, now - window_days * DAY, now)
        return runs_from_records(records), q.satellite_names(conn, node_name)

    return await store.read(read)


class MaintenanceWatch:
    """Service: per-node runs for /metrics, overdue and failed-run alerts."""

    def __init__(
        self,
        store: Store,
        engine: AlertEngine | None,
        nodes: Sequence[NodeSpec],
        *,
        clock: Callable[[], float] = time.time,
        interval: float = INTERVAL,
        window_days: float = WINDOW_DAYS,
    ) -> None:
        self.store = store
        self.engine = engine
        self.node_names = [n.name for n in nodes]
        self.clock = clock
        self.window_days = window_days
        self.runs: dict[str, list[MaintenanceRun]] = {}
        self.names: dict[str, dict[str, str]] = {}
        self.evaluated_at: float | None = None
        self._periodic = PeriodicTask("maintenance-watch", interval, self.run_once)

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def run_once(self) -> None:
        now = self.clock()
        for name in self.node_names:
            runs, names = await node_runs(self.store, name, now, self.window_days)
            self.runs[name] = runs
            self.names[name] = names
            if self.engine is not None:
                conditions = maintenance_conditions(name, runs, now, names, factor=OVERDUE_FACTOR)
                await self.engine.evaluate(name, MAINTENANCE_KINDS, conditions, now)
        self.evaluated_at = now
