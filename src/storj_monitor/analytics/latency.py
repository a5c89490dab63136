"""Latency statistics of piece operations (the seed's Phase 2.1 functions), pure.

Durations are milliseconds; timestamps UTC unix seconds in, ISO 8601 ``Z`` strings out.
Percentiles are *nearest-rank* (the k-th smallest value, ``k = ceil(p/100 * n)``; numpy's
``method="inverted_cdf"``): always a value that was measured, and the same definition the
rollup sketches use, so a short window (raw events) and a long one (rollups) agree.

Events are :class:`storj_monitor.model.Event` objects or mappings with the same keys
(the seed passed dicts). Operations without a duration (no ``... started`` line paired,
i.e. the node logs at INFO level) are counted apart, never as zeros.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from storj_monitor.analytics import sketch
from storj_monitor.model import CATEGORIES, Event, action_category, iso_utc

#: The statistics of one category, in the order the seed lists them.
STAT_KEYS: tuple[str, ...] = ("count", "mean", "median", "p50", "p95", "p99", "min", "max")
#: Categories of :func:`analyze_latency_data` (the seed's get/put/audit plus repair and all).
STAT_CATEGORIES: tuple[str, ...] = (*CATEGORIES, "all")
DEFAULT_PERCENTILES: tuple[float, ...] = (50, 95, 99)

EventLike = Event | Mapping[str, Any]


def _get(event: EventLike, name: str) -> Any:
    if isinstance(event, Mapping):
        return event.get(name)
    return getattr(event, name, None)


def iso_z(ts: float) -> str:
    """UTC unix seconds as ``2025-01-04T10:30:15Z`` (whole seconds)."""
    return iso_utc(ts) or ""


def percentile_key(p: float) -> str:
    """``50 -> "p50"``, ``99.9 -> "p99.9"``."""
    return f"p{p:g}"


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 2)


def _clean(values: Iterable[float | None]) -> npt.NDArray[np.float64]:
    if isinstance(values, np.ndarray):
        arr = values.astype(np.float64, copy=False)
    else:
        arr = np.array([v for v in values if v is not None], dtype=np.float64)
    return arr[~np.isnan(arr)]


def _nearest_rank(sorted_arr: npt.NDArray[np.float64], p: float) -> float:
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    n = sorted_arr.size
    k = max(1, math.ceil(p / 100.0 * n - 1e-9))
    return float(sorted_arr[min(k, n) - 1])


def calculate_percentiles(
    values: Iterable[float | None], percentiles: Sequence[float] = DEFAULT_PERCENTILES
) -> dict[str, float | None]:
    """Nearest-rank percentiles (``percentiles`` in 0..100) of ``values`` (ms).

    Returns ``{"p50": ..., "p95": ...}``; every value is None when there are no values.
    NaN and None values are ignored.
    """
    arr = np.sort(_clean(values))
    if not arr.size:
        for p in percentiles:
            if not 0 <= p <= 100:
                raise ValueError(f"percentile {p} is outside 0..100")
        return {percentile_key(p): None for p in percentiles}
    return {percentile_key(p): _nearest_rank(arr, p) for p in percentiles}


def empty_stats() -> dict[str, Any]:
    """The statistics of a category with no measured operation."""
    return {"count": 0, **{k: None for k in STAT_KEYS[1:]}}


def stats_from_values(values: Iterable[float | None]) -> dict[str, Any]:
    """count, mean, median, p50, p95, p99, min, max (ms, 2 decimals) of some durations."""
    arr = np.sort(_clean(values))
    if not arr.size:
        return empty_stats()
    p50, p95, p99 = (_nearest_rank(arr, p) for p in DEFAULT_PERCENTILES)
    return {
        "count": int(arr.size),
        "mean": _round(float(arr.mean())),
        "median": _round(p50),
        "p50": _round(p50),
        "p95": _round(p95),
        "p99": _round(p99),
        "min": _round(float(arr[0])),
        "max": _round(float(arr[-1])),
    }


def stats_from_sketch(
    hist: sketch.Hist,
    *,
    count: int,
    sum_ms: float,
    min_ms: float | None,
    max_ms: float | None,
) -> dict[str, Any]:
    """The same statistics from a merged rollup histogram.

    ``count``, ``sum_ms``, ``min_ms``, ``max_ms`` are exact (summed rollup columns);
    the percentiles are within 1 % (relative) of the exact nearest-rank values.
    """
    if count <= 0 or not hist[0].size:
        return empty_stats()
    p50, p95, p99 = sketch.quantiles(hist, (0.50, 0.95, 0.99), min_ms=min_ms, max_ms=max_ms)
    return {
        "count": int(count),
        "mean": _round(sum_ms / count),
        "median": _round(p50),
        "p50": _round(p50),
        "p95": _round(p95),
        "p99": _round(p99),
        "min": _round(min_ms),
        "max": _round(max_ms),
    }


def durations_by_category(events: Iterable[EventLike]) -> dict[str, list[float]]:
    """Durations (ms) of the events that have one, per category and ``all``."""
    out: dict[str, list[float]] = {c: [] for c in STAT_CATEGORIES}
    for e in events:
        d = _get(e, "duration_ms")
        if d is None or d != d:  # None or NaN
            continue
        out["all"].append(float(d))
        cat = action_category(str(_get(e, "action") or ""))
        if cat in out:
            out[cat].append(float(d))
    return out


def analyze_latency_data(events: Iterable[EventLike]) -> dict[str, dict[str, Any]]:
    """Per category (get, put, audit, repair, all): count, mean, median, p50, p95, p99,
    min, max in ms, over the events that have a duration."""
    return {cat: stats_from_values(vals) for cat, vals in durations_by_category(events).items()}


def slow_operation(event: EventLike) -> dict[str, Any]:
    """One entry of the seed's ``slow_operations`` list."""
    return {
        "timestamp": iso_z(float(_get(event, "timestamp"))),
        "action": _get(event, "action"),
        "duration_ms": _round(_get(event, "duration_ms")),
        "piece_id": _get(event, "piece_id"),
        "satellite_id": _get(event, "satellite_id"),
        "status": _get(event, "status"),
    }


