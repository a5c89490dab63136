"""Storage snapshots, per-satellite storage, reputation history, payouts and node info.

Writes are plain ``fn(conn, ...)`` run on the Store's writer; reads return data: the
snapshots and forecasts of ``get_storage_data`` / ``get_storage_history`` (seed 2.2, times ISO
8601 with ``Z``, sizes bytes) and the latest reputation rows (``reputation_rows``). Status
words and colours are decided in ``web/presentation.py``, not here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from typing import Any

from storj_monitor.analytics.capacity import DAY, forecast_days_until_full
from storj_monitor.model import SatelliteScore, StorageSnapshot
from storj_monitor.model import iso_utc as iso
from storj_monitor.settings import Settings

_SNAP_COLS = (
    "timestamp, node_name, total_bytes, used_bytes, available_bytes, trash_bytes, "
    "used_percent, trash_percent, available_percent, source"
)
_SNAP_KEYS = [c.strip() for c in _SNAP_COLS.split(",")]


# --- writes ------------------------------------------------------------------------------------
def insert_storage_snapshot(conn: sqlite3.Connection, s: StorageSnapshot) -> None:
    conn.execute(
        f"INSERT INTO storage_snapshots ({_SNAP_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            s.timestamp,
            s.node_name,
            s.total_bytes,
            s.used_bytes,
            s.available_bytes,
            s.trash_bytes,
            s.used_percent,
            s.trash_percent,
            s.available_percent,
            s.source,
        ),
    )


def insert_satellite_storage(conn: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """Rows with timestamp, node_name, satellite_id, satellite_name, average_usage_bytes,
    storage_summary_byte_hours, egress_bytes, ingress_bytes."""
    conn.executemany(
        "INSERT INTO satellite_storage (timestamp, node_name, satellite_id, satellite_name, "
        "average_usage_bytes, storage_summary_byte_hours, egress_bytes, ingress_bytes) "
        "VALUES (:timestamp, :node_name, :satellite_id, :satellite_name, :average_usage_bytes, "
        ":storage_summary_byte_hours, :egress_bytes, :ingress_bytes)",
        rows,
    )


def insert_reputation(conn: sqlite3.Connection, scores: list[SatelliteScore]) -> None:
    conn.executemany(
        "INSERT INTO reputation_history (timestamp, node_name, satellite_id, satellite_name, "
        "audit_score, suspension_score, online_score, disqualified, suspended, vetted, "
        "total_audits, successful_audits, source) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                s.timestamp,
                s.node_name,
                s.satellite_id,
                s.satellite_name,
                s.audit_score,
                s.suspension_score,
                s.online_score,
                int(s.disqualified),
                int(s.suspended),
                None if s.vetted is None else int(s.vetted),
                s.total_audits,
                s.successful_audits,
                s.source,
            )
            for s in scores
        ],
    )


def insert_payout_snapshot(conn: sqlite3.Connection, node_name: str, ts: float, raw: str) -> None:
    conn.execute(
        "INSERT INTO payout_snapshots (timestamp, node_name, raw) VALUES (?,?,?)",
        (ts, node_name, raw),
    )


def upsert_node_info(
    conn: sqlite3.Connection,
    node_name: str,
    *,
    node_id: str | None,
    wallet: str | None,
    version: str | None,
    api_url: str | None,
    updated_at: float,
    raw: str | None,
) -> None:
    conn.execute(
        "INSERT INTO node_info (node_name, node_id, wallet, version, api_url, updated_at, raw) "
        "VALUES (?,?,?,?,?,?,?) ON CONFLICT(node_name) DO UPDATE SET node_id=excluded.node_id, "
        "wallet=excluded.wallet, version=excluded.version, api_url=excluded.api_url, "
        "updated_at=excluded.updated_at, raw=excluded.raw",
        (node_name, node_id, wallet, version, api_url, updated_at, raw),
    )


# --- reads -------------------------------------------------------------------------------------
def storage_snapshots_between(
    conn: sqlite3.Connection, node_name: str, start: float, end: float
) -> list[dict[str, Any]]:
    """Raw snapshot rows (unix times) of one node, oldest first."""
    rows = conn.execute(
        f"SELECT {_SNAP_COLS} FROM storage_snapshots WHERE node_name=? AND timestamp>=? "
        "AND timestamp<=? ORDER BY timestamp",
        (node_name, start, end),
    ).fetchall()
    return [dict(zip(_SNAP_KEYS, r, strict=True)) for r in rows]


def latest_storage_snapshot(
    conn: sqlite3.Connection, node_name: str, now: float | None = None
) -> dict[str, Any] | None:
    sql = f"SELECT {_SNAP_COLS} FROM storage_snapshots WHERE node_name=?"
    params: list[Any] = [node_name]
    if now is not None:
        sql += " AND timestamp<=?"
        params.append(now)
    row = conn.execute(sql + " ORDER BY timestamp DESC LIMIT 1", params).fetchone()
    return dict(zip(_SNAP_KEYS, row, strict=True)) if row else None


def snapshot_payload(row: dict[str, Any]) -> dict[str, Any]:
    """The seed's snapshot fields with an ISO ``timestamp``, plus ``source``."""
    out = dict(row)
    out["timestamp"] = iso(row["timestamp"])
    for k in ("used_percent", "trash_percent", "available_percent"):
        if out.get(k) is not None:
            out[k] = round(out[k], 2)
    return out


def stale_after(source: str, settings: Settings) -> float:
    """Seconds after which a snapshot of this source counts as stale."""
    if source == "log":
        return 3 * max(
            float(settings.storage_log_sample_interval), float(settings.node_api_poll_interval)
        )
    return 2.5 * float(settings.node_api_poll_interval) + float(settings.node_api_timeout)


