"""``get_fleet_status`` {view} → ``fleet_status`` {view, data: [rows]}: one row per node of the
view for the "All nodes" table (``GET /api/fleet``). Rows: :func:`storj_monitor.web.fleet.fleet_row`.

The rows are assembled from grouped reads in one store call (storage with its forecasts,
reputation, open alerts, operations per node, identity from the log) plus the coordinators'
last replies; this month's net earnings come from ``get_earnings_data`` when that request
exists in this build.
"""

from __future__ import annotations

import logging
from typing import Any

from storj_monitor.services.hub import Client
from storj_monitor.store import alerts as alerts_q
from storj_monitor.store import fleet as fleet_q
from storj_monitor.store import snapshots
from storj_monitor.web import presentation
from storj_monitor.web.context import ApiContext
from storj_monitor.web.fleet import RATE_WINDOW_HOURS, earnings_by_node, fleet_row
from storj_monitor.web.params import VIEW
from storj_monitor.web.ws import HANDLERS, call, handler

log = logging.getLogger(__name__)

EARNINGS_REQUEST = "get_earnings_data"


async def _earnings(ctx: ApiContext, names: list[str]) -> dict[str, float]:
    if EARNINGS_REQUEST not in HANDLERS:
        return {}
    try:
        reply = await call(ctx, EARNINGS_REQUEST, {"view": names})
    except Exception as exc:  # the table still shows everything else
        log.debug("fleet: earnings unavailable: %s", exc)
        return {}
    return earnings_by_node(reply.get("data"))


@handler("get_fleet_status", "fleet_status", (VIEW,))
async def _fleet_status(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    names: list[str] = list(p["view"])
    now, settings, cache = ctx.clock(), ctx.settings, ctx.runtime.forecasts
    start = now - RATE_WINDOW_HOURS * 3600.0

    def read(conn: Any) -> dict[str, Any]:
        return {
            "storage": snapshots.get_storage_data(conn, names, now, settings, cache),
            "reputation": snapshots.reputation_rows(conn, names),
            "alerts": alerts_q.active_alerts(conn, names),
            "counts": fleet_q.node_operation_counts(conn, names, start, now),
        }

    got = await ctx.store.read(read)
    reputation = presentation.reputation_payload(
        got["reputation"],
        ctx.runtime.thresholds,
        now,
        stale_after=presentation.reputation_stale_after(settings),
    )
    ident = await ctx.identities(names)
    earnings = await _earnings(ctx, names)
    storage = {s["node_name"]: s for s in got["storage"]}
    rows = [
        fleet_row(
            name,
            api_state=str(ctx.runtime.api_state(name)),
            identity=ident[name],
            health=ctx.node_health(name),
            storage=storage.get(name),
            reputation=[r for r in reputation if r["node_name"] == name],
            counts=got["counts"].get(name, []),
            alerts=[a for a in got["alerts"] if a["node_name"] == name],
            earnings_net_usd=earnings.get(name),
        )
        for name in names
    ]
    return {"view": p["view_label"], "hours": RATE_WINDOW_HOURS, "data": rows}
