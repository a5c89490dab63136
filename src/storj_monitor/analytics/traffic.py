"""Traffic statistics from aggregated piece operations: pure, no I/O, no clock.

Input rows are already aggregated (``satellite_id, action, status, error_category, count,
bytes``), whether they come from the rollup tables, from raw events grouped in SQL or from the
live in-memory window, so one function shapes every traffic payload the same way.

Definitions (units: bytes, counts, percent 0..100):

- categories are the seed's: ``get``, ``put``, ``audit`` (GET_AUDIT), ``repair``
  (GET_REPAIR, PUT_REPAIR); other actions (deletes, graceful exit) count as ``other``;
- ``success_rate`` = successes / (successes + failures + cancellations) * 100, ``None`` with no
  operations;
- bandwidth counts only **successful** transfers: egress (GET, GET_AUDIT, GET_REPAIR) leaves
  the node, ingress (PUT, PUT_REPAIR, ...) arrives; a canceled transfer's logged size is what
  was asked for, not what moved, so it is left out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from storj_monitor.model import ACTION_CATEGORY, EGRESS_ACTIONS, INGRESS_ACTIONS, iso_utc

TRAFFIC_CATEGORIES: tuple[str, ...] = ("get", "put", "audit", "repair", "other")
STATUSES: tuple[str, ...] = ("success", "failed", "canceled")

#: Upper edges (exclusive) of the piece size buckets, bytes; the last bucket is open.
SIZE_BUCKET_EDGES: tuple[int, ...] = (
    1024,
    4 * 1024,
    16 * 1024,
    64 * 1024,
    256 * 1024,
    1024 * 1024,
    4 * 1024 * 1024,
)


def category_of(action: str) -> str:
    return ACTION_CATEGORY.get(action, "other")


def _human(n: int) -> str:
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= size:
            return f"{n // size} {unit}"
    return f"{n} B"


def size_bucket_labels() -> list[str]:
    """Labels of the size buckets, in order: ``< 1 KiB``, ``1 KiB - 4 KiB``, ..., ``>= 4 MiB``."""
    labels = [f"< {_human(SIZE_BUCKET_EDGES[0])}"]
    for lo, hi in itertools.pairwise(SIZE_BUCKET_EDGES):
        labels.append(f"{_human(lo)} - {_human(hi)}")
    labels.append(f">= {_human(SIZE_BUCKET_EDGES[-1])}")
    return labels


def size_bucket_index(size: int) -> int:
    """Index of the bucket holding ``size`` bytes."""
    for i, edge in enumerate(SIZE_BUCKET_EDGES):
        if size < edge:
            return i
    return len(SIZE_BUCKET_EDGES)


def _empty_ops() -> dict[str, Any]:
    return {"success": 0, "failed": 0, "canceled": 0, "total": 0, "success_rate": None}


def _finish_ops(ops: dict[str, Any]) -> None:
    total = ops["success"] + ops["failed"] + ops["canceled"]
    ops["total"] = total
    ops["success_rate"] = round(ops["success"] * 100.0 / total, 2) if total else None


def summarize_traffic(rows: Iterable[Sequence[Any]], *, top_errors: int = 10) -> dict[str, Any]:
    """Counts, success rates and bandwidth per category, per satellite, and top error categories.

    ``rows``: ``(satellite_id, action, status, error_category, count, bytes)``; ``bytes`` is
    the summed size of the rows' operations. Returns::

        {"operations": {"get": {"success", "failed", "canceled", "total", "success_rate"}, ...},
         "bandwidth": {"ingress_bytes", "egress_bytes"},
         "satellites": [{"satellite_id", "operations", "ingress_bytes", "egress_bytes",
                         "total"}],   # busiest first
         "errors": [{"category", "count"}],   # most frequent first
         "total_operations": int}
    """
    ops = {c: _empty_ops() for c in TRAFFIC_CATEGORIES}
    sats: dict[str, dict[str, Any]] = {}
    errors: dict[str, int] = {}
    ingress = egress = 0
    for satellite_id, action, status, error_category, count, size in rows:
        count = int(count)
        size = int(size or 0)
        cat = category_of(action)
        if status not in STATUSES:
            continue
        ops[cat][status] += count
        sat_key = satellite_id or ""
        sat = sats.get(sat_key)
        if sat is None:
            sat = sats[sat_key] = {
                "satellite_id": satellite_id or None,
                "operations": {c: _empty_ops() for c in TRAFFIC_CATEGORIES},
                "ingress_bytes": 0,
                "egress_bytes": 0,
            }
        sat["operations"][cat][status] += count
        if status == "success":
            if action in EGRESS_ACTIONS:
                egress += size
                sat["egress_bytes"] += size
            elif action in INGRESS_ACTIONS:
                ingress += size
                sat["ingress_bytes"] += size
        elif error_category:
            errors[error_category] = errors.get(error_category, 0) + count
    for o in ops.values():
        _finish_ops(o)
    satellites = []
    for sat in sats.values():
        for o in sat["operations"].values():
            _finish_ops(o)
        sat["total"] = sum(o["total"] for o in sat["operations"].values())
        satellites.append(sat)
    satellites.sort(key=lambda s: (-s["total"], s["satellite_id"] or ""))
    top = sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[:top_errors]
    return {
        "operations": ops,
        "bandwidth": {"ingress_bytes": ingress, "egress_bytes": egress},
        "satellites": satellites,
        "errors": [{"category": c, "count": n} for c, n in top],
        "total_operations": sum(o["total"] for o in ops.values()),
    }


def summarize_sizes(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Operations per size bucket: ``rows`` are ``(action, bucket_index, count)``.

    Returns one entry per bucket, in size order: ``{"bucket", "get", "put", "audit",
    "repair", "other"}`` (counts).
    """
    labels = size_bucket_labels()
    counts = [dict.fromkeys(TRAFFIC_CATEGORIES, 0) for _ in labels]
    for action, index, count in rows:
        i = min(max(int(index), 0), len(labels) - 1)
        counts[i][category_of(action)] += int(count)
    return [{"bucket": label, **c} for label, c in zip(labels, counts, strict=True)]


