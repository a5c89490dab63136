"""WebSocket/REST handlers for money and the monthly traffic history (imported by ``ws``).

- ``get_earnings_data`` {view, period?} → ``earnings_data``: one node object per node of the
  view (:mod:`storj_monitor.services.earnings`), plus ``held_back`` (held totals per satellite
  and the month half of it comes back). This month comes from the node API's replies the
  coordinator holds, a closed month from the imported payout history, and either from the log
  when there is nothing better.
- ``get_earnings_history`` {view, from?, to?} (``YYYY-MM``) → ``earnings_history``: the stored
  payout history, per month, node and satellite.
- ``get_traffic_daily`` {view, from?, to?} (ISO dates) → ``traffic_daily``: bytes per UTC day by
  direction and kind from the hourly rollups.

All money is USD, sizes bytes, times UTC. Each has a CSV form on its REST twin (``format=csv``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from storj_monitor.analytics.earnings import Prices, month_bounds, period_of
from storj_monitor.services.earnings import (
    SATELLITE_FIELDS,
    LogMoney,
    from_api,
    from_history,
    from_log,
)
from storj_monitor.services.earnings_recorder import api_money
from storj_monitor.services.hub import Client
from storj_monitor.store import earnings as earnings_q
from storj_monitor.store.snapshots import latest_storage_snapshot
from storj_monitor.web.context import ApiContext
from storj_monitor.web.csv_export import Table, csv_export
from storj_monitor.web.params import VIEW, Param, ParamError, day_range
from storj_monitor.web.ws import handler

DAY_S = 86_400.0
PERIOD = Param("period", "month", help="YYYY-MM (UTC); default this month")
FROM_MONTH = Param("from", "month", help="first month YYYY-MM; default 12 months back")
TO_MONTH = Param("to", "month", help="last month YYYY-MM, included; default last month")
FROM_DAY = Param("from", "date", help="first day YYYY-MM-DD; default the 1st of this month")
TO_DAY = Param("to", "date", help="last day YYYY-MM-DD, included; default today")
#: Most months one history request may cover.
MAX_HISTORY_MONTHS = 120
TRAFFIC_KINDS = ("egress_usage", "egress_repair", "egress_audit", "ingress_usage", "ingress_repair")


def add_months(period: str, n: int) -> str:
    """``YYYY-MM`` moved by ``n`` months."""
    year, month = (int(x) for x in period.split("-"))
    index = year * 12 + (month - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _iso_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def held_back(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Held totals (USD) per satellite with the month half of it is paid back (joined + 15)."""
    out = []
    for r in rows:
        joined = r["joined_at"]
        out.append(
            {
                "satellite_id": r["satellite_id"],
                "satellite_name": r["satellite_name"],
                "total_held_usd": r["total_held_usd"],
                "total_disposed_usd": r["total_disposed_usd"],
                "joined_at": None
                if joined is None
                else datetime.fromtimestamp(joined, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "return_period": None if joined is None else add_months(period_of(joined), 15),
            }
        )
    return out


async def node_earnings(ctx: ApiContext, name: str, period: str, now: float) -> dict[str, Any]:
    """One node's object for ``period`` from the best source there is (API, history, log)."""
    coordinator = ctx.runtime.coordinators.get(name)
    recorder = ctx.runtime.earnings.get(name)
    data = coordinator.data if coordinator is not None else None
    start, end = month_bounds(period)

    def read(conn: sqlite3.Connection) -> tuple[list[Any], list[Any], Any, Any, Any]:
        held = earnings_q.held_totals(conn, [name])
        history = earnings_q.payout_history(conn, [name], period, period)
        if history or (period == period_of(now) and data is not None and data.details):
            return held, history, None, None, None
        egress = earnings_q.daily_egress_from_log(conn, name, start, min(end, now))
        snap = latest_storage_snapshot(conn, name, min(end, now))
        return held, history, egress, snap, earnings_q.load_prices(conn, name)

    held, history, egress, snap, stored_prices = await ctx.store.read(read)
    if egress is None and history and period != period_of(now):
        node = from_history(name, period, history)
    elif egress is None and data is not None:
        totals = {r["satellite_id"]: float(r["total_held_usd"]) for r in held}
        node = from_api(name, period, now, api_money(data), totals)
    else:
        stored = None
        if snap is not None and snap.get("used_bytes") is not None:
            stored = float(snap["used_bytes"]) - float(snap.get("trash_bytes") or 0.0)
        names = api_money(data).names if data is not None else {}
        if recorder is not None and recorder.prices:
            prices, prices_from = recorder.prices, "api"
        elif stored_prices is not None:
            prices, prices_from = stored_prices, "stored"  # the node's, from before a restart
        else:
            prices, prices_from = Prices(), "defaults"
        node = from_log(name, period, now, LogMoney(egress or {}, stored, names, prices))
        node["prices_source"] = prices_from
    node["held_back"] = held_back(held)
    return node


@handler("get_earnings_data", "earnings_data", (VIEW, PERIOD))
async def _earnings_data(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    now = ctx.clock()
    this_month = period_of(now)
    period = p["period"] or this_month
    if period > this_month:
        raise ParamError(f"'period' {period} is in the future")
    data = [await node_earnings(ctx, name, period, now) for name in p["view"]]
    return {"view": p["view_label"], "period": period, "data": data}


@handler("get_earnings_history", "earnings_history", (VIEW, FROM_MONTH, TO_MONTH))
async def _earnings_history(
    ctx: ApiContext, p: dict[str, Any], _c: Client | None
) -> dict[str, Any]:
    last = p["to"] or add_months(period_of(ctx.clock()), -1)
    first = p["from"] or add_months(last, -11)
    if first > last:
        raise ParamError("'from' must not be after 'to'")
    if add_months(first, MAX_HISTORY_MONTHS) <= last:
        raise ParamError(f"a history request covers at most {MAX_HISTORY_MONTHS} months")
    rows = await ctx.store.read(lambda c: earnings_q.payout_history(c, p["view"], first, last))
    return {"view": p["view_label"], "from": first, "to": last, "data": rows}


@handler("get_traffic_daily", "traffic_daily", (VIEW, FROM_DAY, TO_DAY))
async def _traffic_daily(ctx: ApiContext, p: dict[str, Any], _c: Client | None) -> dict[str, Any]:
    now = ctx.clock()
    if p["from"] is None and p["to"] is None:
        p["from"] = month_bounds(period_of(now))[0]
    span = day_range(p, now)
    assert span is not None
    start, end = span
    rows = await ctx.store.read(lambda c: earnings_q.daily_traffic(c, p["view"], start, end))
    by_day = {r["day_start"]: r for r in rows}
    data = []
    day = start - start % DAY_S
    while day < end:
        r = by_day.get(day, {})
        data.append(
            {"date": _iso_date(day), **{f"{k}_bytes": int(r.get(k, 0)) for k in TRAFFIC_KINDS}}
        )
        day += DAY_S
    return {
        "view": p["view_label"],
        "from": _iso_date(start),
        "to": _iso_date(end - 1),
        "data": data,
    }


# --- CSV twins ----------------------------------------------------------------------------

HISTORY_COLUMNS = (
    "period", "node_name", "satellite_id", "satellite_name", "age_months", "earned_usd",
    "held_usd", "held_percent", "disposed_usd", "paid_usd", "distributed_usd", "receipt",
)  # fmt: skip


@csv_export("get_earnings_history")
def _history_csv(body: dict[str, Any]) -> Table:
    return HISTORY_COLUMNS, [[r.get(c) for c in HISTORY_COLUMNS] for r in body["data"]]


@csv_export("get_traffic_daily")
def _traffic_csv(body: dict[str, Any]) -> Table:
    cols = ("date", *(f"{k}_bytes" for k in TRAFFIC_KINDS))
    return cols, [[r[c] for c in cols] for r in body["data"]]


@csv_export("get_earnings_data")
def _earnings_csv(body: dict[str, Any]) -> Table:
    cols = ("node_name", "period", "source", *SATELLITE_FIELDS)
    rows: list[Sequence[Any]] = [
        [node["node_name"], node["period"], node["source"], *(s.get(c) for c in SATELLITE_FIELDS)]
        for node in body["data"]
        for s in node["satellites"]
    ]
    return cols, rows
