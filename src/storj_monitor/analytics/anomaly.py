"""Latency spike detection, pure: a category's recent p95 against its own 7-day baseline.

Why robust statistics: hourly p95s have a long tail of their own (a busy evening, a
filewalker run); mean and standard deviation would be dragged by exactly the outliers we
want to detect. The robust z-score ``0.6745 * (x - median) / MAD`` (MAD = median absolute
deviation) is ~N(0,1) for normal data and ignores a few wild hours.

A spike needs all of: enough baseline hours (``min_baseline_hours``), enough recent
operations (``min_operations``), ``z >= z_threshold`` and the recent p95 at least
``min_ratio`` times the baseline median (a perfectly flat baseline has MAD 0; a floor of
1 % of the median keeps z finite, the ratio keeps a 10 % wobble from alerting).
Durations in ms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from storj_monitor.model import CATEGORIES, CATEGORY_LABELS, AlertCondition

#: Alert kinds these rules own (the engine's reconcile scope).
SPIKE_KINDS = frozenset({"latency_spike"})
MIN_BASELINE_HOURS = 24
MIN_OPERATIONS = 30
MIN_RATIO = 1.5
#: The consistency constant that makes MAD estimate the standard deviation of normal data.
MAD_SCALE = 0.6745


def median(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        raise ValueError("median of no values")
    mid = n // 2
    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2.0


def robust_z(value: float, baseline: Sequence[float]) -> tuple[float, float, float] | None:
    """``(z, median, mad)`` of ``value`` against ``baseline``; None for an empty baseline.

    MAD is floored at 1 % of the median (and at 1e-9) so a flat baseline gives a finite z.
    """
    clean = [v for v in baseline if v is not None and math.isfinite(v)]
    if not clean:
        return None
    med = median(clean)
    mad = median([abs(v - med) for v in clean])
    mad = max(mad, abs(med) * 0.01, 1e-9)
    return MAD_SCALE * (value - med) / mad, med, mad


def _ms_text(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def spike_condition(
    node_name: str,
    category: str,
    recent_p95_ms: float | None,
    recent_count: int,
    hourly_p95s_ms: Sequence[float],
    *,
    z_threshold: float,
    min_baseline_hours: int = MIN_BASELINE_HOURS,
    min_operations: int = MIN_OPERATIONS,
    min_ratio: float = MIN_RATIO,
    recent_minutes: float = 15,
) -> AlertCondition | None:
    """The info alert "latency spike" for one category, or None."""
    if recent_p95_ms is None or recent_count < min_operations:
        return None
    if len(hourly_p95s_ms) < min_baseline_hours:
        return None
    scored = robust_z(recent_p95_ms, hourly_p95s_ms)
    if scored is None:
        return None
    z, med, mad = scored
    if z < z_threshold or recent_p95_ms < med * min_ratio:
        return None
    label = CATEGORY_LABELS.get(category, category.upper())
    ratio = recent_p95_ms / med if med > 0 else math.inf
    return AlertCondition(
        node_name=node_name,
        kind="latency_spike",
        key=f"latency_spike:{category}",
        severity="info",
        title=f"{label} Latency Spike on {node_name}",
        message=(
            f"p95 latency over the last {recent_minutes:g} minutes is {_ms_text(recent_p95_ms)}, "
            f"{ratio:.1f}× the 7-day hourly median of {_ms_text(med)} "
            f"(robust z-score {z:.1f}, threshold {z_threshold:g}; "
            f"{recent_count:,} operations)."
        ),
        details={
            "category": category,
            "recent_p95_ms": round(recent_p95_ms, 2),
            "recent_count": recent_count,
            "baseline_median_ms": round(med, 2),
            "baseline_mad_ms": round(mad, 2),
            "baseline_hours": len(hourly_p95s_ms),
            "z_score": round(z, 2),
            "z_threshold": z_threshold,
        },
    )


def spike_conditions(
    node_name: str,
    recent: Mapping[str, Mapping[str, Any]],
    baseline: Mapping[str, Sequence[float]],
    *,
    z_threshold: float,
    min_baseline_hours: int = MIN_BASELINE_HOURS,
    min_operations: int = MIN_OPERATIONS,
) -> list[AlertCondition]:
    """Every category's spike condition.

    ``recent``: the last 15 minutes' statistics per category (``count``, ``p95`` ms, the
    ``analytics.latency`` shape); ``baseline``: that category's hourly p95s (ms) of the
    last 7 days.
    """
    out = []
    for category in CATEGORIES:
        stats = recent.get(category) or {}
        cond = spike_condition(
            node_name,
            category,
            stats.get("p95"),
            int(stats.get("count") or 0),
            baseline.get(category, ()),
            z_threshold=z_threshold,
            min_baseline_hours=min_baseline_hours,
            min_operations=min_operations,
        )
        if cond is not None:
            out.append(cond)
    return out


__all__ = [
    "MAD_SCALE",
    "SPIKE_KINDS",
    "median",
    "robust_z",
    "spike_condition",
    "spike_conditions",
]
