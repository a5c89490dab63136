"""The web server: dashboard files, ``/ws``, ``/api/...``, ``/healthz`` and ``/metrics``.

:class:`WebServer` is one Monitor service (started last, stopped first), built from the
monitor's :class:`~storj_monitor.services.runtime.Runtime` (it never sees the Monitor). It owns
the hub of WebSocket clients, the live traffic statistics and the alert and storage-alert
broadcasts, because all of them exist only for connected clients. Port 0 binds an ephemeral
port; the bound one is logged and exposed as ``WebServer.port`` (``monitor.web.port``). The
port is taken by :meth:`WebServer.bind`, which the Monitor calls before it starts any service,
so a port in use stops the process before any log is read.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from storj_monitor.geoip import GeoIP
from storj_monitor.model import Alert
from storj_monitor.services.hub import Hub
from storj_monitor.services.live_stats import LiveStats
from storj_monitor.services.poll_result import PollResult
from storj_monitor.services.runtime import Runtime
from storj_monitor.store.alerts import alert_payload
from storj_monitor.web import rest, ws
from storj_monitor.web.auth import auth_middleware, exposure_warning
from storj_monitor.web.context import CTX_KEY, ApiContext
from storj_monitor.web.host_check import HostPolicy, host_middleware
from storj_monitor.web.listen import bind_sockets
from storj_monitor.web.metrics import make_registry, node_registry

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
REGISTRY_KEY: web.AppKey[CollectorRegistry] = web.AppKey("registry", CollectorRegistry)


async def _static(request: web.Request) -> web.StreamResponse:
    """Files of the dashboard; ``/`` is index.html. Paths never leave STATIC_DIR."""
    rel = request.match_info.get("path", "") or "index.html"
    root = STATIC_DIR.resolve()
    try:
        path = (root / rel).resolve()
        path.relative_to(root)
    except (ValueError, OSError):
        raise web.HTTPNotFound() from None
    if path.is_dir():
        path = path / "index.html"
    if not path.is_file():
        if rel == "index.html":
            return web.Response(
                text="<!doctype html><title>storj_monitor</title><p>storj_monitor is running; "
                "the dashboard files are not installed. See <a href='api/nodes'>api/nodes</a>.",
                content_type="text/html",
            )
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


async def _metrics(request: web.Request) -> web.Response:
    """Prometheus text. Runs on the loop thread: the collector reads in-memory state only
    (cheap), and that state is mutated on this thread, so no lock is needed."""
    registry: CollectorRegistry = request.app[REGISTRY_KEY]
    node = request.query.get("node")
    if node is not None:  # one node, without its node label (docs/metrics.md)
        if node not in request.app[CTX_KEY].node_names:
            raise web.HTTPNotFound(text=f"unknown node {node!r}: /metrics?node= takes a node name")
        registry = node_registry(registry, node)
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


def create_app(
    ctx: ApiContext, *, token: str = "", registry: CollectorRegistry | None = None
) -> web.Application:
    """The aiohttp application for one monitor (routes, Host/Origin check, auth, metrics
    registry). The Host check runs first, so a misdirected request learns nothing, not even
    whether a token is needed."""
    settings = ctx.settings
    policy = HostPolicy.build(str(settings.host), settings.allowed_hosts)
    middlewares: list[Middleware] = [host_middleware(policy)]
    if token:
        middlewares.append(auth_middleware(token))
    app = web.Application(middlewares=middlewares, client_max_size=64 * 1024)
    app[CTX_KEY] = ctx
    app[REGISTRY_KEY] = make_registry(ctx, registry)
    app.router.add_get("/ws", ws.websocket_handler)
    rest.add_routes(app)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/", _static)
    app.router.add_get("/{path:.+}", _static)
    return app


class WebServer:
    """The Monitor service serving the app on ``settings.host``:``settings.port``."""

    def __init__(self, runtime: Runtime, *, registry: CollectorRegistry | None = None):
        settings = runtime.settings
        self.settings = settings
        self.runtime = runtime
        self.registry = registry
        self.hub = Hub(settings.ws_client_queue_size)
        self.live = LiveStats(
            runtime.bus,
            self.hub,
            runtime.node_names,
            interval=settings.stats_push_interval,
            clock=runtime.clock,
        )
        self.live.attach()
        self.geo = GeoIP(settings.geoip_city_db)
        self.ctx = ApiContext(runtime, self.hub, self.live, self.geo)
        self.ctx.metrics_feed.attach(runtime.bus)
        self.port: int | None = None
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._sockets: list[socket.socket] = []  # bound by bind(), served by start()
        self._unsubscribe: list[Callable[[], None]] = []
        self._storage_alerts_sent: dict[str, list[dict[str, str]]] = {}

    async def bind(self) -> None:
        """Take the port (and check the address) before any other service starts, so a port
        in use or a wrong ``--host`` stops the monitor before it reads a single log line.
        Raises OSError with one clear line. Idempotent; :meth:`start` serves on the sockets."""
        if self._sockets or self._runner is not None:
            return
        self._sockets = bind_sockets(self.settings.host, self.settings.port)

    async def start(self) -> None:
        if self._runner is not None:
            return
        s = self.settings
        await self.bind()
        sockets, self._sockets = self._sockets, []
        warning = exposure_warning(s.host, s.auth_token)
        if warning:
            log.warning(warning)
            print(f"storj_monitor: {warning}", file=sys.stderr)
        app = create_app(self.ctx, token=s.auth_token, registry=self.registry)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=3.0)
        await runner.setup()
        try:
            for sock in sockets:
                await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            for sock in sockets:
                sock.close()
            raise
        self._runner = runner
        self.port = int(sockets[0].getsockname()[1])
        host = s.host if ":" not in s.host else f"[{s.host}]"
        self.url = f"http://{host}:{self.port}/"
        await self.live.start()
        self.ctx.metrics_feed.attach(self.runtime.bus)  # again after a stop (idempotent)
        bus = self.runtime.bus
        self._unsubscribe = [
            bus.subscribe("alert", self._on_alert),
            bus.subscribe("poll", self._on_poll),
        ]
        log.info("dashboard at %s (WebSocket /ws, REST /api, metrics /metrics)", self.url)

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        await self.live.stop()
        self.ctx.metrics_feed.detach()
        for sock in self._sockets:  # bound but never served (a later service failed)
            sock.close()
        self._sockets = []
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self.hub.stop()
        with contextlib.suppress(Exception):
            await runner.cleanup()
        self.geo.close()

    # --- broadcasts ------------------------------------------------------------------
    def _on_alert(self, alert: Alert, change: str) -> None:
        """Bus ``alert`` (new, updated, resolved, acknowledged): tell every client; the page
        filters by its view."""
        self.hub.broadcast({"type": "alert", "change": change, "alert": alert_payload(alert)})

    def _on_poll(self, node_name: str, result: PollResult) -> None:
        """Bus ``poll`` (published by each coordinator's recorder): the seed's
        ``storage_alerts`` when a node has storage alerts (and once more with an empty list
        when they clear)."""
        alerts = list(result.storage_alerts)
        if not result.ok:
            return
        previous = self._storage_alerts_sent.get(node_name)
        if not alerts and not previous:
            return
        self._storage_alerts_sent[node_name] = alerts
        self.hub.broadcast({"type": "storage_alerts", "node_name": node_name, "alerts": alerts})
