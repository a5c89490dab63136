"""REST API: the WebSocket requests as GET endpoints, for scripts and curl.

Every endpoint calls the same handler as its WebSocket request (see :mod:`storj_monitor.web.ws`)
with the query string converted by :func:`storj_monitor.web.params.from_query`, so validation
is identical: a bad parameter is ``400 {"error": "..."}``. The body is the WebSocket response
object (``{"type": "latency_stats", "view": [...], "hours": 1, "data": {...}}``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from storj_monitor.web import ws
from storj_monitor.web.params import ParamError, query_message

if TYPE_CHECKING:
    from storj_monitor.web.app import ApiContext

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
}


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def error_response(message: str, status: int) -> web.Response:
    return json_response({"error": message}, status)


async def _run(ctx: ApiContext, type_: str, message: dict[str, Any]) -> web.Response:
    ctx.rest_requests += 1
    try:
        return json_response(await ws.call(ctx, type_, message))
    except ParamError as exc:
        return error_response(str(exc), 400)
    except ws.UnavailableError as exc:
        return error_response(str(exc), 503)
    except Exception:
        log.exception("REST request %s failed", type_)
        return error_response("internal error (see the monitor's log)", 500)


def _get_handler(type_: str) -> Any:
    async def handle(request: web.Request) -> web.Response:
        ctx: ApiContext = request.app[ws.CTX_KEY]
        h = ws.HANDLERS[type_]
        try:
            message = query_message(h.params, request.query, ctx.node_names)
        except ParamError as exc:
            ctx.rest_requests += 1
            return error_response(str(exc), 400)
        return await _run(ctx, type_, message)

    return handle


async def acknowledge(request: web.Request) -> web.Response:
    ctx: ApiContext = request.app[ws.CTX_KEY]
    try:
        alert_id = int(request.match_info["alert_id"])
    except ValueError:
        ctx.rest_requests += 1
        return error_response("'alert_id' must be an integer", 400)
    response = await _run(ctx, "acknowledge_alert", {"alert_id": alert_id})
    if response.status == 200 and response.body is not None:
        body = orjson.loads(response.body)  # type: ignore[arg-type]
        if not body.get("success"):
            return json_response(body, 404)
    return response


async def healthz(request: web.Request) -> web.Response:
    ctx: ApiContext = request.app[ws.CTX_KEY]
    return json_response({"status": "ok", "nodes": ctx.node_names, "time": ctx.now_iso()})


def add_routes(app: web.Application) -> None:
    for path, type_ in GET_ENDPOINTS.items():
        app.router.add_get(path, _get_handler(type_))
    app.router.add_post(r"/api/alerts/{alert_id}/acknowledge", acknowledge)
    app.router.add_get("/healthz", healthz)
