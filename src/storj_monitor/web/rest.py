"""REST API: the WebSocket requests as GET endpoints, for scripts and curl.

Every endpoint calls the same handler as its WebSocket request (see :mod:`storj_monitor.web.ws`)
with the query string converted by :func:`storj_monitor.web.params.from_query`, so validation
is identical: a bad parameter is ``400 {"error": "..."}``. The body is the WebSocket response
object (``{"type": "latency_stats", "view": [...], "hours": 1, "data": {...}}``).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from storj_monitor.services.hub import dumps
from storj_monitor.store.bad_lines import count_bad_lines
from storj_monitor.web import ws
from storj_monitor.web.context import CTX_KEY, ApiContext
from storj_monitor.web.csv_export import CSV_EXPORTS, csv_response
from storj_monitor.web.params import ParamError, query_message

log = logging.getLogger(__name__)

#: path -> WebSocket request type it serves
GET_ENDPOINTS: dict[str, str] = {
    "/api/nodes": "get_nodes",
    "/api/latency": "get_latency_stats",
    "/api/latency/histogram": "get_latency_histogram",
    "/api/storage": "get_storage_data",
    "/api/storage/history": "get_storage_history",
    "/api/reputation": "get_reputation_data",
    "/api/alerts": "get_alerts",
    "/api/alerts/active": "get_active_alerts",
    "/api/traffic": "get_traffic_stats",
    "/api/geo": "get_geo_stats",
    "/api/traffic/daily": "get_traffic_daily",
    "/api/earnings": "get_earnings_data",
    "/api/earnings/history": "get_earnings_history",
    "/api/fleet": "get_fleet_status",
    "/api/maintenance": "get_maintenance_status",
    "/api/storage/satellites": "get_satellite_storage",
}


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(body), status=status, content_type="application/json")


def error_response(message: str, status: int) -> web.Response:
    return json_response({"error": message}, status)


async def _run(ctx: ApiContext, type_: str, message: dict[str, Any]) -> tuple[int, Any]:
    """Status and body of one request through its WebSocket handler."""
    ctx.rest_requests += 1
    try:
        return 200, await ws.call(ctx, type_, message)
    except ParamError as exc:
        return 400, {"error": str(exc)}
    except ws.UnavailableError as exc:
        return 503, {"error": str(exc)}
    except Exception:
        log.exception("REST request %s failed", type_)
        return 500, {"error": "internal error (see the monitor's log)"}


def _get_handler(type_: str) -> Any:
    async def handle(request: web.Request) -> web.Response:
        ctx: ApiContext = request.app[CTX_KEY]
        h = ws.HANDLERS[type_]
        try:
            message = query_message(h.params, request.query, ctx.node_names)
        except ParamError as exc:
            ctx.rest_requests += 1
            return error_response(str(exc), 400)
        fmt = request.query.get("format", "json")
        if fmt not in ("json", "csv") or (fmt == "csv" and type_ not in CSV_EXPORTS):
            ctx.rest_requests += 1
            return error_response(f"'format' must be json{' or csv' * (type_ in CSV_EXPORTS)}", 400)
        status, body = await _run(ctx, type_, message)
        if fmt == "csv" and status == 200:
            return csv_response(type_, body)
        return json_response(body, status)

    return handle


async def acknowledge(request: web.Request) -> web.Response:
    """``POST /api/alerts/{id}/acknowledge``: 200 when acknowledged, 404 for an unknown id,
    400 for an id that is not an integer in 1..2**63-1 (the range SQLite can hold)."""
    ctx: ApiContext = request.app[CTX_KEY]
    text = request.match_info["alert_id"]
    # ASCII digits only: int() would also take "1_0", " 7" and other scripts' digits
    if not (text.isascii() and text.lstrip("-").isdigit() and len(text) <= 40):
        ctx.rest_requests += 1
        return error_response("'alert_id' must be an integer", 400)
    alert_id = int(text)
    status, body = await _run(ctx, "acknowledge_alert", {"alert_id": alert_id})
    if status == 200 and not body.get("success"):
        status = 404
    return json_response(body, status)


async def healthz(request: web.Request) -> web.Response:
    ctx: ApiContext = request.app[CTX_KEY]
    bad = await ctx.store.read(count_bad_lines)  # quarantined log lines, per node
    log_state = {name: ctx.log_state(name) for name in ctx.node_names}
    # A log that cannot be read leaves the monitor blind to that node: not "ok" (still 200,
    # the process itself is alive; a restart would not help).
    broken = any(s is not None and s["state"] != "ok" for s in log_state.values())
    return json_response(
        {"status": "degraded" if broken else "ok", "nodes": ctx.node_names,
         "time": ctx.now_iso(), "bad_lines": sum(bad.values()), "log_state": log_state}
    )  # fmt: skip


def add_routes(app: web.Application) -> None:
    for path, type_ in GET_ENDPOINTS.items():
        app.router.add_get(path, _get_handler(type_))
    app.router.add_post(r"/api/alerts/{alert_id}/acknowledge", acknowledge)
    app.router.add_get("/healthz", healthz)
