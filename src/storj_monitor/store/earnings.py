"""Payout history, held totals and the log's own daily egress per satellite (store queries).

Money is USD (converted in ``payout_replies``); days and months are UTC. A closed month is
written once (``INSERT OR IGNORE``): the history is what the node reported after the month
closed and is never rewritten by a projection.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from typing import Any

import orjson

from storj_monitor.analytics.earnings import DayBandwidth, Prices
from storj_monitor.payout_replies import HeldTotal, PaidMonth
from storj_monitor.store.rollups import HOUR

DAY_S = 86_400


def insert_paid_months(
    conn: sqlite3.Connection, node_name: str, rows: Iterable[PaidMonth], now: float
) -> int:
    """Store closed months not stored yet; returns how many rows were new."""
    before = conn.total_changes
    conn.executemany(
        """INSERT OR IGNORE INTO payout_history (node_name, period, satellite_id, satellite_name,
               age_months, earned_usd, held_usd, held_percent, disposed_usd, paid_usd,
               distributed_usd, receipt, imported_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            (node_name, r.period, r.satellite_id, r.satellite_name, r.age_months, r.earned_usd,
             r.held_usd, r.held_percent, r.disposed_usd, r.paid_usd, r.distributed_usd,
             r.receipt, now)
            for r in rows
        ],
    )  # fmt: skip
    return conn.total_changes - before


def stored_periods(conn: sqlite3.Connection, node_name: str) -> set[str]:
    """Months of ``node_name`` whose payout history is already stored."""
    rows = conn.execute(
        "SELECT DISTINCT period FROM payout_history WHERE node_name = ?", (node_name,)
    )
    return {r[0] for r in rows}


def replace_held_totals(
    conn: sqlite3.Connection, node_name: str, rows: Iterable[HeldTotal], now: float
) -> None:
    """The node's latest held totals per satellite (a running figure: replaced, not kept)."""
    conn.executemany(
        """INSERT INTO held_totals (node_name, satellite_id, satellite_name, total_held_usd,
               total_disposed_usd, joined_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(node_name, satellite_id) DO UPDATE SET
               satellite_name = excluded.satellite_name,
               total_held_usd = excluded.total_held_usd,
               total_disposed_usd = excluded.total_disposed_usd,
               joined_at = excluded.joined_at, updated_at = excluded.updated_at""",
        [
            (node_name, r.satellite_id, r.satellite_name, r.total_held_usd, r.total_disposed_usd,
             r.joined_at, now)
            for r in rows
        ],
    )  # fmt: skip


def held_totals(conn: sqlite3.Connection, node_names: Sequence[str]) -> list[dict[str, Any]]:
    """Held totals per node and satellite (USD; ``joined_at`` UTC unix seconds)."""
    marks = ",".join("?" * len(node_names))
    cur = conn.execute(
        f"""SELECT node_name, satellite_id, satellite_name, total_held_usd, total_disposed_usd,
                joined_at FROM held_totals WHERE node_name IN ({marks})
            ORDER BY node_name, satellite_id""",
        tuple(node_names),
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]


def payout_history(
    conn: sqlite3.Connection, node_names: Sequence[str], first: str, last: str
) -> list[dict[str, Any]]:
    """Stored months ``first``..``last`` (``YYYY-MM``, inclusive), oldest first (USD)."""
    marks = ",".join("?" * len(node_names))
    cur = conn.execute(
        f"""SELECT node_name, period, satellite_id, satellite_name, age_months, earned_usd,
                held_usd, held_percent, disposed_usd, paid_usd, distributed_usd, receipt
            FROM payout_history
            WHERE node_name IN ({marks}) AND period >= ? AND period <= ?
            ORDER BY period, node_name, satellite_id""",
        (*node_names, first, last),
    )
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur]


def daily_egress_from_log(
    conn: sqlite3.Connection, node_name: str, start: float, end: float
) -> dict[str, list[DayBandwidth]]:
    """Egress bytes of successful GET / GET_REPAIR / GET_AUDIT per satellite and UTC day,
    from the hourly rollups (the log's own view, for nodes without an API)."""
    rows = conn.execute(
        f"""SELECT satellite_id, CAST(bucket_start / {DAY_S} AS INTEGER) * {DAY_S} AS day,
                action, SUM(bytes)
            FROM rollups_hour
            WHERE node_name = ? AND bucket_start >= ? AND bucket_start < ?
              AND status = 'success' AND action IN ('GET', 'GET_REPAIR', 'GET_AUDIT')
            GROUP BY satellite_id, day, action""",
        (node_name, start - start % HOUR, end),
    )
    sums: dict[str, dict[float, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for sat, day, action, total in rows:
        sums[sat or ""][float(day)][action] = int(total or 0)
    return {
        sat: [
            DayBandwidth(day, a.get("GET", 0), a.get("GET_REPAIR", 0), a.get("GET_AUDIT", 0))
            for day, a in sorted(days.items())
        ]
        for sat, days in sums.items()
    }


def daily_traffic(
    conn: sqlite3.Connection, node_names: Sequence[str], start: float, end: float
) -> list[dict[str, Any]]:
    """Bytes per UTC day by direction and kind (egress usage/repair/audit, ingress
    usage/repair) over successful operations, summed over ``node_names``, oldest first."""
    marks = ",".join("?" * len(node_names))
    rows = conn.execute(
        f"""SELECT CAST(bucket_start / {DAY_S} AS INTEGER) * {DAY_S} AS day, action, SUM(bytes)
            FROM rollups_hour
            WHERE node_name IN ({marks}) AND bucket_start >= ? AND bucket_start < ?
              AND status = 'success'
            GROUP BY day, action ORDER BY day""",
        (*node_names, start - start % HOUR, end),
    )
    kinds = {
        "GET": "egress_usage", "GET_REPAIR": "egress_repair", "GET_AUDIT": "egress_audit",
        "PUT": "ingress_usage", "PUT_REPAIR": "ingress_repair",
    }  # fmt: skip
    days: dict[float, dict[str, Any]] = {}
    for day, action, total in rows:
        kind = kinds.get(action)
        if kind is None:
            continue
        row = days.setdefault(float(day), {"day_start": float(day), **dict.fromkeys(kinds.values(), 0)})
        row[kind] += int(total or 0)
    return [days[d] for d in sorted(days)]


def save_prices(conn: sqlite3.Connection, node_name: str, prices: Prices, now: float) -> None:
    """Keep a node's last price model (USD) in ``node_info.prices``."""
    conn.execute(
        "INSERT INTO node_info (node_name, updated_at, prices) VALUES (?, ?, ?) "
        "ON CONFLICT(node_name) DO UPDATE SET prices = excluded.prices",
        (node_name, now, orjson.dumps(asdict(prices)).decode()),
    )


def load_prices(conn: sqlite3.Connection, node_name: str) -> Prices | None:
    """The price model :func:`save_prices` kept, or None (never seen, or unreadable)."""
    row = conn.execute("SELECT prices FROM node_info WHERE node_name = ?", (node_name,)).fetchone()
    if row is None or not row[0]:
        return None
    try:
        stored = orjson.loads(row[0])
        values = {f.name: float(stored[f.name]) for f in fields(Prices)}
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    return Prices(**values)
