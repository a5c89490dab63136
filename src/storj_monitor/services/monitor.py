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
from typing import Any, Protocol

from storj_monitor.model import NodeSpec
from storj_monitor.services.bus import Bus
from storj_monitor.settings import Settings
from storj_monitor.store.database import Store

log = logging.getLogger(__name__)


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class Monitor:
    """Everything one ``storj_monitor --node ...`` process runs.

    ``clock`` returns UTC unix seconds; tests inject their own.
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
        self.state: dict[str, Any] = {}  # shared read-mostly state (e.g. api availability)
        self._started = False
        self.web: Any = None  # the web server service, once started (has .port)
        self.alert_engine: Any = None  # alerts.engine.AlertEngine, once built
        self.pollers: Any = None  # services.pollers.Pollers (node API), once built

    def _build_services(self) -> list[Service]:
        """Create every service in start order. Features register themselves here."""
        services: list[Service] = []
        # Alerts core, notifications, log-derived storage/reputation/audit alerts (issue 3).
        # Built before ingest so the log watch hears the first lines.
        from storj_monitor.alerts.engine import AlertEngine
        from storj_monitor.notify import Notifier
        from storj_monitor.services.log_watch import LogWatch
        from storj_monitor.services.pollers import Pollers

        engine = AlertEngine(self.settings, self.store, self.bus, clock=self.clock)
        self.alert_engine = engine
        self.pollers = Pollers(
            self.settings, self.store, self.bus, engine, self.nodes, clock=self.clock
        )
        services.append(engine)
        services.append(
            Notifier(
                self.settings,
                self.store,
                self.bus,
                clock=self.clock,
                open_alerts=engine.open_alerts,
            )
        )
        services.append(
            LogWatch(
                self.settings, self.store, self.bus, engine,
                clock=self.clock, api_state=self.pollers.api_state,
            )
        )  # fmt: skip
        # Log ingest: one pipeline per node (issue: core pipeline).
        from storj_monitor.services.ingest import NodeIngest

        for node in self.nodes:
            services.append(NodeIngest(self.settings, self.store, self.bus, node, clock=self.clock))
        # Retention of raw events and log records.
        from storj_monitor.services.maintenance import Maintenance

        services.append(Maintenance(self.settings, self.store, clock=self.clock))
        # Latency alerts (p99, spikes) every minute and rollup retention (issue 4).
        from storj_monitor.services.latency_watch import LatencyWatch

        services.append(
            LatencyWatch(self.settings, self.store, engine, self.nodes, clock=self.clock)
        )
        # Node API pollers: storage snapshots, reputation, payout (issue 3).
        services.append(self.pollers)
        # The web server (dashboard, /ws, /api, /metrics): keep it LAST, so it starts after
        # everything it serves and stops first.
        if self.serve:
            from storj_monitor.web.app import WebServer

            services.append(WebServer(self.settings, self))
        return services

    async def start(self) -> None:
        if self._started:
            return
        self.store.open()
        self.services = self._build_services()
        self._started = True
        try:
            for service in self.services:  # take the port before any log is read
                bind = getattr(service, "bind", None)
                if bind is not None:
                    await bind()
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