def detect_slow_operations(
    events: Iterable[EventLike], threshold_ms: float = 5000, limit: int = 10
) -> list[dict[str, Any]]:
    """Operations slower than ``threshold_ms``, slowest first, at most ``limit``."""
    slow = [
        e
        for e in events
        if (d := _get(e, "duration_ms")) is not None and d == d and d > threshold_ms
    ]
    slow.sort(key=lambda e: (-float(_get(e, "duration_ms")), float(_get(e, "timestamp"))))
    return [slow_operation(e) for e in slow[: max(0, limit)]]


def histogram_payload(counts: Mapping[int, int], bucket_size_ms: float) -> dict[str, Any]:
    """``{"buckets": [{"start_ms", "end_ms", "count"}], "bucket_size_ms", "total"}`` from
    counts per bucket number (``floor(duration / bucket_size_ms)``); non-empty buckets only,
    in order."""
    buckets = [
        {
            "start_ms": _round(b * bucket_size_ms),
            "end_ms": _round((b + 1) * bucket_size_ms),
            "count": int(c),
        }
        for b, c in sorted(counts.items())
        if c
    ]
    return {
        "buckets": buckets,
        "bucket_size_ms": bucket_size_ms,
        "total": sum(b["count"] for b in buckets),
    }


def build_histogram(durations: Iterable[float], bucket_size_ms: float = 100) -> dict[str, Any]:
    """Counts per fixed-width bucket ``[k*size, (k+1)*size)`` ms; the counts add up to the
    number of durations given (None/NaN skipped). Negative durations count in bucket 0."""
    if not bucket_size_ms > 0:
        raise ValueError(f"bucket_size_ms must be > 0, got {bucket_size_ms}")
    arr = np.fromiter((v for v in durations if v is not None), np.float64)
    arr = arr[~np.isnan(arr)]
    if not arr.size:
        return histogram_payload({}, bucket_size_ms)
    idx = np.maximum(np.floor(arr / bucket_size_ms), 0).astype(np.int64)
    keys, counts = np.unique(idx, return_counts=True)
    return histogram_payload(dict(zip(keys.tolist(), counts.tolist(), strict=True)), bucket_size_ms)


def histogram_from_sketch(hist: sketch.Hist, bucket_size_ms: float = 100) -> dict[str, Any]:
    """:func:`build_histogram` from a merged rollup histogram (a value within 1 % of a
    bucket edge may be counted in the neighbouring bucket; the total is exact)."""
    if not bucket_size_ms > 0:
        raise ValueError(f"bucket_size_ms must be > 0, got {bucket_size_ms}")
    return histogram_payload(sketch.to_linear_buckets(hist, bucket_size_ms), bucket_size_ms)


__all__ = [
    "STAT_CATEGORIES",
    "STAT_KEYS",
    "analyze_latency_data",
    "build_histogram",
    "calculate_percentiles",
    "detect_slow_operations",
    "durations_by_category",
    "empty_stats",
    "histogram_from_sketch",
    "histogram_payload",
    "iso_z",
    "percentile_key",
    "slow_operation",
    "stats_from_sketch",
    "stats_from_values",
]