def _forecast_fields(forecast: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "growth_rate_bytes_per_day",
        "growth_rate_gb_per_day",
        "days_until_full",
        "days_until_full_low",
        "days_until_full_high",
        "data_points",
    )
    out = {k: forecast.get(k) for k in keys}
    out["forecast_status"] = forecast.get("status")
    out["forecast_method"] = forecast.get("method")
    return out


class ForecastCache:
    """Forecasts by (database file, node, window, rows, first and last time): snapshot rows are
    only ever appended, so the same key means the same rows and the same answer. Saves the
    ~20 ms Theil–Sen fit when many pages ask between two polls. One instance per monitor
    (``Runtime.forecasts``), passed to the reads that may use it; thread-safe (reads run on
    the store's reader threads)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return dict(found)

    def put(self, key: tuple[Any, ...], forecast: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = dict(forecast)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def node_forecast(
    conn: sqlite3.Connection,
    node_name: str,
    now: float,
    settings: Settings,
    cache: ForecastCache | None = None,
) -> dict[str, Any]:
    """The capacity forecast over STORAGE_FORECAST_WINDOW_DAYS of the node's snapshots, from
    the source (api | log) of the newest one."""
    window = float(settings.storage_forecast_window_days)
    start = now - window * DAY
    key: tuple[Any, ...] | None = None
    if cache is not None:
        count, first, last = conn.execute(
            "SELECT COUNT(*), MIN(timestamp), MAX(timestamp) FROM storage_snapshots "
            "WHERE node_name=? AND timestamp>=? AND timestamp<=?",
            (node_name, start, now),
        ).fetchone()
        db_file = conn.execute("PRAGMA database_list").fetchone()[2]
        if db_file:  # not for :memory: databases, which share the empty name
            key = (db_file, node_name, window, count, first, last)
            cached = cache.get(key)
            if cached is not None:
                return cached
    rows = storage_snapshots_between(conn, node_name, start, now)
    if rows:  # API and log samples measure free space differently: fit one source only
        rows = [r for r in rows if r["source"] == rows[-1]["source"]]
    forecast = forecast_days_until_full(rows, now, window)
    if cache is not None and key is not None:
        cache.put(key, forecast)
    return forecast


def get_storage_data(
    conn: sqlite3.Connection,
    node_names: list[str],
    now: float,
    settings: Settings,
    cache: ForecastCache | None = None,
) -> list[dict[str, Any]]:
    """Per node with data: latest snapshot (seed fields, ISO timestamp), forecast fields,
    ``source`` (api | log) and ``stale`` (no fresh snapshot). Nodes without any are left out."""
    out = []
    for name in node_names:
        latest = latest_storage_snapshot(conn, name, now)
        if latest is None:
            continue
        item = snapshot_payload(latest)
        item.update(_forecast_fields(node_forecast(conn, name, now, settings, cache)))
        item["stale"] = now - latest["timestamp"] > stale_after(latest["source"], settings)
        out.append(item)
    return out


def get_storage_history(
    conn: sqlite3.Connection,
    node_name: str,
    days: float,
    now: float,
    settings: Settings,
    cache: ForecastCache | None = None,
) -> dict[str, Any]:
    """``{"node_name", "days", "snapshots": [...], "forecast": {...}}`` (snapshots oldest first)."""
    rows = storage_snapshots_between(conn, node_name, now - float(days) * DAY, now)
    forecast = node_forecast(conn, node_name, now, settings, cache)
    return {
        "node_name": node_name,
        "days": days,
        "snapshots": [snapshot_payload(r) for r in rows],
        "forecast": forecast,
    }


def latest_scores(conn: sqlite3.Connection, node_name: str) -> list[dict[str, Any]]:
    """The newest reputation row of every satellite of a node."""
    rows = conn.execute(
        "SELECT r.timestamp, r.satellite_id, r.satellite_name, r.audit_score, r.suspension_score, "
        "r.online_score, r.disqualified, r.suspended, r.vetted, r.total_audits, "
        "r.successful_audits, r.source FROM reputation_history r JOIN ("
        "  SELECT satellite_id, MAX(timestamp) AS ts FROM reputation_history WHERE node_name=? "
        "  GROUP BY satellite_id) m ON m.satellite_id=r.satellite_id AND m.ts=r.timestamp "
        "WHERE r.node_name=? GROUP BY r.satellite_id ORDER BY r.satellite_name, r.satellite_id",
        (node_name, node_name),
    ).fetchall()
    keys = [
        "timestamp",
        "satellite_id",
        "satellite_name",
        "audit_score",
        "suspension_score",
        "online_score",
        "disqualified",
        "suspended",
        "vetted",
        "total_audits",
        "successful_audits",
        "source",
    ]
    return [dict(zip(keys, r, strict=True)) for r in rows]


def latest_audit_score(conn: sqlite3.Connection, node_name: str, satellite_id: str) -> float | None:
    """The newest known audit score (percent) of a node on one satellite, or None."""
    row = conn.execute(
        "SELECT audit_score FROM reputation_history WHERE node_name=? AND satellite_id=? "
        "AND audit_score IS NOT NULL ORDER BY timestamp DESC LIMIT 1",
        (node_name, satellite_id),
    ).fetchone()
    return float(row[0]) if row else None


def reputation_rows(conn: sqlite3.Connection, node_names: list[str]) -> list[dict[str, Any]]:
    """The newest reputation row of every satellite of each node (with ``node_name``), as
    stored: unix times, 0/1 flags. How they read on the page is ``web/presentation.py``'s."""
    return [{"node_name": name, **row} for name in node_names for row in latest_scores(conn, name)]
