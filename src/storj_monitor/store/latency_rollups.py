"""Reading the latency tables (``latency_minute``/``latency_hour``, per node, bucket and
action): which rows cover a window, per-action sums, merged histograms. Used by
:mod:`storj_monitor.store.latency_queries`.

Times UTC unix seconds, durations ms.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from storj_monitor.analytics import sketch
from storj_monitor.model import ACTION_CATEGORY
from storj_monitor.store.rollups import SOURCES

#: Windows longer than this read whole hours from the hour tables.
HOUR_ROLLUPS_FROM_HOURS = 3.0

Segment = tuple[str, float, float]  # (rollup table, start inclusive, end exclusive)
#: The latency table (per node, bucket and action) of each rollup table's buckets.
LATENCY_TABLE = {"rollups_minute": "latency_minute", "rollups_hour": "latency_hour"}


def rollup_segments(start: float, end: float) -> list[Segment]:
    """Which rollup rows cover ``[start, end)``: minutes at the edges, hours in between."""
    m0 = math.floor(start / 60.0) * 60.0
    if end - m0 <= HOUR_ROLLUPS_FROM_HOURS * 3600.0:
        return [("rollups_minute", m0, end)]
    h0 = math.ceil(m0 / 3600.0) * 3600.0
    h1 = math.floor(end / 3600.0) * 3600.0
    segs: list[Segment] = []
    if h0 > m0:
        segs.append(("rollups_minute", m0, h0))
    if h1 > h0:
        segs.append(("rollups_hour", h0, h1))
    if end > h1:
        segs.append(("rollups_minute", h1, end))
    return segs


def node_filter(nodes: Sequence[str]) -> tuple[str, list[Any]]:
    """``node_name IN (?, ...)`` and its parameters."""
    return f"node_name IN ({', '.join('?' * len(nodes))})", list(nodes)


# --- rollup reads -----------------------------------------------------------------------

_SCALARS = (
    "SUM(count), SUM(duration_count), SUM(duration_sum_ms), MIN(duration_min_ms), "
    "MAX(duration_max_ms), " + ", ".join(f"SUM({s}_count)" for s in SOURCES)
)


def rollup_scalars(
    conn: sqlite3.Connection, nodes: Sequence[str], segs: Sequence[Segment]
) -> dict[str, list[Any]]:
    """Per action: [count, duration_count, sum_ms, min, max, *source counts]."""
    where, params = node_filter(nodes)
    out: dict[str, list[Any]] = {}
    for table, s, e in segs:
        sql = (
            f"SELECT action, {_SCALARS} FROM {LATENCY_TABLE[table]} "
            f"WHERE {where} AND bucket_start >= ? AND bucket_start < ? GROUP BY action"
        )
        for action, *vals in conn.execute(sql, [*params, s, e]):
            accumulate(out, action, vals)
    return out


def accumulate(into: dict[str, list[Any]], key: str, vals: Sequence[Any]) -> None:
    """Add one row of rollup scalars (count, bytes, duration count, min, max, sums...) into
    ``into[key]``: sums add, min/max merge (None means no duration)."""
    acc = into.get(key)
    if acc is None:
        into[key] = list(vals)
        return
    acc[0] += vals[0]
    acc[1] += vals[1]
    acc[2] += vals[2]
    acc[3] = merge_min(acc[3], vals[3])
    acc[4] = merge_max(acc[4], vals[4])
    for i in range(5, len(acc)):
        acc[i] += vals[i]


def merge_min(a: float | None, b: float | None) -> float | None:
    """The smaller of two optional values (None: unknown)."""
    return b if a is None else a if b is None else min(a, b)


def merge_max(a: float | None, b: float | None) -> float | None:
    """The larger of two optional values (None: unknown)."""
    return b if a is None else a if b is None else max(a, b)


_DENSE = sketch.MAX_INDEX - sketch.ZERO_INDEX + 1


def rollup_hists(
    conn: sqlite3.Connection, nodes: Sequence[str], segs: Sequence[Segment]
) -> dict[str, np.ndarray]:
    """Merged histograms per category (and ``all``) as dense count arrays indexed by
    ``bucket - ZERO_INDEX``; blobs are concatenated and decoded in one numpy call per
    category and count width."""
    where, params = node_filter(nodes)
    pieces: dict[tuple[str, int], tuple[list[bytes], list[bytes]]] = {}
    for table, s, e in segs:
        sql = (
            f"SELECT action, hist FROM {LATENCY_TABLE[table]} WHERE {where} "
            "AND bucket_start >= ? AND bucket_start < ? AND hist IS NOT NULL"
        )
        for action, blob in conn.execute(sql, [*params, s, e]):
            width = blob[0]
            n = (len(blob) - 1) // (2 + width)
            cat = ACTION_CATEGORY.get(action, "other")
            idx_l, cnt_l = pieces.setdefault((cat, width), ([], []))
            idx_l.append(blob[1 : 1 + 2 * n])
            cnt_l.append(blob[1 + 2 * n :])
    dense: dict[str, np.ndarray] = {}
    for (cat, width), (idx_l, cnt_l) in pieces.items():
        dtype = {1: "<u1", 2: "<u2", 4: "<u4"}.get(width)
        if dtype is None:
            continue  # a corrupt blob: skip it rather than fail the whole query
        idx = np.frombuffer(b"".join(idx_l), "<i2").astype(np.int64) - sketch.ZERO_INDEX
        cnt = np.frombuffer(b"".join(cnt_l), dtype)
        if idx.size != cnt.size:
            continue
        ok = (idx >= 0) & (idx < _DENSE)
        add = np.bincount(idx[ok], weights=cnt[ok], minlength=_DENSE)
        dense[cat] = dense.get(cat, 0) + add
    if dense:
        dense["all"] = sum(dense.values(), np.zeros(_DENSE))
    return dense


def sparse(d: np.ndarray | None) -> sketch.Hist:
    """A dense count array from :func:`rollup_hists` as a sketch histogram."""
    if d is None:
        return sketch.EMPTY
    nz = np.flatnonzero(d)
    return (nz + sketch.ZERO_INDEX).astype(np.int16), d[nz].astype(np.int64)


__all__ = [
    "HOUR_ROLLUPS_FROM_HOURS",
    "LATENCY_TABLE",
    "Segment",
    "accumulate",
    "merge_max",
    "merge_min",
    "node_filter",
    "rollup_hists",
    "rollup_scalars",
    "rollup_segments",
    "sparse",
]
