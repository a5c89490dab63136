"""Latency statistics and histograms over any window, fast however much history there is.

Two paths, same answer shape (the seed's ``latency_stats`` ``data``):

* **raw events** when the window holds at most :data:`RAW_SCAN_MAX` operations and raw
  events still cover it: exact values, exact window ``[now - hours, now]``;
* **rollups** otherwise: per-category sums of the rollup columns (exact counts, mean, min,
  max) and merged log-bucket histograms from ``latency_minute``/``latency_hour``
  (percentiles within 1 % relative). The window is aligned to whole minutes (it starts at
  the minute containing ``now - hours``); windows over 3 hours read whole hours from the
  hour tables and the partial hours at both ends from the minute ones
  (:func:`storj_monitor.store.latency_rollups.rollup_segments`).

Slow operations always come from raw events (the piece ID is needed): a partial index holds
durations >= 1 s, walked from the slowest down to a cutoff the histogram says reaches the
``slow_limit``-th slowest operation of the window.

Times UTC unix seconds, durations ms. ``node_names`` empty or containing ``"Aggregate"``
means every node.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from storj_monitor.analytics import latency, sketch
from storj_monitor.model import ACTION_CATEGORY
from storj_monitor.store import piece_ops
from storj_monitor.store.latency_rollups import (
    Segment,
    accumulate,
    node_filter,
    rollup_hists,
    rollup_scalars,
    rollup_segments,
    sparse,
)
from storj_monitor.store.rollup_queries import distinct_nodes
from storj_monitor.store.rollups import SOURCES

#: Windows with at most this many operations are computed from raw events (exact).
RAW_SCAN_MAX = 5_000
#: The literal of the partial index ``idx_piece_ops_slow``: only durations >= this (ms).
SLOW_INDEX_MIN_MS = piece_ops.SLOW_MS
AGGREGATE = "Aggregate"


# --- window and node helpers ------------------------------------------------------------


def resolve_nodes(conn: sqlite3.Connection, node_names: Sequence[str]) -> list[str]:
    """The real node names of a view: empty or ``Aggregate`` means every node seen."""
    names = [n for n in node_names if n and n != AGGREGATE]
    if names and AGGREGATE not in node_names:
        return list(dict.fromkeys(names))
    return distinct_nodes(conn, "rollups_hour")  # every event is in an hour rollup


def _use_raw(
    conn: sqlite3.Connection,
    nodes: Sequence[str],
    segs: Sequence[Segment],
    end: float,
    rollup_total: int,
) -> bool:
    """Whether raw events should answer: the window is small (at most RAW_SCAN_MAX
    operations in the rollups) and raw events still hold at least as many operations as
    the rollups over the same minute-aligned window (retention has not pruned it)."""
    if rollup_total > RAW_SCAN_MAX:
        return False
    where, params = node_filter(nodes)
    start = min(s for _, s, _ in segs)
    raw = conn.execute(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE {where} AND timestamp >= ? "
        "AND timestamp <= ? LIMIT ?)",
        [*params, start, end, rollup_total + 1],
    ).fetchone()[0]
    return int(raw) >= rollup_total


# --- raw reads --------------------------------------------------------------------------


def _raw_rows(
    conn: sqlite3.Connection, nodes: Sequence[str], start: float, end: float
) -> list[tuple[str, float | None, str | None]]:
    where, params = node_filter(nodes)
    return conn.execute(
        f"SELECT action, duration_ms, duration_source FROM events "
        f"WHERE {where} AND timestamp >= ? AND timestamp <= ?",
        [*params, start, end],
    ).fetchall()


_SLOW_SELECT = (
    "SELECT p.ts, a.name, p.duration_us / 1000.0, p.piece, sat.name, s.name FROM piece_ops p "
    "{hint}JOIN names a ON a.id = p.action JOIN names s ON s.id = p.status "
    "LEFT JOIN names sat ON sat.id = p.satellite "
    "WHERE {nodes} AND p.duration_us > ? "
    "{partial}AND p.ts >= ? AND p.ts <= ? ORDER BY p.duration_us DESC, p.ts LIMIT ?"
)


def _slow_rows(
    conn: sqlite3.Connection,
    nodes: Sequence[str],
    start: float,
    end: float,
    threshold_ms: float,
    cutoff_ms: float,
    limit: int,
) -> list[tuple[Any, ...]]:
    """Raw operations slower than ``threshold_ms`` (and than ``cutoff_ms``), slowest first:
    ``(timestamp, action, duration_ms, piece_id, satellite_id, status)``."""
    floor_us = round(max(threshold_ms, cutoff_ms) * 1000.0)
    in_nodes = piece_ops.nodes_named(len(nodes))
    args = [*nodes, floor_us, start, end, limit]
    if floor_us >= SLOW_INDEX_MIN_MS * 1000:
        # The literal term makes the partial index usable (its WHERE is implied). It must
        # come AFTER ``duration_us > ?``: SQLite takes the first lower bound it meets as the
        # range start, and starting at 1 s would walk every slow-ish operation ever stored.
        sql = _SLOW_SELECT.format(
            hint="INDEXED BY idx_piece_ops_slow ",
            nodes=in_nodes,
            partial=f"AND p.duration_us >= {SLOW_INDEX_MIN_MS * 1000} ",
        )
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # the index is missing (an import killed early)
            pass
    return conn.execute(_SLOW_SELECT.format(hint="", nodes=in_nodes, partial=""), args).fetchall()


def _slow_cutoff(hist: sketch.Hist, limit: int) -> float:
    """A duration (ms) below the ``limit``-th largest value of ``hist`` (one bucket of
    margin for the 1 % bucket error); 0 when the histogram holds fewer values."""
    idx, counts = hist
    if not idx.size or limit <= 0:
        return 0.0
    from_top = np.cumsum(counts[::-1])
    pos = int(np.searchsorted(from_top, limit, side="left"))
    if pos >= idx.size:
        return 0.0
    bucket = int(idx[::-1][pos])
    if bucket == sketch.ZERO_INDEX:
        return 0.0
    return sketch.bucket_bounds(bucket - 1)[0]


def _slow_operations(
    conn: sqlite3.Connection,
    nodes: Sequence[str],
    start: float,
    end: float,
    threshold_ms: float,
    limit: int,
    all_hist: sketch.Hist | None,
) -> list[dict[str, Any]]:
    if limit <= 0 or not nodes:
        return []
    cutoff = _slow_cutoff(all_hist, limit) if all_hist is not None else 0.0
    rows = _slow_rows(conn, nodes, start, end, threshold_ms, cutoff, limit)
    if len(rows) < limit and cutoff > threshold_ms:
        rows = _slow_rows(conn, nodes, start, end, threshold_ms, 0.0, limit)
    keys = ("timestamp", "action", "duration_ms", "piece_id", "satellite_id", "status")
    return [latency.slow_operation(dict(zip(keys, r, strict=True))) for r in rows]


# --- public queries ---------------------------------------------------------------------


def _resolution_ms(sources: dict[str, int]) -> int:
    """1 ms unless most durations come from whole-second log timestamps (then 1000);
    ``log_millis`` durations (log stamps with milliseconds or finer) count as 1 ms."""
    measured = sum(sources.values())
    return 1000 if measured and sources.get("log_seconds", 0) * 2 > measured else 1


def get_latency_stats(
    conn: sqlite3.Connection,
    node_names: Sequence[str],
    hours: float,
    now: float,
    *,
    slow_threshold_ms: float,
    slow_limit: int,
) -> dict[str, Any]:
    """The seed's ``latency_stats`` data for the last ``hours`` before ``now``.

    ``{"statistics": {get, put, audit, repair, all: {count, mean, median, p50, p95, p99,
    min, max}}, "slow_operations": [...], "total_operations": N, "without_duration": N,
    "duration_source": {precise, arrival, log_seconds, field, log_millis},
    "resolution_ms": 1|1000,
    "window_hours", "nodes", "computed_from": "events"|"rollups"}``.
    ``total_operations`` counts every operation in the window, with a duration or not.
    """
    nodes = resolve_nodes(conn, node_names)
    start = now - hours * 3600.0
    result: dict[str, Any] = {
        "statistics": {c: latency.empty_stats() for c in latency.STAT_CATEGORIES},
        "slow_operations": [],
        "total_operations": 0,
        "without_duration": 0,
        "duration_source": dict.fromkeys(SOURCES, 0),
        "resolution_ms": 1,
        "window_hours": hours,
        "nodes": nodes,
        "computed_from": "events",
    }
    if not nodes or hours <= 0:
        return result
    segs = rollup_segments(start, now)
    scalars = rollup_scalars(conn, nodes, segs)
    rollup_total = sum(v[0] for v in scalars.values())
    if _use_raw(conn, nodes, segs, now, rollup_total):
        _fill_from_raw(conn, result, nodes, start, now, slow_threshold_ms, slow_limit)
    else:
        _fill_from_rollups(
            conn, result, nodes, segs, scalars, start, now, slow_threshold_ms, slow_limit
        )
    result["resolution_ms"] = _resolution_ms(result["duration_source"])
    return result


def _fill_from_raw(
    conn: sqlite3.Connection,
    result: dict[str, Any],
    nodes: Sequence[str],
    start: float,
    end: float,
    threshold_ms: float,
    limit: int,
) -> None:
    rows = _raw_rows(conn, nodes, start, end)
    by_cat: dict[str, list[float]] = {c: [] for c in latency.STAT_CATEGORIES}
    sources = result["duration_source"]
    without = 0
    for action, duration, source in rows:
        if duration is None:
            without += 1
            continue
        by_cat["all"].append(duration)
        cat = ACTION_CATEGORY.get(action)
        if cat is not None:
            by_cat[cat].append(duration)
        if source in sources:
            sources[source] += 1
    result["statistics"] = {c: latency.stats_from_values(v) for c, v in by_cat.items()}
    result["total_operations"] = len(rows)
    result["without_duration"] = without
    result["slow_operations"] = _slow_operations(conn, nodes, start, end, threshold_ms, limit, None)


def _fill_from_rollups(
    conn: sqlite3.Connection,
    result: dict[str, Any],
    nodes: Sequence[str],
    segs: Sequence[Segment],
    scalars: dict[str, list[Any]],
    start: float,
    end: float,
    threshold_ms: float,
    limit: int,
) -> None:
    result["computed_from"] = "rollups"
    hists = {c: sparse(d) for c, d in rollup_hists(conn, nodes, segs).items()}
    per_cat: dict[str, list[Any]] = {}
    for action, vals in scalars.items():
        for cat in (ACTION_CATEGORY.get(action, "other"), "all"):
            accumulate(per_cat, cat, vals)
    stats = result["statistics"]
    for cat in latency.STAT_CATEGORIES:
        acc = per_cat.get(cat)
        if acc is None:
            continue
        stats[cat] = latency.stats_from_sketch(
            hists.get(cat, sketch.EMPTY),
            count=int(acc[1]),
            sum_ms=float(acc[2]),
            min_ms=acc[3],
            max_ms=acc[4],
        )
    everything = per_cat.get("all")
    if everything is not None:
        result["total_operations"] = int(everything[0])
        result["without_duration"] = int(everything[0] - everything[1])
        result["duration_source"] = {s: int(everything[5 + i]) for i, s in enumerate(SOURCES)}
    result["slow_operations"] = _slow_operations(
        conn, nodes, start, end, threshold_ms, limit, hists.get("all")
    )


def get_latency_histogram(
    conn: sqlite3.Connection,
    node_names: Sequence[str],
    hours: float,
    bucket_size_ms: float,
    now: float,
) -> dict[str, Any]:
    """Counts per ``bucket_size_ms`` bucket of every duration in the last ``hours``:
    ``{"buckets": [{"start_ms", "end_ms", "count"}], "bucket_size_ms", "total",
    "computed_from"}``; the counts add up to ``total`` (operations with a duration)."""
    if not bucket_size_ms > 0:
        raise ValueError(f"bucket_size_ms must be > 0, got {bucket_size_ms}")
    nodes = resolve_nodes(conn, node_names)
    if not nodes or hours <= 0:
        return {**latency.histogram_payload({}, bucket_size_ms), "computed_from": "events"}
    start = now - hours * 3600.0
    segs = rollup_segments(start, now)
    scalars = rollup_scalars(conn, nodes, segs)
    if _use_raw(conn, nodes, segs, now, sum(v[0] for v in scalars.values())):
        where, params = node_filter(nodes)
        rows = conn.execute(
            f"SELECT MAX(CAST(duration_ms / ? AS INTEGER), 0) AS b, COUNT(*) FROM events "
            f"WHERE {where} AND timestamp >= ? AND timestamp <= ? AND duration_ms IS NOT NULL "
            "GROUP BY b",
            [bucket_size_ms, *params, start, now],
        ).fetchall()
        counts = {int(b): int(c) for b, c in rows}
        return {**latency.histogram_payload(counts, bucket_size_ms), "computed_from": "events"}
    dense = rollup_hists(conn, nodes, segs).get("all")
    return {
        **latency.histogram_from_sketch(sparse(dense), bucket_size_ms),
        "computed_from": "rollups",
    }


def hourly_percentiles(
    conn: sqlite3.Connection,
    node_names: Sequence[str],
    start: float,
    end: float,
    q: float = 0.95,
    *,
    min_count: int = 20,
) -> dict[str, list[float]]:
    """Per category, the ``q`` quantile (ms) of every hour in ``[start, end)`` that had at
    least ``min_count`` measured operations (the anomaly baseline; from ``rollups_hour``)."""
    nodes = resolve_nodes(conn, node_names)
    if not nodes:
        return {}
    where, params = node_filter(nodes)
    blobs: dict[tuple[float, str], list[bytes]] = {}
    for bucket_start, action, blob in conn.execute(
        f"SELECT bucket_start, action, hist FROM latency_hour WHERE {where} "
        "AND bucket_start >= ? AND bucket_start < ? AND hist IS NOT NULL",
        [*params, start, end],
    ):
        cat = ACTION_CATEGORY.get(action)
        if cat is not None:
            blobs.setdefault((bucket_start, cat), []).append(blob)
    out: dict[str, list[float]] = {}
    for (_, cat), group in sorted(blobs.items()):
        try:
            hist = sketch.merge_blobs(group)
        except ValueError:
            continue
        if sketch.total(hist) < min_count:
            continue
        (value,) = sketch.quantiles(hist, [q])
        if value is not None:
            out.setdefault(cat, []).append(value)
    return out


__all__ = [
    "AGGREGATE",
    "RAW_SCAN_MAX",
    "get_latency_histogram",
    "get_latency_stats",
    "hourly_percentiles",
    "resolve_nodes",
    "rollup_segments",
]
