"""WebSocket (and REST) requests of the maintenance card and the Storage card's
per-satellite table:

- ``get_maintenance_status`` {view} → ``maintenance_status`` {data: [{node_name, runs: [...]}]}:
  per node, the last and the running run of every background job (filewalkers, garbage
  collection, trash, hashstore compaction), read from the stored log records at request time
  (on a reader thread; ~0.1 s for a busy node's 14 days, 2,000 job lines);
- ``get_satellite_storage`` {view} → ``satellite_storage`` {data: [{node_name, satellite_id,
  satellite_name, average_usage_bytes, ...}]}: the newest ``satellite_storage`` row per
  satellite, with the paid bytes of the node's last API reply when known.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from storj_monitor.analytics.maintenance import runs_from_records
from storj_monitor.analytics.maintenance_status import status_rows
from storj_monitor.analytics.paid_storage import satellite_paid_bytes
from storj_monitor.model import iso_utc
from storj_monitor.services.hub import Client
from storj_monitor.services.maintenance_watch import DAY, OVERDUE_FACTOR, WINDOW_DAYS
from storj_monitor.store import maintenance_runs as q
from storj_monitor.web.context import ApiContext
from storj_monitor.web.params import VIEW
from storj_monitor.web.ws import handler


@handler("get_maintenance_status", "maintenance_status", (VIEW,))
async def _maintenance_status(
    ctx: ApiContext, p: dict[str, Any], _c: Client | None
) -> dict[str, Any]:
    now = ctx.clock()
    nodes: list[str] = p["view"]

    def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        out = []
        for name in nodes:
            records = q.maintenance_records(conn, name, now - WINDOW_DAYS * DAY, now)
            runs, names = runs_from_records(records), q.satellite_names(conn, name)
            out.append(
                {"node_name": name, "runs": status_rows(runs, now, names, factor=OVERDUE_FACTOR)}
            )
        return out

    return {"view": p["view_label"], "window_days": WINDOW_DAYS, "data": await ctx.store.read(read)}


@handler("get_satellite_storage", "satellite_storage", (VIEW,))
async def _satellite_storage(
    ctx: ApiContext, p: dict[str, Any], _c: Client | None
) -> dict[str, Any]:
    nodes: list[str] = p["view"]

    def read(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
        return {name: q.latest_satellite_storage(conn, name) for name in nodes}

    stored = await ctx.store.read(read)
    data = []
    for name in nodes:
        c = ctx.runtime.coordinators.get(name)
        details = c.data.details if c is not None and c.data is not None else {}
        for row in stored[name]:
            detail = details.get(row["satellite_id"])
            data.append(
                {
                    "node_name": name,
                    **row,
                    "timestamp": iso_utc(row["timestamp"]),
                    "paid_bytes": satellite_paid_bytes(detail.raw) if detail else None,
                }
            )
    return {"view": p["view_label"], "data": data}
