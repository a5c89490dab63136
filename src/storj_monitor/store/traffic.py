"""Traffic queries: aggregated piece operations over a window, for traffic_stats and the map.

Counts, bandwidth, satellites, error categories and the time series come from the rollup
tables (whole hours from ``rollups_hour``, the partial hours at the edges from
``rollups_minute``; series finer than an hour from ``rollups_minute`` only), so a 30-day
window is a sum over a few thousand rows, not a scan of millions of events. The window starts
at the minute holding ``now - hours``. When the rollups hold nothing for the window (e.g. a
database filled before rollups existed) the aggregates fall back to raw events.

Size buckets, the most requested pieces and remote addresses (the map) need raw events, and a
``GROUP BY piece_id`` over a busy day (17 M rows at 200 operations/s) takes a minute. So these
*details* cover the end of the window only: at most :data:`RAW_MAX_HOURS`, and at most the
newest :data:`DETAIL_MAX_EVENTS` operations of each node (one index seek finds where that
starts), which keeps them well under a second at any rate. The payload says what they cover
(``details_start``, ``details_window_hours``).

Plain ``fn(conn, ...)`` functions; times are UTC unix seconds, sizes bytes.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from storj_monitor.analytics.traffic import (
    SIZE_BUCKET_EDGES,
    series_step,
    summarize_cities,
    summarize_countries,
    summarize_sizes,
    summarize_traffic,
    traffic_series,
)
from storj_monitor.model import iso_utc
from storj_monitor.store import piece_ops
from storj_monitor.store.piece_ops import ip_text

#: Windows longer than this read whole hours from ``rollups_hour`` (minutes at the edges).
HOUR_ROLLUPS_FROM_HOURS = 3.0
RAW_MAX_HOURS = 24.0
#: Details read at most this many of the newest operations per node.
DETAIL_MAX_EVENTS = 200_000
DOWNLOAD_ACTIONS = ("GET", "GET_AUDIT", "GET_REPAIR")


def _in(names: Sequence[str]) -> str:
    return ",".join("?" * len(names))


def _size_case() -> str:
    parts = [f"WHEN size < {edge} THEN {i}" for i, edge in enumerate(SIZE_BUCKET_EDGES)]
    return f"CASE {' '.join(parts)} ELSE {len(SIZE_BUCKET_EDGES)} END"


_SIZE_CASE = _size_case()


Segment = tuple[str, float, float]  # (table, start inclusive, end exclusive)


def rollup_segments(start: float, end: float) -> list[Segment]:
    """Rollup rows covering ``[start, end]``: whole hours from ``rollups_hour``, the partial
    hours at both ends (and windows up to :data:`HOUR_ROLLUPS_FROM_HOURS`) from
    ``rollups_minute``. The window starts at the minute holding ``start``."""
    m0 = math.floor(start / 60.0) * 60.0
    if end - m0 <= HOUR_ROLLUPS_FROM_HOURS * 3600.0:
        return [("rollups_minute", m0, end + 1)]
    h0 = math.ceil(m0 / 3600.0) * 3600.0
    h1 = math.floor(end / 3600.0) * 3600.0
    segs: list[Segment] = []
    if h0 > m0:
        segs.append(("rollups_minute", m0, h0))
    if h1 > h0:
        segs.append(("rollups_hour", h0, h1))
    segs.append(("rollups_minute", h1, end + 1))
    return segs


def traffic_rows(
    conn: sqlite3.Connection, node_names: Sequence[str], start: float, end: float, hours: float
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """Aggregate rows and series rows for a window, plus the series step in seconds.

    Aggregate rows: ``(satellite_id, action, status, error_category, count, bytes)``;
    series rows: ``(bucket_start, action, status, count, bytes)``.
    """
    step = series_step(hours)
    if not node_names:
        return [], [], step
    names = list(node_names)
    nodes = f"node_name IN ({_in(names)})"
    segs = rollup_segments(start, end)
    totals: dict[tuple[Any, ...], list[int]] = {}
    for table, s, e in segs:
        for *key, n, b in conn.execute(
            f"SELECT satellite_id, action, status, error_category, SUM(count), SUM(bytes) "
            f"FROM {table} WHERE {nodes} AND bucket_start >= ? AND bucket_start < ? "
            "GROUP BY satellite_id, action, status, error_category",
            (*names, s, e),
        ):
            acc = totals.setdefault(tuple(key), [0, 0])
            acc[0] += int(n)
            acc[1] += int(b or 0)
    if totals:
        agg = [(*k, n, b) for k, (n, b) in totals.items()]
        # a point is never finer than the rollup it is made of
        series_segs = [("rollups_minute", segs[0][1], end + 1)] if step < 3600 else segs
        series: list[tuple[Any, ...]] = []
        for table, s, e in series_segs:
            series += conn.execute(
                f"SELECT CAST(bucket_start / {step} AS INTEGER) * {step} AS b, action, status, "
                f"SUM(count), SUM(bytes) FROM {table} WHERE {nodes} AND bucket_start >= ? "
                "AND bucket_start < ? GROUP BY b, action, status",
                (*names, s, e),
            ).fetchall()
        return agg, series, step
    ev_where = f"{nodes} AND timestamp >= ? AND timestamp <= ?"
    ev_args = (*names, start, end)
    agg = conn.execute(
        "SELECT COALESCE(satellite_id, ''), action, status, COALESCE(error_category, ''), "
        "COUNT(*), SUM(COALESCE(size, 0)) FROM events WHERE "
        f"{ev_where} GROUP BY 1, 2, 3, 4",
        ev_args,
    ).fetchall()
    series = conn.execute(
        f"SELECT CAST(timestamp / {step} AS INTEGER) * {step} AS b, action, status, COUNT(*), "
        f"SUM(COALESCE(size, 0)) FROM events WHERE {ev_where} GROUP BY b, action, status",
        ev_args,
    ).fetchall()
    return agg, series, step


def size_rows(
    conn: sqlite3.Connection, node_names: Sequence[str], start: float, end: float
) -> list[tuple[Any, ...]]:
    """``(action, size_bucket_index, count)`` of successful operations with a size."""
    if not node_names:
        return []
    return conn.execute(
        f"SELECT action, {_SIZE_CASE} AS b, COUNT(*) FROM events "
        f"WHERE node_name IN ({_in(node_names)}) AND timestamp >= ? AND timestamp <= ? "
        "AND status = 'success' AND size IS NOT NULL GROUP BY action, b",
        (*node_names, start, end),
    ).fetchall()


def top_pieces(
    conn: sqlite3.Connection, node_names: Sequence[str], start: float, end: float, limit: int
) -> list[dict[str, Any]]:
    """The most downloaded pieces (GET, GET_AUDIT, GET_REPAIR of any status), busiest first."""
    if not node_names:
        return []
    rows = conn.execute(
        "SELECT piece_id, COUNT(*) AS n, SUM(status = 'success'), "
        "SUM(CASE WHEN status = 'success' THEN COALESCE(size, 0) ELSE 0 END), "
        "MAX(satellite_id), MAX(timestamp) FROM events "
        f"WHERE node_name IN ({_in(node_names)}) AND timestamp >= ? AND timestamp <= ? "
        f"AND action IN ({_in(DOWNLOAD_ACTIONS)}) AND piece_id IS NOT NULL "
        "GROUP BY piece_id ORDER BY n DESC, piece_id LIMIT ?",
        (*node_names, start, end, *DOWNLOAD_ACTIONS, limit),
    ).fetchall()
    return [
        {
            "piece_id": piece,
            "count": int(n),
            "successful": int(ok or 0),
            "egress_bytes": int(b or 0),
            "satellite_id": sat,
            "last_seen": iso_utc(last),
        }
        for piece, n, ok, b, sat, last in rows
    ]


def get_traffic_stats(
    conn: sqlite3.Connection,
    node_names: Sequence[str],
    hours: float,
    now: float,
    *,
    top_errors: int = 10,
    top_pieces_limit: int = 10,
    detail_floor: float | None = None,
) -> dict[str, Any]:
    """Everything ``traffic_stats`` shows for ``node_names`` over the last ``hours`` (now: UTC s).

    Returns the :func:`analytics.traffic.summarize_traffic` fields plus ``series``
    (``{"step_seconds", "points"}``), ``size_buckets``, ``top_pieces``, ``start``/``end``
    (ISO) and ``details_window_hours`` (what the raw-event parts cover). ``detail_floor``
    (UTC unix seconds): where raw events are complete (EVENTS_DETAIL_HOURS before the real
    now; older ones are thinned to the slow ones), so the details never read earlier.
    """
    start = now - hours * 3600.0
    agg, series_rows, step = traffic_rows(conn, node_names, start, now, hours)
    detail_start = details_start(conn, node_names, start, now, floor=detail_floor)
    out = summarize_traffic(agg, top_errors=top_errors)
    out["series"] = {
        "step_seconds": step,
        "points": traffic_series(series_rows, start=start, end=now, step=step),
    }
    out["size_buckets"] = summarize_sizes(size_rows(conn, node_names, detail_start, now))
    out["top_pieces"] = top_pieces(conn, node_names, detail_start, now, top_pieces_limit)
    out["start"] = iso_utc(start)
    out["end"] = iso_utc(now)
    out["hours"] = hours
    out["details_start"] = iso_utc(detail_start)
    out["details_window_hours"] = round(max(0.0, now - detail_start) / 3600.0, 3)
    return out


def details_start(
    conn: sqlite3.Connection,
    node_names: Sequence[str],
    start: float,
    now: float,
    max_events: int = DETAIL_MAX_EVENTS,
    *,
    floor: float | None = None,
) -> float:
    """Where the raw-event details of a window begin (UTC unix seconds): the later of the
    window start, ``now - RAW_MAX_HOURS``, ``floor`` (where raw events are complete) and,
    per node, the time of its ``max_events``-th newest operation (so the details read at
    most ``max_events`` rows per node). After ``now`` when the window is older than
    ``floor``: the details then cover nothing."""
    begin = max(start, now - RAW_MAX_HOURS * 3600.0)
    if floor is not None and floor > begin:
        begin = floor
    for name in node_names:
        row = conn.execute(
            "SELECT timestamp FROM events WHERE node_name = ? AND timestamp <= ? "
            "ORDER BY timestamp DESC LIMIT 1 OFFSET ?",
            (name, now, max_events),
        ).fetchone()
        if row is not None:
            begin = max(begin, float(row[0]))
    return begin


def remote_ip_rows(
    conn: sqlite3.Connection, node_names: Sequence[str], start: float, end: float
) -> list[tuple[Any, ...]]:
    """``(remote_ip, count, bytes of successful operations)`` per remote address.

    Grouped on the stored address (IPv4 as an integer, store.piece_ops) and turned into
    text per address, not per row: four times faster than through the ``events`` view."""
    if not node_names:
        return []
    rows = conn.execute(
        "SELECT p.ip, COUNT(*), SUM(CASE WHEN p.status = "
        "(SELECT id FROM names WHERE name = 'success') THEN COALESCE(p.size, 0) ELSE 0 END) "
        f"FROM piece_ops p WHERE {piece_ops.nodes_named(len(node_names))} "
        "AND p.ts >= ? AND p.ts <= ? AND p.ip IS NOT NULL GROUP BY p.ip",
        (*node_names, start, end),
    ).fetchall()
    return [(ip_text(code), n, b) for code, n, b in rows]


def get_geo_stats(
    conn: sqlite3.Connection,
    node_names: Sequence[str],
    hours: float,
    now: float,
    lookup: Callable[[str], str | None],
    city_lookup: Callable[[str], dict[str, Any] | None] | None = None,
    *,
    detail_floor: float | None = None,
) -> dict[str, Any]:
    """Traffic by country of the remote address over the end of the last ``hours``
    (the same details window as :func:`get_traffic_stats`, see :func:`details_start`).

    ``lookup`` maps an IP to an ISO country code (see :mod:`storj_monitor.geoip`);
    ``city_lookup`` (a City database, optional) adds ``cities`` map points, else ``cities``
    is None.
    """
    start = details_start(conn, node_names, now - hours * 3600.0, now, floor=detail_floor)
    window = round(max(0.0, now - start) / 3600.0, 3)
    rows = remote_ip_rows(conn, node_names, start, now)
    countries = summarize_countries(rows, lookup)
    return {
        "countries": countries,
        "cities": summarize_cities(rows, city_lookup) if city_lookup is not None else None,
        "hours": hours,
        "window_hours": window,
        "start": iso_utc(start),
        "end": iso_utc(now),
    }


def nodes_with_api(conn: sqlite3.Connection) -> set[str]:
    """Nodes whose API has answered at least once (a row in node_info or an API snapshot)."""
    names = {r[0] for r in conn.execute("SELECT node_name FROM node_info")}
    names.update(
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT node_name FROM storage_snapshots WHERE source = 'api'"
        )
    )
    return names
