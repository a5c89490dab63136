"""The composition root: one Monitor wires the store, the per-node services and the server.

Each feature adds its service here in one place; ``start()`` brings everything up in
dependency order, ``stop()`` takes it down in reverse, bounded, idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from storj_monitor.model import NodeSpec
from storj_monitor.notify import Notifier
from storj_monitor.services.alert_engine import AlertEngine
from storj_monitor.services.bus import Bus
from storj_monitor.services.disk_views import DiskViews
from storj_monitor.services.earnings_recorder import build_recorders
from storj_monitor.services.ingest import NodeIngest
from storj_monitor.services.latency_watch import LatencyWatch
from storj_monitor.services.log_watch import LogWatch
from storj_monitor.services.maintenance import Maintenance
from storj_monitor.services.maintenance_watch import MaintenanceWatch
from storj_monitor.services.node_watch import NodeWatch
from storj_monitor.services.pollers import Pollers
from storj_monitor.services.runtime import Runtime
from storj_monitor.settings import Settings
from storj_monitor.store.database import Store
from storj_monitor.thresholds import thresholds_from

if TYPE_CHECKING:
    from storj_monitor.web.app import WebServer

log = logging.getLogger(__name__)


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class Monitor:
    """Everything one ``storj_monitor --node ...`` process runs.

    ``clock`` returns UTC unix seconds; tests inject their own. ``runtime`` (the typed parts
    the web layer and /metrics read) and ``web`` exist once ``start()`` has built them.
    """

    def __init__(
        self,
        settings: Settings,
        nodes: list[NodeSpec],
        *,
        clock: Callable[[], float] = time.time,
        serve: bool = True,
    ) -> None:
        self.settings = settings
        self.nodes = nodes
        self.clock = clock
        self.serve = serve
        self.bus = Bus()
        self.store = Store(settings.db_path)
        self.services: list[Service] = []
        self._started = False
        self.runtime: Runtime | None = None
        self.web: WebServer | None = None

    def _build_services(self) -> list[Service]:
        """Create every service in start order, and the Runtime. Features register here."""
        services: list[Service] = []
        settings, store, bus, clock = self.settings, self.store, self.bus, self.clock
        # Alerts core, notifications. Built first so the log watch hears the first lines.
        engine = AlertEngine(settings, store, bus, clock=clock)
        services.append(engine)
        services.append(Notifier(settings, store, bus, clock=clock, open_alerts=engine.open_alerts))
        # Node API: one coordinator per node (fetch only) and its recorder (rows, alerts).
        pollers = Pollers(settings, store, bus, engine, self.nodes, clock=clock)
        # Log-derived storage/reputation/audit alerts; API-covered nodes are skipped.
        allocations = {n.name: n.allocation for n in self.nodes if n.allocation}
        services.append(
            LogWatch(
                settings, store, bus, engine, clock=clock, api_state=pollers.api_state,
                allocations=allocations,
            )
        )  # fmt: skip
        # Log ingest: one pipeline per node.
        ingests = {
            node.name: NodeIngest(settings, store, bus, node, clock=clock) for node in self.nodes
        }
        services.extend(ingests.values())
        # Retention of raw events and log records; latency alerts and rollup retention.
        services.append(Maintenance(settings, store, clock=clock))
        services.append(LatencyWatch(settings, store, engine, self.nodes, clock=clock))
        # Filewalker/GC/trash/compaction runs and their alerts; the three views of each disk
        # (its listeners are added before the coordinators start polling).
        maintenance = MaintenanceWatch(store, engine, self.nodes, clock=clock)
        services.append(maintenance)
        disks = DiskViews(
            store, self.nodes, pollers.coordinators, clock=clock,
            interval=float(settings.node_api_poll_interval),
        )  # fmt: skip
        services.append(disks)
        services.append(pollers)
        # Missing/unreadable log files, silent logs, restarts (after ingest and the API).
        health = NodeWatch(settings, store, bus, engine, self.nodes, ingests,
                           pollers.coordinators, clock=clock)  # fmt: skip
        services.append(health)
        # Money: payout history import and this month's figures, a listener per coordinator.
        earnings = build_recorders(store, pollers.coordinators, clock=clock)
        self.runtime = Runtime(
            settings=settings,
            store=store,
            bus=bus,
            engine=engine,
            nodes=tuple(self.nodes),
            coordinators=MappingProxyType(pollers.coordinators),
            ingests=MappingProxyType(ingests),
            thresholds=thresholds_from(settings),
            clock=clock,
            health=health,
            earnings=MappingProxyType(earnings),
            maintenance=maintenance,
            disks=disks,
        )
        # The web server (dashboard, /ws, /api, /metrics): keep it LAST, so it starts after
        # everything it serves and stops first.
        if self.serve:
            from storj_monitor.web.app import WebServer

            self.web = WebServer(self.runtime)
            services.append(self.web)
        return services

    async def start(self) -> None:
        if self._started:
            return
        self.store.open()
        self.services = self._build_services()
        self._started = True
        try:
            if self.web is not None:  # take the port before any log is read
                await self.web.bind()
            for service in self.services:
                await service.start()
        except BaseException:  # e.g. the port is taken: undo what started, then report
            await self.stop()
            raise
        log.info(
            "monitoring %d node(s): %s; database %s",
            len(self.nodes),
            ", ".join(n.name for n in self.nodes),
            self.settings.db_path,
        )

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        for service in reversed(self.services):
            try:
                await asyncio.wait_for(service.stop(), timeout=10)
            except Exception:
                log.exception("stopping %s failed", type(service).__name__)
        self.services = []
        await asyncio.get_running_loop().run_in_executor(None, self.store.close)

    async def run_forever(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await self.start()
        try:
            await stop.wait()
        finally:
            log.info("shutting down")
            await self.stop()
