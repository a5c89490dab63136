"""What request handlers, the WebSocket API and /metrics may use: :class:`ApiContext`.

It sits below ``app``, ``ws``, ``rest`` and ``metrics`` (all import it, it imports none of
them), which ends the old app ↔ ws/rest/metrics import circle. It wraps the monitor's typed
:class:`~storj_monitor.services.runtime.Runtime` (store, settings, clock, alert engine, node API
coordinators, ingests, thresholds) plus the web server's own parts (hub, live stats, GeoIP)
and request counters for /metrics.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from storj_monitor.geoip import GeoIP
from storj_monitor.model import iso_utc
from storj_monitor.services.hub import Hub
from storj_monitor.services.live_stats import LiveStats
from storj_monitor.services.metrics_feed import MetricsFeed
from storj_monitor.services.runtime import Runtime
from storj_monitor.store.fleet import log_identity
from storj_monitor.store.traffic import nodes_with_api
from storj_monitor.web.fleet import node_identity


class ApiContext:
    def __init__(self, runtime: Runtime, hub: Hub, live: LiveStats, geo: GeoIP) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.store = runtime.store
        self.clock = runtime.clock
        self.engine = runtime.engine
        self.node_names: list[str] = runtime.node_names
        self.hub = hub
        self.live = live
        self.geo = geo
        self.ws_connections = 0
        self.ws_messages = 0
        self.ws_errors = 0
        self.rest_requests = 0
        self.metrics_feed = MetricsFeed()  # attached to the bus by the web server (/metrics)

    def now_iso(self) -> str | None:
        return iso_utc(self.clock())

    async def identities(self, names: list[str]) -> dict[str, dict[str, Any] | None]:
        """``{node: identity}`` (web/fleet.node_identity): the node API's last reply, else the
        log's start-up and version lines; None when neither has been seen."""
        rows = await self.store.read(lambda conn: log_identity(conn, names))
        coordinators = self.runtime.coordinators
        return {n: node_identity(coordinators.get(n), rows.get(n)) for n in names}

    async def nodes_payload(self) -> list[dict[str, Any]]:
        """Every node with whether API data exists for it (now, or stored earlier)."""
        stored = await self.store.read(nodes_with_api)
        identities = await self.identities(self.node_names)
        out = []
        for node in self.runtime.nodes:
            coordinator = self.runtime.coordinators.get(node.name)
            live = coordinator is not None and coordinator.live
            out.append(
                {
                    "name": node.name,
                    "has_api": live or node.name in stored,
                    "api_live": live,
                    "api_url": coordinator.api_url if coordinator else node.api_url,
                    "last_api_success": iso_utc(coordinator.last_success if coordinator else None),
                    "remote_log": node.is_remote,
                    "identity": identities[node.name],
                    **self.node_health(node.name),
                }
            )
        return out

    def log_state(self, node_name: str) -> dict[str, Any] | None:
        """``{"state": "ok" | "missing" | "unreadable", "path", "error", "since"}`` of the
        node's local log file; None for a stream or forwarder source, or before the first
        look at the path."""
        ingest = self.runtime.ingests.get(node_name)
        state = ingest.log_state if ingest is not None else None
        if state is None:
            return None
        return {"state": state.state, "path": state.path, "error": state.error,
                "since": iso_utc(state.since)}  # fmt: skip

    def node_health(self, node_name: str) -> dict[str, Any]:
        """The node object's health fields: ``log_state``, ``started_at`` (ISO, the newest
        start from the API or the log's start-up lines) and ``uptime_seconds``."""
        health = self.runtime.health
        up = health.uptime(node_name, self.clock()) if health is not None else {}
        uptime = up.get("uptime_seconds")
        return {
            "log_state": self.log_state(node_name),
            "started_at": iso_utc(up.get("started_at")),
            "uptime_seconds": round(uptime) if uptime is not None else None,
        }


#: Where the application keeps its ApiContext.
CTX_KEY: web.AppKey[ApiContext] = web.AppKey("ctx", ApiContext)
