"""The WebSocket API of the seed: one handler per request type, in a table filled by a decorator.

Each entry says the request ``type``, the response ``type`` and the parameter schema
(:mod:`storj_monitor.web.params`); the REST API (:mod:`storj_monitor.web.rest`) calls the same
handlers, so both validate and answer alike. A bad frame (binary, malformed JSON, not an
object, too large, unknown type, bad parameter) or a failing handler becomes
``{"type": "error", "message": ...}`` and the socket stays open.

Responses echo the request's ``id`` when it has one, so a client can match them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSCloseCode, WSMsgType, web

from storj_monitor import __version__
from storj_monitor.model import SEVERITY_RANK
from storj_monitor.services.hub import Client, encode
from storj_monitor.store import alerts as alerts_q
from storj_monitor.store import latency_queries, snapshots
from storj_monitor.store.traffic import get_geo_stats, get_traffic_stats
from storj_monitor.web import presentation
from storj_monitor.web.context import CTX_KEY, ApiContext
from storj_monitor.web.disk_payload import add_disk_fields
from storj_monitor.web.params import (
    ALERT_ID,
    BUCKET_SIZE_MS,
    DAYS,
    FROM_DATE,
    HOURS,
    LIMIT,
    NODE_NAME,
    TO_DATE,
    VIEW,
    Param,
    ParamError,
    day_range,
    validate,
    view_param,
)

log = logging.getLogger(__name__)

#: Text frames longer than this are answered with an error (the socket stays open).
MAX_MESSAGE_BYTES = 64 * 1024
#: Frames beyond this are refused by aiohttp itself (the connection is closed).
MAX_FRAME_BYTES = 4 * 1024 * 1024
#: Requests of one client waiting to be handled; more are answered with an error.
MAX_PENDING_REQUESTS = 32
HEARTBEAT_SECONDS = 30.0

__all__ = ["CTX_KEY", "HANDLERS", "call", "init_message", "websocket_handler"]

#: Settings the dashboard needs (the push period, defaults); its colours come from the
#: ``thresholds`` table, which is also sent.
UI_SETTINGS = (
    "storage_warning_percent",
    "storage_critical_percent",
    "storage_forecast_warning_days",
    "storage_forecast_critical_days",
    "latency_warning_ms",
    "latency_critical_ms",
    "latency_histogram_bucket_ms",
    "slow_operations_limit",
    "audit_score_warning",
    "audit_score_critical",
    "suspension_score_warning",
    "suspension_score_critical",
    "online_score_warning",
    "online_score_critical",
    "node_api_poll_interval",
    "stats_push_interval",
    "events_retention_days",
    "events_detail_hours",
)

HandlerFn = Callable[[ApiContext, dict[str, Any], Client | None], Awaitable[dict[str, Any]]]


class UnavailableError(RuntimeError):
    """The data behind a request is not available (feature missing or not started)."""


@dataclass(frozen=True, slots=True)
class Handler:
    type: str
    response: str
    params: tuple[Param, ...]
    fn: HandlerFn
    ws_only: bool = False


HANDLERS: dict[str, Handler] = {}


def handler(
    type_: str, response: str, params: Sequence[Param] = (), *, ws_only: bool = False
) -> Callable[[HandlerFn], HandlerFn]:
    """Register ``fn`` as the handler of request ``type_`` answered by ``response``."""

    def register(fn: HandlerFn) -> HandlerFn:
        HANDLERS[type_] = Handler(type_, response, tuple(params), fn, ws_only)
        return fn

    return register


async def call(
    ctx: ApiContext, type_: str, message: dict[str, Any], client: Client | None = None
) -> dict[str, Any]:
    """Validate ``message`` for request ``type_`` and run its handler; the response object.

    Raises ParamError (bad request), UnavailableError, or whatever the handler raised.
    """
    h = HANDLERS.get(type_)
    if h is None or (client is None and h.ws_only):
        raise ParamError(f"unknown message type {type_!r}")
    params = validate(h.params, message, ctx.node_names)
    body = await h.fn(ctx, params, client)
    return {"type": h.response, **body}


# --- handlers ----------------------------------------------------------------------------


@handler("set_view", "stats_update", (view_param(required=True),), ws_only=True)
async def _set_view(ctx: ApiContext, p: dict[str, Any], client: Client | None) -> dict[str, Any]:
    assert client is not None
    client.view = p["view"]
    client.view_label = p["view_label"]
    snap = ctx.live.full_message(client, ctx.clock())
    snap.pop("type")
    return snap


@handler("get_latency_stats", "latency_stats", (VIEW, HOURS))
async def _latency_stats(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    fn = latency_queries.get_latency_stats
    s, now = ctx.settings, ctx.clock()
    data = await ctx.store.read(
        lambda conn: fn(
            conn,
            p["view"],
            p["hours"],
            now,
            slow_threshold_ms=s.latency_warning_ms,
            slow_limit=s.slow_operations_limit,
        )
    )
    return {"view": p["view_label"], "hours": p["hours"], "data": data}


@handler("get_latency_histogram", "latency_histogram", (VIEW, HOURS, BUCKET_SIZE_MS))
async def _latency_histogram(
    ctx: ApiContext, p: dict[str, Any], _c: Client | None
) -> dict[str, Any]:
    fn = latency_queries.get_latency_histogram
    bucket = p["bucket_size_ms"] or ctx.settings.latency_histogram_bucket_ms
    now = ctx.clock()
    data = await ctx.store.read(lambda conn: fn(conn, p["view"], p["hours"], bucket, now))
    return {"view": p["view_label"], "hours": p["hours"], "bucket_size_ms": bucket, "data": data}


@handler("get_storage_data", "storage_data", (VIEW,))
async def _storage_data(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    fn = snapshots.get_storage_data
    now, cache = ctx.clock(), ctx.runtime.forecasts
    data = await ctx.store.read(lambda conn: fn(conn, p["view"], now, ctx.settings, cache))
    return {"view": p["view_label"], "data": add_disk_fields(ctx.runtime, data)}


@handler("get_storage_history", "storage_history", (NODE_NAME, DAYS))
async def _storage_history(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    fn = snapshots.get_storage_history
    now, cache = ctx.clock(), ctx.runtime.forecasts
    node, days = p["node_name"], p["days"]
    data = await ctx.store.read(lambda conn: fn(conn, node, days, now, ctx.settings, cache))
    return {"node_name": p["node_name"], "days": p["days"], "data": data}


@handler("get_reputation_data", "reputation_data", (VIEW,))
async def _reputation_data(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    rows = await ctx.store.read(lambda conn: snapshots.reputation_rows(conn, p["view"]))
    data = presentation.reputation_payload(
        rows,
        ctx.runtime.thresholds,
        ctx.clock(),
        stale_after=presentation.reputation_stale_after(ctx.settings),
    )
    return {"view": p["view_label"], "data": data}


@handler("get_active_alerts", "active_alerts", (VIEW,))
async def _active_alerts(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    fn = alerts_q.active_alerts
    data = await ctx.store.read(lambda conn: fn(conn, p["view"]))
    return {"view": p["view_label"], "data": data}


@handler("get_alerts", "alerts", (VIEW, LIMIT))
async def _alerts(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    active = alerts_q.active_alerts
    recent = alerts_q.recent_alerts

    def both(conn: Any) -> dict[str, Any]:
        return {"active": active(conn, p["view"]), "recent": recent(conn, p["view"], p["limit"])}

    return {"view": p["view_label"], "data": await ctx.store.read(both)}


@handler("acknowledge_alert", "alert_acknowledge_result", (ALERT_ID,))
async def _acknowledge(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    result = await ctx.engine.acknowledge(p["alert_id"], ctx.clock())
    return {"alert_id": p["alert_id"], "success": result}


def _window(p: dict[str, Any], now: float) -> tuple[float, float]:
    """(hours, end): the ``from``/``to`` day range when given, else the last ``hours``."""
    days = day_range(p, now)
    if days is None:
        return p["hours"], now
    p["hours"] = round((days[1] - days[0]) / 3600.0, 6)
    return p["hours"], days[1]


@handler("get_traffic_stats", "traffic_stats", (VIEW, HOURS, FROM_DATE, TO_DATE))
async def _traffic_stats(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    hours, now = _window(p, ctx.clock())
    floor = ctx.clock() - ctx.settings.events_detail_hours * 3600.0
    data = await ctx.store.read(
        lambda conn: get_traffic_stats(conn, p["view"], hours, now, detail_floor=floor)
    )
    return {"view": p["view_label"], "hours": p["hours"], "data": data}


@handler("get_geo_stats", "geo_stats", (VIEW, HOURS, FROM_DATE, TO_DATE))
async def _geo_stats(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    _hours, now = _window(p, ctx.clock())
    floor = ctx.clock() - ctx.settings.events_detail_hours * 3600.0
    data = await ctx.store.read(
        lambda conn: get_geo_stats(
            conn,
            p["view"],
            p["hours"],
            now,
            ctx.geo.country,
            ctx.geo.city if ctx.geo.has_cities else None,
            detail_floor=floor,
        )
    )
    return {"view": p["view_label"], "hours": p["hours"], "data": data}


@handler("get_nodes", "nodes")
async def _nodes(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    return {"data": await ctx.nodes_payload()}


# --- the connection ----------------------------------------------------------------------


async def init_message(ctx: ApiContext) -> dict[str, Any]:
    """The first message on every connection: nodes, settings, the threshold table."""
    return {
        "type": "init",
        "version": __version__,
        "server_time": ctx.now_iso(),
        "node_names": ctx.node_names,
        "nodes": await ctx.nodes_payload(),
        "view": ["Aggregate"],
        "settings": {k: ctx.settings.get(k) for k in UI_SETTINGS},
        "thresholds": ctx.runtime.thresholds.payload(),
        "severity_rank": dict(SEVERITY_RANK),
        "requests": sorted(HANDLERS),
    }


def error_message(message: str, request_id: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "error", "message": message}
    if request_id is not None:
        out["id"] = request_id
    return out


async def answer(ctx: ApiContext, client: Client, message: dict[str, Any]) -> None:
    """Handle one parsed request and queue its response (or an error) for the client."""
    request_id = message.get("id")
    type_ = message.get("type")
    if not isinstance(type_, str):
        ctx.ws_errors += 1
        ctx.hub.send(client, error_message("missing field 'type' (a string)", request_id))
        return
    try:
        response = await call(ctx, type_, message, client)
        if request_id is not None:
            response["id"] = request_id
        text = encode(response)
    except (ParamError, UnavailableError) as exc:
        ctx.ws_errors += 1
        text = encode(error_message(f"{type_}: {exc}", request_id))
    except Exception:
        ctx.ws_errors += 1
        log.exception("WebSocket request %s failed", type_)
        text = encode(error_message(f"{type_}: internal error (see the monitor's log)", request_id))
    ctx.hub.send(client, text)


def parse_frame(data: str) -> dict[str, Any] | str:
    """A request object, or an error text for a frame that is not one."""
    if len(data) > MAX_MESSAGE_BYTES or (
        len(data) * 4 > MAX_MESSAGE_BYTES and len(data.encode()) > MAX_MESSAGE_BYTES
    ):
        return f"message too large (limit {MAX_MESSAGE_BYTES} bytes)"
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return f"malformed JSON: {exc}"
    if not isinstance(message, dict):
        return "a message must be a JSON object with a 'type'"
    return message


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    ctx: ApiContext = request.app[CTX_KEY]
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_FRAME_BYTES)
    await ws.prepare(request)

    async def close() -> None:
        try:
            await asyncio.wait_for(
                ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"too slow"), 1.0
            )
        except (TimeoutError, ConnectionError, RuntimeError):
            if request.transport is not None:
                request.transport.abort()

    init = await init_message(ctx)  # before registering: nothing may overtake ``init``
    client = ctx.hub.add(ws.send_str, close)
    client.view = list(ctx.node_names)
    client.view_label = ["Aggregate"]
    ctx.ws_connections += 1
    ctx.hub.send(client, init)
    ctx.live.send_full(client)
    pending: asyncio.Queue[dict[str, Any]] = asyncio.Queue(MAX_PENDING_REQUESTS)

    async def work() -> None:
        while True:
            message = await pending.get()
            await answer(ctx, client, message)

    worker = asyncio.get_running_loop().create_task(work(), name=f"ws-requests-{client.id}")
    try:
        async for msg in ws:
            if client.dropped:
                break
            ctx.ws_messages += 1
            if msg.type == WSMsgType.TEXT:
                parsed = parse_frame(msg.data)
                if isinstance(parsed, str):
                    ctx.ws_errors += 1
                    ctx.hub.send(client, error_message(parsed))
                    continue
                try:
                    pending.put_nowait(parsed)
                except asyncio.QueueFull:
                    ctx.ws_errors += 1
                    ctx.hub.send(
                        client, error_message("too many requests pending", parsed.get("id"))
                    )
            elif msg.type == WSMsgType.BINARY:
                ctx.ws_errors += 1
                ctx.hub.send(
                    client, error_message("binary frames are not supported; send JSON text")
                )
            elif msg.type == WSMsgType.ERROR:
                log.debug("WebSocket %d error: %s", client.id, ws.exception())
                break
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        await ctx.hub.remove(client)
        if not ws.closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)
    return ws


# each module registers its handlers when imported
from storj_monitor.web import (  # noqa: E402
    handlers_earnings,  # noqa: F401
    handlers_fleet,  # noqa: F401  (get_fleet_status)
    handlers_maintenance,  # noqa: F401  (get_maintenance_status, get_satellite_storage)
)