def traffic_series(
    rows: Iterable[Sequence[Any]], *, start: float, end: float, step: float
) -> list[dict[str, Any]]:
    """A gap-free time series of operations and bandwidth, one point per ``step`` seconds.

    ``rows``: ``(bucket_start, action, status, count, bytes)`` with ``bucket_start`` a
    multiple of ``step`` (UTC unix seconds). Each point: ``{"timestamp" (ISO), "get", "put",
    "audit", "repair", "other"`` (operations of any status), ``"failed"`` (failed or
    canceled), ``"ingress_bytes", "egress_bytes"}`` (successful only).
    """
    first = int(start // step) * step
    n = max(int((end - first) // step) + 1, 0)
    fields = (*TRAFFIC_CATEGORIES, "failed", "ingress_bytes", "egress_bytes")
    sums = [dict.fromkeys(fields, 0) for _ in range(n)]
    for bucket_start, action, status, count, size in rows:
        i = int((float(bucket_start) - first) // step)
        if not 0 <= i < n:
            continue
        p = sums[i]
        p[category_of(action)] += int(count)
        if status != "success":
            p["failed"] += int(count)
        elif action in EGRESS_ACTIONS:
            p["egress_bytes"] += int(size or 0)
        elif action in INGRESS_ACTIONS:
            p["ingress_bytes"] += int(size or 0)
    return [{"timestamp": iso_utc(first + i * step), **p} for i, p in enumerate(sums)]


def series_step(hours: float) -> int:
    """Seconds per series point for a window: about 60-360 points, on a round step."""
    for step in (60, 300, 900, 3600, 3 * 3600):
        if hours * 3600 / step <= 360:
            return step
    return 6 * 3600


def summarize_countries(rows: Iterable[Sequence[Any]], lookup: Any) -> list[dict[str, Any]]:
    """Traffic per country, busiest first.

    ``rows``: ``(remote_ip, count, bytes)``; ``lookup(ip) -> country code or None`` (the
    adapter's GeoIP cache). Unknown and private addresses are grouped under ``None``.
    """
    by_cc: dict[str | None, list[int]] = {}
    for ip, count, size in rows:
        cc = lookup(ip) if ip else None
        acc = by_cc.setdefault(cc, [0, 0, 0])
        acc[0] += int(count)
        acc[1] += int(size or 0)
        acc[2] += 1
    ordered = sorted(by_cc.items(), key=lambda kv: (-kv[1][0], kv[0] or "~"))
    return [
        {"country": cc, "operations": n, "bytes": b, "addresses": a} for cc, (n, b, a) in ordered
    ]


def summarize_cities(
    rows: Iterable[Sequence[Any]], lookup: Any, *, limit: int = 200
) -> list[dict[str, Any]]:
    """Traffic per located city (map points), busiest first, at most ``limit``.

    ``rows``: ``(remote_ip, count, bytes)``; ``lookup(ip)`` returns ``{"city", "country",
    "latitude", "longitude"}`` or None (unlocated addresses are left out).
    """
    by_place: dict[tuple[Any, ...], list[int]] = {}
    for ip, count, size in rows:
        place = lookup(ip) if ip else None
        if not place or place.get("latitude") is None or place.get("longitude") is None:
            continue
        key = (place.get("city"), place.get("country"), place["latitude"], place["longitude"])
        acc = by_place.setdefault(key, [0, 0])
        acc[0] += int(count)
        acc[1] += int(size or 0)
    ordered = sorted(by_place.items(), key=lambda kv: (-kv[1][0], kv[0][0] or "~"))
    return [
        {"city": c, "country": cc, "latitude": lat, "longitude": lon, "operations": n, "bytes": b}
        for (c, cc, lat, lon), (n, b) in ordered[:limit]
    ]
